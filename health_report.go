package optio

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// HealthReport is what /admin/health and GET /api/admin/health show: the
// plan's success metrics over the last hour, day and 30 days, hourly and
// daily series for the charts, the sync queue, badge accuracy and the
// business figures (docs/ops/health.md).
type HealthReport struct {
	GeneratedAt time.Time      `json:"generated_at"`
	Targets     HealthTargets  `json:"targets"`
	Windows     []HealthWindow `json:"windows"`
	// Hourly covers the last 24 hours, Daily the last 30 days, oldest first.
	Hourly        []HealthPoint  `json:"hourly"`
	Daily         []HealthPoint  `json:"daily"`
	Queue         QueueDepth     `json:"queue"`
	BadgeAccuracy *BadgeAccuracy `json:"badge_accuracy"`
	Business      BusinessReport `json:"business"`
}

// HealthTargets are the plan's targets, for readers of the JSON.
type HealthTargets struct {
	SSOSuccessRate     float64 `json:"sso_success_rate_min"`
	SyncSeconds        float64 `json:"sync_p95_seconds_max"`
	WebhookFailureRate float64 `json:"webhook_failure_rate_max"`
	BadgeMismatches    int     `json:"badge_mismatches_max"`
}

// HealthWindow holds the figures of one window ("1h", "24h", "30d").
type HealthWindow struct {
	Name     string         `json:"name"`
	Since    time.Time      `json:"since"`
	SSO      SSOFigures     `json:"sso"`
	Webhooks WebhookFigures `json:"webhooks"`
	Sync     SyncFigures    `json:"sync"`
	Polls    PollFigures    `json:"polls"`
}

// SSOFigures: attempts by outcome and the success rate, ok over attempts
// that ended in a success or a failure (SSOSwitchOutcome left out). Rate
// is null without attempts; no attempts meets the target.
type SSOFigures struct {
	Attempts    int64            `json:"attempts"`
	OK          int64            `json:"ok"`
	SuccessRate *float64         `json:"success_rate"`
	MeetsTarget bool             `json:"meets_target"`
	ByOutcome   map[string]int64 `json:"by_outcome"`
}

// WebhookFigures: deliveries by endpoint and outcome and the failure rate
// (WebhookFailed over all deliveries).
type WebhookFigures struct {
	Deliveries  int64                       `json:"deliveries"`
	Failures    int64                       `json:"failures"`
	FailureRate *float64                    `json:"failure_rate"`
	MeetsTarget bool                        `json:"meets_target"`
	ByEndpoint  map[string]map[string]int64 `json:"by_endpoint"`
}

// SyncFigures: latency percentiles of the syncs completed in the window
// (seconds from queued to evidence visible), the share under five minutes,
// and the syncs that failed for good with their top reasons.
type SyncFigures struct {
	Completed      int           `json:"completed"`
	P50Seconds     float64       `json:"p50_seconds"`
	P95Seconds     float64       `json:"p95_seconds"`
	P99Seconds     float64       `json:"p99_seconds"`
	UnderFiveShare *float64      `json:"share_under_5_minutes"`
	MeetsTarget    bool          `json:"meets_target"`
	Failed         int           `json:"failed"`
	TopErrors      []ReasonCount `json:"top_errors"`
}

// PollFigures: polls of Spark's API by outcome, and what they read.
type PollFigures struct {
	Runs     map[string]int64 `json:"runs"`
	Imported map[string]int64 `json:"imported"`
}

// HealthPoint is one hour or day of the chart series.
type HealthPoint struct {
	Start              time.Time `json:"start"`
	SSOAttempts        int64     `json:"sso_attempts"`
	SSOSuccessRate     *float64  `json:"sso_success_rate"`
	WebhookDeliveries  int64     `json:"webhook_deliveries"`
	WebhookFailureRate *float64  `json:"webhook_failure_rate"`
	SyncsCompleted     int       `json:"syncs_completed"`
	SyncP50Seconds     *float64  `json:"sync_p50_seconds"`
	SyncP95Seconds     *float64  `json:"sync_p95_seconds"`
	SyncP99Seconds     *float64  `json:"sync_p99_seconds"`
	PollRuns           int64     `json:"poll_runs"`
	PollQueued         int64     `json:"poll_queued"`
}

