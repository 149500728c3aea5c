package jobs

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/riverqueue/river"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
)

// HealthJob checks badge accuracy and rolls up the business figures of
// today (and of yesterday, so its last hours are counted once the day
// is over) for /admin/health. It runs every Options.HealthInterval and
// when the runner starts.
type HealthJob struct{}

// Kind names the job for River.
func (HealthJob) Kind() string { return "optio_health" }

type healthWorker struct {
	river.WorkerDefaults[HealthJob]
	db     *store.DB
	logger *slog.Logger
}

// Work runs the check and the rollups. The check's result is stored
// (job_state), and /metrics reads optio_badge_accuracy_mismatches from it.
func (w *healthWorker) Work(ctx context.Context, _ *river.Job[HealthJob]) error {
	return RunHealth(ctx, w.db, w.logger)
}

// RunHealth is the health job's work, callable without River (tests, the CLI).
func RunHealth(ctx context.Context, db *store.DB, logger *slog.Logger) error {
	acc, err := optio.RunHealthChecks(ctx, db, db.Clock.Now())
	if err != nil {
		return fmt.Errorf("health job: %w", err)
	}
	if acc.Mismatches > 0 && logger != nil {
		logger.WarnContext(ctx, "badge accuracy: students whose badges disagree with the rules", "mismatches", acc.Mismatches,
			"students", acc.Students)
	}
	return nil
}
