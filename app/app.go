// Package app assembles Optio from its parts — configuration, store, file
// storage, background jobs and HTTP — so the CLI and end-to-end tests start
// exactly the same program.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/jobs"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/web"
)

// App is a running Optio: the store, the web server and the workers.
type App struct {
	Config   *optio.Config
	Store    *store.DB
	Web      *web.Server
	Logger   *slog.Logger
	Clock    optio.Clock
	Registry *prometheus.Registry
	// Jobs runs background work (River); it works jobs when Config.Workers > 0.
	Jobs *jobs.Runner

	httpSrv  *http.Server
	listener net.Listener
	// metricsSrv serves /metrics on Config.MetricsAddr (nil when "off").
	metricsSrv *http.Server
	metricsLn  net.Listener
	closers    []func() error
	// healthStop ends the loop that flushes Web.Health; healthDone closes
	// when it has made its last flush.
	healthStop chan struct{}
	healthDone chan struct{}
}

// healthFlushEvery is how often the SSO and webhook counts of
// /admin/health go from memory to the database (docs/ops/health.md).
const healthFlushEvery = 10 * time.Second

// Options adjust how an App is built; the zero value is production.
type Options struct {
	Clock  optio.Clock
	Logger *slog.Logger
	// Jobs tunes the job runner; Workers is taken from Config.Workers.
	Jobs jobs.Options
}

// New opens the store (migrating it), file storage and jobs, and builds the
// web server. It does not listen yet; call Start.
func New(ctx context.Context, cfg *optio.Config, opts Options) (*App, error) {
	if opts.Clock == nil {
		opts.Clock = optio.SystemClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	a := &App{Config: cfg, Logger: opts.Logger, Clock: opts.Clock, Registry: prometheus.NewRegistry()}
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	dbURL := cfg.DatabaseURL
	if !cfg.IsPostgres() {
		dbURL = cfg.SQLitePath()
	}
	db, err := store.Open(ctx, dbURL, opts.Clock)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, db.Close)
	db = db.WithAutoMap(cfg.SparkAutoMap)
	if err := db.Migrate(ctx); err != nil {
		a.Close()
		return nil, err
	}
	files, err := openFiles(ctx, cfg.BlobURL, db.TouchBlob)
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("OPTIO_BLOB_URL: %w", err)
	}
	a.closers = append(a.closers, files.Close)
	ltiWeb, ltiClient, err := a.startLTI(ctx, db)
	if err != nil {
		a.Close()
		return nil, err
	}
	jo := opts.Jobs
	jo.Workers = cfg.Workers
	if jo.LTI == nil {
		jo.LTI = ltiClient
	}
	if jo.RescueStuckJobsAfter == 0 {
		jo.RescueStuckJobsAfter = cfg.JobRescueAfter
	}
	if jo.AfterSync == nil {
		// New evidence can complete a course and unlock a badge.
		jo.AfterSync = func(ctx context.Context, userID string) error {
			_, err := db.AwardBadges(ctx, userID)
			return err
		}
	}
	if jo.Logger == nil {
		jo.Logger = opts.Logger
	}
	if jo.Registerer == nil {
		jo.Registerer = a.Registry
	}
	a.Jobs, err = jobs.New(ctx, cfg, db, files.Store, jo)
	if err != nil {
		a.Close()
		return nil, err
	}
	// From here on the store inserts its jobs through the runner.
	a.Store = a.Jobs.Store()
	sso, err := a.startSSO(ctx)
	if err != nil {
		a.Close()
		return nil, err
	}
	tut, err := newTutor(ctx, cfg, opts.Logger, opts.Clock, a.Registry)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.Web, err = web.New(web.Deps{Config: cfg, Store: a.Store, Files: files, Exports: exportStore{files.Store},
		SSO: sso, Tutor: tut, LTI: ltiWeb, BadgeProgress: optio.BadgeProgressWithLinks(a.Store, cfg.SparkCatalogURL),
		Logger: opts.Logger, Clock: opts.Clock, Registerer: a.Registry})
	if err != nil {
		a.Close()
		return nil, err
	}
	a.Registry.MustRegister(store.BadgesAwarded)
	return a, nil
}

// Start listens on ln (or on Config.Addr when ln is nil) and serves HTTP in
// the background.
func (a *App) Start(ln net.Listener) error {
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", a.Config.Addr); err != nil {
			return fmt.Errorf("OPTIO_ADDR: %w", err)
		}
	}
	if a.Config.MetricsAddr != "off" {
		mln, err := net.Listen("tcp", a.Config.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("OPTIO_METRICS_ADDR: %w", err)
		}
		a.metricsLn = mln
		a.metricsSrv = &http.Server{Handler: a.Web.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := a.metricsSrv.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.Logger.Error("metrics server stopped", "error", err)
			}
		}()
	}
	if err := a.Jobs.Start(context.Background()); err != nil {
		return err
	}
	a.healthStop, a.healthDone = make(chan struct{}), make(chan struct{})
	go a.flushHealth()
	a.listener = ln
	a.httpSrv = &http.Server{Handler: a.Web, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	go func() {
		if err := a.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Logger.Error("http server stopped", "error", err)
		}
	}()
	return nil
}

// URL is where the App is listening, e.g. http://127.0.0.1:41234.
func (a *App) URL() string { return "http://" + a.listener.Addr().String() }

// MetricsURL is where /metrics is served for the scraper
// (OPTIO_METRICS_ADDR), e.g. http://127.0.0.1:9090, or "" when it is off.
func (a *App) MetricsURL() string {
	if a.metricsLn == nil {
		return ""
	}
	return "http://" + a.metricsLn.Addr().String()
}

// Shutdown stops HTTP gracefully (in-flight requests finish), then the
// workers (running jobs get until ctx ends, then are cancelled and retried
// later), then closes the store.
func (a *App) Shutdown(ctx context.Context) error {
	var err error
	if a.httpSrv != nil {
		err = a.httpSrv.Shutdown(ctx)
	}
	if a.metricsSrv != nil {
		err = errors.Join(err, a.metricsSrv.Shutdown(ctx))
	}
	if a.healthStop != nil {
		close(a.healthStop)
		<-a.healthDone
		a.healthStop = nil
	}
	if a.Jobs != nil {
		err = errors.Join(err, a.Jobs.Stop(ctx))
	}
	return errors.Join(err, a.Close())
}

// Close releases everything New opened, last opened first.
func (a *App) Close() error {
	var err error
	for i := len(a.closers) - 1; i >= 0; i-- {
		err = errors.Join(err, a.closers[i]())
	}
	a.closers = nil
	return err
}

// flushHealth writes the web server's health tally to the store every
// healthFlushEvery, and once more when the app shuts down (after HTTP
// stopped, so no count is left behind).
func (a *App) flushHealth() {
	defer close(a.healthDone)
	t := time.NewTicker(healthFlushEvery)
	defer t.Stop()
	flush := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.Web.Health.Flush(ctx, a.Store); err != nil {
			a.Logger.Warn("flush health counts; kept for the next flush", "error", err)
		}
	}
	for {
		select {
		case <-t.C:
			flush()
		case <-a.healthStop:
			flush()
			return
		}
	}
}
