package web

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/optio-edu/optio"
)

// healthRoutes are the operations page and its JSON twin (admins only),
// and the tracked OnFire catalog redirect of badge pages.
func (s *Server) healthRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/health", s.requirePageRole(s.handleHealthPage, optio.RoleAdmin))
	mux.HandleFunc("GET /api/admin/health", s.requireRole(s.handleHealthJSON, optio.RoleAdmin))
	mux.HandleFunc("POST /admin/health/check", s.requirePageRole(s.handleHealthCheckForm, optio.RoleAdmin))
	mux.HandleFunc("GET /go/onfire/{course_id}", s.handleOnFireRedirect)
}

// healthReport is the one source of both the page and the JSON.
func (s *Server) healthReport(ctx context.Context) (*optio.HealthReport, error) {
	// Counts still in this process's tally belong on the page too.
	if err := s.Health.Flush(ctx, s.Store); err != nil {
		s.Logger.WarnContext(ctx, "flush health counts", slog.Any("error", err))
	}
	return optio.BuildHealthReport(ctx, s.Store, s.Clock.Now())
}

func (s *Server) handleHealthJSON(w http.ResponseWriter, r *http.Request) {
	rep, err := s.healthReport(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, rep)
}

// healthView is what the page template reads: the report, the chart data
// as JSON for web/static/health.js, and the webhook rows flattened.
type healthView struct {
	Report   *optio.HealthReport
	Day      optio.HealthWindow
	Charts   template.JS
	Webhooks []webhookRow
	// SSOOutcomes are the outcome names seen in any window, sorted.
	SSOOutcomes []string
}

// webhookRow is one endpoint and outcome with its count per window.
type webhookRow struct {
	Endpoint, Outcome string
	Failure           bool
	Counts            []int64
}