// QueueDepth is the evidence-sync queue now.
type QueueDepth struct {
	Counts               map[string]int `json:"counts"`
	OldestPendingSeconds float64        `json:"oldest_pending_seconds"`
}

// BusinessReport holds the business figures: the latest daily rollup, the
// last 30 days of them, badges earned per week, completion per badge and
// the OnFire catalog funnel over 30 days.
type BusinessReport struct {
	Latest        *BusinessDay      `json:"latest"`
	Days          []BusinessDay     `json:"days"`
	BadgesPerWeek []WeekCount       `json:"badges_earned_per_week"`
	Completion    []BadgeCompletion `json:"badge_completion"`
	OnFire        []OnFireCourse    `json:"onfire"`
}

// WeekCount is a count for the ISO week starting on Monday Week.
type WeekCount struct {
	Week  time.Time `json:"week"`
	Count int       `json:"count"`
}

// healthWindows are the report's windows, shortest first.
var healthWindows = []struct {
	name string
	d    time.Duration
}{{"1h", time.Hour}, {"24h", 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}}

// HealthHistory is how long hourly health counts are kept: the report reads
// its longest window, 30 days (its daily chart starts inside it), and a day
// more is a margin. The retention job deletes health_hourly rows older than
// this, which no report would read.
const HealthHistory = 31 * 24 * time.Hour

// maxSyncsInReport bounds the syncs read for percentiles (newest first).
const maxSyncsInReport = 500000

// BuildHealthReport reads everything the health page shows, as of now.
func BuildHealthReport(ctx context.Context, st HealthStore, now time.Time) (*HealthReport, error) {
	now = now.UTC()
	month := now.Add(-30 * 24 * time.Hour)
	dayStart := now.Truncate(24 * time.Hour).Add(-29 * 24 * time.Hour)
	hourStart := now.Truncate(time.Hour).Add(-23 * time.Hour)
	since := month
	if dayStart.Before(since) {
		since = dayStart
	}
	r := &HealthReport{GeneratedAt: now, Targets: HealthTargets{TargetSSOSuccess, TargetSyncSeconds, TargetWebhookFailure, TargetBadgeMismatches}}
	counts := map[string][]HealthCount{}
	for _, m := range []string{HealthSSO, HealthWebhook, HealthPollRun, HealthPollImport} {
		cs, err := st.HealthCounts(ctx, m, since.Truncate(time.Hour))
		if err != nil {
			return nil, fmt.Errorf("health report: %w", err)
		}
		counts[m] = cs
	}
	syncs, err := st.SyncsDone(ctx, since, maxSyncsInReport)
	if err != nil {
		return nil, fmt.Errorf("health report: %w", err)
	}
	for _, w := range healthWindows {
		from := now.Add(-w.d)
		hw := HealthWindow{Name: w.name, Since: from}
		// Hourly buckets: the window starts at the hour that holds from.
		inWin := func(h time.Time) bool { return !h.Before(from.Truncate(time.Hour)) && !h.After(now) }
		hw.SSO = ssoFigures(counts[HealthSSO], inWin)
		hw.Webhooks = webhookFigures(counts[HealthWebhook], inWin)
		hw.Polls = PollFigures{Runs: map[string]int64{}, Imported: map[string]int64{}}
		for _, c := range counts[HealthPollRun] {
			if inWin(c.Hour) {
				hw.Polls.Runs[c.Outcome] += c.N
			}
		}
		for _, c := range counts[HealthPollImport] {
			if inWin(c.Hour) {
				hw.Polls.Imported[c.Outcome] += c.N
			}
		}
		var secs []float64
		for _, s := range syncs {
			if !s.CompletedAt.Before(from) && !s.CompletedAt.After(now) {
				secs = append(secs, s.Seconds)
			}
		}
		hw.Sync = syncFigures(secs)
		if hw.Sync.Failed, hw.Sync.TopErrors, err = st.SyncFailures(ctx, from, 5); err != nil {
			return nil, fmt.Errorf("health report: %w", err)
		}
		r.Windows = append(r.Windows, hw)
	}
	r.Hourly = healthSeries(counts, syncs, hourStart, time.Hour, 24)
	r.Daily = healthSeries(counts, syncs, dayStart, 24*time.Hour, 30)
	depth, oldest, err := st.SyncQueueDepth(ctx)
	if err != nil {
		return nil, fmt.Errorf("health report: %w", err)
	}
	r.Queue = QueueDepth{Counts: depth, OldestPendingSeconds: oldest}
	if r.BadgeAccuracy, err = st.LastBadgeAccuracy(ctx); err != nil {
		return nil, fmt.Errorf("health report: %w", err)
	}
	if r.Business, err = businessReport(ctx, st, now, r.BadgeAccuracy); err != nil {
		return nil, fmt.Errorf("health report: %w", err)
	}
	return r, nil
}

