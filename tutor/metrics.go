package tutor

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the tutor's Prometheus series, so operators can see use,
// refusals by category, provider trouble and answer latency on /metrics.
type Metrics struct {
	requests       *prometheus.CounterVec
	refusals       *prometheus.CounterVec
	providerErrors prometheus.Counter
	latency        prometheus.Histogram
}

// Outcomes counted by optio_tutor_requests_total.
const (
	OutcomeAnswered      = "answered"
	OutcomeRefused       = "refused"
	OutcomeWithheld      = "withheld"
	OutcomeUnavailable   = "unavailable"
	OutcomeNotConfigured = "not_configured"
	OutcomeInvalid       = "invalid"
	OutcomeCanceled      = "canceled"
)

// NewMetrics creates the tutor's series and registers them with reg (nil:
// not registered, for tests that do not look).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "optio_tutor_requests_total",
			Help: "Tutor questions by outcome (answered, refused, withheld, unavailable, not_configured, invalid, canceled).",
		}, []string{"outcome"}),
		refusals: f.NewCounterVec(prometheus.CounterOpts{
			Name: "optio_tutor_refusals_total",
			Help: "Messages refused or withheld by the safety checks, by category and stage (input or output).",
		}, []string{"category", "stage"}),
		providerErrors: f.NewCounter(prometheus.CounterOpts{
			Name: "optio_tutor_provider_errors_total",
			Help: "Tutor answers that failed because the AI provider failed or timed out.",
		}),
		latency: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "optio_tutor_answer_seconds",
			Help:    "Time from calling the AI provider to the end of its answer.",
			Buckets: []float64{0.25, 0.5, 1, 2, 4, 8, 16, 32, 64},
		}),
	}
}

func (m *Metrics) outcome(o string) {
	if m != nil {
		m.requests.WithLabelValues(o).Inc()
	}
}

func (m *Metrics) refusal(category, stage string) {
	if m != nil {
		m.refusals.WithLabelValues(category, stage).Inc()
	}
}

func (m *Metrics) providerError() {
	if m != nil {
		m.providerErrors.Inc()
	}
}

func (m *Metrics) observe(d time.Duration) {
	if m != nil {
		m.latency.Observe(d.Seconds())
	}
}
