package filestore_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/filestore"
)

// TestThumbnailMadeOnceKeyedBySource: a large PNG gets a JPEG thumbnail no
// wider than ThumbSide, stored under a key derived from the source, and the
// second request finds it instead of making another; a PDF gets none.
func TestThumbnailMadeOnceKeyedBySource(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fs, err := filestore.Open(ctx, "mem://")
	require.NoError(t, err)
	fs.TempDir = t.TempDir()
	t.Cleanup(func() { _ = fs.Close() })

	img := image.NewRGBA(image.Rect(0, 0, 2000, 1000))
	for x := range 2000 {
		img.Set(x, 500, color.RGBA{20, 120, 200, 255})
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	src, err := fs.Put(ctx, &buf, "big.png", 50<<20)
	require.NoError(t, err)

	th, err := fs.Thumbnail(ctx, src.Key, src.ContentType)
	require.NoError(t, err)
	require.Equal(t, filestore.ThumbnailKey(src.Key), th.Key)
	require.Equal(t, "image/jpeg", th.ContentType)
	rd, err := fs.Open(ctx, th.Key)
	require.NoError(t, err)
	data, err := io.ReadAll(rd)
	require.NoError(t, rd.Close())
	require.NoError(t, err)
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	require.NoError(t, err)
	require.Equal(t, filestore.ThumbSide, cfg.Width)
	require.Equal(t, filestore.ThumbSide/2, cfg.Height)

	again, err := fs.Thumbnail(ctx, src.Key, "image/png")
	require.NoError(t, err)
	require.Equal(t, th.Key, again.Key)
	require.Equal(t, int64(len(data)), again.Size, "the stored thumbnail is reused")

	pdf, err := fs.Put(ctx, bytes.NewReader([]byte("%PDF-1.4\n%%EOF\n")), "essay.pdf", 1<<20)
	require.NoError(t, err)
	_, err = fs.Thumbnail(ctx, pdf.Key, pdf.ContentType)
	require.Equal(t, optio.EUNSUPPORTED, optio.ErrorCode(err))
	_, err = fs.Thumbnail(ctx, "../etc/passwd", "image/png")
	require.Equal(t, optio.EINVALID, optio.ErrorCode(err))
}
