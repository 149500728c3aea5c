// Package jobs runs Optio's background work on River: the evidence sync of
// Spark submissions, the sweeper that makes sure every queued sync has a
// job, the Spark polling fallback and grade passback. Most jobs are inserted
// in the caller's transaction (store.Enqueuer.EnqueueTx), so a job exists
// exactly when its data does; sync jobs, the hot path, are inserted just
// after their queue row commits, many in one insert (EnqueueSoon), and the
// sweeper covers a crash in between. Many processes may share one
// PostgreSQL and River gives each job to one of them.
package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/fetch"
	"github.com/optio-edu/optio/filestore"
	"github.com/optio-edu/optio/lti"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
)

// Defaults of Options.
const (
	DefaultMaxAttempts   = 8
	DefaultPollInterval  = 150 * time.Millisecond
	DefaultRescueAfter   = 15 * time.Minute
	DefaultSweepInterval = 20 * time.Second
	// DefaultHealthInterval: the badge-accuracy check and business rollup.
	DefaultHealthInterval = 15 * time.Minute
	DefaultSweepAge       = 10 * time.Second
	DefaultJobTimeout     = 10 * time.Minute
	DefaultBlobGCEvery    = time.Hour
	DefaultBlobGCGrace    = 24 * time.Hour
)

// Options tune the job runner; zero fields take the defaults above.
type Options struct {
	// Workers is how many jobs this process runs at once; 0 inserts only.
	Workers int
	// LTI calls LMS platforms' services (NRPS rosters, AGS scores); nil
	// cancels those jobs.
	LTI *lti.Client
	// MaxAttempts is how often a job is tried before it fails for good.
	MaxAttempts int
	// RetryBase scales the exponential backoff (attempt n waits about
	// RetryBase·2^(n-1), with jitter, at most an hour). Default 1s.
	RetryBase time.Duration
	// SyncRetry is the evidence-sync retry schedule; zero fields take
	// DefaultSyncRetryBase, DefaultSyncRetryMax and the config's
	// SPARK_SYNC_RETRY_WINDOW (DefaultSyncRetryWindow).
	SyncRetry RetrySchedule
	// FetchPollInterval is how often idle workers look for new jobs
	// (database/sql drivers have no LISTEN/NOTIFY). Default 150ms.
	FetchPollInterval time.Duration
	// RescueStuckJobsAfter is how long a running job may go without
	// finishing before River assumes its process died and runs it again.
	// It must exceed the longest legitimate sync (a 500 MB video). Default 15m.
	RescueStuckJobsAfter time.Duration
	// JobTimeout bounds one attempt (at most RescueStuckJobsAfter). Default 10m.
	JobTimeout time.Duration
	// SweepInterval and SweepAge: every SweepInterval (and when the runner
	// starts), pending queue rows older than SweepAge get a job if they have
	// none. Defaults 20s and 10s.
	SweepInterval time.Duration
	SweepAge      time.Duration
	// HealthInterval is how often the health job checks badge accuracy
	// and rolls up the day's business figures (and when the runner
	// starts). Default 15m.
	HealthInterval time.Duration
	// BlobGCEvery and BlobGCGrace: every BlobGCEvery the blob collector
	// deletes evidence blobs no file row refers to that were neither stored
	// nor reused in the last BlobGCGrace (BlobCollector). The grace must
	// exceed the longest job (RescueStuckJobsAfter): a sync stores its
	// blobs before it commits their file rows. Defaults 1h and 24h.
	BlobGCEvery time.Duration
	BlobGCGrace time.Duration
	// Logger receives River's and the workers' logs.
	Logger *slog.Logger
	// Registerer receives the sync metrics; nil: not registered.
	Registerer prometheus.Registerer
	// DeletionSweepInterval is how often due deletions get their jobs.
	// Default 1m.
	DeletionSweepInterval time.Duration
	// AfterSync runs after a submission's evidence is written, with the
	// student's id (the badges feature re-checks badges there). Nil-safe.
	AfterSync func(ctx context.Context, userID string) error
}

