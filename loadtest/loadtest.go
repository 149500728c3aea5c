// Package loadtest drives a running Optio with the traffic Spark and its
// students make — signed submission webhooks, SSO logins, portfolio page
// views and end-to-end evidence sync — and reports throughput, latency
// percentiles and errors per scenario, as JSON and as SVG charts. The
// attacks are made with vegeta; `optio loadtest` is its command.
package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/optio-edu/optio/store"
)

// The scenarios, by the names the command accepts.
const (
	WebhookMax    = "webhook-max"
	WebhookRate   = "webhook-rate"
	SSONew        = "sso-new"
	SSOReturning  = "sso-returning"
	PortfolioPage = "portfolio"
	SyncLatency   = "sync"
)

// Scenarios lists every scenario in the order Run runs them.
var Scenarios = []string{WebhookMax, WebhookRate, SSONew, SSOReturning, PortfolioPage, SyncLatency}

// Options configure a load test. URL and the two secrets are required.
type Options struct {
	// URL is Optio's base URL, e.g. http://127.0.0.1:8080.
	URL string
	// SSOSecret signs SSO tokens (Optio's SPARK_SSO_SECRET, the first one).
	SSOSecret string
	// WebhookSecret signs webhooks (Optio's SPARK_WEBHOOK_SECRET, the first one).
	WebhookSecret string
	// Scenarios to run; default all (see Scenarios).
	Scenarios []string
	// Duration of each attack. Default 10s.
	Duration time.Duration
	// Rate of the fixed-rate attacks (webhook-rate, sso-*, portfolio) per
	// second; 0 means as fast as Workers allow. Default 0 for sso and
	// portfolio; webhook-rate uses WebhookRate.
	Rate int
	// WebhookRate is the webhook-rate scenario's rate per second. Default 1000.
	WebhookRate int
	// SyncRate is the sync scenario's submissions per second. Default 50.
	SyncRate int
	// FileSize is the size of each file the sync scenario's submissions
	// carry. Default 1 MB.
	FileSize int
	// Workers is how many requests are in flight at most in max-rate attacks. Default 32.
	Workers int
	// PortfolioItems is the evidence items the portfolio student has. Default 500.
	PortfolioItems int
	// Store, when set, is Optio's database: the sync scenario reads each
	// submission's queue row (created_at → completed_at) from it. Without
	// it the sync scenario is skipped.
	Store *store.DB
	// Files serves the sync scenario's submission files; see FileServer.
	// Without it the sync scenario is skipped.
	Files FileServer
	// Out is the directory the JSON report and SVG charts go to; "" writes none.
	Out string
	// Log receives progress lines and the summary table. Default: discard.
	Log io.Writer
	// RunID makes Spark ids unique per run, so runs against one database do
	// not collide. Default: the start time.
	RunID string
}

// FileServer hands out URLs Optio can download submission files from (the
// Spark sandbox does this in `optio loadtest`).
type FileServer interface {
	AddFile(name, contentType string, data []byte) (url string)
}

// Report is what a run measured; it is written as report.json.
type Report struct {
	StartedAt  time.Time `json:"started_at"`
	URL        string    `json:"url"`
	Store      string    `json:"store,omitempty"`
	GOMAXPROCS int       `json:"gomaxprocs"`
	Scenarios  []*Result `json:"scenarios"`
}

// Result is one scenario's figures. Latencies are in milliseconds.
type Result struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Skipped     string         `json:"skipped,omitempty"`
	TargetRate  int            `json:"target_rate"` // per second; 0 = as fast as possible
	Workers     int            `json:"workers,omitempty"`
	Duration    float64        `json:"duration_s"`
	Requests    uint64         `json:"requests"`
	Rate        float64        `json:"rate"`       // requests sent per second
	Throughput  float64        `json:"throughput"` // successful requests per second
	Success     float64        `json:"success"`    // fraction of requests with the expected status
	Latency     Latency        `json:"latency_ms"`
	StatusCodes map[string]int `json:"status_codes"`
	Errors      []string       `json:"errors"`
	// Sync is the sync scenario's webhook-accepted → evidence-stored latency.
	Sync *SyncFigures `json:"sync,omitempty"`
	// Chart is the SVG file (in Out) of latency over time.
	Chart string `json:"chart,omitempty"`

	points []point
}

// Latency holds percentiles in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// SyncFigures is the end-to-end sync latency of the sync scenario.
type SyncFigures struct {
	Submissions int     `json:"submissions"`
	Completed   int     `json:"completed"`
	Failed      int     `json:"failed"`
	Latency     Latency `json:"latency_ms"`
}

