package filestore

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/image/webp"

	"github.com/optio-edu/optio"
)

// ThumbSide is the long side, in pixels, of the thumbnails the showcase's
// work cards show: twice the widest card, for sharp pictures on dense screens.
const ThumbSide = 640

// thumbDecoders are the images Thumbnail reads. HEIC is left out on
// purpose: its decoder compiles lazily and then holds ~60 MB, and every HEIC
// photo already has a JPEG rendition (Preview) to make the thumbnail from.
var thumbDecoders = map[string]struct {
	decode func(io.Reader) (image.Image, error)
	config func(io.Reader) (image.Config, error)
}{
	"image/png":  {png.Decode, png.DecodeConfig},
	"image/apng": {png.Decode, png.DecodeConfig},
	"image/jpeg": {jpeg.Decode, jpeg.DecodeConfig},
	"image/gif":  {gif.Decode, gif.DecodeConfig},
	"image/webp": {webp.Decode, webp.DecodeConfig},
	"image/tiff": decoders["image/tiff"],
	"image/bmp":  decoders["image/bmp"],
}

// thumbKeyPattern is the shape of a thumbnail's key: derived from its
// source's key, so a thumbnail is made once per stored image and side.
var thumbKeyPattern = regexp.MustCompile(`^thumb/[0-9]{2,4}/sha256/[0-9a-f]{2}/[0-9a-f]{64}\.jpg$`)

// pdfType is the one document type with thumbnails: its first page.
const pdfType = "application/pdf"

// CanThumbnail reports whether Thumbnail can read a stored file of this
// content type: the images above, and PDFs (their first page).
func CanThumbnail(contentType string) bool {
	base, _, _ := strings.Cut(contentType, ";")
	_, ok := thumbDecoders[base]
	return ok || base == pdfType
}

// ThumbnailKey is where the thumbnail of the image (or PDF) under key is kept.
func ThumbnailKey(key string) string {
	return "thumb/" + strconv.Itoa(ThumbSide) + "/" + key + ".jpg"
}

// Thumbnail returns the JPEG thumbnail (at most ThumbSide pixels a side) of
// the image stored under key (or of a PDF's first page), making and storing it on first use under
// ThumbnailKey(key); later calls only check it exists. Images that fit
// already are re-encoded all the same, so a card never downloads a 20 MB
// PNG. An image it cannot read, or one too large to decode safely, is an
// EUNSUPPORTED error: show the original (or a card) instead.
func (s *Store) Thumbnail(ctx context.Context, key, contentType string) (*Object, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	tkey := ThumbnailKey(key)
	if a, err := s.bucket.Attributes(ctx, tkey); err == nil {
		return &Object{Key: tkey, Size: a.Size, ContentType: "image/jpeg", Kind: KindImage, SHA256: "t" + strconv.Itoa(ThumbSide) + "-" + key[strings.LastIndex(key, "/")+1:]}, nil
	}
	base, _, _ := strings.Cut(contentType, ";")
	var img image.Image
	var err error
	if base == pdfType {
		img, err = s.pdfThumbnail(ctx, key)
	} else {
		img, err = s.imageThumbnail(ctx, key, base)
	}
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, scaleDown(img, ThumbSide), &jpeg.Options{Quality: 80}); err != nil {
		return nil, fmt.Errorf("thumbnail %s: encode: %w", key, err)
	}
	obj := &Object{Key: tkey, Size: int64(buf.Len()), ContentType: "image/jpeg", Kind: KindImage, SHA256: "t" + strconv.Itoa(ThumbSide) + "-" + key[strings.LastIndex(key, "/")+1:]}
	if err := s.upload(ctx, obj, &buf); err != nil {
		return nil, fmt.Errorf("thumbnail %s: %w", key, err)
	}
	return obj, nil
}

// imageThumbnail decodes the image under key, of content type base.
func (s *Store) imageThumbnail(ctx context.Context, key, base string) (image.Image, error) {
	dec, ok := thumbDecoders[base]
	if !ok {
		return nil, optio.Errorf(optio.EUNSUPPORTED, "no thumbnails of %s", base)
	}
	cfg, err := withBlob(s, ctx, key, dec.config)
	if err != nil {
		return nil, optio.Errorf(optio.EUNSUPPORTED, "not a readable %s image: %v", base, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPreviewPixels {
		return nil, optio.Errorf(optio.EUNSUPPORTED, "%d×%d pixels is too large for a thumbnail", cfg.Width, cfg.Height)
	}
	img, err := withBlob(s, ctx, key, dec.decode)
	if err != nil {
		return nil, optio.Errorf(optio.EUNSUPPORTED, "not a readable %s image: %v", base, err)
	}
	return img, nil
}

// pdfThumbnail renders the first page of the PDF under key (see
// pdfRenderer for the bounds). A PDF it cannot render is EUNSUPPORTED, like
// an unreadable image: the showcase keeps the document's card.
func (s *Store) pdfThumbnail(ctx context.Context, key string) (image.Image, error) {
	data, err := withBlob(s, ctx, key, func(r io.Reader) ([]byte, error) {
		return io.ReadAll(io.LimitReader(r, maxPDFThumbBytes+1))
	})
	if err != nil {
		return nil, fmt.Errorf("thumbnail %s: %w", key, err)
	}
	if len(data) > maxPDFThumbBytes {
		return nil, optio.Errorf(optio.EUNSUPPORTED, "PDFs over %d MB get no thumbnail", maxPDFThumbBytes>>20)
	}
	img, err := pdfPages.firstPage(ctx, data, ThumbSide)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("thumbnail %s: %w", key, err)
		}
		return nil, optio.Errorf(optio.EUNSUPPORTED, "not a readable PDF: %v", err)
	}
	return img, nil
}
