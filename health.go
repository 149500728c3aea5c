package optio

import (
	"context"
	"sort"
	"sync"
	"time"
)

// The plan's success targets (docs/ops/health.md). /admin/health marks each
// figure green or red against them and docs/ops/alerts.yml alerts on them.
const (
	// TargetSSOSuccess: more than 99 % of Spark sign-ins succeed.
	TargetSSOSuccess = 0.99
	// TargetSyncSeconds: 95 % of syncs make evidence visible within 5 minutes.
	TargetSyncSeconds = 300
	// TargetSyncShare is the share of syncs that must finish within TargetSyncSeconds.
	TargetSyncShare = 0.95
	// TargetWebhookFailure: under 1 % of webhook deliveries fail.
	TargetWebhookFailure = 0.01
	// TargetBadgeMismatches: badge accuracy 100 %, no mismatch.
	TargetBadgeMismatches = 0
)

// Metrics of the hourly health tallies (HealthCount.Metric).
const (
	// HealthSSO counts Spark SSO attempts; Outcome is the outcome label of
	// optio_sso_attempts_total ("ok", "expired", …).
	HealthSSO = "sso"
	// HealthWebhook counts webhook deliveries; Key is the endpoint
	// (submission, roster, course), Outcome the outcome label of
	// optio_spark_webhooks_total.
	HealthWebhook = "webhook"
	// HealthPollRun counts polls of Spark's API; Outcome is ok, error or limit.
	HealthPollRun = "poll_run"
	// HealthPollImport counts what polls read; Outcome is seen, queued,
	// requeued or rejected.
	HealthPollImport = "poll_import"
)

// SSOSwitchOutcome is the outcome of an SSO attempt that showed the
// account-switch question: neither a success nor a failure, so it is left
// out of the success rate.
const SSOSwitchOutcome = "asked_to_switch"

// WebhookFailed reports whether a webhook outcome counts against the
// "< 1 % webhook failure" target: everything but accepted and duplicate.
func WebhookFailed(outcome string) bool { return outcome != "accepted" && outcome != "duplicate" }

// HealthCount is a count of events of one kind in one UTC hour.
type HealthCount struct {
	Hour    time.Time `json:"hour"`
	Metric  string    `json:"metric"`
	Key     string    `json:"key"`
	Outcome string    `json:"outcome"`
	N       int64     `json:"n"`
}

type healthKey struct {
	hour                 time.Time
	metric, key, outcome string
}

// HealthTally counts events in memory by hour and writes them to the
// store in one batch (Flush), so the SSO and webhook paths pay a map
// increment instead of a database round trip (docs/ops/health.md,
// "Recording"). Counts not yet flushed are lost if the process dies; the
// app flushes every few seconds and on shutdown.
type HealthTally struct {
	clock Clock
	mu    sync.Mutex
	m     map[healthKey]int64
}

// NewHealthTally returns an empty tally that dates events with clock.
func NewHealthTally(clock Clock) *HealthTally {
	if clock == nil {
		clock = SystemClock{}
	}
	return &HealthTally{clock: clock, m: map[healthKey]int64{}}
}

// Add counts one event now.
func (t *HealthTally) Add(metric, key, outcome string) {
	if t == nil {
		return
	}
	k := healthKey{t.clock.Now().UTC().Truncate(time.Hour), metric, key, outcome}
	t.mu.Lock()
	t.m[k]++
	t.mu.Unlock()
}

// take empties the tally and returns what it held.
func (t *HealthTally) take() []HealthCount {
	t.mu.Lock()
	m := t.m
	t.m = map[healthKey]int64{}
	t.mu.Unlock()
	out := make([]HealthCount, 0, len(m))
	for k, n := range m {
		out = append(out, HealthCount{Hour: k.hour, Metric: k.metric, Key: k.key, Outcome: k.outcome, N: n})
	}
	sort.Slice(out, func(i, j int) bool { // a fixed order: concurrent flushes lock rows alike
		a, b := out[i], out[j]
		if !a.Hour.Equal(b.Hour) {
			return a.Hour.Before(b.Hour)
		}
		if a.Metric != b.Metric {
			return a.Metric < b.Metric
		}
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		return a.Outcome < b.Outcome
	})
	return out
}

// Flush adds the counts to the store's hourly rollup. On failure the
// counts go back into the tally for the next flush.
func (t *HealthTally) Flush(ctx context.Context, st HealthStore) error {
	if t == nil {
		return nil
	}
	cs := t.take()
	if len(cs) == 0 {
		return nil
	}
	if err := st.AddHealthCounts(ctx, cs); err != nil {
		t.mu.Lock()
		for _, c := range cs {
			t.m[healthKey{c.Hour, c.Metric, c.Key, c.Outcome}] += c.N
		}
		t.mu.Unlock()
		return err
	}
	return nil
}

// SyncDone is one finished evidence sync: when it completed and how long
// it took from being queued.
type SyncDone struct {
	CompletedAt time.Time
	Seconds     float64
}

