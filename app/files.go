package app

import (
	"context"
	"io"

	"github.com/optio-edu/optio/filestore"
	"github.com/optio-edu/optio/web"
)

// fileStore adapts filestore.Store to what the web side needs.
type fileStore struct{ *filestore.Store }

// openFiles opens the evidence bucket; every Put records its blob's use in
// the store first, so the blob collector spares it (jobs.BlobCollector).
func openFiles(ctx context.Context, blobURL string, touch func(ctx context.Context, key string) error) (*fileStore, error) {
	st, err := filestore.OpenWith(ctx, blobURL, filestore.Options{Touch: touch})
	if err != nil {
		return nil, err
	}
	return &fileStore{st}, nil
}

func (f *fileStore) Put(ctx context.Context, r io.Reader, filename string, maxBytes int64) (*web.StoredObject, error) {
	o, err := f.Store.Put(ctx, r, filename, maxBytes)
	if err != nil {
		return nil, err
	}
	return &web.StoredObject{Key: o.Key, SHA256: o.SHA256, Size: o.Size, ContentType: o.ContentType, Kind: string(o.Kind)}, nil
}

func (f *fileStore) Thumbnail(ctx context.Context, key, contentType string) (*web.StoredObject, error) {
	o, err := f.Store.Thumbnail(ctx, key, contentType)
	if err != nil {
		return nil, err
	}
	return &web.StoredObject{Key: o.Key, SHA256: o.SHA256, Size: o.Size, ContentType: o.ContentType, Kind: string(o.Kind)}, nil
}

func (f *fileStore) Open(ctx context.Context, key string) (io.ReadSeekCloser, error) {
	return f.Store.Open(ctx, key)
}

func (f *fileStore) Close() error { return f.Store.Close() }

// exportStore adapts filestore.Store to web.ExportStore.
type exportStore struct{ *filestore.Store }

func (e exportStore) OpenExport(ctx context.Context, key string) (web.ExportReader, error) {
	return e.Store.OpenExport(ctx, key)
}