// Runner owns the River client and the workers.
type Runner struct {
	Client *river.Client[*sql.Tx]
	// Sync is the evidence-sync worker (exposed so tests and tools can run a
	// sync directly).
	Sync *SyncWorker
	Poll *PollWorker
	// Privacy runs exports, deletions and the retention purge.
	Privacy *Privacy
	Blobs   *BlobCollector
	db      *store.DB
	opts    Options
	started bool
	// passback: grade passback jobs are enqueued (else dropped).
	passback bool
	// fetchCourses: course fetch jobs are enqueued (else dropped: no SPARK_API_URL).
	fetchCourses bool
	// soon carries EnqueueSoon's jobs to the goroutine that inserts them;
	// soonMu guards closing it (Stop) against senders.
	soon     chan optio.SyncSubmissionJob
	soonMu   sync.RWMutex
	soonDone chan struct{}
}

// Store is the store the runner was built on, inserting its background
// jobs through the runner: the DB the web server and the workers write with.
func (r *Runner) Store() *store.DB { return r.db }

// soonBatch bounds how many EnqueueSoon jobs go into one insert.
const soonBatch = 500

// New migrates River's tables for the store's dialect and builds the client.
// With opts.Workers > 0 the runner also works jobs once started.
func New(ctx context.Context, cfg *optio.Config, db *store.DB, files *filestore.Store, opts Options) (*Runner, error) {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = time.Second
	}
	if opts.SyncRetry.Base <= 0 {
		opts.SyncRetry.Base = DefaultSyncRetryBase
	}
	if opts.SyncRetry.Max <= 0 {
		opts.SyncRetry.Max = max(DefaultSyncRetryMax, opts.SyncRetry.Base)
	}
	if opts.SyncRetry.Window <= 0 {
		opts.SyncRetry.Window = cmp.Or(cfg.SparkSyncRetryWindow, DefaultSyncRetryWindow)
	}
	if opts.FetchPollInterval <= 0 {
		opts.FetchPollInterval = DefaultPollInterval
	}
	if opts.RescueStuckJobsAfter <= 0 {
		opts.RescueStuckJobsAfter = DefaultRescueAfter
	}
	if opts.JobTimeout <= 0 {
		opts.JobTimeout = DefaultJobTimeout
	}
	opts.JobTimeout = min(opts.JobTimeout, opts.RescueStuckJobsAfter)
	if opts.HealthInterval <= 0 {
		opts.HealthInterval = DefaultHealthInterval
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = DefaultSweepInterval
	}
	if opts.SweepAge <= 0 {
		opts.SweepAge = DefaultSweepAge
	}
	if opts.BlobGCEvery <= 0 {
		opts.BlobGCEvery = DefaultBlobGCEvery
	}
	if opts.BlobGCGrace <= 0 {
		opts.BlobGCGrace = DefaultBlobGCGrace
	}
	opts.BlobGCGrace = max(opts.BlobGCGrace, opts.RescueStuckJobsAfter)
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := Migrate(ctx, db); err != nil {
		return nil, err
	}
	m := newMetrics(opts.Registerer)
	var sparkClient *spark.Client
	if cfg.SparkAPIURL != "" {
		sparkClient = &spark.Client{BaseURL: cfg.SparkAPIURL, APIKey: cfg.SparkAPIKey,
			MaxConcurrent: cfg.SparkAPIConcurrency, MaxResponseBytes: cfg.SparkAPIMaxResponseBytes, Clock: db.Clock,
			OnStatus: newAPIKeyWatch(db, opts.Logger, opts.Registerer).observe}
	}
	r := &Runner{db: db, opts: opts, passback: cfg.SparkGradePassback && sparkClient != nil, fetchCourses: sparkClient != nil}
	// The workers, and everyone who takes Store, write through a DB whose
	// jobs this runner inserts.
	db = db.WithEnqueuer(r)
	r.db = db
	r.Sync = &SyncWorker{
		DB:    db,
		Files: files,
		Fetch: fetch.New(fetch.Policy{AllowedHosts: cfg.SparkFileHosts, AllowPrivate: cfg.SparkFileAllowPrivate, MaxBytes: cfg.SparkFileMaxBytes,
			HTTPSOnly: cfg.RefuseInsecureHTTP()}),
		MaxBytes:  cfg.SparkFileMaxBytes,
		Retry:     opts.SyncRetry,
		AfterSync: opts.AfterSync,
		Logger:    opts.Logger,
		metrics:   m,
		dbSlots:   newDBSlots(),
	}
	r.Poll = &PollWorker{DB: db, Spark: sparkClient, Logger: opts.Logger, AutoMap: cfg.SparkAutoMap, metrics: m,
		Limits: PollLimits{MaxCourses: cfg.SparkPollMaxCourses, MaxAssignments: cfg.SparkPollMaxAssignments,
			MaxSubmissions: cfg.SparkPollMaxSubmissions, ReconcileEvery: reconcileEvery(cfg.SparkPollReconcileEvery)}}
	r.Privacy = &Privacy{DB: db, Files: files, BaseURL: cfg.BaseURL, ExportTTL: cmp.Or(cfg.ExportLinkTTL, 24*time.Hour),
		Retention: cfg.Retention(), Logger: opts.Logger}
	if opts.DeletionSweepInterval <= 0 {
		opts.DeletionSweepInterval = time.Minute
	}
	r.Blobs = &BlobCollector{DB: db, Files: files, Grace: opts.BlobGCGrace, Logger: opts.Logger}
	rc := &river.Config{
		Logger:               opts.Logger,
		MaxAttempts:          opts.MaxAttempts,
		FetchPollInterval:    opts.FetchPollInterval,
		FetchCooldown:        min(opts.FetchPollInterval, river.FetchCooldownDefault),
		PollOnly:             true,
		RescueStuckJobsAfter: opts.RescueStuckJobsAfter,
		JobTimeout:           opts.JobTimeout,
		RetryPolicy:          &backoff{base: opts.RetryBase},
	}
	if opts.Workers > 0 {
		workers := river.NewWorkers()
		river.AddWorker(workers, r.Sync)
		river.AddWorker(workers, &retryWorker{sync: r.Sync})
		river.AddWorker(workers, &sweepWorker{db: db, enqueue: r.EnqueueSoon, age: opts.SweepAge, clock: db.Clock})
		river.AddWorker(workers, r.Poll)
		river.AddWorker(workers, &passbackWorker{db: db, spark: sparkClient})
		river.AddWorker(workers, &courseFetchWorker{db: db, spark: sparkClient, logger: opts.Logger})
		river.AddWorker(workers, &healthWorker{db: db, logger: opts.Logger})
		river.AddWorker(workers, &exportWorker{p: r.Privacy})
		river.AddWorker(workers, &deletionWorker{p: r.Privacy})
		river.AddWorker(workers, &deletionSweepWorker{p: r.Privacy, client: func() *river.Client[*sql.Tx] { return r.Client }})
		river.AddWorker(workers, &retentionWorker{p: r.Privacy})
		river.AddWorker(workers, &blobGCWorker{c: r.Blobs})
		river.AddWorker(workers, &ltiRosterWorker{db: db, client: opts.LTI, logger: opts.Logger})
		river.AddWorker(workers, &ltiScoreWorker{db: db, client: opts.LTI})
		rc.Workers = workers
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: opts.Workers}}
		rc.PeriodicJobs = []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(opts.SweepInterval),
				func() (river.JobArgs, *river.InsertOpts) { return sweepJob{}, uniqueOpts() },
				&river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(opts.HealthInterval),
				func() (river.JobArgs, *river.InsertOpts) { return HealthJob{}, uniqueOpts() },
				&river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(opts.DeletionSweepInterval),
				func() (river.JobArgs, *river.InsertOpts) { return deletionSweepJob{}, uniqueOpts() },
				&river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(cmp.Or(cfg.RetentionInterval, time.Hour)),
				func() (river.JobArgs, *river.InsertOpts) { return optio.RetentionJob{}, uniqueOpts() },
				&river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(opts.BlobGCEvery),
				func() (river.JobArgs, *river.InsertOpts) { return blobGCJob{}, uniqueOpts() }, nil),
		}
		if sparkClient != nil {
			rc.PeriodicJobs = append(rc.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(cfg.SparkPollInterval),
				func() (river.JobArgs, *river.InsertOpts) { return PollJob{}, uniqueOpts() }, nil))
		}
	}
	c, err := river.NewClient(driverFor(db), rc)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	r.Client = c
	r.soon = make(chan optio.SyncSubmissionJob, 4*soonBatch)
	r.soonDone = make(chan struct{})
	go r.insertSoon(r.soon)
	return r, nil
}

