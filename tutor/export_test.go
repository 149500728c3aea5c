package tutor

import "github.com/prometheus/client_golang/prometheus"

// Test access to single series.

func (m *Metrics) Requests(outcome string) prometheus.Counter {
	return m.requests.WithLabelValues(outcome)
}

func (m *Metrics) Refusals(category, stage string) prometheus.Counter {
	return m.refusals.WithLabelValues(category, stage)
}

func (m *Metrics) ProviderErrors() prometheus.Counter { return m.providerErrors }
