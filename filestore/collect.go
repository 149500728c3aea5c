package filestore

import (
	"context"
	"fmt"
	"io"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// collectBatch is how many keys Collect asks about at once.
const collectBatch = 200

// Collect deletes the blobs nobody needs any more: of the objects stored
// before cutoff, those unreferenced says are not referenced (it returns
// the deletable subset of the keys it is given; store.DB.UnreferencedBlobs).
// Objects written after cutoff — an upload whose file row is not committed
// yet — and keys Put does not make are never considered. It returns the
// keys deleted.
func (s *Store) Collect(ctx context.Context, cutoff time.Time, unreferenced func(ctx context.Context, keys []string) ([]string, error)) ([]string, error) {
	var deleted, batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		gone, err := unreferenced(ctx, batch)
		batch = batch[:0]
		if err != nil {
			return err
		}
		for _, k := range gone {
			if err := s.bucket.Delete(ctx, k); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
				return fmt.Errorf("collect: delete %s: %w", k, err)
			}
			deleted = append(deleted, k)
		}
		return nil
	}
	it := s.bucket.List(&blob.ListOptions{Prefix: "sha256/"})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return deleted, fmt.Errorf("collect: list: %w", err)
		}
		if obj.IsDir || !keyPattern.MatchString(obj.Key) || !obj.ModTime.Before(cutoff) {
			continue
		}
		batch = append(batch, obj.Key)
		if len(batch) == collectBatch {
			if err := flush(); err != nil {
				return deleted, err
			}
		}
	}
	return deleted, flush()
}
