package web_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
	"github.com/optio-edu/optio/web"
)

// TestCrossOriginRequestsAnswerLikeEveryError: a state-changing request a
// browser sends from another site is refused with the same error shape as
// every other refusal — JSON with a code on the API, the error page on a
// form — not Go's plain-text default.
func TestCrossOriginRequestsAnswerLikeEveryError(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		db := storetest.Open(t, d, nil)
		cfg, err := optio.LoadConfig(func(string) string { return "" })
		require.NoError(t, err)
		srv := httptest.NewServer(newServer(t, web.Deps{Config: cfg, Store: db, Logger: slog.New(slog.DiscardHandler)}))
		t.Cleanup(srv.Close)
		post := func(path, accept string) (*http.Response, string) {
			req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(`{}`))
			require.NoError(t, err)
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			req.Header.Set("Accept", accept)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			return resp, string(b)
		}

		resp, body := post("/api/auth/logout", "*/*")
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		var e struct {
			Error struct{ Code, Message string }
		}
		require.NoError(t, json.Unmarshal([]byte(body), &e), body)
		require.Equal(t, optio.EFORBIDDEN, e.Error.Code)
		require.Contains(t, e.Error.Message, "Cross-origin request refused")

		resp, body = post("/logout", "text/html")
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		require.Contains(t, resp.Header.Get("Content-Type"), "text/html")
		require.Contains(t, body, "Cross-origin request refused")
	})
}
