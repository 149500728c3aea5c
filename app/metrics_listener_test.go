package app_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/store"
)

// Issue 17, item 7: /metrics is served on OPTIO_METRICS_ADDR (loopback by
// default), not on the public listener; a configured OPTIO_METRICS_TOKEN
// is required on both.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	t.Parallel()
	a := newSSOEnv(t, store.SQLite).start(t)
	b := newSSOBrowser(t, a.URL())
	resp, body := b.get("/metrics", "html")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.NotContains(t, body, "optio_sso_attempts_total")
	require.NotEmpty(t, a.MetricsURL())
	resp, body = newSSOBrowser(t, a.MetricsURL()).get("/metrics", "html")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, "optio_sso_attempts_total")
	resp, _ = newSSOBrowser(t, a.MetricsURL()).get("/dashboard", "html")
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "the metrics listener serves nothing else")

	const token = "scraper-token-0123456789abcdef"
	a = newSSOEnv(t, store.SQLite).set("OPTIO_METRICS_TOKEN", token).start(t)
	resp, _ = newSSOBrowser(t, a.MetricsURL()).get("/metrics", "html")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	for _, base := range []string{a.URL(), a.MetricsURL()} {
		req, err := http.NewRequest("GET", base+"/metrics", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, base)
	}

	a = newSSOEnv(t, store.SQLite).set("OPTIO_METRICS_ADDR", "off").start(t)
	require.Empty(t, a.MetricsURL())
}