func (s *Server) handleHealthPage(w http.ResponseWriter, r *http.Request) {
	rep, err := s.healthReport(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	charts, err := json.Marshal(healthChartData(rep))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	v := healthView{Report: rep, Day: rep.Windows[1], Charts: template.JS(charts)} //nolint:gosec // JSON of numbers and fixed strings, escaped by encoding/json
	seen := map[[2]string]bool{}
	outcomes := map[string]bool{}
	for _, win := range rep.Windows {
		for o := range win.SSO.ByOutcome {
			outcomes[o] = true
		}
		for ep, byOutcome := range win.Webhooks.ByEndpoint {
			for o := range byOutcome {
				seen[[2]string{ep, o}] = true
			}
		}
	}
	for k := range seen {
		row := webhookRow{Endpoint: k[0], Outcome: k[1], Failure: optio.WebhookFailed(k[1])}
		for _, win := range rep.Windows {
			row.Counts = append(row.Counts, win.Webhooks.ByEndpoint[k[0]][k[1]])
		}
		v.Webhooks = append(v.Webhooks, row)
	}
	sort.Slice(v.Webhooks, func(i, j int) bool {
		a, b := v.Webhooks[i], v.Webhooks[j]
		if a.Endpoint != b.Endpoint {
			return a.Endpoint < b.Endpoint
		}
		return a.Outcome < b.Outcome
	})
	for o := range outcomes {
		v.SSOOutcomes = append(v.SSOOutcomes, o)
	}
	sort.Strings(v.SSOOutcomes)
	s.render(w, r, "health", pageData{Title: "Health", Data: v})
}

// handleHealthCheckForm runs the health job's checks now (badge accuracy,
// today's business rollup), e.g. after fixing a mismatch, instead of
// waiting for the next periodic run.
func (s *Server) handleHealthCheckForm(w http.ResponseWriter, r *http.Request) {
	acc, err := optio.RunHealthChecks(r.Context(), s.Store, s.Clock.Now())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/health?flash="+url.QueryEscape(fmt.Sprintf("Checked %d students: %d badge mismatches.", acc.Students, acc.Mismatches)), http.StatusSeeOther)
}

// chartSeries is one line of a chart: its legend label, unit and values
// (null where there is no data).
type chartSeries struct {
	Label  string     `json:"label"`
	Values []*float64 `json:"values"`
	Bars   bool       `json:"bars,omitempty"`
}

// chartData is one chart for health.js: x as Unix seconds, y axis label,
// the target (a dashed line; omitted when nil) and the series.
type chartData struct {
	ID     string   `json:"id"`
	X      []int64  `json:"x"`
	YLabel string   `json:"y_label"`
	Unit   string   `json:"unit"`
	Target *float64 `json:"target,omitempty"`
	// Counts marks a chart of whole numbers (no fractional ticks).
	Counts bool          `json:"counts,omitempty"`
	Series []chartSeries `json:"series"`
}

func f64(v float64) *float64 { return &v }

func pct(p *float64) *float64 {
	if p == nil {
		return nil
	}
	return f64(*p * 100)
}

// healthChartData turns the report into the page's charts (the ids match
// the figures of web/templates/health.html).
func healthChartData(rep *optio.HealthReport) []chartData {
	var hx, dx []int64
	for _, p := range rep.Hourly {
		hx = append(hx, p.Start.Unix())
	}
	for _, p := range rep.Daily {
		dx = append(dx, p.Start.Unix())
	}
	series := func(pts []optio.HealthPoint, f func(optio.HealthPoint) *float64) []*float64 {
		out := make([]*float64, len(pts))
		for i, p := range pts {
			out[i] = f(p)
		}
		return out
	}
	h := rep.Hourly
	charts := []chartData{
		{ID: "chart-sso", X: hx, YLabel: "success", Unit: "%", Target: f64(optio.TargetSSOSuccess * 100), Series: []chartSeries{
			{Label: "SSO success rate per hour", Values: series(h, func(p optio.HealthPoint) *float64 { return pct(p.SSOSuccessRate) })},
		}},
		{ID: "chart-webhooks", X: hx, YLabel: "failed", Unit: "%", Target: f64(optio.TargetWebhookFailure * 100), Series: []chartSeries{
			{Label: "Webhook failure rate per hour", Values: series(h, func(p optio.HealthPoint) *float64 { return pct(p.WebhookFailureRate) })},
		}},
		{ID: "chart-sync", X: hx, YLabel: "latency", Unit: "s", Target: f64(optio.TargetSyncSeconds), Series: []chartSeries{
			{Label: "p50 (half the syncs took less)", Values: series(h, func(p optio.HealthPoint) *float64 { return p.SyncP50Seconds })},
			{Label: "p95", Values: series(h, func(p optio.HealthPoint) *float64 { return p.SyncP95Seconds })},
			{Label: "p99", Values: series(h, func(p optio.HealthPoint) *float64 { return p.SyncP99Seconds })},
		}},
		{ID: "chart-polls", X: hx, YLabel: "per hour", Unit: "", Counts: true, Series: []chartSeries{
			{Label: "Polls of Spark's API", Values: series(h, func(p optio.HealthPoint) *float64 { return f64(float64(p.PollRuns)) })},
			{Label: "Submissions queued by polls", Values: series(h, func(p optio.HealthPoint) *float64 { return f64(float64(p.PollQueued)) })},
		}},
	}
	// The business charts always span the 30 days; a day without a
	// rollup is a gap.
	byDay := map[int64]optio.BusinessDay{}
	for _, d := range rep.Business.Days {
		byDay[d.Day.Unix()] = d
	}
	var synced, beyond, parents, observers, badges []*float64
	for _, x := range dx {
		d, ok := byDay[x]
		val := func(n int) *float64 {
			if !ok {
				return nil
			}
			return f64(float64(n))
		}
		synced = append(synced, val(d.StudentsWithSyncedWork))
		beyond = append(beyond, val(d.PortfoliosBeyondFamily))
		parents = append(parents, val(d.ActiveParents))
		observers = append(observers, val(d.ActiveObservers))
		badges = append(badges, val(d.BadgesEarned))
	}
	days := dx
	charts = append(charts,
		chartData{ID: "chart-adoption", X: days, YLabel: "people", Unit: "", Counts: true, Series: []chartSeries{
			{Label: "Students with synced work", Values: synced},
			{Label: "Portfolios visible beyond the family", Values: beyond},
			{Label: "Weekly active parents", Values: parents},
			{Label: "Weekly active observers", Values: observers},
		}},
		chartData{ID: "chart-badges", X: days, YLabel: "badges per day", Unit: "", Counts: true, Series: []chartSeries{
			{Label: "Badges earned", Values: badges, Bars: true},
		}},
	)
	return charts
}

// handleOnFireRedirect is the tracked catalog link of badge pages: GET
// /go/onfire/{course_id}[?badge=<id>] records the click (who, which course,
// from which badge) and answers 302 to the course in the OnFire catalog
// (Config.SparkCatalogURL). Only courses some badge requires are
// redirected, and only to an http(s) URL. Clicks are counted once per
// viewer and course within optio.OnFireClickRule (the signed-in account,
// else the client address), so a loop of requests cannot inflate them.
func (s *Server) handleOnFireRedirect(w http.ResponseWriter, r *http.Request) {
	course := r.PathValue("course_id")
	target := optio.CatalogURL(s.Config.SparkCatalogURL, course)
	u, err := url.Parse(target)
	if course == "" || len(course) > 200 || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		s.Error(w, r, optio.Errorf(optio.ENOTFOUND, "No OnFire catalog link for this course."))
		return
	}
	click := optio.OnFireClick{SparkCourseID: course, BadgeID: r.URL.Query().Get("badge")}
	viewer := "address:" + s.clientAddr(r)
	if u := userOf(r); u != nil {
		click.UserID, viewer = u.ID, "user:"+u.ID
	}
	key, first, err := s.throttleHit(r, optio.OnFireClickRule, viewer+"|"+course)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	// A repeat (first.Allowed false) was of a badge course when it was
	// counted: the key of a click that is not recorded is dropped below.
	if first.Allowed {
		if err := s.Store.RecordOnFireClick(r.Context(), click); err != nil {
			if err := s.Store.ThrottleReset(r.Context(), key); err != nil {
				s.Logger.WarnContext(r.Context(), "reset onfire click key", slog.Any("error", err))
			}
			s.Error(w, r, err)
			return
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, target, http.StatusFound)
}

// healthCollector exports, on each scrape, the figures the alert rules
// need that no counter holds: the sync queue's depth by status and the age
// of its oldest pending row, and the last badge-accuracy check's
// mismatches (docs/ops/alerts.yml). Read from the database, they agree
// across instances.
type healthCollector struct {
	st     optio.HealthStore
	logger *slog.Logger
	depth  *prometheus.Desc
	oldest *prometheus.Desc
	badges *prometheus.Desc
	check  *prometheus.Desc
}

func registerHealthCollector(reg prometheus.Registerer, st optio.HealthStore, logger *slog.Logger) {
	if reg == nil || st == nil {
		return
	}
	if logger == nil {
		logger = slog.Default()
	}
	c := &healthCollector{st: st, logger: logger,
		depth:  prometheus.NewDesc("optio_spark_sync_queue_depth", "Evidence-sync queue rows by status.", []string{"status"}, nil),
		oldest: prometheus.NewDesc("optio_spark_sync_queue_oldest_pending_seconds", "Age of the oldest pending evidence sync (0: none pending).", nil, nil),
		badges: prometheus.NewDesc("optio_badge_accuracy_mismatches", "Students whose badges disagree with the rules at the last badge-accuracy check (target 0).", nil, nil),
		check:  prometheus.NewDesc("optio_badge_accuracy_checked_timestamp_seconds", "When the last badge-accuracy check ran (Unix time).", nil, nil),
	}
	_ = reg.Register(c) // a second Server on the same registry (tests) shares the first's collector
}

func (c *healthCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.oldest
	ch <- c.badges
	ch <- c.check
}

func (c *healthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if counts, oldest, err := c.st.SyncQueueDepth(ctx); err != nil {
		c.logger.Warn("metrics: sync queue depth", slog.Any("error", err))
	} else {
		for status, n := range counts {
			ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(n), status)
		}
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, oldest)
	}
	if acc, err := c.st.LastBadgeAccuracy(ctx); err != nil {
		c.logger.Warn("metrics: badge accuracy", slog.Any("error", err))
	} else if acc != nil {
		ch <- prometheus.MustNewConstMetric(c.badges, prometheus.GaugeValue, float64(acc.Mismatches))
		ch <- prometheus.MustNewConstMetric(c.check, prometheus.GaugeValue, float64(acc.CheckedAt.Unix()))
	}
}

