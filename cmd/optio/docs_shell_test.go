package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/store"
)

// The addresses the documents use; a session maps each to a free port.
const (
	docOptioAddr   = "127.0.0.1:8080"
	docSandboxAddr = "127.0.0.1:8090"
)

// shellSession runs a document's sh blocks in order, as a reader would in
// one terminal: `optio …` through the CLI's run function (the long-running
// serve, sandbox and demo in the background), everything else through bash
// in a scratch directory, with the variables the blocks export.
type shellSession struct {
	t     *testing.T
	env   map[string]string // exported and assigned variables; optio's whole environment
	addrs map[string]string // documented address → real one
	work  string
	docs  string
	bg    []*bgCommand
	// outputs holds each block's output, by the block's line.
	outputs map[int]string
}

// bgCommand is a long-running optio command started by a block.
type bgCommand struct {
	holds  []string // documented addresses it listens on
	cancel context.CancelFunc
	done   chan error
	out    *syncBuffer
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

func newShellSession(t *testing.T) *shellSession {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	docs, err := filepath.Abs(filepath.Join("..", "..", "docs"))
	require.NoError(t, err)
	s := &shellSession{t: t, work: t.TempDir(), docs: docs, outputs: map[int]string{},
		addrs: map[string]string{docOptioAddr: freePort(t), docSandboxAddr: freePort(t)}}
	base := testEnv(t, store.SQLite, nil)
	s.env = map[string]string{}
	for _, k := range []string{"OPTIO_DATA_DIR", "OPTIO_DATABASE_URL", "OPTIO_METRICS_ADDR"} {
		s.env[k] = base(k)
	}
	s.env["OPTIO_ADDR"] = s.addrs[docOptioAddr]
	s.env["OPTIO_BASE_URL"] = "http://" + s.addrs[docOptioAddr]
	s.env["OPTIO_LOG_LEVEL"] = "error"
	t.Cleanup(func() {
		for _, b := range s.bg {
			s.stop(b)
		}
	})
	return s
}

func (s *shellSession) getenv(k string) string { return s.env[k] }

// environ is bash's environment: the machine's (PATH, HOME) and the session's.
func (s *shellSession) environ() []string {
	env := os.Environ()
	for k, v := range s.env {
		env = append(env, k+"="+v)
	}
	return env
}

var docsPath = regexp.MustCompile(`(^|[\s@="'])docs/`)

// rewrite points a documented command at this session's servers and files.
func (s *shellSession) rewrite(line string) string {
	for doc, real := range s.addrs {
		line = strings.ReplaceAll(line, doc, real)
	}
	return docsPath.ReplaceAllString(line, "${1}"+s.docs+"/")
}

// bash runs a script; it returns stdout and fails the test on a non-zero exit.
func (s *shellSession) bash(where, script string) string {
	s.t.Helper()
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir, cmd.Env = s.work, s.environ()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	require.NoError(s.t, err, "%s: %s\nstdout: %s\nstderr: %s", where, script, out.String(), errb.String())
	return out.String()
}

// words splits a command line the way bash would, expanding variables.
func (s *shellSession) words(where, line string) []string {
	out := s.bash(where, `printf '%s\0' `+line)
	return strings.Split(strings.TrimSuffix(out, "\x00"), "\x00")
}

var (
	optioPrefix = regexp.MustCompile(`^(optio|go run \./cmd/optio)\s+`)
	captureCLI  = regexp.MustCompile(`^(\w+)=\$\((?:optio|go run \./cmd/optio)\s+(.*)\)$`)
	assignment  = regexp.MustCompile(`^(?:export\s+)?\w+=`)
	assignedVar = regexp.MustCompile(`(?:^|\s)(\w+)=`)
)

// line runs one command and returns what it printed.
func (s *shellSession) line(where, line string) string {
	s.t.Helper()
	line = s.rewrite(line)
	switch {
	case captureCLI.MatchString(line):
		m := captureCLI.FindStringSubmatch(line)
		s.env[m[1]] = strings.TrimSpace(s.cli(where, s.words(where, m[2])))
		return ""
	case optioPrefix.MatchString(line):
		return s.cli(where, s.words(where, optioPrefix.ReplaceAllString(line, "")))
	case assignment.MatchString(line):
		var names []string
		for _, m := range assignedVar.FindAllStringSubmatch(line, -1) {
			names = append(names, m[1])
		}
		script := "set -a\n" + line + "\n"
		for _, n := range names {
			script += fmt.Sprintf(`printf '%%s\0' "$%s"`+"\n", n)
		}
		vals := strings.Split(strings.TrimSuffix(s.bash(where, script), "\x00"), "\x00")
		require.Len(s.t, vals, len(names), where)
		for i, n := range names {
			s.env[n] = s.rewrite(vals[i])
		}
		return ""
	default:
		return s.bash(where, line)
	}
}

// cli runs optio with args; serve, sandbox and demo keep running in the
// background until the session ends or another command needs their port.
func (s *shellSession) cli(where string, args []string) string {
	s.t.Helper()
	var holds []string
	switch args[0] {
	case "serve":
		holds = []string{docOptioAddr}
	case "sandbox":
		holds = []string{docSandboxAddr}
		if !slicesContainsPrefix(args, "--addr") {
			args = append(args, "--addr", s.addrs[docSandboxAddr])
		}
	case "demo":
		holds = []string{docOptioAddr, docSandboxAddr}
		if !slicesContainsPrefix(args, "--addr") {
			args = append(args, "--addr", s.addrs[docOptioAddr], "--sandbox-addr", s.addrs[docSandboxAddr])
		}
	default:
		var out bytes.Buffer
		err := run(context.Background(), args, &out, &out, s.getenv)
		require.NoError(s.t, err, "%s: optio %s\n%s", where, strings.Join(args, " "), out.String())
		return out.String()
	}
	for _, b := range s.bg {
		for _, h := range holds {
			if strings.Contains(strings.Join(b.holds, " "), h) {
				s.stop(b)
			}
		}
	}
	env := make(map[string]string, len(s.env))
	for k, v := range s.env {
		env[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &bgCommand{holds: holds, cancel: cancel, done: make(chan error, 1), out: &syncBuffer{}}
	go func() { b.done <- run(ctx, args, b.out, b.out, func(k string) string { return env[k] }) }()
	s.bg = append(s.bg, b)
	deadline := time.After(60 * time.Second)
	for !strings.Contains(b.out.String(), "running") {
		select {
		case err := <-b.done:
			b.done <- err
			s.t.Fatalf("%s: optio %s stopped: %v\n%s", where, strings.Join(args, " "), err, b.out.String())
		case <-deadline:
			s.t.Fatalf("%s: optio %s did not start\n%s", where, strings.Join(args, " "), b.out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return b.out.String()
}

func slicesContainsPrefix(args []string, prefix string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, prefix) {
			return true
		}
	}
	return false
}

// stop ends a background command and waits for it to shut down.
func (s *shellSession) stop(b *bgCommand) {
	if b.cancel == nil {
		return
	}
	b.cancel()
	b.cancel = nil
	select {
	case err := <-b.done:
		if err != nil && !errors.Is(err, context.Canceled) {
			s.t.Errorf("a background optio command failed: %v\n%s", err, b.out.String())
		}
	case <-time.After(30 * time.Second):
		s.t.Errorf("a background optio command did not stop\n%s", b.out.String())
	}
}

// commands splits a block into commands: comments dropped, lines ending in
// a backslash joined.
func commands(body string) []string {
	var out []string
	var cur strings.Builder
	for _, l := range strings.Split(body, "\n") {
		if t := strings.TrimSpace(l); cur.Len() == 0 && (t == "" || strings.HasPrefix(t, "#")) {
			continue
		}
		if strings.HasSuffix(l, "\\") {
			cur.WriteString(strings.TrimSuffix(l, "\\") + " ")
			continue
		}
		cur.WriteString(l)
		out = append(out, strings.TrimSpace(cur.String()))
		cur.Reset()
	}
	return out
}

// block runs one sh block and checks its expect marker; the last command is
// repeated for a while when the expected text is the result of background
// work (a sync).
func (s *shellSession) block(b docBlock) {
	s.t.Helper()
	cmds := commands(b.Body)
	require.NotEmpty(s.t, cmds, b.where())
	var out strings.Builder
	for _, c := range cmds[:len(cmds)-1] {
		out.WriteString(s.line(b.where(), c))
	}
	head := out.String()
	last := s.line(b.where(), cmds[len(cmds)-1])
	want, ok := b.marker("expect")
	if ok {
		want = s.rewrite(want)
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(head+last, want) && time.Now().Before(deadline) && !optioPrefix.MatchString(cmds[len(cmds)-1]) {
			time.Sleep(200 * time.Millisecond)
			last = s.line(b.where(), cmds[len(cmds)-1])
		}
		require.Contains(s.t, head+last, want, "%s: the output lacks the expected text", b.where())
	}
	s.outputs[b.Line] = head + last
}

// runDoc runs every sh block of a document in order.
func (s *shellSession) runDoc(name string) {
	s.t.Helper()
	n := 0
	for _, b := range parseDoc(s.t, filepath.Join(sparkDocsDir, name)) {
		if b.Lang != "sh" {
			continue
		}
		if _, skip := b.marker("norun"); skip {
			continue
		}
		s.block(b)
		n++
	}
	require.NotZero(s.t, n, "%s has no commands", name)
}

// TestDocsShellExamples runs the commands of the reference documents, each
// document in its own session.
func TestDocsShellExamples(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"INTEGRATION.md", "API_SPECIFICATION.md", "SANDBOX_SETUP.md"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			newShellSession(t).runDoc(name)
		})
	}
}

// TestOnboardingAsANewSparkDeveloper follows ONBOARDING.md command by
// command, as a Spark developer would on their first day, and ends with
// the student's submission on their dashboard.
func TestOnboardingAsANewSparkDeveloper(t *testing.T) {
	t.Parallel()
	s := newShellSession(t)
	s.runDoc("ONBOARDING.md")

	var dashboard string
	for _, b := range parseDoc(t, filepath.Join(sparkDocsDir, "ONBOARDING.md")) {
		if strings.Contains(b.Body, "/api/dashboard") {
			dashboard = s.outputs[b.Line]
		}
	}
	var d struct {
		XP          struct{ Total int }
		Completions []struct {
			Task     struct{ Title string }
			Evidence struct {
				Blocks []struct {
					BlockType string `json:"block_type"`
				}
			}
		} `json:"recent_completions"`
	}
	require.NoError(t, json.Unmarshal([]byte(dashboard), &d), dashboard)
	require.Len(t, d.Completions, 1)
	require.Equal(t, "Rock layers cross-section", d.Completions[0].Task.Title)
	require.Len(t, d.Completions[0].Evidence.Blocks, 2, "the text and the file")
	require.Positive(t, d.XP.Total)
}
