package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/app"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// postmanDir holds the Postman collection Spark's team imports.
var postmanDir = filepath.Join(sparkDocsDir, "postman")

// newmanPath finds newman: $OPTIO_NEWMAN (.ci/run exports it), the
// project-local install .ci/run makes (.ci/node), or the PATH. Without it
// the test skips, unless OPTIO_REQUIRE_NEWMAN is set (CI), where it fails.
func newmanPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("OPTIO_NEWMAN"); p != "" {
		return p
	}
	local, err := filepath.Abs(filepath.Join("..", "..", ".ci", "node", "node_modules", ".bin", "newman"))
	require.NoError(t, err)
	if _, err := os.Stat(local); err == nil {
		return local
	}
	if p, err := exec.LookPath("newman"); err == nil {
		return p
	}
	if os.Getenv("OPTIO_REQUIRE_NEWMAN") != "" {
		t.Fatal("newman is not installed but OPTIO_REQUIRE_NEWMAN is set: .ci/run installs it into .ci/node (npm install --prefix .ci/node newman)")
	}
	t.Skip("newman not installed; skipping the Postman collection (npm install --no-save --prefix .ci/node newman@6.2.2, or set OPTIO_REQUIRE_NEWMAN=1 to fail instead)")
	return ""
}

// newmanReport is the part of newman's JSON report the test reads.
type newmanReport struct {
	Run struct {
		Stats map[string]struct {
			Total  int `json:"total"`
			Failed int `json:"failed"`
		} `json:"stats"`
		Executions []struct {
			Item struct {
				Name string `json:"name"`
			} `json:"item"`
			Assertions []struct {
				Assertion string `json:"assertion"`
				Error     *struct {
					Message string `json:"message"`
				} `json:"error"`
			} `json:"assertions"`
		} `json:"executions"`
		Failures []json.RawMessage `json:"failures"`
	} `json:"run"`
}

// postmanRequests lists the names of the collection's requests.
func postmanRequests(t *testing.T) (collection string, requests []string) {
	t.Helper()
	collection, err := filepath.Abs(filepath.Join(postmanDir, "optio-spark.postman_collection.json"))
	require.NoError(t, err)
	var col struct {
		Item []struct {
			Item []struct {
				Name string `json:"name"`
			} `json:"item"`
		} `json:"item"`
	}
	raw, err := os.ReadFile(collection)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &col))
	for _, folder := range col.Item {
		for _, it := range folder.Item {
			requests = append(requests, it.Name)
		}
	}
	require.GreaterOrEqual(t, len(requests), 15)
	return collection, requests
}

// runNewman runs the collection with an environment file (and any
// --env-var overrides) and requires every request to have run tests and
// every test and script to pass.
func runNewman(t *testing.T, newman, envFile string, args ...string) {
	t.Helper()
	collection, requests := postmanRequests(t)
	dir := t.TempDir()
	reportFile := filepath.Join(dir, "report.json")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, newman, append([]string{"run", collection, "--environment", envFile,
		"--reporters", "cli,json", "--reporter-json-export", reportFile,
		"--color", "off", "--disable-unicode", "--timeout-request", "30000"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "newman run failed:\n%s", out)

	raw, err := os.ReadFile(reportFile)
	require.NoError(t, err)
	var rep newmanReport
	require.NoError(t, json.Unmarshal(raw, &rep))
	require.Empty(t, rep.Run.Failures, "%s", out)
	require.Zero(t, rep.Run.Stats["assertions"].Failed, "%s", out)
	require.Zero(t, rep.Run.Stats["prerequestScripts"].Failed, "%s", out)
	require.Zero(t, rep.Run.Stats["testScripts"].Failed, "%s", out)
	// Every request ran and asserted something (the dashboard request may
	// run several times while the sync finishes).
	tested := map[string]int{}
	for _, e := range rep.Run.Executions {
		for _, a := range e.Assertions {
			require.Nil(t, a.Error, "%s: %s", e.Item.Name, a.Assertion)
			tested[e.Item.Name]++
		}
	}
	for _, name := range requests {
		require.Positive(t, tested[name], "request %q ran no test:\n%s", name, out)
	}
	require.GreaterOrEqual(t, rep.Run.Stats["assertions"].Total, len(requests), "%s", out)
	if testing.Verbose() {
		t.Logf("newman:\n%s", strings.TrimSpace(string(out)))
	}
}

// TestPostmanCollection runs docs/spark/postman's collection with newman
// against Optio and the sandbox wired as `optio demo` wires them (a whsec_
// webhook secret), on both stores: the environment carries the demo's
// generated secrets and URLs.
func TestPostmanCollection(t *testing.T) {
	t.Parallel()
	newman := newmanPath(t)
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		optioLn, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		sandboxLn, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		base := testEnv(t, d, map[string]string{"OPTIO_LOG_LEVEL": "error"})
		dm, err := startDemo(context.Background(), base, optioLn, sandboxLn, app.Options{})
		require.NoError(t, err)
		t.Cleanup(dm.Close)

		cfg := dm.App.Config
		require.True(t, strings.HasPrefix(cfg.SparkWebhookSecrets[0], "whsec_"))
		env := map[string]any{
			"name": "TestPostmanCollection",
			"values": []map[string]any{
				{"key": "optio_url", "value": dm.App.URL(), "enabled": true},
				{"key": "sandbox_url", "value": dm.Sandbox.URL(), "enabled": true},
				{"key": "sso_secret", "value": cfg.SparkSSOSecrets[0], "enabled": true},
				{"key": "webhook_secret", "value": cfg.SparkWebhookSecrets[0], "enabled": true},
				{"key": "spark_api_key", "value": cfg.SparkAPIKey, "enabled": true},
				{"key": "sso_issuer", "value": cfg.SparkSSOIssuer, "enabled": true},
			},
		}
		envFile := filepath.Join(t.TempDir(), "env.json")
		b, err := json.Marshal(env)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(envFile, b, 0o600))
		runNewman(t, newman, envFile)
	})
}

