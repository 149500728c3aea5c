package app_test

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/jobs"
	"github.com/optio-edu/optio/store"
)

// TestAlertRulesUseExportedMetrics keeps docs/ops/alerts.yml and the Grafana
// dashboard honest: every optio_ series they read is one the real program exports on /metrics
// (a renamed metric would otherwise silence its alert for ever).
// promtool checks the rules themselves (.ci/run).
func TestAlertRulesUseExportedMetrics(t *testing.T) {
	t.Parallel()
	names := map[string]string{}
	for _, f := range []string{"alerts.yml", "grafana-dashboard.json"} {
		b, err := os.ReadFile("../docs/ops/" + f)
		require.NoError(t, err)
		for _, n := range regexp.MustCompile(`\boptio_[a-z0-9_]+`).FindAllString(string(b), -1) {
			names[n] = f
		}
	}
	require.GreaterOrEqual(t, len(names), 7, "the rules read the target and queue series")

	a := newSSOEnv(t, store.SQLite).set("SPARK_WEBHOOK_SECRET", healthHookSecret).set("OPTIO_WORKERS", "0").start(t)
	require.NoError(t, jobs.RunHealth(context.Background(), a.Store, nil)) // the badge gauges appear after a check
	exported := map[string]bool{}
	for _, line := range strings.Split(scrape(t, a), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(line, " ")
		name, _, _ = strings.Cut(name, "{")
		exported[name] = true
	}
	for n, f := range names {
		require.True(t, exported[n], "docs/ops/%s reads %s, which /metrics does not export", f, n)
	}
}
