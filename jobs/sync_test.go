package jobs_test

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/jobs"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

func TestSyncSubmissionBecomesEvidence(t *testing.T) {
	t.Parallel()
	eachStoreAndDriver(t, func(t *testing.T, db *store.DB, blobURL string) {
		ctx := context.Background()
		b := setupBlobs(t, db, blobURL)
		r := b.runner(t, nil)
		db = b.db // the runner's store: it inserts the jobs
		files := []spark.SubmissionFile{
			{URL: b.srv.put("/essay.pdf", pdfBytes()), Type: "application/pdf", Filename: "essay.pdf"},
			{URL: b.srv.put("/cell.png", pngBytes(t)), Type: "image/png", Filename: "cell.png"},
			{URL: b.srv.put("/demo.mp4", mp4Bytes()), Type: "video/mp4", Filename: "demo.mp4"},
			{ContentBase64: base64.StdEncoding.EncodeToString([]byte("lab notes\n")), Type: "text/plain", Filename: "notes.txt"},
		}
		qid := submit(t, db, "spark-stu-1", time.Now().Add(-time.Minute), "My essay on cells.", files...)
		row := waitStatus(t, db, qid, optio.SyncCompleted)
		require.Equal(t, 1, row.Attempts)
		require.NotNil(t, row.CompletedAt)

		u, err := db.UserBySparkID(ctx, "spark-stu-1")
		require.NoError(t, err)
		require.True(t, u.Provisional, "a student known only from Spark is provisional")
		done, err := db.RecentCompletions(ctx, u.ID, 10, 0)
		require.NoError(t, err)
		require.Len(t, done, 1)
		c := done[0]
		require.Equal(t, b.taskID, c.Task.ID)
		require.Equal(t, "A-", *c.Completion.Grade)
		require.Equal(t, b.xp, c.Completion.XPAwarded)
		var types []optio.BlockType
		for _, bl := range c.Evidence.Blocks {
			types = append(types, bl.BlockType)
			require.Equal(t, "spark", bl.Content.Source)
			require.Equal(t, "course-1", bl.Content.SparkCourseID)
			require.Equal(t, "asg-1", bl.Content.SparkAssignmentID)
			require.NotNil(t, bl.Content.SyncedAt)
		}
		require.Equal(t, []optio.BlockType{optio.BlockText, optio.BlockDocument, optio.BlockImage, optio.BlockVideo, optio.BlockDocument}, types)
		require.Equal(t, "My essay on cells.", c.Evidence.Blocks[0].Content.Text)
		require.Equal(t, "application/pdf", c.Evidence.Blocks[1].Content.ContentType)
		f, err := db.FileByID(ctx, c.Evidence.Blocks[2].Content.FileID)
		require.NoError(t, err)
		require.Equal(t, u.ID, f.OwnerID)
		require.Equal(t, "image/png", f.ContentType)
		xp, err := db.XPSummary(ctx, u.ID)
		require.NoError(t, err)
		require.Equal(t, b.xp, xp.Total)
		require.Equal(t, counts{1, 1, 5, 1, b.xp}, countFor(t, db, u.ID))
		var synced bool
		var cid string
		require.NoError(t, db.R.QueryRowContext(ctx, `SELECT synced_to_optio, optio_task_completion_id FROM spark_assignment_submissions WHERE id = $1`, row.SubmissionID).Scan(&synced, &cid))
		require.True(t, synced)
		require.Equal(t, c.Completion.ID, cid)

		// A duplicate job run (a redelivered job, or the sweeper) changes
		// nothing: run in place, and as a second River job (inserted without
		// the uniqueness that would otherwise skip it) that must complete.
		require.NoError(t, r.Sync.Sync(ctx, qid))
		events, stop := r.Client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
		defer stop()
		again, err := r.Client.Insert(ctx, optio.SyncSubmissionJob{QueueID: qid}, nil)
		require.NoError(t, err)
		require.False(t, again.UniqueSkippedAsDuplicate)
		waitJob(t, events, again.Job.ID)
		require.Equal(t, counts{1, 1, 5, 1, b.xp}, countFor(t, db, u.ID))

		// A resubmission replaces the blocks and the grade, without new XP.
		// The replaced blocks' file rows go; an upload not yet attached stays.
		pending := &optio.File{OwnerID: u.ID, BlobKey: f.BlobKey, SHA256: f.SHA256, Filename: "draft.png", ContentType: f.ContentType, Size: f.Size}
		require.NoError(t, db.CreateFile(ctx, pending))
		require.Equal(t, 5, filesOf(t, db, u.ID))
		grade := "A+"
		q2, queued, err := db.ImportSubmission(ctx, store.IncomingSubmission{SparkUserID: "spark-stu-1", SparkAssignmentID: "asg-1",
			SparkCourseID: "course-1", Text: "Revised essay.", FilesJSON: `[{"url":"` + b.srv.URL + `/cell.png","type":"image/png","filename":"cell.png"}]`,
			SubmittedAt: time.Now(), Grade: &grade})
		require.NoError(t, err)
		require.True(t, queued)
		waitStatus(t, db, q2, optio.SyncCompleted)
		done, err = db.RecentCompletions(ctx, u.ID, 10, 0)
		require.NoError(t, err)
		require.Len(t, done, 1)
		require.Equal(t, "A+", *done[0].Completion.Grade)
		require.Len(t, done[0].Evidence.Blocks, 2)
		require.Equal(t, "Revised essay.", done[0].Evidence.Blocks[0].Content.Text)
		require.Equal(t, counts{1, 1, 2, 1, b.xp}, countFor(t, db, u.ID))
		require.Equal(t, 2, filesOf(t, db, u.ID), "the new image's row and the pending upload")
		_, err = db.FileByID(ctx, pending.ID)
		require.NoError(t, err)
		kept, err := db.FileByID(ctx, done[0].Evidence.Blocks[1].Content.FileID)
		require.NoError(t, err)
		rd, err := b.files.Open(ctx, kept.BlobKey)
		require.NoError(t, err, "the shared blob (same image as before) is still there")
		require.NoError(t, rd.Close())

		// The older revision's row, run again, is superseded and overwrites nothing.
		_, err = db.W.ExecContext(ctx, `UPDATE spark_evidence_sync_queue SET status = 'pending' WHERE id = $1`, qid)
		require.NoError(t, err)
		require.NoError(t, r.Sync.Sync(ctx, qid))
		row = waitStatus(t, db, qid, optio.SyncCompleted)
		require.Contains(t, row.ErrorMessage, "superseded")
		require.Equal(t, counts{1, 1, 2, 1, b.xp}, countFor(t, db, u.ID))
	})
}

