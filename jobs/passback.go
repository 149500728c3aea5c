package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
)

// passbackWorker posts a completion's grade to Spark's /api/grades. A
// failure returns an error and River retries it like any job; a 4xx other
// than 408/429 is permanent.
type passbackWorker struct {
	river.WorkerDefaults[optio.GradePassbackJob]
	db    *store.DB
	spark *spark.Client
}

// Work posts the completion's current grade. The Idempotency-Key names the
// completion and the grade as given (value and time), so Spark dedupes a
// retried post but records a regrade — including a change back to an
// earlier grade.
func (w *passbackWorker) Work(ctx context.Context, job *river.Job[optio.GradePassbackJob]) error {
	if w.spark == nil {
		return river.JobCancel(fmt.Errorf("grade passback: SPARK_API_URL is not set"))
	}
	g, err := w.db.GradeForPassback(ctx, job.Args.CompletionID)
	if err != nil {
		if optio.ErrorCode(err) == optio.ENOTFOUND {
			return river.JobCancel(err)
		}
		return err
	}
	if g.Grade == nil {
		return nil
	}
	err = w.spark.PostGrade(ctx, spark.GradePassback{SparkUserID: g.SparkUserID, SparkAssignmentID: g.SparkAssignmentID,
		Grade: *g.Grade, OptioTaskCompletionID: job.Args.CompletionID, GradedAt: g.GradedAt,
		IdempotencyKey: passbackKey(job.Args.CompletionID, *g.Grade, g.GradedAt)})
	if err != nil && !spark.IsRetryable(err) {
		return river.JobCancel(fmt.Errorf("grade passback %s: %w", job.Args.CompletionID, err))
	}
	return retryAfterSpark(err)
}

// passbackKey is "<completion id>.<16 hex digits>", the digits hashing the
// grade and when it was given.
func passbackKey(completionID, grade string, at time.Time) string {
	sum := sha256.Sum256([]byte(grade + "\x00" + at.UTC().Format(time.RFC3339Nano)))
	return completionID + "." + hex.EncodeToString(sum[:8])
}
