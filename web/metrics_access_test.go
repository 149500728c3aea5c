package web_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/store"
)

// testMetricsToken is the OPTIO_METRICS_TOKEN of the webhook test servers.
const testMetricsToken = "metrics-token-for-tests-0123456789"

// scrapeMetrics reads base/metrics as a Prometheus scraper does, with the
// bearer token when one is given.
func scrapeMetrics(t testing.TB, base, token string) (int, string) {
	t.Helper()
	require.NotEmpty(t, base, "no metrics listener")
	req, err := http.NewRequest("GET", base+"/metrics", nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(raw)
}

// Issue 17, item 7: /metrics is not public. On the main listener it answers
// 404 unless OPTIO_METRICS_TOKEN is configured and sent as a bearer token.
func TestMetricsAreNotPublic(t *testing.T) {
	t.Parallel()
	open := setupHooks(t, store.SQLite, map[string]string{"OPTIO_METRICS_TOKEN": ""})
	status, body := scrapeMetrics(t, open.url, "")
	require.Equal(t, http.StatusNotFound, status, "no token configured: the main listener has no /metrics")
	require.NotContains(t, body, "optio_http_request_duration_seconds")
	status, _ = scrapeMetrics(t, open.url, "anything-at-all-0123456789")
	require.Equal(t, http.StatusNotFound, status)

	h := setupHooks(t, store.SQLite, nil) // OPTIO_METRICS_TOKEN=testMetricsToken
	for _, tok := range []string{"", "wrong-token-0123456789abcdef", testMetricsToken + "x"} {
		status, body := scrapeMetrics(t, h.url, tok)
		require.Equal(t, http.StatusNotFound, status, "token %q", tok)
		require.NotContains(t, body, "optio_")
	}
	status, body = scrapeMetrics(t, h.url, testMetricsToken)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, "optio_http_request_duration_seconds")
}

// Issue 17, item 7: an https Optio tells browsers to use https only.
func TestHSTSOnHTTPS(t *testing.T) {
	t.Parallel()
	for base, want := range map[string]string{
		"https://optio.school.example": "max-age=31536000; includeSubDomains",
		"http://127.0.0.1:8080":        "",
	} {
		h := setupHooks(t, store.SQLite, map[string]string{"OPTIO_BASE_URL": base})
		resp, err := http.Get(h.url + "/healthz")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, want, resp.Header.Get("Strict-Transport-Security"), base)
	}
}

// Issue 17, item 12: 20,000 requests with made-up methods grew /metrics to
// 33 MB. Methods outside the standard set count as OTHER, and every label
// of the request histogram stays within a fixed set.
func TestMetricLabelsIgnoreRequestInput(t *testing.T) {
	t.Parallel()
	h := setupHooks(t, store.SQLite, nil)
	for i := range 300 {
		method := fmt.Sprintf("X%dRANDOM", i)
		req, err := http.NewRequest(method, h.url+fmt.Sprintf("/no/such/path/%d", i), nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}
	req, err := http.NewRequest("BREW", h.url+"/healthz", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()

	_, body := scrapeMetrics(t, h.url, testMetricsToken)
	require.NotContains(t, body, "RANDOM")
	require.NotContains(t, body, "BREW")
	require.NotContains(t, body, "/no/such/path")
	series := map[string]bool{}
	known := map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true,
		"OPTIONS": true, "CONNECT": true, "TRACE": true, "OTHER": true}
	re := regexp.MustCompile(`optio_http_request_duration_seconds_count\{method="([^"]*)",route="([^"]*)",status="([^"]*)"\}`)
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		require.True(t, known[m[1]], "method label %q", m[1])
		series[m[0]] = true
	}
	require.True(t, len(series) > 0 && len(series) < 10, "a handful of series, not one per request: %v", series)
	require.Contains(t, body, `method="OTHER",route="unmatched"`)
}
