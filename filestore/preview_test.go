package filestore_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/filestore"
	"github.com/optio-edu/optio/internal/s3test"
)

// TestPreviewConvertsWhatBrowsersCannotShow: TIFF, BMP and HEIC are stored
// as sent and get a JPEG rendition; images browsers show need none; an
// image Optio cannot decode is an EUNSUPPORTED error (a download card).
func TestPreviewConvertsWhatBrowsersCannotShow(t *testing.T) {
	t.Parallel()
	s3test.EachDriver(t, func(t *testing.T, blobURL string) {
		ctx := context.Background()
		fs, err := filestore.Open(ctx, blobURL)
		require.NoError(t, err)
		fs.TempDir = t.TempDir()
		t.Cleanup(func() { _ = fs.Close() })
		img := image.NewRGBA(image.Rect(0, 0, 3000, 20))
		for x := range 3000 {
			img.Set(x, 5, color.RGBA{200, 10, 10, 255})
		}
		var tif, bm bytes.Buffer
		require.NoError(t, tiff.Encode(&tif, img, nil))
		require.NoError(t, bmp.Encode(&bm, img))
		heic, err := os.ReadFile("../sandbox/photo.heic")
		require.NoError(t, err)
		for name, data := range map[string][]byte{"scan.tif": tif.Bytes(), "drawing.bmp": bm.Bytes(), "IMG_1.HEIC": heic} {
			obj, err := fs.Put(ctx, bytes.NewReader(data), name, 50<<20)
			require.NoError(t, err, name)
			require.Equal(t, filestore.KindImage, obj.Kind, name)
			require.False(t, filestore.BrowserShows(obj.ContentType), name)
			require.True(t, filestore.CanPreview(obj.ContentType), name)
			p, err := fs.Preview(ctx, obj.Key, obj.ContentType, name)
			require.NoError(t, err, name)
			require.Equal(t, "image/jpeg", p.ContentType, name)
			rd, err := fs.Open(ctx, p.Key)
			require.NoError(t, err)
			cfg, _, err := image.DecodeConfig(rd)
			rd.Close()
			require.NoError(t, err)
			require.LessOrEqual(t, max(cfg.Width, cfg.Height), 2048, "%s: scaled to fit 2048 px", name)
		}
		for _, ct := range []string{"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "video/mp4", "application/pdf", "text/plain; charset=utf-8"} {
			require.True(t, filestore.BrowserShows(ct), ct)
		}
		for _, ct := range []string{"application/vnd.apple.keynote", "image/heic-sequence"} {
			require.False(t, filestore.BrowserShows(ct), ct)
			require.False(t, filestore.CanPreview(ct), ct)
		}
		broken, err := fs.Put(ctx, bytes.NewReader(append([]byte("II*\x00"), make([]byte, 64)...)), "bad.tif", 1<<20)
		require.NoError(t, err)
		_, err = fs.Preview(ctx, broken.Key, broken.ContentType, "bad.tif")
		require.Equal(t, optio.EUNSUPPORTED, optio.ErrorCode(err))
	})
}
