// Package apptest is the one harness tests use to run the real program: an
// environment on a fresh database of either engine, the app started on :0
// and stopped with the test, cookie-keeping clients signed up through the
// API, and the family and course fixtures most tests need.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/app"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// Vars is an environment: variable name → value.
type Vars map[string]string

// Get is v as a getenv function (optio.LoadConfig, the CLI's run).
func (v Vars) Get(k string) string { return v[k] }

// Env is the environment of one test Optio: its own data directory, a fresh
// database of dialect d, HTTP and metrics on loopback :0, then extra.
func Env(tb testing.TB, d store.Dialect, extra map[string]string) Vars {
	tb.Helper()
	dbURL := storetest.URL(tb, d)
	if d == store.SQLite {
		dbURL = "sqlite://" + dbURL
	}
	env := Vars{
		"OPTIO_DATA_DIR":     tb.TempDir(),
		"OPTIO_DATABASE_URL": dbURL,
		"OPTIO_ADDR":         "127.0.0.1:0",
		"OPTIO_METRICS_ADDR": "127.0.0.1:0",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// Start builds the app from the environment getenv reads, with opts, and
// serves it on ln (nil: on OPTIO_ADDR); it shuts down gracefully when the
// test ends.
func Start(tb testing.TB, getenv func(string) string, opts app.Options, ln net.Listener) *app.App {
	tb.Helper()
	cfg, err := optio.LoadConfig(getenv)
	require.NoError(tb, err)
	a, err := app.New(context.Background(), cfg, opts)
	require.NoError(tb, err)
	require.NoError(tb, a.Start(ln))
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Shutdown(ctx)
	})
	return a
}

// Client is a browser-like HTTP client: its own cookie jar, and redirects
// answered rather than followed, so tests see where Optio sends it.
type Client struct {
	T    testing.TB
	Base string
	HTTP *http.Client
	// User is who the client signed up as (SignUp), else nil.
	User *optio.User
}

// NewClient is a client of the Optio at base with an empty cookie jar.
func NewClient(tb testing.TB, base string) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{T: tb, Base: base, HTTP: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// Request sends a request with the headers given and returns the answer;
// the caller closes its body.
func (c *Client) Request(method, path, accept, contentType string, body io.Reader) *http.Response {
	c.T.Helper()
	req, err := http.NewRequest(method, c.Base+path, body)
	require.NoError(c.T, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", accept)
	resp, err := c.HTTP.Do(req)
	require.NoError(c.T, err)
	return resp
}

// JSON sends body as JSON (nothing when nil), decodes the answer into out
// (when non-nil and the answer has a body) and returns the status.
func (c *Client) JSON(method, path string, body, out any) int {
	c.T.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(c.T, err)
		rd = bytes.NewReader(raw)
	}
	resp := c.Request(method, path, "application/json", "application/json", rd)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		require.NoError(c.T, json.Unmarshal(raw, out), "body: %s", raw)
	}
	return resp.StatusCode
}

// SignUp registers a new user of role named given through the API, as a
// person would, and returns their signed-in client.
func SignUp(tb testing.TB, a *app.App, role optio.Role, given string) *Client {
	tb.Helper()
	c := NewClient(tb, a.URL())
	var u optio.User
	require.Equal(tb, http.StatusCreated, c.JSON("POST", "/api/auth/register", map[string]any{
		"email":    strings.ToLower(given) + "-" + uuid.NewString()[:8] + "@example.com",
		"password": "a long password", "given_name": given, "family_name": "Tester", "role": role}, &u))
	c.User = &u
	return c
}

// LinkParent links parent to student as an administrator would.
func LinkParent(tb testing.TB, a *app.App, parent, student *optio.User) {
	tb.Helper()
	_, err := a.Store.LinkParent(context.Background(), "", parent.ID, student.ID, optio.LinkedViaAdmin)
	require.NoError(tb, err)
}
