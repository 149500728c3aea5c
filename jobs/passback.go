package jobs

import (
	"context"
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

// Work posts the grade revision the job was made for: its grade and the
// moment it was given (graded_at), under the Idempotency-Key
// "<completion id>@<graded_at>" (spark.PassbackKey). A retried post repeats
// its key, so Spark records it once; a regrade — even back to an earlier
// grade — is a new revision with its own key. Spark keeps the revision with
// the latest graded_at, so posts arriving out of order do no harm.
func (w *passbackWorker) Work(ctx context.Context, job *river.Job[optio.GradePassbackJob]) error {
	if w.spark == nil {
		return river.JobCancel(fmt.Errorf("grade passback: SPARK_API_URL is not set"))
	}
	g, err := w.db.GradeForPassback(ctx, job.Args.CompletionID)
	if err != nil {
		return cancelIfGone(err)
	}
	grade, at := job.Args.Grade, job.Args.GradedAt
	if grade == "" || at.IsZero() { // a job queued before grade revisions were sent
		if g.Grade == nil {
			return nil
		}
		grade, at = *g.Grade, g.GradedAt
	}
	at = at.UTC().Truncate(time.Microsecond)
	err = w.spark.PostGrade(ctx, spark.GradePassback{SparkUserID: g.SparkUserID, SparkAssignmentID: g.SparkAssignmentID,
		Grade: grade, OptioTaskCompletionID: job.Args.CompletionID, GradedAt: at,
		IdempotencyKey: spark.PassbackKey(job.Args.CompletionID, at)})
	if err != nil && !spark.IsRetryable(err) {
		return river.JobCancel(fmt.Errorf("grade passback %s: %w", job.Args.CompletionID, err))
	}
	return retryAfterSpark(err)
}
