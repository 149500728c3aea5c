package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/spark"
)

const cliSSOSecret = "cli-sso-secret-0123456789abcdef-0123"
const cliWebhookSecret = "cli-webhook-secret-0123456789abcdef"

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

// runCLI runs the CLI and returns stdout, stderr and the error.
func runCLI(t *testing.T, getenv func(string) string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb, getenv)
	return out.String(), errb.String(), err
}

func TestExamplePayloadsDecode(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "..", "docs", "spark", "examples")
	for kind, check := range webhookKinds {
		b, err := os.ReadFile(filepath.Join(dir, kind+".json"))
		require.NoError(t, err)
		require.NoError(t, check(b), kind)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "submission.json"))
	s, err := spark.DecodeSubmission(b)
	require.NoError(t, err)
	require.Len(t, s.Files, 3)
	require.True(t, s.Files[2].Inline())
}

func TestSignAndVerifyToken(t *testing.T) {
	t.Parallel()
	env := envOf(map[string]string{"SPARK_SSO_SECRET": cliSSOSecret + ",older-secret-0123456789abcdef-0123"})
	tok, _, err := runCLI(t, env, "spark", "sign-token", "--sub", "spark-par-lin", "--email", "lin.chen@spark.example",
		"--role", "parent", "--given-name", "Lin", "--family-name", "Chen", "--student", "spark-stu-maya", "--course", "spark-physics,spark-chemistry")
	require.NoError(t, err)
	tok = strings.TrimSpace(tok)
	require.Equal(t, 2, strings.Count(tok, "."))

	out, _, err := runCLI(t, env, "spark", "verify-token", tok)
	require.NoError(t, err, out)
	require.Contains(t, out, "✓ structure:")
	require.Contains(t, out, "✓ signature:")
	require.Contains(t, out, "✓ role:")
	require.NotContains(t, out, "✗")
	require.Contains(t, out, "token accepted")
	require.Less(t, strings.Index(out, "structure"), strings.Index(out, "signature"), "checks print in order")

	other := envOf(map[string]string{"SPARK_SSO_SECRET": "a-different-secret-0123456789abcdef"})
	out, _, err = runCLI(t, other, "spark", "verify-token", tok)
	require.EqualError(t, err, "token refused")
	require.Contains(t, out, "✓ algorithm:")
	require.Contains(t, out, "✗ signature:")
	require.Contains(t, out, "✗ expiry: not run: an earlier check failed")

	_, _, err = runCLI(t, env, "spark", "sign-token", "--sub", "x", "--role", "observer")
	require.ErrorContains(t, err, "--role must be student, parent or admin")
	_, _, err = runCLI(t, envOf(nil), "spark", "sign-token", "--sub", "x")
	require.ErrorContains(t, err, "SPARK_SSO_SECRET is not set")
}

// fakeWebhookReceiver verifies webhooks like Optio and answers 202, or
// 200 {"status":"duplicate"} for a webhook-id it has seen.
func fakeWebhookReceiver(t *testing.T) *httptest.Server {
	var mu sync.Mutex
	seen := map[string]bool{}
	v := &spark.WebhookVerifier{Secrets: []string{cliWebhookSecret}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id, _, err := v.Verify(r.Header, body)
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":{"code":"webhook_bad_signature","message":"No v1 signature matches."}}`)
			return
		}
		if err := webhookKinds[strings.TrimPrefix(r.URL.Path, "/spark/webhook/")](body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":{"code":"invalid_payload","message":"The payload is invalid."}}`)
			return
		}
		mu.Lock()
		dup := seen[id]
		seen[id] = true
		mu.Unlock()
		if dup {
			_, _ = io.WriteString(w, `{"status":"duplicate"}`)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"accepted"}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSendWebhook(t *testing.T) {
	t.Parallel()
	srv := fakeWebhookReceiver(t)
	env := envOf(map[string]string{"SPARK_WEBHOOK_SECRET": cliWebhookSecret})
	for _, kind := range []string{"submission", "roster", "course"} {
		file := filepath.Join("..", "..", "docs", "spark", "examples", kind+".json")
		out, _, err := runCLI(t, env, "spark", "send-webhook", kind, "--file", file, "--url", srv.URL, "--id", "msg_cli_"+kind)
		require.NoError(t, err, out)
		require.Contains(t, out, "POST "+srv.URL+"/spark/webhook/"+kind)
		require.Contains(t, out, "webhook-id: msg_cli_"+kind)
		require.Contains(t, out, "202 Accepted")
		require.Contains(t, out, `{"status":"accepted"}`)
	}
	out, _, err := runCLI(t, env, "spark", "send-webhook", "roster", "--file", "../../docs/spark/examples/roster.json", "--url", srv.URL, "--id", "msg_cli_roster")
	require.NoError(t, err)
	require.Contains(t, out, `{"status":"duplicate"}`, "a re-sent webhook-id is a duplicate")

	// A bad payload is sent anyway, with a warning, and Optio's refusal fails the command.
	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"spark_user_id":"spark-stu-leo","action":"graduate"}`), 0o600))
	out, stderr, err := runCLI(t, env, "spark", "send-webhook", "roster", "--file", bad, "--url", srv.URL)
	require.EqualError(t, err, "optio answered 400 Bad Request")
	require.Contains(t, stderr, "warning: Optio will likely refuse this payload")
	require.Contains(t, out, "invalid_payload")

	wrong := envOf(map[string]string{"SPARK_WEBHOOK_SECRET": "not-the-secret-0123456789abcdef-0123"})
	_, _, err = runCLI(t, wrong, "spark", "send-webhook", "course", "--file", "../../docs/spark/examples/course.json", "--url", srv.URL)
	require.EqualError(t, err, "optio answered 401 Unauthorized")

	_, _, err = runCLI(t, env, "spark", "send-webhook", "grade", "--file", bad, "--url", srv.URL)
	require.ErrorContains(t, err, `unknown webhook "grade"`)
}
