package geminitest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/tutor/geminitest"
)

func post(t *testing.T, url, key string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`))
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("x-goog-api-key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

func TestServerWireFormat(t *testing.T) {
	t.Parallel()
	srv := geminitest.NewServer(t)
	srv.Reply(geminitest.Text("Hel", "lo"))
	resp, body := post(t, srv.URL+"/v1beta/models/m1:streamGenerateContent?alt=sse", "k")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	events := strings.Split(strings.TrimSuffix(body, "\r\n\r\n"), "\r\n\r\n")
	require.Len(t, events, 2)
	require.True(t, strings.HasPrefix(events[0], `data: {"candidates":[{"content":{"role":"model","parts":[{"text":"Hel"}]},"index":0}]`), events[0])
	require.Contains(t, events[1], `"finishReason":"STOP"`)

	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	require.Equal(t, "m1", reqs[0].Model)
	require.Equal(t, "hi", reqs[0].Prompt())
}

func TestServerRejectsWrongRequests(t *testing.T) {
	t.Parallel()
	srv := geminitest.NewServer(t)
	resp, body := post(t, srv.URL+"/v1beta/models/m1:generateContent", "k")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Contains(t, body, `"status":"NOT_FOUND"`)
	resp, _ = post(t, srv.URL+"/v1beta/models/m1:streamGenerateContent", "k")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp, _ = post(t, srv.URL+"/v1beta/models/m1:streamGenerateContent?alt=sse", "")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, body = post(t, srv.URL+"/v1beta/models/m1:streamGenerateContent?alt=sse", "k")
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode, "an unscripted request fails loudly")
	require.Contains(t, body, "no reply scripted")
	require.Len(t, srv.Requests(), 1, "only well-formed requests are recorded")
}