// Pct formats a rate as a percentage, "—" when there is no data.
func (healthView) Pct(p *float64) string {
	if p == nil {
		return "—"
	}
	return strconv.FormatFloat(*p*100, 'f', 1, 64) + " %"
}

// Rate formats a rate that always exists as a percentage.
func (v healthView) Rate(r float64) string { return v.Pct(&r) }

// Secs formats seconds for people: "850 ms", "42 s", "6.5 min".
func (healthView) Secs(s float64) string {
	switch {
	case s == 0:
		return "0 s"
	case s < 1:
		return strconv.FormatFloat(s*1000, 'f', 0, 64) + " ms"
	case s < 120:
		return strconv.FormatFloat(s, 'f', 1, 64) + " s"
	case s < 7200:
		return strconv.FormatFloat(s/60, 'f', 1, 64) + " min"
	}
	return strconv.FormatFloat(s/3600, 'f', 1, 64) + " h"
}

// BadgesOK reports whether the last badge-accuracy check met the target
// (no check yet counts as not met: nothing is known).
func (v healthView) BadgesOK() bool {
	a := v.Report.BadgeAccuracy
	return a != nil && a.Mismatches <= optio.TargetBadgeMismatches
}

// PollRunOutcomes are the poll outcomes shown, always ok, error and limit.
func (healthView) PollRunOutcomes() []string { return []string{"ok", "error", "limit"} }

// PollImportOutcomes are what polls did with submissions.
func (healthView) PollImportOutcomes() []string {
	return []string{"seen", "queued", "requeued", "rejected"}
}
