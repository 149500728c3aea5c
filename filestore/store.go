package filestore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"regexp"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// URLs: the embedded default
	_ "gocloud.dev/blob/memblob"  // mem:// URLs: tests and demos
	_ "gocloud.dev/blob/s3blob"   // s3:// URLs: S3, MinIO, Supabase Storage
	"gocloud.dev/gcerrors"

	"github.com/optio-edu/optio"
)

// Store keeps evidence files in one blob bucket. It is safe for concurrent
// use; one Store serves the whole process.
type Store struct {
	bucket *blob.Bucket
	touch  func(ctx context.Context, key string) error
	// TempDir is where Put spools uploads before they are sniffed and
	// stored; "" means os.TempDir(). It must have room for the largest file.
	TempDir string
}

// Object describes a stored file: where it lives and what it really is, as
// learned from its bytes. Key is what the store records (optio.File.BlobKey).
type Object struct {
	Key         string // "sha256/<first two hex digits>/<hex>"
	SHA256      string // lower-case hex
	Size        int64
	ContentType string // sniffed, e.g. "image/png" or "text/plain; charset=utf-8"
	Kind        Kind
}

// Attributes are what HTTP needs to answer a request for a stored file,
// including range requests and conditional GETs.
type Attributes struct {
	Size        int64
	ContentType string
	ModTime     time.Time
}

// keyPattern is the only shape of key Put produces; anything else is refused
// before it reaches the bucket.
var keyPattern = regexp.MustCompile(`^sha256/[0-9a-f]{2}/[0-9a-f]{64}$`)

// Options are what a Store needs besides its bucket.
type Options struct {
	// Touch, when set, is called with an object's key before Put looks for
	// it in the bucket, so the blob collector (Collect) keeps a blob that is
	// about to be referenced (store.DB.TouchBlob). Put fails when it fails.
	Touch func(ctx context.Context, key string) error
}

