package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/optio-edu/optio/filestore"
	"github.com/optio-edu/optio/store"
)

// BlobCollector deletes evidence blobs that no file row refers to any
// more: files of replaced submissions, of deleted accounts, previews of
// images that are gone, uploads whose sync failed before its rows were
// written. Blobs are content-addressed and shared, so a blob goes only when
// no file row at all names its key, and only after a grace period in which
// nothing stored or reused it (store.DB.TouchBlob, called by every Put).
type BlobCollector struct {
	DB     *store.DB
	Files  *filestore.Store
	Grace  time.Duration
	Logger *slog.Logger
}

// Collect runs one collection with the cutoff now − Grace and returns the
// keys deleted.
func (c *BlobCollector) Collect(ctx context.Context) ([]string, error) {
	cutoff := c.DB.Clock.Now().Add(-c.Grace)
	keys, err := c.Files.Candidates(ctx, cutoff, func(ctx context.Context, keys []string) ([]string, error) {
		return c.DB.UnreferencedBlobs(ctx, keys, cutoff)
	})
	var deleted []string
	for _, k := range keys {
		if err != nil {
			break
		}
		var ok bool
		ok, err = c.DB.CollectBlob(ctx, k, cutoff, func(ctx context.Context) error { return c.Files.Delete(ctx, k) })
		if ok {
			deleted = append(deleted, k)
		}
	}
	if len(deleted) > 0 {
		c.Logger.Info("blob collector deleted unreferenced blobs", "count", len(deleted))
	}
	if err != nil {
		return deleted, fmt.Errorf("blob collector: %w", err)
	}
	return deleted, nil
}

// blobGCJob runs the collector; it is a periodic job (Options.BlobGCEvery).
type blobGCJob struct{}

// Kind names the job for River.
func (blobGCJob) Kind() string { return "blob_collect" }

type blobGCWorker struct {
	river.WorkerDefaults[blobGCJob]
	c *BlobCollector
}

func (w *blobGCWorker) Work(ctx context.Context, _ *river.Job[blobGCJob]) error {
	_, err := w.c.Collect(ctx)
	return err
}
