package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// failingEnqueuer refuses the jobs of submissions whose text is "fail", the
// way a broken job insert would, so one delivery of a shared commit fails.
type failingEnqueuer struct{}

func (failingEnqueuer) EnqueueTx(ctx context.Context, tx *sql.Tx, job optio.Job) error {
	var text string
	err := tx.QueryRowContext(ctx, `SELECT s.submission_text FROM spark_evidence_sync_queue q
		JOIN spark_assignment_submissions s ON s.id = q.submission_id WHERE q.id = $1`, job.(optio.SyncSubmissionJob).QueueID).Scan(&text)
	if err != nil {
		return err
	}
	if text == "fail" {
		return errors.New("job insert refused")
	}
	return nil
}

// TestConcurrentSubmissionsShareCommitsSafely sends a burst of concurrent
// submission deliveries — every id twice, some failing — so they are
// group-committed together: each id is accepted exactly once and answered
// duplicate once, a failing delivery fails alone and leaves nothing
// behind (its retry is processed afresh), and every other one is stored.
func TestConcurrentSubmissionsShareCommitsSafely(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		db.Enqueue = failingEnqueuer{}
		ctx := context.Background()
		const ids = 120
		type answer struct {
			rc  *optio.SubmissionReceipt
			err error
		}
		answers := make([][2]answer, ids)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range ids {
			for k := range 2 {
				wg.Go(func() {
					<-start
					text := "essay"
					if i%10 == 0 {
						text = "fail"
					}
					rc, err := db.AcceptSparkSubmission(ctx, fmt.Sprintf("wh-%d", i), optio.SparkSubmissionEvent{
						SparkUserID: fmt.Sprintf("stu-%d", i%7), SparkAssignmentID: fmt.Sprintf("asg-%d", i), SparkCourseID: "crs",
						Text: text, SubmittedAt: time.Now()})
					answers[i][k] = answer{rc, err}
				})
			}
		}
		close(start)
		wg.Wait()
		accepted := 0
		for i, a := range answers {
			if i%10 == 0 {
				for _, x := range a {
					require.Error(t, x.err, "delivery %d", i)
				}
				continue
			}
			require.NoError(t, a[0].err, "delivery %d", i)
			require.NoError(t, a[1].err, "delivery %d", i)
			require.True(t, a[0].rc.Duplicate != a[1].rc.Duplicate, "delivery %d: exactly one of the two is a duplicate", i)
			accepted++
		}
		require.Equal(t, accepted, count(t, db, "webhook_deliveries"))
		require.Equal(t, accepted, count(t, db, "spark_assignment_submissions"))
		require.Equal(t, accepted, count(t, db, "spark_evidence_sync_queue"))
		require.Equal(t, 7, count(t, db, "users"), "concurrent first deliveries of a student create them once")

		// A failed delivery left no claim: Spark's retry is processed afresh.
		db.Enqueue = nil
		rc, err := db.AcceptSparkSubmission(ctx, "wh-0", optio.SparkSubmissionEvent{SparkUserID: "stu-0", SparkAssignmentID: "asg-0",
			SparkCourseID: "crs", Text: "retried", SubmittedAt: time.Now()})
		require.NoError(t, err)
		require.False(t, rc.Duplicate)
	})
}