// ReasonCount is an error reason and how many failed syncs gave it.
type ReasonCount struct {
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// OnFireClick is a click on an OnFire catalog link on a badge page.
type OnFireClick struct {
	UserID        string // "" when nobody was signed in
	SparkCourseID string
	BadgeID       string
}

// BusinessDay is one day's business figures, kept in the database by the
// daily rollup. Values are counts as of the end of the day (or of the last
// rollup that day).
type BusinessDay struct {
	Day time.Time `json:"day"`
	// StudentsWithSyncedWork have at least one Spark submission synced.
	StudentsWithSyncedWork int `json:"students_with_synced_work"`
	// PortfoliosBeyondFamily are student portfolios anyone outside the
	// family can open: public, link-only or school (inside Spark).
	PortfoliosBeyondFamily int `json:"portfolios_beyond_family"`
	// BadgesEarned were earned that day.
	BadgesEarned int `json:"badges_earned"`
	// ActiveParents and ActiveObservers used Optio in the 7 days up to the day.
	ActiveParents   int `json:"weekly_active_parents"`
	ActiveObservers int `json:"weekly_active_observers"`
	// OnFireClicks were made that day.
	OnFireClicks int `json:"onfire_clicks"`
}

// BadgeCompletion is one badge's completion rate: students who earned it
// over students with progress toward it (a required course taken or done,
// or XP in one).
type BadgeCompletion struct {
	BadgeID  string  `json:"badge_id"`
	Name     string  `json:"name"`
	Earned   int     `json:"earned"`
	Progress int     `json:"students_with_progress"`
	Rate     float64 `json:"completion_rate"`
}

// OnFireCourse is the catalog funnel of one course: clicks from badge
// pages, and how many of those clicks were followed by the clicking
// student's enrolment in the course (a roster event) within 30 days.
type OnFireCourse struct {
	SparkCourseID string `json:"spark_course_id"`
	Title         string `json:"title"`
	Clicks        int    `json:"clicks"`
	Enrolments    int    `json:"enrolments_within_30_days"`
}

// BadgeMismatch is a student whose badges disagree with the rules.
type BadgeMismatch struct {
	UserID    string `json:"user_id"`
	Student   string `json:"student"`
	BadgeID   string `json:"badge_id"`
	BadgeName string `json:"badge_name"`
	// Kind is "missing" (qualifies, no award) or "unearned" (holds an
	// award whose evidence does not meet the rules and who does not
	// qualify now).
	Kind string `json:"kind"`
}

// BadgeAccuracy is the result of the badge-accuracy check.
type BadgeAccuracy struct {
	CheckedAt  time.Time         `json:"checked_at"`
	Students   int               `json:"students_checked"`
	Mismatches int               `json:"mismatches"`
	List       []BadgeMismatch   `json:"list"`
	Completion []BadgeCompletion `json:"completion"`
}

// HealthStore is what the health page reads and its recorders write.
type HealthStore interface {
	// AddHealthCounts adds counts to the hourly rollup (an upsert per row).
	AddHealthCounts(ctx context.Context, cs []HealthCount) error
	// HealthCounts returns the hourly counts of metric from since on.
	HealthCounts(ctx context.Context, metric string, since time.Time) ([]HealthCount, error)
	// SyncsDone lists syncs completed from since on (at most limit, newest first).
	SyncsDone(ctx context.Context, since time.Time, limit int) ([]SyncDone, error)
	// SyncFailures counts failed syncs updated from since on, with the most
	// frequent error reasons.
	SyncFailures(ctx context.Context, since time.Time, limit int) (int, []ReasonCount, error)
	// RecordOnFireClick stores a catalog click; the course must be a badge
	// course (ENOTFOUND otherwise).
	RecordOnFireClick(ctx context.Context, c OnFireClick) error
	// CheckBadgeAccuracy recomputes every student's badges from the rules,
	// compares them with the awards, stores the result and returns it.
	CheckBadgeAccuracy(ctx context.Context) (*BadgeAccuracy, error)
	// LastBadgeAccuracy is the last stored check (nil before the first).
	LastBadgeAccuracy(ctx context.Context) (*BadgeAccuracy, error)
	// RollupBusinessDay computes the business figures of day (UTC) and
	// stores them, replacing an earlier rollup of the same day.
	RollupBusinessDay(ctx context.Context, day time.Time) (*BusinessDay, error)
	// BusinessDays returns the stored daily rollups from since on, oldest first.
	BusinessDays(ctx context.Context, since time.Time) ([]BusinessDay, error)
	// OnFireFunnel is the catalog funnel per course for clicks from since on.
	OnFireFunnel(ctx context.Context, since time.Time) ([]OnFireCourse, error)
	// SyncQueueDepth counts queue rows by status and the age in seconds of
	// the oldest pending one: cheap enough for every Prometheus scrape.
	SyncQueueDepth(ctx context.Context) (map[string]int, float64, error)
	// SparkCoursesTaken is the set of Spark courses a student is enrolled
	// in or completed (roster events).
	SparkCoursesTaken(ctx context.Context, userID string) (map[string]bool, error)
}

// Percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of sorted
// values, 0 when there are none.
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.999999999) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}