func rate(n, d int64) *float64 {
	if d == 0 {
		return nil
	}
	v := float64(n) / float64(d)
	return &v
}

func ssoFigures(cs []HealthCount, in func(time.Time) bool) SSOFigures {
	f := SSOFigures{ByOutcome: map[string]int64{}}
	var decided int64
	for _, c := range cs {
		if !in(c.Hour) {
			continue
		}
		f.Attempts += c.N
		f.ByOutcome[c.Outcome] += c.N
		if c.Outcome != SSOSwitchOutcome {
			decided += c.N
		}
		if c.Outcome == "ok" {
			f.OK += c.N
		}
	}
	f.SuccessRate = rate(f.OK, decided)
	f.MeetsTarget = f.SuccessRate == nil || *f.SuccessRate > TargetSSOSuccess
	return f
}

func webhookFigures(cs []HealthCount, in func(time.Time) bool) WebhookFigures {
	f := WebhookFigures{ByEndpoint: map[string]map[string]int64{}}
	for _, c := range cs {
		if !in(c.Hour) {
			continue
		}
		f.Deliveries += c.N
		if WebhookFailed(c.Outcome) {
			f.Failures += c.N
		}
		if f.ByEndpoint[c.Key] == nil {
			f.ByEndpoint[c.Key] = map[string]int64{}
		}
		f.ByEndpoint[c.Key][c.Outcome] += c.N
	}
	f.FailureRate = rate(f.Failures, f.Deliveries)
	f.MeetsTarget = f.FailureRate == nil || *f.FailureRate < TargetWebhookFailure
	return f
}

func syncFigures(secs []float64) SyncFigures {
	sort.Float64s(secs)
	f := SyncFigures{Completed: len(secs), TopErrors: []ReasonCount{}}
	f.P50Seconds, f.P95Seconds, f.P99Seconds = Percentile(secs, 50), Percentile(secs, 95), Percentile(secs, 99)
	under := sort.SearchFloat64s(secs, TargetSyncSeconds+1e-9) // how many are ≤ 300 s
	f.UnderFiveShare = rate(int64(under), int64(len(secs)))
	f.MeetsTarget = f.UnderFiveShare == nil || *f.UnderFiveShare >= TargetSyncShare
	return f
}