// reconcileEvery maps SPARK_POLL_RECONCILE_EVERY (0: off) to PollLimits
// (0: the default, negative: off). A Config built by hand (tests) leaves it
// zero and gets no reconciliation, as before.
func reconcileEvery(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}

func driverFor(db *store.DB) riverdriver.Driver[*sql.Tx] {
	if db.Dialect == store.Postgres {
		return riverdatabasesql.New(db.W)
	}
	return riversqlite.New(db.W)
}

// Migrate creates or upgrades River's own tables in the store's database,
// under the store's migration lock so concurrent starts do not race.
func Migrate(ctx context.Context, db *store.DB) error {
	m, err := rivermigrate.New(driverFor(db), nil)
	if err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	return db.WithMigrationLock(ctx, func() error {
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("migrate river: %w", err)
		}
		return nil
	})
}

// EnqueueTx inserts job inside tx (store.Enqueuer). A sync job already
// waiting or running for the same queue row is not inserted twice. Grade
// passbacks are dropped when passback is off (SPARK_GRADE_PASSBACK=false or
// no SPARK_API_URL), so nothing is ever sent; so are course fetches
// without SPARK_API_URL.
func (r *Runner) EnqueueTx(ctx context.Context, tx *sql.Tx, job optio.Job) error {
	if _, ok := job.(optio.GradePassbackJob); ok && !r.passback {
		return nil
	}
	if _, ok := job.(optio.SparkCourseFetchJob); ok && !r.fetchCourses {
		return nil
	}
	if _, err := r.Client.InsertTx(ctx, tx, job, uniqueOpts()); err != nil {
		return fmt.Errorf("insert %s job: %w", job.Kind(), err)
	}
	return nil
}

