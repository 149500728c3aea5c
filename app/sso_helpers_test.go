package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/app"
	"github.com/optio-edu/optio/internal/apptest"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
)

// ssoSecret is the SPARK_SSO_SECRET of the test apps.
const ssoSecret = "spark-test-secret-0123456789abcdef"

// ssoEnv is the environment of one test Optio process: a fresh database of
// dialect d (dbURL, when set, shares one), SSO configured with ssoSecret.
type ssoEnv struct {
	vars   apptest.Vars
	clock  optio.Clock
	logger *slog.Logger
}

func newSSOEnv(t testing.TB, d store.Dialect) *ssoEnv {
	return &ssoEnv{vars: apptest.Env(t, d, map[string]string{"SPARK_SSO_SECRET": ssoSecret})}
}

func (e *ssoEnv) set(k, v string) *ssoEnv { e.vars[k] = v; return e }

// start runs the real program on :0 and stops it when the test ends.
func (e *ssoEnv) start(t testing.TB) *app.App {
	t.Helper()
	logger := e.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return apptest.Start(t, e.vars.Get, app.Options{Clock: e.clock, Logger: logger}, nil)
}

// ssoBrowser is a cookie-keeping HTTP client that does not follow redirects,
// so tests see where Optio sends it.
type ssoBrowser struct {
	t    testing.TB
	base string
	http *http.Client
}

func newSSOBrowser(t testing.TB, base string) *ssoBrowser {
	jar, _ := cookiejar.New(nil)
	return &ssoBrowser{t: t, base: base, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// get fetches path as a ssoBrowser (accept "html") or an API client ("json").
func (b *ssoBrowser) get(path, accept string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest("GET", b.base+path, nil)
	require.NoError(b.t, err)
	if accept == "json" {
		req.Header.Set("Accept", "application/json")
	} else {
		req.Header.Set("Accept", "text/html,application/xhtml+xml")
	}
	resp, err := b.http.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// sso follows a Spark "View Portfolio" link and returns the status and Location.
func (b *ssoBrowser) sso(token string, extra ...string) (int, string) {
	b.t.Helper()
	resp, _ := b.get("/spark/sso?token="+token+strings.Join(extra, ""), "html")
	return resp.StatusCode, resp.Header.Get("Location")
}

// ssoError follows the link as an API client and decodes the error code.
func (b *ssoBrowser) ssoError(token string) (int, string, string) {
	b.t.Helper()
	resp, body := b.get("/spark/sso?token="+token, "json")
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if resp.StatusCode >= 400 {
		require.NoError(b.t, json.Unmarshal([]byte(body), &e), body)
	}
	return resp.StatusCode, e.Error.Code, e.Error.Message
}

// me returns the signed-in user.
func (b *ssoBrowser) me() *optio.User {
	b.t.Helper()
	resp, body := b.get("/api/me", "json")
	require.Equal(b.t, http.StatusOK, resp.StatusCode, body)
	var u optio.User
	require.NoError(b.t, json.Unmarshal([]byte(body), &u))
	return &u
}

// sign makes a token for c as Spark would, valid for 5 minutes from now.
func signSSO(t testing.TB, secret string, c spark.Claims) string {
	t.Helper()
	tok, err := spark.SignToken(secret, c, 5*time.Minute, time.Now())
	require.NoError(t, err)
	return tok
}

func studentClaims(sub string, courses ...string) spark.Claims {
	return spark.Claims{Subject: sub, Email: sub + "@school.test", GivenName: "Maya", FamilyName: "Ortiz " + sub,
		Role: optio.RoleStudent, SparkCourseIDs: courses}
}

// ssoLogSink is a log sink safe for concurrent handlers.
type ssoLogSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *ssoLogSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *ssoLogSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// count runs a COUNT(*) query on the app's database.
func countRows(t testing.TB, a *app.App, q string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, a.Store.R.QueryRowContext(context.Background(), q, args...).Scan(&n))
	return n
}
