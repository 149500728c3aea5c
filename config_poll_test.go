package optio_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
)

// TestPollConfig: the Spark API and polling limits have the documented
// defaults, and a wrong value stops start-up naming its variable.
func TestPollConfig(t *testing.T) {
	t.Parallel()
	load := func(env map[string]string) (*optio.Config, error) {
		return optio.LoadConfig(func(k string) string { return env[k] })
	}
	c, err := load(nil)
	require.NoError(t, err)
	require.Equal(t, 2, c.SparkAPIConcurrency)
	require.Equal(t, int64(10<<20), c.SparkAPIMaxResponseBytes)
	require.Equal(t, 1000, c.SparkPollMaxCourses)
	require.Equal(t, 500, c.SparkPollMaxAssignments)
	require.Equal(t, 50000, c.SparkPollMaxSubmissions)
	require.Equal(t, 24*time.Hour, c.SparkPollReconcileEvery)

	c, err = load(map[string]string{"SPARK_POLL_RECONCILE_EVERY": "0"})
	require.NoError(t, err)
	require.Zero(t, c.SparkPollReconcileEvery, "0 turns reconciliation off")

	for env, name := range map[string]string{
		"SPARK_API_CONCURRENCY=100":       "SPARK_API_CONCURRENCY",
		"SPARK_API_CONCURRENCY=-1":        "SPARK_API_CONCURRENCY",
		"SPARK_API_MAX_RESPONSE_BYTES=-5": "SPARK_API_MAX_RESPONSE_BYTES",
		"SPARK_POLL_MAX_COURSES=-1":       "SPARK_POLL_MAX_COURSES",
		"SPARK_POLL_MAX_ASSIGNMENTS=lots": "SPARK_POLL_MAX_ASSIGNMENTS",
		"SPARK_POLL_MAX_SUBMISSIONS=-1":   "SPARK_POLL_MAX_SUBMISSIONS",
		"SPARK_POLL_RECONCILE_EVERY=5s":   "SPARK_POLL_RECONCILE_EVERY",
		"SPARK_POLL_INTERVAL=9s":          "SPARK_POLL_INTERVAL",
	} {
		k, v, _ := strings.Cut(env, "=")
		_, err := load(map[string]string{k: v})
		require.ErrorContains(t, err, name, env)
	}
}