// point is one request on the chart: when it started (seconds into the
// attack), how long it took, and whether it failed.
type point struct {
	t, ms float64
	bad   bool
}

func (o *Options) defaults() error {
	if o.URL == "" || o.SSOSecret == "" || o.WebhookSecret == "" {
		return fmt.Errorf("loadtest: the Optio URL, SPARK_SSO_SECRET and SPARK_WEBHOOK_SECRET are required")
	}
	o.URL = strings.TrimRight(o.URL, "/")
	if len(o.Scenarios) == 0 {
		o.Scenarios = Scenarios
	}
	for _, s := range o.Scenarios {
		if !slices.Contains(Scenarios, s) {
			return fmt.Errorf("loadtest: unknown scenario %q (known: %s)", s, strings.Join(Scenarios, ", "))
		}
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.WebhookRate <= 0 {
		o.WebhookRate = 1000
	}
	if o.SyncRate <= 0 {
		o.SyncRate = 50
	}
	if o.FileSize <= 0 {
		o.FileSize = 1 << 20
	}
	if o.Workers <= 0 {
		o.Workers = 32
	}
	if o.PortfolioItems <= 0 {
		o.PortfolioItems = 500
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.RunID == "" {
		o.RunID = strconv.FormatInt(time.Now().UnixNano()%1e10, 36)
	}
	return nil
}

// Run runs the chosen scenarios one after another, prints a summary to
// o.Log and writes report.json and one SVG chart per scenario to o.Out.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	if o.Out != "" {
		if err := os.MkdirAll(o.Out, 0o750); err != nil {
			return nil, fmt.Errorf("loadtest: %w", err)
		}
	}
	r := &runner{o: o, client: &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
	rep := &Report{StartedAt: time.Now().UTC(), URL: o.URL, GOMAXPROCS: runtime.GOMAXPROCS(0)}
	if o.Store != nil {
		rep.Store = string(o.Store.Dialect)
	}
	for _, name := range o.Scenarios {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if err := r.settle(ctx); err != nil {
			return rep, err
		}
		fmt.Fprintf(o.Log, "running %s…\n", name)
		res, err := r.scenario(ctx, name)
		if err != nil {
			return rep, fmt.Errorf("loadtest %s: %w", name, err)
		}
		rep.Scenarios = append(rep.Scenarios, res)
		if o.Out != "" && res.Skipped == "" {
			res.Chart = name + ".svg"
			if err := os.WriteFile(filepath.Join(o.Out, res.Chart), chartSVG(res), 0o640); err != nil {
				return rep, fmt.Errorf("loadtest: %w", err)
			}
		}
	}
	WriteSummary(o.Log, rep)
	if o.Out != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return rep, err
		}
		if err := os.WriteFile(filepath.Join(o.Out, "report.json"), append(b, '\n'), 0o640); err != nil {
			return rep, fmt.Errorf("loadtest: %w", err)
		}
	}
	return rep, nil
}

