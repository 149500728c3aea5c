package jobs_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/jobs"
	"github.com/optio-edu/optio/sandbox"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// TestRejectedAPIKeyIsAnAdminError: Spark answering 401 to a poll is
// recorded for the admin page (with the call and the time), counted in
// optio_spark_api_auth_failures_total, and cleared by the next accepted call.
func TestRejectedAPIKeyIsAnAdminError(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		sb, err := sandbox.New(sandbox.Config{OptioURL: "http://127.0.0.1:9", SSOSecret: "sso-secret-for-api-key-tests",
			WebhookSecret: "webhook-secret", APIKey: "k3y"})
		require.NoError(t, err)
		t.Cleanup(func() { _ = sb.Close() })
		var rejected atomic.Bool
		rejected.Store(true)
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if rejected.Load() {
				http.Error(w, `{"error":{"code":"unauthorized","message":"The API key is not valid."}}`, http.StatusUnauthorized)
				return
			}
			sb.ServeHTTP(w, r)
		}))
		t.Cleanup(api.Close)
		b := setup(t, db)
		b.cfg.SparkAPIURL, b.cfg.SparkAPIKey = api.URL, "k3y"
		reg := prometheus.NewRegistry()
		r, err := jobs.New(ctx, b.cfg, db, b.files, jobs.Options{Registerer: reg})
		require.NoError(t, err)

		_, err = r.Poll.Poll(ctx, nil)
		require.Error(t, err)
		st, err := db.SyncQueueStats(ctx, 5)
		require.NoError(t, err)
		require.NotNil(t, st.APIKeyProblem, "the admin page shows the rejected key")
		require.Equal(t, http.StatusUnauthorized, st.APIKeyProblem.Status)
		require.Equal(t, "GET /api/courses", st.APIKeyProblem.Call)
		require.Contains(t, st.APIKeyProblem.Message(), "SPARK_API_KEY")
		require.Equal(t, 1.0, testutil.ToFloat64(mustCounter(t, reg, "optio_spark_api_auth_failures_total")))

		rejected.Store(false)
		_, err = r.Poll.Poll(ctx, nil)
		require.NoError(t, err)
		st, err = db.SyncQueueStats(ctx, 5)
		require.NoError(t, err)
		require.Nil(t, st.APIKeyProblem, "cleared once Spark accepts the key")
	})
}

func mustCounter(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name}, func() float64 { return mf.GetMetric()[0].GetCounter().GetValue() })
		}
	}
	t.Fatalf("no metric %s", name)
	return nil
}
