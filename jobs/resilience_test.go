package jobs_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/filestore"
	"github.com/optio-edu/optio/jobs"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
)

// exeBytes is the start of a Windows executable ("MZ" header).
var exeBytes = append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"), make([]byte, 64)...)

func testImage() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for x := range 40 {
		for y := range 30 {
			img.Set(x, y, color.RGBA{uint8(x * 6), uint8(y * 8), 120, 255})
		}
	}
	return img
}

// TestSyncKeepsEveryFileItCanAndNamesTheRest: a submission with a HEIC
// photo, a TIFF scan, a BMP drawing, a PDF, an .exe and an HTML page syncs
// once: the images are kept as sent with a JPEG rendition beside them, the
// PDF is kept, and the .exe and the page become "could not import" entries
// (never stored); the queue row lists them.
func TestSyncKeepsEveryFileItCanAndNamesTheRest(t *testing.T) {
	t.Parallel()
	heic, err := os.ReadFile("../sandbox/photo.heic")
	require.NoError(t, err)
	var tif, bm bytes.Buffer
	require.NoError(t, tiff.Encode(&tif, testImage(), nil))
	require.NoError(t, bmp.Encode(&bm, testImage()))
	filestore.WarmDecoders() // seconds once per process (minutes under -race), not part of a sync's wait
	eachStoreAndDriver(t, func(t *testing.T, db *store.DB, blobURL string) {
		ctx := context.Background()
		b := setupBlobs(t, db, blobURL)
		b.runner(t, nil)
		db = b.db // the runner's store: it inserts the jobs
		qid := submit(t, db, "spark-files-1", time.Now(), "My field trip",
			spark.SubmissionFile{URL: b.srv.put("/IMG_0001.HEIC", heic), Type: "image", Filename: "IMG_0001.HEIC"},
			spark.SubmissionFile{URL: b.srv.put("/scan.tif", tif.Bytes()), Type: "image", Filename: "scan.tif"},
			spark.SubmissionFile{URL: b.srv.put("/drawing.bmp", bm.Bytes()), Type: "image", Filename: "drawing.bmp"},
			spark.SubmissionFile{URL: b.srv.put("/report.pdf", pdfBytes()), Type: "pdf", Filename: "report.pdf"},
			spark.SubmissionFile{URL: b.srv.put("/game.exe", exeBytes), Type: "file", Filename: "game.exe"},
			spark.SubmissionFile{URL: b.srv.put("/page.html", []byte("<!doctype html><html><body>hi</body></html>")), Type: "file", Filename: "page.html"},
		)
		row := waitStatus(t, db, qid, optio.SyncCompleted, optio.SyncFailed)
		require.Equal(t, optio.SyncCompleted, row.Status, row.ErrorMessage)
		require.Equal(t, 1, row.Attempts)
		require.Equal(t, []optio.FileProblem{
			{Filename: "game.exe", Reason: "files of type application/vnd.microsoft.portable-executable are not accepted"},
			{Filename: "page.html", Reason: "files of type text/html are not accepted"},
		}, row.FileProblems)
		u, err := db.UserBySparkID(ctx, "spark-files-1")
		require.NoError(t, err)
		done, err := db.RecentCompletions(ctx, u.ID, 5, 0)
		require.NoError(t, err)
		require.Len(t, done, 1)
		bl := done[0].Evidence.Blocks
		require.Len(t, bl, 7)
		require.Equal(t, "My field trip", bl[0].Content.Text)
		for i, want := range []string{"image/heic", "image/tiff", "image/bmp"} {
			c := bl[1+i].Content
			require.Equal(t, optio.BlockImage, bl[1+i].BlockType)
			require.Equal(t, want, c.ContentType, "the original is kept as sent")
			require.NotEmpty(t, c.PreviewFileID, "%s has a web rendition", want)
			p, err := db.FileByID(ctx, c.PreviewFileID)
			require.NoError(t, err)
			require.Equal(t, "image/jpeg", p.ContentType)
		}
		require.Equal(t, "application/pdf", bl[4].Content.ContentType)
		for _, i := range []int{5, 6} {
			require.Empty(t, bl[i].Content.FileID)
			require.Contains(t, bl[i].Content.NotImported, "not accepted")
			require.Contains(t, bl[i].Content.OriginalURL, b.srv.URL, "a plain link is shown")
		}
		require.Equal(t, 7, filesOf(t, db, u.ID), "4 originals and 3 renditions; nothing of the .exe or page")
	})
}

// TestSyncRetriesAcrossAnOutage: the file host answers 503 for 30 minutes
// of (injected) clock time. The sync is retried on its own schedule,
// visible on the queue row (attempts, next attempt, last error), and
// completes without an admin once the host is back.
func TestSyncRetriesAcrossAnOutage(t *testing.T) {
	t.Parallel()
	eachStoreAndDriver(t, func(t *testing.T, db *store.DB, blobURL string) {
		ctx := context.Background()
		start := time.Now().UTC()
		clk := optio.NewFakeClock(start)
		db.Clock = clk
		b := setupBlobs(t, db, blobURL)
		var down atomic.Bool
		down.Store(true)
		host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() {
				http.Error(w, "maintenance", http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write(pdfBytes())
		}))
		t.Cleanup(host.Close)
		b.runner(t, func(o *jobs.Options) {
			o.SyncRetry = jobs.RetrySchedule{} // the defaults: 30 s, doubling, hourly, for 24 h
			o.SweepInterval, o.SweepAge = 30*time.Millisecond, time.Millisecond
		})
		db = b.db // the runner's store: it inserts the jobs
		qid := submit(t, db, "spark-outage-1", time.Now(), "Essay", spark.SubmissionFile{URL: host.URL + "/essay.pdf", Type: "pdf", Filename: "essay.pdf"})
		attempts := 0
		for clk.Now().Sub(start) < 30*time.Minute {
			var row *store.SyncQueueRow
			require.Eventually(t, func() bool {
				var err error
				row, err = db.SyncQueueRowByID(ctx, qid)
				require.NoError(t, err)
				return row.Attempts > attempts && row.Status == optio.SyncPending && row.NextAttemptAt != nil
			}, 30*time.Second, 10*time.Millisecond)
			attempts = row.Attempts
			require.Contains(t, row.ErrorMessage, "503")
			require.NotNil(t, row.RetryUntil)
			require.WithinDuration(t, start.Add(24*time.Hour), *row.RetryUntil, time.Minute, "the window opened at the first failure")
			require.True(t, row.NextAttemptAt.After(clk.Now()), "the next attempt is in the future")
			stats, err := db.SyncQueueStats(ctx, 10)
			require.NoError(t, err)
			require.Len(t, stats.RecentFailures, 1)
			require.Equal(t, row.NextAttemptAt.Unix(), stats.RecentFailures[0].NextAttemptAt.Unix(), "admins see the next attempt")
			clk.Set(*row.NextAttemptAt)
		}
		require.GreaterOrEqual(t, attempts, 5, "backoff: several attempts in 30 minutes, not one a minute")
		require.LessOrEqual(t, attempts, 8)
		down.Store(false)
		row := waitStatus(t, db, qid, optio.SyncCompleted)
		require.Nil(t, row.NextAttemptAt)
		u, err := db.UserBySparkID(ctx, "spark-outage-1")
		require.NoError(t, err)
		require.Equal(t, counts{1, 1, 2, 1, b.xp}, countFor(t, db, u.ID))
	})
}
