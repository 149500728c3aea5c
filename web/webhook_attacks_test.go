package web_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestWebhookReplayAndSmuggling: replays, mismatched signatures, duplicate
// headers, Transfer-Encoding tricks, trailing bytes and duplicate JSON keys.
// Each gets a clear error (or, for a replay, the recorded "duplicate"
// answer) and no rows beyond the one genuine delivery.
func TestWebhookReplayAndSmuggling(t *testing.T) {
	t.Parallel()
	eachWebhookStore(t, nil, func(t *testing.T, h *hookEnv) {
		genuine := encode(submission("stu-1", "asg-1", "crs-1", "original"))
		require.Equal(t, http.StatusAccepted, h.sendAs("submission", "msg_genuine", time.Now(), h.signer, genuine).Status)
		rows := func() string {
			return fmt.Sprint(h.count(`SELECT COUNT(*) FROM webhook_deliveries`), h.count(`SELECT COUNT(*) FROM spark_assignment_submissions`),
				h.count(`SELECT COUNT(*) FROM spark_evidence_sync_queue`), h.count(`SELECT COUNT(*) FROM test_jobs`))
		}
		before := rows()

		// A replay of the id, freshly signed (and even with another body), changes nothing.
		a := h.sendAs("submission", "msg_genuine", time.Now().Add(time.Minute), h.signer, submission("stu-1", "asg-1", "crs-1", "replayed"))
		require.Equal(t, http.StatusOK, a.Status)
		require.Equal(t, "duplicate", a.Body["status"])
		require.Equal(t, "original", h.str(`SELECT submission_text FROM spark_assignment_submissions`))

		other := encode(submission("stu-2", "asg-1", "crs-1", "smuggled"))
		hdr, err := h.signer.Header("msg_other", time.Now(), genuine)
		require.NoError(t, err)
		refused := func(name string, a answer, status int) {
			t.Helper()
			require.Equal(t, status, a.Status, name)
			require.NotEmpty(t, a.errCode(), name)
			require.Equal(t, before, rows(), "%s left rows behind", name)
		}
		refused("signature for a different body", h.post("submission", hdr, bytes.NewReader(other)), http.StatusUnauthorized)

		good, err := h.signer.Header("msg_dup_headers", time.Now(), other)
		require.NoError(t, err)
		dupID := good.Clone()
		dupID.Add("Webhook-Id", "msg_second")
		refused("two webhook-id headers", h.post("submission", dupID, bytes.NewReader(other)), http.StatusUnauthorized)
		dupTS := good.Clone()
		dupTS.Add("Webhook-Timestamp", "1")
		refused("two webhook-timestamp headers", h.post("submission", dupTS, bytes.NewReader(other)), http.StatusUnauthorized)
		badSigs := good.Clone()
		badSigs.Set("Webhook-Signature", "v1,AAAA v1,BBBB v2,"+strings.TrimPrefix(good.Get("Webhook-Signature"), "v1,"))
		refused("only wrong or unknown-version signatures", h.post("submission", badSigs, bytes.NewReader(other)), http.StatusUnauthorized)

		for name, body := range map[string]string{
			"trailing JSON after the body": string(other) + `{"spark_user_id":"stu-3"}`,
			"trailing garbage":             string(other) + "\x00\x00GET / HTTP/1.1\r\n",
			"duplicate JSON keys":          strings.Replace(string(other), `{`, `{"spark_user_id":"stu-evil",`, 1),
		} {
			a := h.sendAs("submission", h.newID(), time.Now(), h.signer, []byte(body))
			refused(name, a, http.StatusBadRequest)
		}

		// Transfer-Encoding tricks, on a raw connection: a chunked body
		// that smuggles a second request, and TE with Content-Length.
		u, _ := url.Parse(h.url)
		raw := func(req string) int {
			c, err := net.Dial("tcp", u.Host)
			require.NoError(t, err)
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			_, err = c.Write([]byte(req))
			require.NoError(t, err)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			require.NoError(t, err)
			resp.Body.Close()
			return resp.StatusCode
		}
		sh, err := h.signer.Header("msg_smuggle", time.Now(), other)
		require.NoError(t, err)
		signed := fmt.Sprintf("webhook-id: %s\r\nwebhook-timestamp: %s\r\nwebhook-signature: %s\r\n", sh.Get("Webhook-Id"), sh.Get("Webhook-Timestamp"), sh.Get("Webhook-Signature"))
		// The tail is read as a request of its own (Go lets Transfer-Encoding
		// win, as RFC 9112 says), so it must stand on its own signature.
		forged := strings.Replace(signed, sh.Get("Webhook-Signature"), "v1,"+strings.Repeat("A", 43)+"=", 1)
		smuggled := "POST /spark/webhook/submission HTTP/1.1\r\nHost: x\r\n" + forged + fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(other), other)
		status := raw("POST /spark/webhook/submission HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n" + signed +
			"\r\n0\r\n\r\n" + smuggled)
		require.True(t, status >= 400 && status < 500, "TE+CL: %d", status)
		status = raw("POST /spark/webhook/submission HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n" + signed + "\r\n0\r\n\r\n")
		require.True(t, status >= 400 && status < 502, "TE gzip: %d", status)
		status = raw("POST /spark/webhook/submission HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n" + signed + "\r\n{}")
		require.Equal(t, http.StatusBadRequest, status, "two Content-Lengths")
		require.Equal(t, before, rows(), "nothing smuggled in")
	})
}
