package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe to write from the command and read from the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestSandboxCommand(t *testing.T) {
	t.Parallel()
	receiver := fakeWebhookReceiver(t)
	env := envOf(map[string]string{"SPARK_WEBHOOK_SECRET": cliWebhookSecret, "SPARK_SSO_SECRET": cliSSOSecret})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"sandbox", "--addr", "127.0.0.1:0", "--optio-url", receiver.URL, "--send-courses"}, &out, io.Discard, env)
	}()
	urlRE := regexp.MustCompile(`Spark sandbox running at (http://\S+)`)
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "course webhooks queued") }, 10*time.Second, 10*time.Millisecond)
	text := out.String()
	require.Regexp(t, `SPARK_API_KEY was not set; generated SPARK_API_KEY=spk_[0-9a-f]{48}`, text)
	require.NotContains(t, text, "SPARK_SSO_SECRET was not set")
	require.Contains(t, text, "course webhooks queued for every course")

	base := urlRE.FindStringSubmatch(text)[1]
	require.Contains(t, text, "LTI 1.3 platform: "+base+"/lti (OpenID configuration "+base+"/lti/.well-known/openid-configuration)")
	res, err := http.Get(base + "/users/spark-stu-maya")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, string(body), "Maya Chen")

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("optio sandbox did not stop")
	}
}
