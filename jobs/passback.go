package jobs

import (
	"context"
	"fmt"

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

// Work posts the grade once; Spark dedupes by the completion id.
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
		Grade: *g.Grade, OptioTaskCompletionID: job.Args.CompletionID, GradedAt: g.GradedAt})
	if err != nil && !spark.IsRetryable(err) {
		return river.JobCancel(fmt.Errorf("grade passback %s: %w", job.Args.CompletionID, err))
	}
	return err
}
