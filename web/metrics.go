package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus series the HTTP side records.
type Metrics struct {
	Requests *prometheus.HistogramVec
	Logins   *prometheus.CounterVec
	SSO      *prometheus.CounterVec // optio_sso_attempts_total{outcome}, see sso.go
	// PortfolioCache counts portfolio renderings served from the cache (hit)
	// or built (miss): optio_portfolio_cache_total{result}.
	PortfolioCache *prometheus.CounterVec
	// Throttle counts attempts refused by a lock: optio_throttle_refusals_total{scope}.
	Throttle *prometheus.CounterVec
	// Quota counts uploads refused by the upload quota.
	Quota prometheus.Counter
	// Registerer is where feature routes register their own series.
	Registerer prometheus.Registerer
}

// NewMetrics registers the HTTP metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "optio_http_request_duration_seconds", Help: "HTTP requests by route pattern, method and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method", "status"}),
		Logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "optio_password_logins_total", Help: "Password logins by outcome.",
		}, []string{"outcome"}),
	}
	m.PortfolioCache = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "optio_portfolio_cache_total", Help: "Portfolio renderings served from the cache (hit) or built (miss).",
	}, []string{"result"})
	reg.MustRegister(m.Requests, m.Logins, m.PortfolioCache)
	m.SSO = newSSOAttempts(reg)
	m.Throttle, m.Quota = newThrottleRefusals(reg), newQuotaRefusals(reg)
	m.Registerer = reg
	return m
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (m *Metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, &reqInfo{}))
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		// The route is a registered pattern (a fixed set), never the path.
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		m.Requests.WithLabelValues(route, methodLabel(r.Method), statusLabel(sw.status)).Observe(time.Since(start).Seconds())
	})
}

// methodLabel is the method label of a request: one of the methods of RFC
// 9110 (and PATCH), else "OTHER". A label value drawn from the request as
// sent would let any client add series without bound (issue 17).
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// statusLabel is the status label: a valid status code, else "other".
func statusLabel(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code)
}
