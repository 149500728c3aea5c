package filestore

import (
	"context"
	"fmt"
	"io"
	"regexp"

	"gocloud.dev/blob"
)

// exportKeyPattern is the shape of an export ZIP's key: exports/<uuid>.zip.
var exportKeyPattern = regexp.MustCompile(`^exports/[0-9a-f-]{36}\.zip$`)

// ExportKey is where the ZIP of data request id is stored.
func ExportKey(requestID string) string { return "exports/" + requestID + ".zip" }

// CreateExport returns a writer streaming a new export ZIP to key. Close
// publishes it; cancelling ctx before Close discards what was written.
func (s *Store) CreateExport(ctx context.Context, key string) (io.WriteCloser, error) {
	if !exportKeyPattern.MatchString(key) {
		return nil, fmt.Errorf("filestore: %q is not an export key", key)
	}
	return s.bucket.NewWriter(ctx, key, &blob.WriterOptions{ContentType: "application/zip"})
}

// OpenExport reads an export ZIP; the reader reports its size.
func (s *Store) OpenExport(ctx context.Context, key string) (*blob.Reader, error) {
	if !exportKeyPattern.MatchString(key) {
		return nil, fmt.Errorf("filestore: %q is not an export key", key)
	}
	r, err := s.bucket.NewReader(ctx, key, nil)
	if err != nil {
		return nil, translate(key, err)
	}
	return r, nil
}

// Keys lists every key in the bucket (tests check what a deletion left).
func (s *Store) Keys(ctx context.Context) ([]string, error) {
	var out []string
	it := s.bucket.List(nil)
	for {
		o, err := it.Next(ctx)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, o.Key)
	}
}