// WriteSummary prints one line per scenario.
func WriteSummary(w io.Writer, rep *Report) {
	fmt.Fprintf(w, "\n%-14s %8s %8s %9s %8s %8s %8s %8s  %s\n", "scenario", "rate", "reqs", "ok/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "status codes / errors")
	for _, s := range rep.Scenarios {
		if s.Skipped != "" {
			fmt.Fprintf(w, "%-14s skipped: %s\n", s.Name, s.Skipped)
			continue
		}
		rate := "max"
		if s.TargetRate > 0 {
			rate = strconv.Itoa(s.TargetRate) + "/s"
		}
		codes := make([]string, 0, len(s.StatusCodes))
		for c, n := range s.StatusCodes {
			codes = append(codes, fmt.Sprintf("%s×%d", c, n))
		}
		sort.Strings(codes)
		line := strings.Join(codes, " ")
		if len(s.Errors) > 0 {
			line += fmt.Sprintf("; %d distinct errors, first: %s", len(s.Errors), s.Errors[0])
		}
		fmt.Fprintf(w, "%-14s %8s %8d %9.1f %8.1f %8.1f %8.1f %8.1f  %s\n", s.Name, rate, s.Requests, s.Throughput,
			s.Latency.P50, s.Latency.P95, s.Latency.P99, s.Latency.Max, line)
		if s.Sync != nil {
			fmt.Fprintf(w, "%-14s accepted→synced: %d of %d completed (%d failed), p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, max %.0f ms\n",
				"", s.Sync.Completed, s.Sync.Submissions, s.Sync.Failed, s.Sync.Latency.P50, s.Sync.Latency.P95, s.Sync.Latency.P99, s.Sync.Latency.Max)
		}
	}
}

// runner carries what the scenarios share.
type runner struct {
	o      Options
	client *http.Client
	// course is the mapped Spark course the webhook scenarios submit to.
	course string
}

// settle waits (up to two minutes) until the sync queue has nothing
// pending, so one scenario's background work does not weigh on the next
// one's figures. Without the store it does nothing. (It asks for one
// pending id: the admin page's SyncQueueStats reads the whole queue's
// history and would itself load the database.)
func (r *runner) settle(ctx context.Context) error {
	if r.o.Store == nil {
		return nil
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		pending, err := r.o.Store.PendingSyncsOlderThan(ctx, time.Now().Add(time.Hour), 1)
		if err != nil {
			return err
		}
		if len(pending) == 0 || time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (r *runner) scenario(ctx context.Context, name string) (*Result, error) {
	switch name {
	case WebhookMax:
		return r.webhooks(ctx, name, 0)
	case WebhookRate:
		return r.webhooks(ctx, name, r.o.WebhookRate)
	case SSONew:
		return r.sso(ctx, name, false)
	case SSOReturning:
		return r.sso(ctx, name, true)
	case PortfolioPage:
		return r.portfolio(ctx)
	default:
		return r.sync(ctx)
	}
}

// attack runs tr at rate (0: as fast as Workers allow) for the configured
// duration; ok decides which answers count as successes, and each result
// is also handed to each (for bodies) when it is set.
func (r *runner) attack(ctx context.Context, res *Result, tr vegeta.Targeter, rate int, ok func(code uint16) bool, each func(*vegeta.Result)) {
	workers := uint64(r.o.Workers)
	opts := []func(*vegeta.Attacker){vegeta.Redirects(vegeta.NoFollow), vegeta.Timeout(30 * time.Second),
		vegeta.Connections(r.o.Workers * 2), vegeta.KeepAlive(true)}
	pacer := vegeta.Rate{Freq: rate, Per: time.Second}
	if rate == 0 {
		opts = append(opts, vegeta.Workers(workers), vegeta.MaxWorkers(workers))
		res.Workers = r.o.Workers
	}
	atk := vegeta.NewAttacker(opts...)
	res.TargetRate = rate
	var m vegeta.Metrics
	var first time.Time
	var good uint64
	done := ctx.Done()
	results := atk.Attack(tr, pacer, r.o.Duration, res.Name)
loop:
	for {
		select {
		case <-done:
			atk.Stop()
			done = nil
		case v, more := <-results:
			if !more {
				break loop
			}
			isGood := v.Error == "" && ok(v.Code)
			if isGood {
				good++
			}
			if !isGood && v.Error == "" {
				v.Error = fmt.Sprintf("unexpected status %d", v.Code)
			}
			if first.IsZero() {
				first = v.Timestamp
			}
			res.points = append(res.points, point{t: v.Timestamp.Sub(first).Seconds(), ms: ms(v.Latency), bad: !isGood})
			if each != nil {
				each(v)
			}
			v.Body = nil
			m.Add(v)
		}
	}
	m.Close()
	res.Duration = m.Duration.Seconds()
	res.Requests = m.Requests
	res.Rate = m.Rate
	// vegeta counts any 2xx–3xx as a success; only the expected answers count here.
	if m.Requests > 0 {
		res.Success = float64(good) / float64(m.Requests)
		if secs := (m.Duration + m.Wait).Seconds(); secs > 0 {
			res.Throughput = float64(good) / secs
		}
	}
	res.StatusCodes = m.StatusCodes
	res.Errors = m.Errors
	if res.Errors == nil {
		res.Errors = []string{}
	}
	res.Latency = Latency{P50: ms(m.Latencies.P50), P95: ms(m.Latencies.P95), P99: ms(m.Latencies.P99),
		Max: ms(m.Latencies.Max), Mean: ms(m.Latencies.Mean)}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// percentiles summarises latencies given in milliseconds.
func percentiles(v []float64) Latency {
	if len(v) == 0 {
		return Latency{}
	}
	slices.Sort(v)
	at := func(q float64) float64 { return v[min(len(v)-1, int(q*float64(len(v))))] }
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	return Latency{P50: at(0.50), P95: at(0.95), P99: at(0.99), Max: v[len(v)-1], Mean: sum / float64(len(v))}
}
