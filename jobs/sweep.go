package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
)

// sweepJob makes sure every pending queue row older than a threshold has a
// live sync job: belt and braces for rows written while no Enqueuer was set.
type sweepJob struct{}

// Kind names the job for River.
func (sweepJob) Kind() string { return "spark_sync_sweep" }

type sweepWorker struct {
	river.WorkerDefaults[sweepJob]
	db *store.DB
	// enqueue is the runner's EnqueueSoon: the sweeper inserts its jobs the
	// way a webhook's are inserted.
	enqueue func(queueIDs ...string)
	age     time.Duration
	clock   optio.Clock
}

// Work enqueues a job per old pending row; rows that already have a live job
// are skipped by the job's uniqueness.
func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[sweepJob]) error {
	ids, err := w.db.PendingSyncsOlderThan(ctx, w.clock.Now().Add(-w.age), 1000)
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	w.enqueue(ids...)
	return nil
}
