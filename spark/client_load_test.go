package spark_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
)

// TestClientHonoursRetryAfter: a 429 or 503 is retried after Spark's
// Retry-After (seconds or an HTTP date), not after a fixed second; a
// Retry-After longer than MaxRetryWait is not waited out.
func TestClientHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	var calls atomic.Int32
	answers := []func(w http.ResponseWriter){
		func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "7")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		},
		func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", now.Add(42*time.Second).Format(http.TimeFormat))
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
		},
		func(w http.ResponseWriter) { http.Error(w, "busy", http.StatusServiceUnavailable) },
		func(w http.ResponseWriter) { writeJSON(w, `{"courses":[{"id":"c1"}]}`) },
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answers[min(int(calls.Add(1))-1, len(answers)-1)](w)
	}))
	t.Cleanup(srv.Close)
	var waits []time.Duration
	c := &spark.Client{BaseURL: srv.URL, HTTP: srv.Client(), Clock: optio.NewFakeClock(now),
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	page, err := c.ListCourses(t.Context(), "")
	require.NoError(t, err)
	require.Len(t, page.Courses, 1)
	require.Equal(t, []time.Duration{7 * time.Second, 42 * time.Second, 4 * time.Second}, waits,
		"Retry-After in seconds, as an HTTP date, and without one 1s·2^n")

	// A Retry-After beyond MaxRetryWait ends the call with Spark's answer.
	long := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		http.Error(w, "come back in an hour", http.StatusTooManyRequests)
	}))
	t.Cleanup(long.Close)
	waits = nil
	c2 := &spark.Client{BaseURL: long.URL, HTTP: long.Client(), MaxRetryWait: time.Minute,
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	_, err = c2.ListCourses(t.Context(), "")
	var ae *spark.APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, time.Hour, ae.RetryAfter)
	require.Empty(t, waits)
}

// TestClientCapsConcurrency: however many goroutines call, at most
// MaxConcurrent requests are at Spark at once.
func TestClientCapsConcurrency(t *testing.T) {
	t.Parallel()
	var inFlight, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		inFlight.Add(-1)
		writeJSON(w, `{"courses":[]}`)
	}))
	t.Cleanup(srv.Close)
	c := &spark.Client{BaseURL: srv.URL, HTTP: srv.Client(), MaxConcurrent: 2}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.ListCourses(t.Context(), "")
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	require.Equal(t, int32(2), peak.Load())
}

// TestClientRefusesHugeAnswers: an answer over MaxResponseBytes is an
// ETOOLARGE error naming the variable, refused on its Content-Length before
// it is read, or after MaxResponseBytes+1 bytes when it is chunked.
func TestClientRefusesHugeAnswers(t *testing.T) {
	t.Parallel()
	var sent atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := `{"courses":[{"id":"c1","title":"` + strings.Repeat("x", 1<<20) + `"}]}`
		if r.URL.Query().Get("cursor") == "chunked" {
			w.(http.Flusher).Flush() // no Content-Length
		}
		n, _ := w.Write([]byte(body))
		sent.Add(int64(n))
	}))
	t.Cleanup(srv.Close)
	c := &spark.Client{BaseURL: srv.URL, HTTP: srv.Client(), MaxResponseBytes: 64 << 10}
	for _, cursor := range []string{"", "chunked"} {
		_, err := c.ListCourses(t.Context(), cursor)
		require.Error(t, err)
		require.Equal(t, optio.ETOOLARGE, optio.ErrorCode(err))
		require.Contains(t, err.Error(), "SPARK_API_MAX_RESPONSE_BYTES")
	}
}

// TestClientAssignmentsPaging: a course's assignments may be paged like
// courses; an answer without next_cursor is the last page.
func TestClientAssignmentsPaging(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("cursor") {
		case "":
			writeJSON(w, `{"assignments":[{"id":"a1","title":"One"}],"next_cursor":"p2"}`)
		case "p2":
			writeJSON(w, `{"assignments":[{"id":"a2","title":"Two","max_points":5}]}`)
		}
	}))
	t.Cleanup(srv.Close)
	c := &spark.Client{BaseURL: srv.URL, HTTP: srv.Client()}
	as, err := c.ListAssignments(t.Context(), "c1")
	require.NoError(t, err)
	require.Len(t, as, 2)
	require.Equal(t, "a2", as[1].ID)
	require.Equal(t, 5.0, *as[1].MaxPoints)
}
