package jobs

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the evidence-sync measurements /metrics exposes.
type metrics struct {
	latency prometheus.Histogram
	jobs    *prometheus.CounterVec
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
