package filestore

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"strings"

	"github.com/gen2brain/heic"
	"golang.org/x/image/bmp"
	"golang.org/x/image/draw"
	"golang.org/x/image/tiff"

	"github.com/optio-edu/optio"
)

// Preview limits: a rendition is at most previewSide pixels on its long
// side, and images over maxPreviewPixels are not decoded (a crafted 60,000²
// TIFF would need gigabytes) — they get a "download to view" card instead.
const (
	previewSide      = 2048
	maxPreviewPixels = 50_000_000
	previewQuality   = 85
)

// decoders are the images a browser cannot show but Optio can convert, by
// stored content type: TIFF and BMP with golang.org/x/image (pure Go),
// HEIC/HEIF with github.com/gen2brain/heic (libheif and libde265 compiled to
// WebAssembly, run by wazero: no cgo). AVIF, WebP, GIF, PNG and JPEG need
// none: every current browser shows them.
var decoders = map[string]struct {
	decode func(io.Reader) (image.Image, error)
	config func(io.Reader) (image.Config, error)
}{
	"image/tiff": {tiff.Decode, tiff.DecodeConfig},
	"image/bmp":  {bmp.Decode, bmp.DecodeConfig},
	"image/heic": {heic.Decode, heic.DecodeConfig},
	"image/heif": {heic.Decode, heic.DecodeConfig},
}

// browserImages are the image types every current browser shows inline.
var browserImages = map[string]bool{
	"image/png": true, "image/apng": true, "image/jpeg": true, "image/gif": true,
	"image/webp": true, "image/avif": true,
}

// BrowserShows reports whether a browser can show a stored file of this
// (sniffed) content type in place: the images above, video, audio, PDF and
// plain text. Everything else is offered as a download.
func BrowserShows(contentType string) bool {
	base, _, _ := strings.Cut(contentType, ";")
	switch {
	case browserImages[base]:
		return true
	case strings.HasPrefix(base, "image/"):
		return false
	case strings.HasPrefix(base, "video/"), strings.HasPrefix(base, "audio/"),
		base == "application/pdf", base == "text/plain", base == "text/csv":
		return true
	}
	return false
}

// CanPreview reports whether Preview can make a web rendition of a stored
// file of this content type.
func CanPreview(contentType string) bool {
	base, _, _ := strings.Cut(contentType, ";")
	_, ok := decoders[base]
	return ok
}

// Preview converts the stored image under key (of the given sniffed
// content type) into a JPEG no larger than 2048 pixels a side and stores it
// beside the original, which is kept unchanged. name is the original's
// display name, for messages. An image Optio cannot decode, or one too large
// to decode safely, is an EUNSUPPORTED error: show a download card instead.
func (s *Store) Preview(ctx context.Context, key, contentType, name string) (*Object, error) {
	base, _, _ := strings.Cut(contentType, ";")
	dec, ok := decoders[base]
	if !ok {
		return nil, optio.Errorf(optio.EUNSUPPORTED, "%s: no decoder for %s", name, base)
	}
	cfg, err := withBlob(s, ctx, key, dec.config)
	if err != nil {
		return nil, optio.Errorf(optio.EUNSUPPORTED, "%s: not a readable %s image: %v", name, base, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPreviewPixels {
		return nil, optio.Errorf(optio.EUNSUPPORTED, "%s: %d×%d pixels is too large to convert", name, cfg.Width, cfg.Height)
	}
	img, err := withBlob(s, ctx, key, dec.decode)
	if err != nil {
		return nil, optio.Errorf(optio.EUNSUPPORTED, "%s: not a readable %s image: %v", name, base, err)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, scaleDown(img, previewSide), &jpeg.Options{Quality: previewQuality}); err != nil {
		return nil, fmt.Errorf("preview %s: encode: %w", name, err)
	}
	return s.Put(ctx, &buf, name+".jpg", int64(buf.Len()))
}

// WarmDecoders prepares the HEIC decoder (compiling its WebAssembly takes
// seconds, once per process). Optio does not call it: compiled, the decoder
// holds about 60 MB for the life of the process, so the first HEIC photo a
// process syncs pays for it instead (a background job; tests call it first
// so a sync's deadline does not include it).
func WarmDecoders() { heic.Init() }

// withBlob opens the blob at key and runs read on it.
func withBlob[T any](s *Store, ctx context.Context, key string, read func(io.Reader) (T, error)) (T, error) {
	var zero T
	rd, err := s.Open(ctx, key)
	if err != nil {
		return zero, err
	}
	defer rd.Close()
	return read(rd)
}

// scaleDown returns img fitted inside side×side, or img itself when it fits.
func scaleDown(img image.Image, side int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= side && h <= side {
		return img
	}
	if w >= h {
		w, h = side, max(1, h*side/w)
	} else {
		w, h = max(1, w*side/h), side
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}
