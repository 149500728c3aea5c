package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
)

// testServer is a loopback HTTP server that counts the requests it gets, so
// a test can prove a refused download never reached it.
type testServer struct {
	*httptest.Server
	hits atomic.Int64
}

func newServer(t *testing.T, h http.HandlerFunc) *testServer {
	t.Helper()
	s := &testServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// addr is the server's loopback address and port.
func (s *testServer) addr() netip.AddrPort {
	return netip.MustParseAddrPort(s.Listener.Addr().String())
}

// port is the server's port as text.
func (s *testServer) port() string {
	return fmt.Sprint(s.addr().Port())
}

func serveText(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, body)
	}
}

func requireCode(t *testing.T, err error, code string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, optio.ErrorCode(err), "error: %v", err)
}

func TestLoopbackRefusedUnlessAllowPrivate(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serveText("hello"))
	ctx := context.Background()

	_, err := New(Policy{}).Get(ctx, srv.URL+"/essay.pdf")
	requireCode(t, err, optio.EFORBIDDEN)
	require.Contains(t, err.Error(), "download refused: 127.0.0.1 is a loopback address")
	require.False(t, IsRetryable(err))
	require.Zero(t, srv.hits.Load())

	resp, err := New(Policy{AllowPrivate: true}).Get(ctx, srv.URL+"/essay.pdf")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, "hello", string(body))
	require.Equal(t, "text/plain", resp.ContentType)
	require.Equal(t, int64(5), resp.ContentLength)
}

func TestFilenameFromContentDisposition(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Disposition", `attachment; filename="fallback.pdf"; filename*=UTF-8''M%C3%A9moire.pdf`)
		_, _ = io.WriteString(w, "%PDF-1.4")
	})
	resp, err := New(Policy{AllowPrivate: true}).Get(context.Background(), srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "Mémoire.pdf", resp.Filename)
}

// A host on the allowlist whose DNS answer is a loopback address (DNS
// rebinding) is refused when connecting, not only when the URL is checked.
func TestAllowedHostResolvingToLoopbackRefusedAtConnect(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serveText("secret"))
	c := New(Policy{AllowedHosts: []string{"files.spark.test"}})
	c.lookup = map[string]netip.Addr{"files.spark.test": netip.MustParseAddr("127.0.0.1")}

	_, err := c.Get(context.Background(), "http://files.spark.test:"+srv.port()+"/essay.pdf")
	requireCode(t, err, optio.EFORBIDDEN)
	require.Contains(t, err.Error(), "127.0.0.1 is a loopback address")
	require.Zero(t, srv.hits.Load())
}

// An allowed, public file server that redirects somewhere internal: every
// hop is checked, by URL and again at connect time.
func TestRedirectToInternalRefused(t *testing.T) {
	t.Parallel()
	internal := newServer(t, serveText("metadata"))
	front := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})

	newClient := func(hosts ...string) *Client {
		c := New(Policy{AllowedHosts: hosts})
		c.lookup = map[string]netip.Addr{
			"files.spark.test":    netip.MustParseAddr("127.0.0.1"),
			"internal.spark.test": netip.MustParseAddr("127.0.0.1"),
		}
		c.public = map[netip.AddrPort]bool{front.addr(): true} // pretend only the front server is on the internet
		return c
	}
	start := "http://files.spark.test:" + front.port() + "/f?to="

	cases := []struct {
		name, to, says string
		hosts          []string
	}{
		{"allowlisted name resolving to loopback", "http://internal.spark.test:" + internal.port() + "/",
			"127.0.0.1 is a loopback address", []string{"files.spark.test", "internal.spark.test"}},
		{"loopback literal", "http://127.0.0.1:" + internal.port() + "/", "127.0.0.1 is a loopback address", nil},
		{"ipv6 loopback", "http://[::1]:" + internal.port() + "/", "::1 is a loopback address", nil},
		{"mapped loopback", "http://[::ffff:127.0.0.1]:" + internal.port() + "/", "is a loopback address", nil},
		{"cloud metadata", "http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address", nil},
		{"decimal loopback", "http://2130706433:" + internal.port() + "/", "non-canonical", nil},
		{"file scheme", "file:///etc/passwd", "file scheme is not allowed", nil},
		{"host not on the allowlist", "http://evil.example/", "evil.example is not an allowed download host", []string{"files.spark.test"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newClient(tc.hosts...).Get(context.Background(), start+url.QueryEscape(tc.to))
			requireCode(t, err, optio.EFORBIDDEN)
			require.Contains(t, err.Error(), tc.says)
			require.False(t, IsRetryable(err))
		})
	}
	require.Zero(t, internal.hits.Load(), "the internal server was never reached")
	require.Equal(t, int64(len(cases)), front.hits.Load())

	// The same client follows a redirect to an allowed public place.
	public := newServer(t, serveText("essay"))
	c := newClient()
	c.lookup["public.spark.test"] = netip.MustParseAddr("127.0.0.1")
	c.public[public.addr()] = true
	resp, err := c.Get(context.Background(), start+url.QueryEscape("http://public.spark.test:"+public.port()+"/essay.txt"))
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, "essay", string(body))
	resp.Body.Close()
}

