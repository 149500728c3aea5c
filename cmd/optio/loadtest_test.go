//go:build loadtest

package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/loadtest"
	"github.com/optio-edu/optio/store"
)

// briefLoad is every scenario at a low rate for a second: enough to prove
// the command works end to end, not to measure anything.
var briefLoad = []string{"--duration", "1s", "--rate", "20", "--webhook-rate", "20", "--sync-rate", "5",
	"--workers", "4", "--portfolio-items", "60", "--file-size", "65536"}

// TestLoadtestSelf starts Optio in the command (--self, SQLite) and runs
// every scenario briefly.
func TestLoadtestSelf(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	stdout, _, err := runCLI(t, envOf(nil), append([]string{"loadtest", "--self", "--out", out}, briefLoad...)...)
	require.NoError(t, err, stdout)
	requireReport(t, out, stdout)
}

// TestLoadtestURL drives an Optio already running on PostgreSQL (--url),
// reading its database for sync latency.
func TestLoadtestURL(t *testing.T) {
	t.Parallel()
	env := testEnv(t, store.Postgres, map[string]string{"SPARK_SSO_SECRET": cliSSOSecret, "SPARK_WEBHOOK_SECRET": cliWebhookSecret,
		"SPARK_WEBHOOK_RATE": "10000", "SPARK_FILE_ALLOW_PRIVATE": "true", "OPTIO_WORKERS": "4"})
	a := startApp(t, env)
	out := t.TempDir()
	stdout, _, err := runCLI(t, env, append([]string{"loadtest", "--url", a.URL(), "--database-url", env("OPTIO_DATABASE_URL"), "--out", out}, briefLoad...)...)
	require.NoError(t, err, stdout)
	requireReport(t, out, stdout)
}

// requireReport checks report.json lists every scenario with all requests
// answered as expected, every sync completed, and that each chart is SVG.
func requireReport(t *testing.T, out, stdout string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	require.NoError(t, err)
	var rep loadtest.Report
	require.NoError(t, json.Unmarshal(b, &rep))
	require.Len(t, rep.Scenarios, len(loadtest.Scenarios))
	for i, s := range rep.Scenarios {
		require.Equal(t, loadtest.Scenarios[i], s.Name)
		require.Empty(t, s.Skipped, s.Name)
		require.NotZero(t, s.Requests, s.Name)
		require.Equal(t, 1.0, s.Success, "%s: %v %v", s.Name, s.StatusCodes, s.Errors)
		require.Empty(t, s.Errors, s.Name)
		require.Contains(t, stdout, s.Name)
		svg, err := os.ReadFile(filepath.Join(out, s.Chart))
		require.NoError(t, err, s.Name)
		requireSVG(t, svg)
	}
	sync := rep.Scenarios[len(rep.Scenarios)-1].Sync
	require.NotNil(t, sync)
	require.NotZero(t, sync.Submissions)
	require.Equal(t, sync.Submissions, sync.Completed)
}

// requireSVG checks b is well-formed XML whose root is an <svg> element.
func requireSVG(t *testing.T, b []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var root string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	require.Equal(t, "svg", root)
}
