package filestore

import (
	"context"
	"fmt"
	"io"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// collectBatch is how many keys Candidates asks about at once.
const collectBatch = 200

// Candidates lists the blobs the collector may delete: of the objects
// stored before cutoff, those unreferenced keeps (it returns the subset of
// the keys it is given that nothing refers to; store.DB.UnreferencedBlobs).
// Objects written after cutoff and keys Put does not make are never
// listed. Each candidate must still be deleted under the store's lock
// (store.DB.CollectBlob), which checks again.
func (s *Store) Candidates(ctx context.Context, cutoff time.Time, unreferenced func(ctx context.Context, keys []string) ([]string, error)) ([]string, error) {
	var out, batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		keys, err := unreferenced(ctx, batch)
		if err != nil {
			return err
		}
		out = append(out, keys...)
		batch = nil
		return nil
	}
	it := s.bucket.List(&blob.ListOptions{Prefix: "sha256/"})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return out, fmt.Errorf("collect: list: %w", err)
		}
		if obj.IsDir || !keyPattern.MatchString(obj.Key) || !obj.ModTime.Before(cutoff) {
			continue
		}
		batch = append(batch, obj.Key)
		if len(batch) == collectBatch {
			if err := flush(); err != nil {
				return out, err
			}
		}
	}
	return out, flush()
}

// Delete removes the blob or export ZIP under key; one already gone is not
// an error. Evidence blobs are shared by identical content, so they are
// deleted only under store.DB.CollectBlob's lock (the blob collector, and a
// student's deletion).
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil && !exportKeyPattern.MatchString(key) {
		return err
	}
	if err := s.bucket.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	return nil
}