func TestSyncSurvivesAKilledWorker(t *testing.T) {
	t.Parallel()
	eachStoreAndDriver(t, func(t *testing.T, db *store.DB, blobURL string) {
		ctx := context.Background()
		b := setupBlobs(t, db, blobURL)
		r1 := b.runner(t, nil)
		db = b.db // the runner's store: it inserts the jobs
		url := b.srv.put("/big.pdf", pdfBytes())
		b.srv.holdPath("/big.pdf")
		qid := submit(t, db, "spark-stu-2", time.Now(), "text", spark.SubmissionFile{URL: url, Type: "pdf", Filename: "big.pdf"},
			spark.SubmissionFile{URL: b.srv.put("/cell.png", pngBytes(t)), Type: "png", Filename: "cell.png"})
		require.Eventually(t, func() bool { return b.srv.hitCount("/big.pdf") > 0 }, 10*time.Second, 10*time.Millisecond)

		// Kill the worker while the download is blocked.
		stopCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		_ = r1.Stop(stopCtx)
		cancel()
		row, err := db.SyncQueueRowByID(ctx, qid)
		require.NoError(t, err)
		require.NotEqual(t, optio.SyncCompleted, row.Status)

		b.srv.release("/big.pdf")
		b.runner(t, nil) // a new process picks the job up
		db = b.db        // the runner's store: it inserts the jobs
		waitStatus(t, db, qid, optio.SyncCompleted)
		u, err := db.UserBySparkID(ctx, "spark-stu-2")
		require.NoError(t, err)
		require.Equal(t, counts{1, 1, 3, 1, b.xp}, countFor(t, db, u.ID))
	})
}

