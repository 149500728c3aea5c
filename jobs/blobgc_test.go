package jobs_test

import (
	"bytes"
	"context"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/filestore"
	"github.com/optio-edu/optio/jobs"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
)

// TestBlobCollectorKeepsEveryReferencedBlob: a synced submission's files
// are replaced by a resubmission, an upload is orphaned, another blob was
// reused just now. The collector, once the grace period is over, deletes
// exactly the replaced file and the orphan; every blob a file row names
// still opens, on both engines and both blob drivers. Within the grace
// period it deletes nothing.
func TestBlobCollectorKeepsEveryReferencedBlob(t *testing.T) {
	t.Parallel()
	eachStoreAndDriver(t, func(t *testing.T, db *store.DB, blobURL string) {
		ctx := context.Background()
		b := setupBlobs(t, db, blobURL)
		// The app's bucket: every Put records its blob's use first.
		fs, err := filestore.OpenWith(ctx, blobURL, filestore.Options{Touch: db.TouchBlob})
		require.NoError(t, err)
		fs.TempDir = t.TempDir()
		t.Cleanup(func() { _ = fs.Close() })
		b.files = fs
		b.runner(t, nil)
		db = b.db // the runner's store: it inserts the jobs

		essay := pdfBytes()
		q1 := submit(t, db, "spark-stu-gc", time.Now().Add(-time.Minute), "First draft",
			spark.SubmissionFile{URL: b.srv.put("/essay.pdf", essay), Type: "application/pdf", Filename: "essay.pdf"},
			spark.SubmissionFile{URL: b.srv.put("/cell.png", pngBytes(t)), Type: "image/png", Filename: "cell.png"})
		waitStatus(t, db, q1, optio.SyncCompleted)
		essayKey := keyOf(t, db, "essay.pdf")
		cellKey := keyOf(t, db, "cell.png")

		// The resubmission keeps the image and drops the essay: the essay's
		// file row goes, its blob is now unreferenced.
		q2 := submit(t, db, "spark-stu-gc", time.Now(), "Final version",
			spark.SubmissionFile{URL: b.srv.URL + "/cell.png", Type: "image/png", Filename: "cell.png"})
		waitStatus(t, db, q2, optio.SyncCompleted)
		require.Empty(t, keysNamed(t, db, "essay.pdf"), "the replaced essay's file row is gone")

		// An upload whose file row was never written (a crash), and one whose
		// use is recorded after the cutoff (a sync about to write its row).
		orphan, err := fs.Put(ctx, strings.NewReader("orphaned upload\n"), "orphan.txt", 1<<20)
		require.NoError(t, err)
		inUse, err := fs.Put(ctx, strings.NewReader("about to be referenced\n"), "soon.txt", 1<<20)
		require.NoError(t, err)
		_, err = db.W.ExecContext(ctx, `UPDATE blob_uses SET used_at = $1 WHERE blob_key = $2`, time.Now().Add(3*time.Hour).UTC(), inUse.Key)
		require.NoError(t, err)

		// Within the grace period nothing goes.
		within := &jobs.BlobCollector{DB: db, Files: fs, Grace: time.Hour, Logger: discardLogger()}
		deleted, err := within.Collect(ctx)
		require.NoError(t, err)
		require.Empty(t, deleted)

		// After it (cutoff an hour from now): the essay and the orphan.
		after := &jobs.BlobCollector{DB: db, Files: fs, Grace: -time.Hour, Logger: discardLogger()}
		deleted, err = after.Collect(ctx)
		require.NoError(t, err)
		want := []string{essayKey, orphan.Key}
		sort.Strings(want)
		sort.Strings(deleted)
		require.Equal(t, want, deleted)
		for _, k := range []string{essayKey, orphan.Key} {
			_, err := fs.Open(ctx, k)
			require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err), k)
		}
		for _, k := range []string{cellKey, inUse.Key} {
			rd, err := fs.Open(ctx, k)
			require.NoError(t, err, "%s is kept", k)
			require.NoError(t, rd.Close())
		}
		requireEveryFileReadable(t, db, fs)

		// The essay sent again later is stored again, and kept.
		q3 := submit(t, db, "spark-stu-gc", time.Now().Add(time.Minute), "With the essay back",
			spark.SubmissionFile{URL: b.srv.URL + "/essay.pdf", Type: "application/pdf", Filename: "essay.pdf"})
		waitStatus(t, db, q3, optio.SyncCompleted)
		deleted, err = after.Collect(ctx)
		require.NoError(t, err)
		require.NotContains(t, deleted, essayKey)
		require.Contains(t, deleted, cellKey, "the image is no longer referenced")
		rd, err := fs.Open(ctx, essayKey)
		require.NoError(t, err)
		var got bytes.Buffer
		_, err = got.ReadFrom(rd)
		require.NoError(t, err)
		require.NoError(t, rd.Close())
		require.Equal(t, essay, got.Bytes())
		requireEveryFileReadable(t, db, fs)
	})
}

// requireEveryFileReadable opens the blob of every file row.
func requireEveryFileReadable(t *testing.T, db *store.DB, fs *filestore.Store) {
	t.Helper()
	rows, err := db.R.QueryContext(context.Background(), `SELECT blob_key FROM files`)
	require.NoError(t, err)
	defer rows.Close()
	n := 0
	for rows.Next() {
		var k string
		require.NoError(t, rows.Scan(&k))
		rd, err := fs.Open(context.Background(), k)
		require.NoError(t, err, "a referenced blob was deleted: %s", k)
		require.NoError(t, rd.Close())
		n++
	}
	require.NoError(t, rows.Err())
	require.NotZero(t, n)
}

func keyOf(t *testing.T, db *store.DB, filename string) string {
	t.Helper()
	keys := keysNamed(t, db, filename)
	require.Len(t, keys, 1, filename)
	return keys[0]
}

func keysNamed(t *testing.T, db *store.DB, filename string) []string {
	t.Helper()
	rows, err := db.R.QueryContext(context.Background(), `SELECT blob_key FROM files WHERE filename = $1`, filename)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		require.NoError(t, rows.Scan(&k))
		out = append(out, k)
	}
	require.NoError(t, rows.Err())
	return out
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
