package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The fault tests run the real optio binary as a separate process so they
// can kill it with SIGKILL. It is built once per test run.
var built struct {
	once      sync.Once
	dir, path string
	err       error
	out       []byte
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// optioBinary builds ./cmd/optio (without the race detector: the process
// under test is the product, not the test) and returns its path.
func optioBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "optio-bin-"); built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "optio")
		cmd := exec.Command("go", "build", "-o", built.path, ".")
		built.out, built.err = cmd.CombinedOutput()
	})
	require.NoError(t, built.err, "go build: %s", built.out)
	return built.path
}

// lockedBuffer collects a process's output for the test log.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is one running optio process.
type process struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
}

// startProcess runs the optio binary with args and only env (plus PATH and
// HOME); it is killed at the end of the test, and its output is logged when
// the test fails.
func startProcess(t *testing.T, name string, env map[string]string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(optioBinary(t), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &process{t: t, name: name, cmd: cmd, out: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	require.NoError(t, cmd.Start())
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("--- output of %s:\n%s", name, p.out.String())
		}
	})
	return p
}

// kill sends SIGKILL — no shutdown, no deferred work — and waits for the
// process to be gone.
func (p *process) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// waitReady waits until base/readyz answers 200.
func waitReady(t *testing.T, p *process, base string) {
	t.Helper()
	hc := &http.Client{Timeout: 2 * time.Second}
	require.Eventually(t, func() bool {
		if p.exited() {
			return true
		}
		resp, err := hc.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 60*time.Second, 50*time.Millisecond, "%s never became ready", p.name)
	require.False(t, p.exited(), "%s exited before it was ready:\n%s", p.name, p.out.String())
}

// serveURL waits for a serve process started on 127.0.0.1:0 to print the
// address it listens on and be ready, and returns its base URL.
func serveURL(t *testing.T, p *process) string {
	t.Helper()
	line := waitOutput(t, p, "Listening on ")
	base := strings.Fields(line)[0]
	waitReady(t, p, base)
	return base
}

// waitOutput waits until p has printed want and returns what follows it.
func waitOutput(t *testing.T, p *process, want string) string {
	t.Helper()
	require.Eventually(t, func() bool {
		return p.exited() || strings.Contains(p.out.String(), want)
	}, 60*time.Second, 20*time.Millisecond, "%s never printed %q", p.name, want)
	out := p.out.String()
	i := strings.Index(out, want)
	require.True(t, i >= 0, "%s exited before printing %q:\n%s", p.name, want, out)
	return out[i+len(want):]
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// envInt reads a positive count from the environment, or def.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// withTimeout is a context for a bounded wait in a test.
func withTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