// TestPostmanWithTheShippedEnvironment runs the collection with
// optio-local.postman_environment.json as shipped (raw secrets) against
// Optio and the sandbox started by SANDBOX_SETUP.md's own commands, as a
// Spark developer following that page and ONBOARDING.md would; only the
// two URLs are moved to the ports the test got.
func TestPostmanWithTheShippedEnvironment(t *testing.T) {
	t.Parallel()
	newman := newmanPath(t)
	s := newShellSession(t)
	s.runDoc("SANDBOX_SETUP.md")
	envFile, err := filepath.Abs(filepath.Join(postmanDir, "optio-local.postman_environment.json"))
	require.NoError(t, err)
	runNewman(t, newman, envFile,
		"--env-var", "optio_url=http://"+s.addrs[docOptioAddr], "--env-var", "sandbox_url=http://"+s.addrs[docSandboxAddr])
}

// TestPostmanEnvironmentMatchesSandboxSetup keeps the collection's local
// environment on the secrets SANDBOX_SETUP.md exports for two programs, so
// importing both into Postman works against that setup as it is written.
func TestPostmanEnvironmentMatchesSandboxSetup(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(postmanDir, "optio-local.postman_environment.json"))
	require.NoError(t, err)
	var env struct {
		Values []struct{ Key, Value string } `json:"values"`
	}
	require.NoError(t, json.Unmarshal(raw, &env))
	got := map[string]string{}
	for _, v := range env.Values {
		got[v.Key] = v.Value
	}
	exported := map[string]string{}
	for _, b := range parseDoc(t, filepath.Join(sparkDocsDir, "SANDBOX_SETUP.md")) {
		for _, c := range commands(b.Body) {
			if rest, ok := strings.CutPrefix(c, "export "); ok && b.Lang == "sh" {
				for _, kv := range strings.Fields(rest) {
					if k, v, ok := strings.Cut(kv, "="); ok {
						exported[k] = v
					}
				}
			}
		}
	}
	for envVar, key := range map[string]string{"SPARK_SSO_SECRET": "sso_secret", "SPARK_WEBHOOK_SECRET": "webhook_secret",
		"SPARK_API_KEY": "spark_api_key", "SPARK_API_URL": "sandbox_url"} {
		require.NotEmpty(t, exported[envVar], "SANDBOX_SETUP.md no longer exports %s", envVar)
		require.Equal(t, exported[envVar], got[key], "optio-local.postman_environment.json's %s differs from SANDBOX_SETUP.md's %s", key, envVar)
	}
	require.Equal(t, "http://"+docOptioAddr, got["optio_url"])
}
