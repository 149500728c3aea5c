package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/spark"
)

// TestPostgresRestartDuringLoad: PostgreSQL stops while Spark is delivering
// submissions. Optio answers fast with 503 unavailable and Retry-After
// (readiness too),
// comes back by itself when PostgreSQL does — no restart of Optio — and
// every submission Spark saw accepted is synced exactly once.
func TestPostgresRestartDuringLoad(t *testing.T) {
	t.Parallel()
	pg := startPrivatePG(t)
	n := envInt("OPTIO_FAULT_SUBMISSIONS", 500) / 2 // 250 unless set
	env := map[string]string{
		"OPTIO_ADDR": "127.0.0.1:0", "OPTIO_METRICS_ADDR": "off", "OPTIO_BASE_URL": "http://optio.test", "OPTIO_DATA_DIR": t.TempDir(), "OPTIO_DATABASE_URL": pg.URL,
		"SPARK_SSO_SECRET": randomSecret(), "SPARK_WEBHOOK_SECRET": randomSecret(), "SPARK_API_KEY": "fault-key",
		"SPARK_WEBHOOK_RATE": "100000", "SPARK_WEBHOOK_BURST": "100000", "OPTIO_LOG_LEVEL": "error",
	}
	optio := startProcess(t, "optio serve", env, "serve")
	base := serveURL(t, optio)
	sb, pairs := faultSpark(t, base, env, n)
	submit := func(from, to int) {
		for i := from; i < to; i++ {
			p := pairs[i%len(pairs)]
			_, err := sb.Submit(context.Background(), p[0], p[1], fmt.Sprintf("Attempt %d at %s", i, p[1]), nil)
			require.NoError(t, err)
		}
	}
	submit(0, n/2)
	require.Eventually(t, func() bool { return delivered(sb, "submission") >= n/6 }, 60*time.Second, 5*time.Millisecond)
	pg.Stop()

	// While PostgreSQL is down every database-backed answer is a quick 503
	// with code "unavailable"; the client's timeout is far below Spark's.
	hc := &http.Client{Timeout: 10 * time.Second}
	type apiErr struct {
		Error struct{ Code, Message string }
	}
	expect503 := func(req *http.Request) {
		t.Helper()
		req.Header.Set("Accept", "application/json")
		resp, err := hc.Do(req)
		require.NoError(t, err, "%s %s must answer, not hang", req.Method, req.URL.Path)
		defer resp.Body.Close()
		var e apiErr
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s %s: %+v", req.Method, req.URL.Path, e)
		require.Equal(t, "unavailable", e.Error.Code)
		require.Equal(t, "5", resp.Header.Get("Retry-After"), "%s %s: a 503 says when to retry", req.Method, req.URL.Path)
		require.NotEmpty(t, e.Error.Message)
	}
	ready, _ := http.NewRequest("GET", base+"/readyz", nil)
	expect503(ready)
	body := []byte(`{"spark_user_id":"spark-stu-maya","spark_assignment_id":"motion-lab","spark_course_id":"spark-physics","submission_text":"during the outage","submitted_at":"` + time.Now().UTC().Format(time.RFC3339) + `"}`)
	h, err := spark.WebhookSigner{Secret: env["SPARK_WEBHOOK_SECRET"]}.Header("msg_outage", time.Now(), body)
	require.NoError(t, err)
	hook, _ := http.NewRequest("POST", base+"/spark/webhook/submission", bytes.NewReader(body))
	hook.Header = h
	hook.Header.Set("Content-Type", "application/json")
	expect503(hook)
	login, _ := http.NewRequest("POST", base+"/api/auth/login", bytes.NewReader([]byte(`{"email":"a@b.test","password":"whatever long"}`)))
	login.Header.Set("Content-Type", "application/json")
	expect503(login)
	submit(n/2, n) // Spark keeps sending; its retries wait for the database.

	pg.Start()
	waitReady(t, optio, base)
	require.NoError(t, sb.WaitIdle(withTimeout(t, 90*time.Second)))
	requireSyncedOnce(t, sb, pg.URL, n, min(n, len(pairs)))
	require.False(t, optio.exited(), "Optio must ride out a database restart")
}
