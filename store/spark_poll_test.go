package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// TestPollWalkRoundTrip: an assignment's polling position is stored and
// read back exactly, zero times as NULL; an unknown assignment has none.
func TestPollWalkRoundTrip(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w, err := db.PollWalk(ctx, "asg-1")
		require.NoError(t, err)
		require.False(t, w.InProgress())
		require.True(t, w.Watermark.IsZero())

		at := time.Date(2026, 3, 2, 10, 0, 0, 123000, time.UTC)
		in := &store.PollWalk{AssignmentID: "asg-1", CourseID: "c-1", Watermark: at.Add(-time.Hour), Started: at, Full: true, Cursor: "o50"}
		require.NoError(t, db.SavePollWalk(ctx, in))
		got, err := db.PollWalk(ctx, "asg-1")
		require.NoError(t, err)
		require.Equal(t, in, got)
		require.True(t, got.InProgress())

		in.Watermark, in.ReconciledAt, in.Started, in.Full, in.Cursor = at, at, time.Time{}, false, ""
		require.NoError(t, db.SavePollWalk(ctx, in))
		got, err = db.PollWalk(ctx, "asg-1")
		require.NoError(t, err)
		require.Equal(t, in, got)
		require.False(t, got.InProgress())
	})
}

// TestRequeueFailedSubmission: only a submission whose latest sync failed
// is put back to pending, once; a completed or pending one is left alone.
func TestRequeueFailedSubmission(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		qid, queued, err := db.ImportSubmission(ctx, store.IncomingSubmission{SparkUserID: "stu-1", SparkAssignmentID: "asg-1",
			SparkCourseID: "c-1", Text: "Essay", FilesJSON: "[]", SubmittedAt: time.Now().UTC()})
		require.NoError(t, err)
		require.True(t, queued)
		_, again, err := db.RequeueFailedSubmission(ctx, "stu-1", "asg-1")
		require.NoError(t, err)
		require.False(t, again, "pending: nothing to requeue")

		require.NoError(t, db.FailSync(ctx, qid, "file host down", true))
		row, err := db.SyncQueueRowByID(ctx, qid)
		require.NoError(t, err)
		require.Equal(t, optio.SyncFailed, row.Status)
		id, again, err := db.RequeueFailedSubmission(ctx, "stu-1", "asg-1")
		require.NoError(t, err)
		require.True(t, again)
		require.Equal(t, qid, id)
		row, err = db.SyncQueueRowByID(ctx, qid)
		require.NoError(t, err)
		require.Equal(t, optio.SyncPending, row.Status)
		_, again, err = db.RequeueFailedSubmission(ctx, "stu-1", "asg-1")
		require.NoError(t, err)
		require.False(t, again, "requeued once")
		_, again, err = db.RequeueFailedSubmission(ctx, "nobody", "asg-1")
		require.NoError(t, err)
		require.False(t, again)
	})
}

// TestSparkPollStatus: the last poll's outcome is kept for admins, a failed
// poll keeps the time of the last good one, and SyncQueueStats carries it.
func TestSparkPollStatus(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st, err := db.SparkPollStatus(ctx)
		require.NoError(t, err)
		require.Nil(t, st)
		ok := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
		require.NoError(t, db.SetSparkPollStatus(ctx, optio.SparkPollStatus{StartedAt: ok, FinishedAt: ok, OK: true, Queued: 3}))
		require.NoError(t, db.SetSparkPollStatus(ctx, optio.SparkPollStatus{StartedAt: ok.Add(time.Hour), FinishedAt: ok.Add(time.Hour),
			Error: "spark poll stopped: more than 5 courses (SPARK_POLL_MAX_COURSES)"}))
		stats, err := db.SyncQueueStats(ctx, 5)
		require.NoError(t, err)
		require.NotNil(t, stats.Poll)
		require.False(t, stats.Poll.OK)
		require.Contains(t, stats.Poll.Error, "SPARK_POLL_MAX_COURSES")
		require.Equal(t, ok, stats.Poll.LastOKAt.UTC())
	})
}
