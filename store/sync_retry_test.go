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

// TestScheduleRetryWindow: a transient failure schedules the next attempt by
// the store's clock, the sweeper's query finds the row only once it is due,
// the window opens at the first failure, and an attempt past its end fails
// the row. Spark's status view follows along.
func TestScheduleRetryWindow(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		start := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
		clk := optio.NewFakeClock(start)
		db := storetest.Open(t, d, clk)
		qid, queued, err := db.ImportSubmission(ctx, store.IncomingSubmission{SparkUserID: "stu-r", SparkAssignmentID: "asg-r",
			SparkCourseID: "crs-r", Text: "hi", FilesJSON: "[]", SubmittedAt: start})
		require.NoError(t, err)
		require.True(t, queued)
		tenMin := func(int) time.Duration { return 10 * time.Minute }

		next, err := db.ScheduleRetry(ctx, qid, "host down", tenMin, time.Hour)
		require.NoError(t, err)
		require.Equal(t, start.Add(10*time.Minute), *next)
		due, err := db.PendingSyncsOlderThan(ctx, clk.Now(), 10)
		require.NoError(t, err)
		require.NotContains(t, due, qid, "not before its time")
		clk.Advance(10 * time.Minute)
		due, err = db.PendingSyncsOlderThan(ctx, clk.Now(), 10)
		require.NoError(t, err)
		require.Contains(t, due, qid, "due now")

		st, err := db.SparkSubmissionStatus(ctx, "stu-r", "asg-r")
		require.NoError(t, err)
		require.Equal(t, optio.SyncPending, st.Status)
		require.Equal(t, "host down", st.Reason)
		require.Equal(t, start.Add(10*time.Minute), *st.NextAttemptAt)

		clk.Advance(45 * time.Minute) // 55 minutes in: the next attempt would fall after the hour
		next, err = db.ScheduleRetry(ctx, qid, "still down", tenMin, time.Hour)
		require.NoError(t, err)
		require.Nil(t, next)
		row, err := db.SyncQueueRowByID(ctx, qid)
		require.NoError(t, err)
		require.Equal(t, optio.SyncFailed, row.Status)
		require.Equal(t, "still down", row.ErrorMessage)
		require.Equal(t, start.Add(time.Hour), *row.RetryUntil, "the window opened at the first failure")

		n, err := db.RetrySyncs(ctx, true)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		row, err = db.SyncQueueRowByID(ctx, qid)
		require.NoError(t, err)
		require.Nil(t, row.RetryUntil, "an admin's retry opens a new window")

		_, err = db.SparkSubmissionStatus(ctx, "stu-r", "nope")
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err))
	})
}