// A process that dies between a submission's commit and its job's insert
// leaves a pending row without a job: the sweeper of the next process to
// start gives it one, and it syncs once.
func TestSweeperSyncsARowWhoseJobWasLost(t *testing.T) {
	t.Parallel()
	eachStoreAndDriver(t, func(t *testing.T, db *store.DB, blobURL string) {
		b := setupBlobs(t, db, blobURL)
		qid := submit(t, db, "spark-stu-lost", time.Now(), "written before the crash",
			spark.SubmissionFile{URL: b.srv.put("/lost.pdf", pdfBytes()), Type: "pdf", Filename: "lost.pdf"})
		require.False(t, db.HasEnqueuer(), "no runner yet: the row gets no job")
		waitStatus(t, db, qid, optio.SyncPending)

		b.runner(t, func(o *jobs.Options) { o.SweepAge = time.Millisecond; o.SweepInterval = time.Hour })
		db = b.db // the runner's store: it inserts the jobs
		waitStatus(t, db, qid, optio.SyncCompleted)
		u, err := db.UserBySparkID(context.Background(), "spark-stu-lost")
		require.NoError(t, err)
		require.Equal(t, counts{1, 1, 2, 1, b.xp}, countFor(t, db, u.ID))
	})
}

func TestSyncRefusesAPrivateFileHost(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		b.cfg.SparkFileAllowPrivate = false
		b.runner(t, nil)
		db = b.db // the runner's store: it inserts the jobs
		qid := submit(t, db, "spark-stu-3", time.Now(), "My essay", spark.SubmissionFile{URL: b.srv.put("/essay.pdf", pdfBytes()), Type: "pdf", Filename: "essay.pdf"})
		row := waitStatus(t, db, qid, optio.SyncCompleted)
		require.Equal(t, 1, row.Attempts, "a refusal is not retried")
		require.Len(t, row.FileProblems, 1)
		require.Equal(t, "essay.pdf", row.FileProblems[0].Filename)
		require.Contains(t, row.FileProblems[0].Reason, "refused")
		require.Zero(t, b.srv.hitCount("/essay.pdf"), "the private host was never contacted")
		u, err := db.UserBySparkID(context.Background(), "spark-stu-3")
		require.NoError(t, err)
		require.Zero(t, filesOf(t, db, u.ID), "nothing from the refused host is stored")
		done, err := db.RecentCompletions(context.Background(), u.ID, 5, 0)
		require.NoError(t, err)
		require.Len(t, done, 1, "the text still syncs")
		bl := done[0].Evidence.Blocks
		require.Len(t, bl, 2)
		require.Equal(t, "My essay", bl[0].Content.Text)
		require.Empty(t, bl[1].Content.FileID)
		require.Contains(t, bl[1].Content.NotImported, "refused")
		require.Empty(t, bl[1].Content.OriginalURL, "a refused host is never linked")
	})
}

func TestSyncA404FailsAfterRetriesThenAdminRetrySucceeds(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := setup(t, db)
		b.runner(t, func(o *jobs.Options) {
			o.SyncRetry = jobs.RetrySchedule{Base: 20 * time.Millisecond, Max: 20 * time.Millisecond, Window: 60 * time.Millisecond}
			o.SweepInterval, o.SweepAge = 30*time.Millisecond, time.Millisecond
		})
		db = b.db // the runner's store: it inserts the jobs
		url := b.srv.URL + "/late.pdf"
		qid := submit(t, db, "spark-stu-4", time.Now(), "", spark.SubmissionFile{URL: url, Type: "pdf", Filename: "late.pdf"})
		row := waitStatus(t, db, qid, optio.SyncFailed)
		require.GreaterOrEqual(t, row.Attempts, 2, "a 404 is retried within the window")
		require.Nil(t, row.NextAttemptAt)
		require.Contains(t, row.ErrorMessage, `"late.pdf"`)
		require.Contains(t, row.ErrorMessage, "404")
		stats, err := db.SyncQueueStats(ctx, 10)
		require.NoError(t, err)
		require.Equal(t, 1, stats.Counts[optio.SyncFailed])
		require.Len(t, stats.RecentFailures, 1)

		b.srv.put("/late.pdf", pdfBytes())
		n, err := db.RetrySyncs(ctx, true)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		waitStatus(t, db, qid, optio.SyncCompleted)
		u, err := db.UserBySparkID(ctx, "spark-stu-4")
		require.NoError(t, err)
		require.Equal(t, counts{1, 1, 1, 1, b.xp}, countFor(t, db, u.ID))
	})
}

// waitJob waits for River to report the job with id finished, and fails the
// test unless it completed.
func waitJob(t *testing.T, events <-chan *river.Event, id int64) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		select {
		case ev := <-events:
			if ev.Job.ID == id {
				require.Equal(t, river.EventKindJobCompleted, ev.Kind, "job %d: %v", id, ev.Job.Errors)
				return
			}
		case <-deadline:
			t.Fatalf("job %d did not finish within a minute", id)
		}
	}
}
