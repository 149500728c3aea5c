//go:build loadtest

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/app"
	"github.com/optio-edu/optio/loadtest"
	"github.com/optio-edu/optio/sandbox"
	"github.com/optio-edu/optio/store"
)

func init() { taggedCommands = append(taggedCommands, loadtestCmd) }

// loadtestCmd measures Optio under load: against a running Optio (--url)
// or one it starts itself (--self), with the sandbox serving files.
func loadtestCmd(getenv func(string) string) *cobra.Command {
	var (
		o                        loadtest.Options
		self                     bool
		dbURL, scenarios, cpuOut string
		optioWorkers             int
	)
	cmd := &cobra.Command{
		Use:   "loadtest",
		Short: "Measure throughput and latency of webhooks, SSO, portfolio pages and evidence sync",
		Long: `Run load scenarios (` + strings.Join(loadtest.Scenarios, ", ") + `) one after another and print,
per scenario, throughput, p50/p95/p99 latency and errors by status; --out receives report.json and
one SVG chart per scenario.

--url drives a running Optio; give it the same SPARK_SSO_SECRET and SPARK_WEBHOOK_SECRET, raise
SPARK_WEBHOOK_RATE/SPARK_WEBHOOK_BURST above the attack rate, and set SPARK_FILE_ALLOW_PRIVATE=true
for the sync scenario, which also needs --database-url to read the sync queue.
--self starts Optio in this process on a fresh SQLite store (or on --database-url, a scratch
PostgreSQL database) with generated secrets. A Spark sandbox on 127.0.0.1 serves the files.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if self == (o.URL != "") {
				return fmt.Errorf("loadtest: give exactly one of --url and --self")
			}
			if scenarios != "" {
				o.Scenarios = strings.Split(scenarios, ",")
			}
			o.Log = cmd.OutOrStdout()
			ctx := cmd.Context()
			if self {
				stop, err := startSelf(ctx, getenv, &o, dbURL, optioWorkers)
				if err != nil {
					return err
				}
				defer stop()
			} else {
				o.SSOSecret, o.WebhookSecret = firstOf(getenv("SPARK_SSO_SECRET")), firstOf(getenv("SPARK_WEBHOOK_SECRET"))
				if dbURL != "" {
					db, err := store.Open(ctx, dbURL, nil)
					if err != nil {
						return err
					}
					defer db.Close()
					o.Store = db
				}
			}
			sb, err := fileSandbox(o)
			if err != nil {
				return err
			}
			defer sb.Close()
			o.Files = sb
			if cpuOut != "" {
				f, err := os.Create(cpuOut)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			rep, err := loadtest.Run(ctx, o)
			if err == nil && o.Out != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "\nreport: %s (%d scenarios)\n", filepath.Join(o.Out, "report.json"), len(rep.Scenarios))
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.URL, "url", "", "base URL of a running Optio")
	f.BoolVar(&self, "self", false, "start Optio in this process (SQLite in a temporary directory unless --database-url)")
	f.StringVar(&dbURL, "database-url", "", "Optio's database: with --self, the store to run on; with --url, read for sync latency")
	f.StringVar(&scenarios, "scenarios", "", "comma-separated scenarios (default all: "+strings.Join(loadtest.Scenarios, ",")+")")
	f.DurationVar(&o.Duration, "duration", 10*time.Second, "length of each attack")
	f.IntVar(&o.Rate, "rate", 0, "requests per second for sso and portfolio (0: as fast as --workers allow)")
	f.IntVar(&o.WebhookRate, "webhook-rate", 1000, "webhooks per second in webhook-rate")
	f.IntVar(&o.SyncRate, "sync-rate", 50, "submissions per second in sync")
	f.IntVar(&o.FileSize, "file-size", 1<<20, "bytes per submission file in sync")
	f.IntVar(&o.Workers, "workers", 32, "requests in flight in max-rate attacks")
	f.IntVar(&o.PortfolioItems, "portfolio-items", 500, "evidence items of the portfolio student")
	f.StringVar(&o.Out, "out", "loadtest-out", "directory for report.json and the SVG charts (\"\": none)")
	f.StringVar(&cpuOut, "cpuprofile", "", "write a CPU profile of this process (with --self: Optio and the load) to this file")
	f.IntVar(&optioWorkers, "optio-workers", 16, "with --self: Optio's background job workers")
	return cmd
}

// startSelf starts Optio in this process for o: a fresh SQLite store in a
// temporary directory (or dbURL), generated secrets, no webhook rate limit,
// loopback file downloads allowed. stop shuts it down.
func startSelf(ctx context.Context, getenv func(string) string, o *loadtest.Options, dbURL string, workers int) (stop func(), err error) {
	dir, err := os.MkdirTemp("", "optio-loadtest-")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	secrets := newDemoSecrets()
	env := map[string]string{
		"OPTIO_DATA_DIR":           dir,
		"OPTIO_BASE_URL":           "http://" + ln.Addr().String(),
		"OPTIO_DATABASE_URL":       dbURL,
		"OPTIO_WORKERS":            strconv.Itoa(workers),
		"OPTIO_LOG_LEVEL":          "error",
		"SPARK_SSO_SECRET":         secrets.sso,
		"SPARK_WEBHOOK_SECRET":     secrets.webhook,
		"SPARK_WEBHOOK_RATE":       "1000000",
		"SPARK_WEBHOOK_BURST":      "1000000",
		"SPARK_FILE_ALLOW_PRIVATE": "true",
		"OPTIO_METRICS_ADDR":       "off",
	}
	cfg, err := optio.LoadConfig(func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return getenv(k)
	})
	if err != nil {
		ln.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("configuration: %w", err)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	a, err := app.New(ctx, cfg, app.Options{Logger: logger})
	if err != nil {
		ln.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	if err := a.Start(ln); err != nil {
		a.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	o.URL, o.SSOSecret, o.WebhookSecret, o.Store = a.URL(), secrets.sso, secrets.webhook, a.Store
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = a.Shutdown(sctx)
		os.RemoveAll(dir)
	}, nil
}

// fileSandbox starts a Spark sandbox on loopback to serve the sync
// scenario's submission files.
func fileSandbox(o loadtest.Options) (*sandbox.Sandbox, error) {
	sb, err := sandbox.New(sandbox.Config{OptioURL: o.URL, SSOSecret: o.SSOSecret, WebhookSecret: o.WebhookSecret,
		APIKey: "spk_" + randomHex(16), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = sb.Close()
		return nil, err
	}
	if err := sb.Start(ln); err != nil {
		_ = ln.Close()
		_ = sb.Close()
		return nil, err
	}
	return sb, nil
}