// Open opens the bucket at blobURL, e.g. "file:///var/optio/blobs?create_dir=true",
// "mem://" or "s3://bucket?region=…" (docs/deploy.md lists the S3 options).
func Open(ctx context.Context, blobURL string) (*Store, error) {
	return OpenWith(ctx, blobURL, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, blobURL string, o Options) (*Store, error) {
	b, err := blob.OpenBucket(ctx, blobURL)
	if err != nil {
		return nil, fmt.Errorf("open blob bucket: %w", err)
	}
	return &Store{bucket: b, touch: o.Touch}, nil
}

// Close releases the bucket.
func (s *Store) Close() error {
	return s.bucket.Close()
}

// KeyFor is the blob key of content with the given lower-case hex SHA-256
// (64 characters), as Put stores it.
func KeyFor(sha256Hex string) string {
	if len(sha256Hex) < 2 {
		return "sha256/" + sha256Hex
	}
	return "sha256/" + sha256Hex[:2] + "/" + sha256Hex
}

// Put stores the content of r if its bytes are an accepted type, and returns
// what was stored. r is streamed through a temporary file, so memory does not
// grow with its size. filename is used only in messages: the type comes from
// the bytes. More than maxBytes bytes is an ETOOLARGE error, a refused type an
// EUNSUPPORTED error naming the detected type, an empty file EINVALID.
// Content already stored is not uploaded again.
func (s *Store) Put(ctx context.Context, r io.Reader, filename string, maxBytes int64) (*Object, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("put %q: maxBytes must be positive, got %d", filename, maxBytes)
	}
	tmp, err := os.CreateTemp(s.TempDir, "optio-upload-*")
	if err != nil {
		return nil, fmt.Errorf("put %q: %w", filename, err)
	}
	defer func() {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
	}()

	h := sha256.New()
	head := &headBuffer{max: sniffLen}
	n, err := io.Copy(io.MultiWriter(tmp, h, head), io.LimitReader(ctxReader{ctx, r}, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("put %q: read: %w", filename, err)
	}
	if n > maxBytes {
		return nil, optio.Errorf(optio.ETOOLARGE, "%s is larger than the %s limit", SafeFilename(filename), optio.FormatBytes(maxBytes))
	}
	if n == 0 {
		return nil, optio.Errorf(optio.EINVALID, "%s is empty", SafeFilename(filename))
	}

	contentType, kind, err := sniff(head.buf, tmp, n)
	if err != nil {
		return nil, fmt.Errorf("put %q: %w", filename, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	obj := &Object{Key: KeyFor(sum), SHA256: sum, Size: n, ContentType: contentType, Kind: kind}

	if s.touch != nil {
		if err := s.touch(ctx, obj.Key); err != nil {
			return nil, fmt.Errorf("put %q: %w", filename, err)
		}
	}
	exists, err := s.bucket.Exists(ctx, obj.Key)
	if err != nil {
		return nil, fmt.Errorf("put %q: check %s: %w", filename, obj.Key, err)
	}
	if exists {
		return obj, nil
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("put %q: %w", filename, err)
	}
	if err := s.upload(ctx, obj, tmp); err != nil {
		return nil, fmt.Errorf("put %q: upload %s: %w", filename, obj.Key, err)
	}
	return obj, nil
}

// upload streams r to obj.Key. Cancelling the writer's context on failure
// makes the driver discard the partial object instead of publishing it.
//
// The write is conditional (IfNotExist): a concurrent Put of the same content
// that lost the race must not overwrite the stored object. Overwriting is not
// harmless: fileblob rewrites the object's sidecar attributes file in place
// (truncate, then write), so a reader of that object — Exists, Attributes, a
// download being served — could see an empty sidecar and fail with EOF. The
// loser's "already exists" is success: the key is the content's hash.
func (s *Store) upload(ctx context.Context, obj *Object, r io.Reader) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.bucket.NewWriter(wctx, obj.Key, &blob.WriterOptions{
		ContentType: obj.ContentType,
		Metadata:    map[string]string{"sha256": obj.SHA256},
		IfNotExist:  true,
	})
	if err != nil {
		return alreadyStored(err)
	}
	if _, err := io.Copy(w, r); err != nil {
		cancel()
		_ = w.Close()
		return alreadyStored(err)
	}
	return alreadyStored(w.Close())
}

// alreadyStored turns a failed IfNotExist precondition into success and
// leaves other errors alone.
func alreadyStored(err error) error {
	if err != nil && gcerrors.Code(err) == gcerrors.FailedPrecondition {
		return nil
	}
	return err
}

// Open returns a reader for the whole stored file; the caller closes it.
// The reader also reports ContentType, ModTime and Size.
func (s *Store) Open(ctx context.Context, key string) (*blob.Reader, error) {
	return s.NewRangeReader(ctx, key, 0, -1)
}

// NewRangeReader returns a reader for length bytes from offset (length -1:
// to the end), so HTTP can answer Range requests without reading the rest.
func (s *Store) NewRangeReader(ctx context.Context, key string, offset, length int64) (*blob.Reader, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	rd, err := s.bucket.NewRangeReader(ctx, key, offset, length, nil)
	if err != nil {
		return nil, translate(key, err)
	}
	return rd, nil
}

// Attributes reports a stored file's size, content type and modification
// time without reading it.
func (s *Store) Attributes(ctx context.Context, key string) (*Attributes, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	a, err := s.bucket.Attributes(ctx, key)
	if err != nil {
		return nil, translate(key, err)
	}
	return &Attributes{Size: a.Size, ContentType: a.ContentType, ModTime: a.ModTime}, nil
}

func checkKey(key string) error {
	if !keyPattern.MatchString(key) && !thumbKeyPattern.MatchString(key) {
		return optio.Errorf(optio.EINVALID, "%q is not a file key", key)
	}
	return nil
}

// translate turns a bucket's not-found into ENOTFOUND and wraps the rest.
func translate(key string, err error) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("blob %s: %w", key, optio.Errorf(optio.ENOTFOUND, "file not found"))
	}
	return fmt.Errorf("blob %s: %w", key, err)
}

// headBuffer keeps the first max bytes written to it and discards the rest.
type headBuffer struct {
	buf []byte
	max int
}

func (b *headBuffer) Write(p []byte) (int, error) {
	if room := b.max - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// ctxReader stops a long copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
