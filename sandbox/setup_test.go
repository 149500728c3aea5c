package sandbox_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/sandbox"
	"github.com/optio-edu/optio/spark"
)

const (
	testSSOSecret     = "sso-secret-for-tests-0123456789abcdef"
	testWebhookSecret = "whsec_c2FuZGJveC13ZWJob29rLXNlY3JldA=="
	testAPIKey        = "spark-api-key-for-tests"
)

// received is one webhook the fake Optio got.
type received struct {
	Path   string
	Header http.Header
	Body   []byte
	At     time.Time
}

// fakeOptio records webhooks and answers with respond (202 by default).
type fakeOptio struct {
	*httptest.Server
	mu      sync.Mutex
	got     []received
	respond func(n int, w http.ResponseWriter) // n counts requests from 1
}

func (f *fakeOptio) requests() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.got...)
}

// bundle is what a sandbox test works with.
type bundle struct {
	sb    *sandbox.Sandbox
	optio *fakeOptio
	url   string
}

// setup starts a fake Optio and a sandbox on :0 that sends it webhooks
// with millisecond retry delays; tweak adjusts the config.
func setup(t *testing.T, tweak func(*sandbox.Config)) *bundle {
	t.Helper()
	fo := &fakeOptio{}
	fo.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fo.mu.Lock()
		fo.got = append(fo.got, received{Path: r.URL.Path, Header: r.Header.Clone(), Body: body, At: time.Now()})
		n, respond := len(fo.got), fo.respond
		fo.mu.Unlock()
		if respond != nil {
			respond(n, w)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"accepted"}`)
	}))
	t.Cleanup(fo.Close)
	cfg := sandbox.Config{
		OptioURL: fo.URL, SSOSecret: testSSOSecret, WebhookSecret: testWebhookSecret, APIKey: testAPIKey,
		Retry: sandbox.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond},
	}
	if tweak != nil {
		tweak(&cfg)
	}
	sb, err := sandbox.New(cfg)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, sb.Start(ln))
	t.Cleanup(func() { require.NoError(t, sb.Close()) })
	return &bundle{sb: sb, optio: fo, url: sb.URL()}
}

// waitIdle waits for every webhook to be delivered or given up on.
func (b *bundle) waitIdle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, b.sb.WaitIdle(ctx))
}

func (b *bundle) client(key string) *spark.Client {
	return &spark.Client{BaseURL: b.url, APIKey: key}
}

// verifier checks webhooks as Optio does.
func verifier() *spark.WebhookVerifier {
	return &spark.WebhookVerifier{Secrets: []string{testWebhookSecret}, Clock: optio.SystemClock{}}
}
