package jobs

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
)

// apiKeyWatch turns Spark's 401/403 answers into an error admins see
// (job_state), a log line at ERROR and optio_spark_api_auth_failures_total;
// the next accepted call clears the record.
type apiKeyWatch struct {
	db       *store.DB
	logger   *slog.Logger
	failures prometheus.Counter
	failing  atomic.Bool
	cleared  atomic.Bool
}

func newAPIKeyWatch(db *store.DB, logger *slog.Logger, reg prometheus.Registerer) *apiKeyWatch {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "optio_spark_api_auth_failures_total",
		Help: "Calls to Spark's API refused with 401 or 403 (SPARK_API_KEY rejected)."})
	if reg != nil {
		c = register(reg, c)
	}
	return &apiKeyWatch{db: db, logger: logger, failures: c}
}

// observe is spark.Client.OnStatus.
func (w *apiKeyWatch) observe(method, path string, status int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		w.failures.Inc()
		p := optio.SparkAPIKeyProblem{At: w.db.Clock.Now().UTC(), Status: status, Call: method + " " + path}
		w.logger.Error("spark api key rejected", "status", status, "call", p.Call)
		raw, _ := json.Marshal(p)
		if err := w.db.SetJobState(ctx, store.APIKeyStateKey, string(raw)); err != nil {
			w.logger.Error("record spark api key problem", "error", err)
		}
		w.failing.Store(true)
		w.cleared.Store(false)
	case status >= 200 && status < 300 && (w.failing.Load() || !w.cleared.Load()):
		if err := w.db.SetJobState(ctx, store.APIKeyStateKey, ""); err == nil {
			w.failing.Store(false)
			w.cleared.Store(true)
		}
	}
}
