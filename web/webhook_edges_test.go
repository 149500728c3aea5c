package web_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
)

// spyBody is a request body that records whether the handler read it.
// It never yields data: a handler that waits for it would hang the test.
type spyBody struct {
	read    atomic.Bool
	started chan<- struct{}
	release <-chan struct{}
}

func (b *spyBody) Read(p []byte) (int, error) {
	if !b.read.Swap(true) && b.started != nil {
		b.started <- struct{}{}
	}
	if b.release != nil {
		<-b.release
	}
	return 0, http.ErrBodyReadAfterClose
}

func (b *spyBody) Close() error { return nil }

// serveDirect runs one webhook request through the server in process, with
// a body that only the test controls, declared as size bytes.
func (h *hookEnv) serveDirect(hdr http.Header, body *spyBody, size int64) answer {
	req := httptest.NewRequest(http.MethodPost, "/spark/webhook/submission", body)
	req.ContentLength = size
	for k, v := range hdr {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	a := answer{Status: rec.Code, Header: rec.Header()}
	if rec.Body.Len() > 0 {
		_ = json.Unmarshal(rec.Body.Bytes(), &a.Body)
	}
	return a
}

// forgedHeaders look like Spark's in every way that can be checked without
// the body: an id, a fresh timestamp, a v1 signature of the right length.
func forgedHeaders(ts time.Time) http.Header {
	sig := make([]byte, 32)
	_, _ = rand.Read(sig)
	h := http.Header{}
	h.Set(spark.HeaderWebhookID, "msg_forged_"+strconv.FormatInt(ts.UnixNano(), 36))
	h.Set(spark.HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(spark.HeaderWebhookSignature, "v1,"+base64.StdEncoding.EncodeToString(sig))
	return h
}

// Issue 17, item 4: an unsigned 24 MB POST used to be read whole before its
// headers were looked at. Missing, stale and malformed headers, and a
// declared size over the cap, are now refused without reading the body.
func TestWebhookHeadersCheckedBeforeTheBody(t *testing.T) {
	t.Parallel()
	eachWebhookStore(t, nil, func(t *testing.T, h *hookEnv) {
		now := time.Now()
		with := func(edit func(http.Header)) http.Header {
			hdr := forgedHeaders(now)
			edit(hdr)
			return hdr
		}
		cases := []struct {
			name string
			hdr  http.Header
			size int64
			code string
		}{
			{"no headers at all", http.Header{}, 24 << 20, spark.EWebhookMissingHeaders},
			{"no signature", with(func(x http.Header) { x.Del(spark.HeaderWebhookSignature) }), 24 << 20, spark.EWebhookMissingHeaders},
			{"no id", with(func(x http.Header) { x.Del(spark.HeaderWebhookID) }), 24 << 20, spark.EWebhookMissingHeaders},
			{"two ids", with(func(x http.Header) { x.Add(spark.HeaderWebhookID, "msg_2") }), 24 << 20, spark.EWebhookMissingHeaders},
			{"stale timestamp", forgedHeaders(now.Add(-6 * time.Minute)), 24 << 20, spark.EWebhookBadTimestamp},
			{"future timestamp", forgedHeaders(now.Add(6 * time.Minute)), 24 << 20, spark.EWebhookBadTimestamp},
			{"timestamp not unix seconds", with(func(x http.Header) { x.Set(spark.HeaderWebhookTimestamp, "2026-03-01") }), 24 << 20, spark.EWebhookBadTimestamp},
			{"signature not base64", with(func(x http.Header) { x.Set(spark.HeaderWebhookSignature, "v1,!!!not-base64!!!") }), 24 << 20, spark.EWebhookBadSignature},
			{"signature too short", with(func(x http.Header) { x.Set(spark.HeaderWebhookSignature, "v1,AAAA") }), 24 << 20, spark.EWebhookBadSignature},
			{"no v1 signature", with(func(x http.Header) {
				x.Set(spark.HeaderWebhookSignature, strings.Replace(x.Get(spark.HeaderWebhookSignature), "v1,", "v2,", 1))
			}), 24 << 20, spark.EWebhookBadSignature},
			{"signature without version", with(func(x http.Header) {
				x.Set(spark.HeaderWebhookSignature, strings.TrimPrefix(x.Get(spark.HeaderWebhookSignature), "v1,"))
			}), 24 << 20, spark.EWebhookBadSignature},
			{"declared size over the cap", forgedHeaders(now), 26 << 20, optio.ETOOLARGE},
		}
		for _, tc := range cases {
			body := &spyBody{}
			a := h.serveDirect(tc.hdr, body, tc.size)
			require.Equal(t, tc.code, a.errCode(), tc.name)
			if tc.code == optio.ETOOLARGE {
				require.Equal(t, http.StatusRequestEntityTooLarge, a.Status, tc.name)
			} else {
				require.Equal(t, http.StatusUnauthorized, a.Status, tc.name)
			}
			require.False(t, body.read.Load(), "%s: the body was read", tc.name)
		}
		require.Zero(t, h.count(`SELECT COUNT(*) FROM webhook_deliveries`))
		require.Zero(t, h.count(`SELECT COUNT(*) FROM users`))

		// Headers that pass are followed by the body and its signature.
		a := h.send("submission", submission("stu-1", "asg-1", "crs-1", "Essay"))
		require.Equal(t, http.StatusAccepted, a.Status)
	})
}

// Issue 17, item 4: the bodies read at once are bounded by
// SPARK_WEBHOOK_INFLIGHT_BYTES. With room for two 1 MB bodies, five
// forged deliveries arriving together: two are read, the others wait for
// memory without reading, then get 503 with Retry-After. Once the two are
// done, a genuine delivery goes through.
func TestWebhookBodyMemoryIsBounded(t *testing.T) {
	t.Parallel()
	eachWebhookStore(t, map[string]string{"SPARK_WEBHOOK_MAX_BYTES": "1048576", "SPARK_WEBHOOK_INFLIGHT_BYTES": "2097152"},
		func(t *testing.T, h *hookEnv) {
			const n = 5
			started := make(chan struct{}, n)
			release := make(chan struct{})
			type result struct {
				i int
				a answer
			}
			results := make(chan result, n)
			bodies := make([]*spyBody, n)
			var wg sync.WaitGroup
			for i := range n {
				bodies[i] = &spyBody{started: started, release: release}
				wg.Go(func() { results <- result{i, h.serveDirect(forgedHeaders(time.Now()), bodies[i], 1<<20)} })
			}
			defer wg.Wait()
			for range 2 {
				select {
				case <-started:
				case <-time.After(10 * time.Second):
					t.Fatal("no body was read")
				}
			}
			// The other three wait for memory, never reading, then give up.
			for range 3 {
				select {
				case r := <-results:
					require.False(t, bodies[r.i].read.Load(), "a third body was read while two held the memory")
					require.Equal(t, http.StatusServiceUnavailable, r.a.Status)
					require.Equal(t, optio.EUNAVAILABLE, r.a.errCode())
					require.NotEmpty(t, r.a.Header.Get("Retry-After"))
				case <-time.After(15 * time.Second):
					t.Fatal("the waiting deliveries never gave up")
				}
			}
			require.Empty(t, started, "no third body was read")
			close(release)
			for range 2 {
				r := <-results
				require.True(t, bodies[r.i].read.Load())
				require.Equal(t, http.StatusBadRequest, r.a.Status, "a body cut short is malformed")
			}
			require.Zero(t, h.count(`SELECT COUNT(*) FROM webhook_deliveries`))
			require.Equal(t, http.StatusAccepted, h.send("submission", submission("stu-1", "asg-1", "crs-1", "Essay")).Status,
				"the memory is given back")
		})
}

// Issue 17, item 5: a signed body naming spark_user_id twice in different
// letter case was accepted, and the second (another student) won.
func TestWebhookRefusesCaseVariantKeys(t *testing.T) {
	t.Parallel()
	eachWebhookStore(t, nil, func(t *testing.T, h *hookEnv) {
		attack := `{"spark_user_id":"stu-1","Spark_User_Id":"stu-victim","spark_assignment_id":"asg-1","spark_course_id":"crs-1",` +
			`"submission_text":"mine now","submitted_at":"2026-03-01T14:00:00Z"}`
		a := h.send("submission", attack)
		require.Equal(t, http.StatusBadRequest, a.Status)
		require.Equal(t, optio.EPAYLOAD, a.errCode())
		require.Contains(t, a.fields(), "Spark_User_Id")
		require.Zero(t, h.count(`SELECT COUNT(*) FROM webhook_deliveries`))
		require.Zero(t, h.count(`SELECT COUNT(*) FROM spark_assignment_submissions`))
		require.Zero(t, h.count(`SELECT COUNT(*) FROM users`))

		// Unknown keys that collide with no field stay accepted.
		ok := strings.Replace(attack, `"Spark_User_Id":"stu-victim"`, `"spark_section":"B","Spark_Section":"C"`, 1)
		require.Equal(t, http.StatusAccepted, h.send("submission", ok).Status)
		require.Equal(t, "stu-1", h.str(`SELECT spark_user_id FROM spark_assignment_submissions`))
	})
}