func healthSeries(counts map[string][]HealthCount, syncs []SyncDone, start time.Time, step time.Duration, n int) []HealthPoint {
	pts := make([]HealthPoint, n)
	ssoOK, ssoDecided, whFail := make([]int64, n), make([]int64, n), make([]int64, n)
	lat := make([][]float64, n)
	idx := func(t time.Time) int {
		if t.Before(start) {
			return -1
		}
		i := int(t.Sub(start) / step)
		if i >= n {
			return -1
		}
		return i
	}
	for i := range pts {
		pts[i].Start = start.Add(time.Duration(i) * step)
	}
	for _, c := range counts[HealthSSO] {
		if i := idx(c.Hour); i >= 0 {
			pts[i].SSOAttempts += c.N
			if c.Outcome != SSOSwitchOutcome {
				ssoDecided[i] += c.N
			}
			if c.Outcome == "ok" {
				ssoOK[i] += c.N
			}
		}
	}
	for _, c := range counts[HealthWebhook] {
		if i := idx(c.Hour); i >= 0 {
			pts[i].WebhookDeliveries += c.N
			if WebhookFailed(c.Outcome) {
				whFail[i] += c.N
			}
		}
	}
	for _, c := range counts[HealthPollRun] {
		if i := idx(c.Hour); i >= 0 {
			pts[i].PollRuns += c.N
		}
	}
	for _, c := range counts[HealthPollImport] {
		if i := idx(c.Hour); i >= 0 && (c.Outcome == "queued" || c.Outcome == "requeued") {
			pts[i].PollQueued += c.N
		}
	}
	for _, s := range syncs {
		if i := idx(s.CompletedAt); i >= 0 {
			lat[i] = append(lat[i], s.Seconds)
		}
	}
	for i := range pts {
		pts[i].SSOSuccessRate = rate(ssoOK[i], ssoDecided[i])
		pts[i].WebhookFailureRate = rate(whFail[i], pts[i].WebhookDeliveries)
		if l := lat[i]; len(l) > 0 {
			sort.Float64s(l)
			p50, p95, p99 := Percentile(l, 50), Percentile(l, 95), Percentile(l, 99)
			pts[i].SyncsCompleted, pts[i].SyncP50Seconds, pts[i].SyncP95Seconds, pts[i].SyncP99Seconds = len(l), &p50, &p95, &p99
		}
	}
	return pts
}

// WeekStart is the Monday 00:00 UTC of t's ISO week.
func WeekStart(t time.Time) time.Time {
	d := t.UTC().Truncate(24 * time.Hour)
	return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
}

func businessReport(ctx context.Context, st HealthStore, now time.Time, acc *BadgeAccuracy) (BusinessReport, error) {
	b := BusinessReport{Days: []BusinessDay{}, BadgesPerWeek: []WeekCount{}, Completion: []BadgeCompletion{}}
	days, err := st.BusinessDays(ctx, now.Truncate(24*time.Hour).Add(-29*24*time.Hour))
	if err != nil {
		return b, err
	}
	b.Days = days
	if len(days) > 0 {
		b.Latest = &days[len(days)-1]
	}
	weeks := map[time.Time]int{}
	for _, d := range days {
		weeks[WeekStart(d.Day)] += d.BadgesEarned
	}
	for w, n := range weeks {
		b.BadgesPerWeek = append(b.BadgesPerWeek, WeekCount{w, n})
	}
	sort.Slice(b.BadgesPerWeek, func(i, j int) bool { return b.BadgesPerWeek[i].Week.Before(b.BadgesPerWeek[j].Week) })
	if acc != nil && acc.Completion != nil {
		b.Completion = acc.Completion
	}
	if b.OnFire, err = st.OnFireFunnel(ctx, now.Add(-30*24*time.Hour)); err != nil {
		return b, err
	}
	return b, nil
}

// RunHealthChecks is the health job's work (jobs.RunHealth) and the page's
// "Check now": the badge-accuracy check, then the business rollup of
// today, and of yesterday too in the first hour after midnight so its last
// hours are counted once the day is over.
func RunHealthChecks(ctx context.Context, st HealthStore, now time.Time) (*BadgeAccuracy, error) {
	acc, err := st.CheckBadgeAccuracy(ctx)
	if err != nil {
		return nil, fmt.Errorf("health checks: %w", err)
	}
	now = now.UTC()
	today := now.Truncate(24 * time.Hour)
	days := []time.Time{today}
	if now.Sub(today) < time.Hour {
		days = []time.Time{today.Add(-24 * time.Hour), today}
	}
	for _, day := range days {
		if _, err := st.RollupBusinessDay(ctx, day); err != nil {
			return nil, fmt.Errorf("health checks: %w", err)
		}
	}
	return acc, nil
}