// EnqueueSoon queues the sync jobs of rows already committed (store.Enqueuer).
// It blocks only while the inserter is a full batch behind; after Stop the
// jobs are left to the sweeper.
func (r *Runner) EnqueueSoon(queueIDs ...string) {
	r.soonMu.RLock()
	defer r.soonMu.RUnlock()
	if r.soon == nil {
		return
	}
	for _, id := range queueIDs {
		r.soon <- optio.SyncSubmissionJob{QueueID: id}
	}
}

// insertSoon inserts EnqueueSoon's jobs: whatever arrived while the last
// insert ran goes into the next one, so under load one statement carries
// many jobs and when idle a job is inserted at once. A failed insert is
// logged; the sweeper gives those rows their jobs.
func (r *Runner) insertSoon(soon <-chan optio.SyncSubmissionJob) {
	defer close(r.soonDone)
	for j := range soon {
		batch := []river.InsertManyParams{{Args: j, InsertOpts: uniqueOpts()}}
		seen := map[string]bool{j.QueueID: true}
	drain:
		for len(batch) < soonBatch {
			select {
			case j, ok := <-soon:
				if !ok {
					break drain
				}
				if !seen[j.QueueID] { // River refuses a unique job twice in one batch
					seen[j.QueueID] = true
					batch = append(batch, river.InsertManyParams{Args: j, InsertOpts: uniqueOpts()})
				}
			default:
				break drain
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if _, err := r.Client.InsertMany(ctx, batch); err != nil {
			r.opts.Logger.Warn("insert sync jobs; the sweeper will retry", "jobs", len(batch), "error", err)
		}
		cancel()
	}
}

// uniqueOpts makes a job unique by its arguments among live jobs only, so a
// finished job never blocks a later retry of the same work.
func uniqueOpts() *river.InsertOpts {
	return &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
		rivertype.JobStateRetryable, rivertype.JobStateScheduled,
	}}}
}

// Start begins working jobs (a no-op for an insert-only runner).
func (r *Runner) Start(ctx context.Context) error {
	if r.opts.Workers == 0 {
		return nil
	}
	if err := r.Client.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	r.started = true
	return nil
}

// Stop inserts the jobs EnqueueSoon still holds, then lets running jobs
// finish until ctx ends and cancels them; a cancelled job is retried later
// (by this or another process).
func (r *Runner) Stop(ctx context.Context) error {
	r.soonMu.Lock()
	if r.soon != nil {
		close(r.soon)
		r.soon = nil
	}
	r.soonMu.Unlock()
	select {
	case <-r.soonDone:
	case <-ctx.Done():
	}
	if !r.started {
		return nil
	}
	r.started = false
	err := r.Client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return r.Client.StopAndCancel(cctx)
	}
	return err
}

// cancelIfGone cancels a job whose data is gone (a course, platform,
// completion or student deleted meanwhile: retrying cannot bring it back).
func cancelIfGone(err error) error {
	if optio.ErrorCode(err) == optio.ENOTFOUND {
		return river.JobCancel(err)
	}
	return err
}
