package jobs

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the evidence-sync measurements /metrics exposes.
type metrics struct {
	latency prometheus.Histogram
	jobs    *prometheus.CounterVec
	poll    *pollMetrics
}

// Outcomes of a sync job (the outcome label).
const (
	outcomeCompleted  = "completed"
	outcomeSuperseded = "superseded"
	outcomeWaiting    = "waiting"
	outcomeDuplicate  = "duplicate"
	outcomeRetry      = "retry"
	outcomeFailed     = "failed"
)

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "optio_spark_sync_latency_seconds",
			Help:    "Seconds from a submission being queued (webhook accepted) to its evidence being visible.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600},
		}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "optio_spark_sync_jobs_total",
			Help: "Evidence sync job runs by outcome.",
		}, []string{"outcome"}),
	}
	if reg != nil {
		m.latency = register(reg, m.latency)
		m.jobs = register(reg, m.jobs)
	}
	m.poll = newPollMetrics(reg)
	return m
}

// register adds c to reg, or returns the collector already registered
// under its name (several runners in one test process).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

// pollMetrics are the Spark polling measurements /metrics exposes.
type pollMetrics struct {
	runs        *prometheus.CounterVec
	submissions *prometheus.CounterVec
}

func newPollMetrics(reg prometheus.Registerer) *pollMetrics {
	m := &pollMetrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "optio_spark_poll_runs_total",
			Help: "Polls of Spark's API by outcome: ok, error (Spark failed or answered garbage), limit (a SPARK_POLL_MAX_* or SPARK_API_MAX_RESPONSE_BYTES limit stopped it).",
		}, []string{"outcome"}),
		submissions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "optio_spark_poll_submissions_total",
			Help: "Submissions read by polling: seen, queued (new to Optio), requeued (last sync had failed), rejected (invalid).",
		}, []string{"result"}),
	}
	if reg != nil {
		m.runs = register(reg, m.runs)
		m.submissions = register(reg, m.submissions)
	}
	// Every series exists from the start (the Grafana dashboard reads them).
	for _, o := range []string{"ok", "error", "limit"} {
		m.runs.WithLabelValues(o)
	}
	for _, r := range []string{"seen", "queued", "requeued", "rejected"} {
		m.submissions.WithLabelValues(r)
	}
	return m
}

// pollDone counts one poll; nil-safe.
func (m *metrics) pollDone(outcome string, r *PollResult) {
	if m == nil || m.poll == nil {
		return
	}
	m.poll.runs.WithLabelValues(outcome).Inc()
	for k, v := range map[string]int{"seen": r.Seen, "queued": r.Queued, "requeued": r.Requeued, "rejected": r.Rejected} {
		m.poll.submissions.WithLabelValues(k).Add(float64(v))
	}
}