func TestTooManyRedirects(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/again", http.StatusFound)
	})
	_, err := New(Policy{AllowPrivate: true, MaxRedirects: 2}).Get(context.Background(), srv.URL)
	requireCode(t, err, optio.EFORBIDDEN)
	require.Contains(t, err.Error(), "more than 2 redirects")
	require.Equal(t, int64(3), srv.hits.Load())
}

func TestSizeCap(t *testing.T) {
	t.Parallel()
	const limit = 1000
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		n := 0
		fmt.Sscan(r.URL.Query().Get("n"), &n)
		if r.URL.Query().Has("declare") {
			w.Header().Set("Content-Length", fmt.Sprint(n))
		}
		chunk := bytes.Repeat([]byte("x"), 100)
		for n > 0 { // chunked: the size is only found out mid-stream
			c := min(n, len(chunk))
			_, _ = w.Write(chunk[:c])
			w.(http.Flusher).Flush()
			n -= c
		}
	})
	c := New(Policy{AllowPrivate: true, MaxBytes: limit})
	ctx := context.Background()

	resp, err := c.Get(ctx, srv.URL+"?n=1000")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err, "exactly the limit is fine")
	require.Len(t, body, limit)
	resp.Body.Close()

	resp, err = c.Get(ctx, srv.URL+"?n=5000")
	require.NoError(t, err)
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	requireCode(t, err, optio.ETOOLARGE)
	require.Contains(t, err.Error(), "1000 bytes download limit")
	require.False(t, IsRetryable(err))
	require.Len(t, body, limit, "never more than the limit is handed out")

	_, err = c.Get(ctx, srv.URL+"?n=5000&declare")
	requireCode(t, err, optio.ETOOLARGE)
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	start := time.Now()
	_, err := New(Policy{AllowPrivate: true, Timeout: 200 * time.Millisecond}).Get(context.Background(), srv.URL)
	requireCode(t, err, optio.EUNAVAILABLE)
	require.Contains(t, err.Error(), "timed out")
	require.True(t, IsRetryable(err))
	require.Less(t, time.Since(start), 3*time.Second)
}

func TestSlowBodyTimesOut(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "start")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	resp, err := New(Policy{AllowPrivate: true, Timeout: 300 * time.Millisecond}).Get(context.Background(), srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	requireCode(t, err, optio.EUNAVAILABLE)
	require.True(t, IsRetryable(err))
}

func TestStatusErrors(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		code := 0
		fmt.Sscan(strings.TrimPrefix(r.URL.Path, "/"), &code)
		w.WriteHeader(code)
	})
	c := New(Policy{AllowPrivate: true})
	cases := []struct {
		status    int
		code      string
		retryable bool
	}{
		{404, optio.ENOTFOUND, false},
		{410, optio.ENOTFOUND, false},
		{403, optio.EFORBIDDEN, false},
		{400, optio.EUNAVAILABLE, false},
		{429, optio.ERATELIMIT, true},
		{500, optio.EUNAVAILABLE, true},
		{503, optio.EUNAVAILABLE, true},
	}
	for _, tc := range cases {
		_, err := c.Get(context.Background(), fmt.Sprintf("%s/%d?signature=SECRET", srv.URL, tc.status))
		requireCode(t, err, tc.code)
		var se *StatusError
		require.ErrorAs(t, err, &se)
		require.Equal(t, tc.status, se.StatusCode)
		require.Contains(t, err.Error(), fmt.Sprint(tc.status))
		require.NotContains(t, err.Error(), "SECRET", "the query may hold a signature")
		require.Equal(t, tc.retryable, IsRetryable(err), "status %d", tc.status)
	}
}

func TestConnectionRefusedIsRetryable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	_, err = New(Policy{AllowPrivate: true}).Get(context.Background(), "http://"+addr+"/")
	requireCode(t, err, optio.EUNAVAILABLE)
	require.True(t, IsRetryable(err))
}

func TestCallerCancelIsNotRetryable(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serveText("x"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := New(Policy{AllowPrivate: true}).Get(ctx, srv.URL)
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, IsRetryable(err))
}

func TestNoProxyFromEnvironment(t *testing.T) {
	t.Parallel()
	tr, ok := New(Policy{}).http.Transport.(*http.Transport)
	require.True(t, ok)
	require.Nil(t, tr.Proxy)
}

func TestIsRetryable(t *testing.T) {
	t.Parallel()
	require.False(t, IsRetryable(nil))
	require.True(t, IsRetryable(errors.New("connection reset by peer")))
	require.True(t, IsRetryable(context.DeadlineExceeded))
	require.False(t, IsRetryable(context.Canceled))
	require.False(t, IsRetryable(fmt.Errorf("x: %w", refuse("no"))))
	require.False(t, IsRetryable(tooLarge(1)))
}
