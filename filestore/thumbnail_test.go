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
	"github.com/optio-edu/optio/sandbox"
)

// TestThumbnailMadeOnceKeyedBySource: a large PNG gets a JPEG thumbnail no
// wider than ThumbSide, stored under a key derived from the source, and the
// second request finds it instead of making another; a PDF PDFium cannot open
// gets none.
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

// TestPDFThumbnailIsItsFirstPage: the sandbox's three-page essay gets a
// JPEG of its first page (US Letter, so taller than wide, ThumbSide high):
// white paper with the dark title text near the top, on the in-memory and
// the file store alike. A PDF PDFium cannot open gets none (EUNSUPPORTED),
// so the showcase keeps its card.
func TestPDFThumbnailIsItsFirstPage(t *testing.T) {
	t.Parallel()
	essay, ok := sandbox.Sample("essay-pdf")
	require.True(t, ok)
	for _, blobURL := range []string{"mem://", "file://" + t.TempDir()} {
		ctx := context.Background()
		fs, err := filestore.Open(ctx, blobURL)
		require.NoError(t, err)
		fs.TempDir = t.TempDir()
		t.Cleanup(func() { _ = fs.Close() })

		src, err := fs.Put(ctx, bytes.NewReader(essay.Data), essay.Name, 1<<20)
		require.NoError(t, err)
		require.Equal(t, "application/pdf", src.ContentType)
		require.True(t, filestore.CanThumbnail(src.ContentType))
		th, err := fs.Thumbnail(ctx, src.Key, src.ContentType)
		require.NoError(t, err, blobURL)
		require.Equal(t, filestore.ThumbnailKey(src.Key), th.Key)
		rd, err := fs.Open(ctx, th.Key)
		require.NoError(t, err)
		img, err := jpeg.Decode(rd)
		require.NoError(t, rd.Close())
		require.NoError(t, err)
		b := img.Bounds()
		require.Equal(t, filestore.ThumbSide, b.Dy(), blobURL)
		require.InDelta(t, filestore.ThumbSide*612/792, b.Dx(), 2, "a Letter page keeps its shape")
		white, dark, darkTop := 0, 0, 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				switch lum := (r + g + bl) / 3 >> 8; {
				case lum > 240:
					white++
				case lum < 100:
					dark++
					if y < b.Dy()/5 {
						darkTop++
					}
				}
			}
		}
		require.Greater(t, white, b.Dx()*b.Dy()*8/10, "mostly white paper")
		require.Greater(t, darkTop, 200, "the title is drawn at the top of page 1")

		broken, err := fs.Put(ctx, bytes.NewReader([]byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n")), "broken.pdf", 1<<20)
		require.NoError(t, err)
		_, err = fs.Thumbnail(ctx, broken.Key, broken.ContentType)
		require.Equal(t, optio.EUNSUPPORTED, optio.ErrorCode(err), "a PDF PDFium cannot open keeps its card")
	}
}
