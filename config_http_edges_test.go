package optio_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
)

func loadEnv(env map[string]string) (*optio.Config, error) {
	return optio.LoadConfig(func(k string) string { return env[k] })
}

// Issue 17, item 7: an https Optio refuses plain-http Spark URLs unless a
// local set-up allows them, and the error names the variable.
func TestConfigRefusesPlainHTTPSparkURLsBehindHTTPS(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"SPARK_API_URL", "SPARK_SSO_JWKS_URL"} {
		env := map[string]string{"OPTIO_BASE_URL": "https://optio.school.example", name: "http://spark.school.example/x"}
		_, err := loadEnv(env)
		require.Error(t, err, name)
		require.Contains(t, err.Error(), name+":")
		require.Contains(t, err.Error(), "SPARK_ALLOW_INSECURE_HTTP")

		env["SPARK_ALLOW_INSECURE_HTTP"] = "true"
		c, err := loadEnv(env)
		require.NoError(t, err, name)
		require.False(t, c.RefuseInsecureHTTP())

		env = map[string]string{"OPTIO_BASE_URL": "https://optio.school.example", name: "https://spark.school.example/x"}
		c, err = loadEnv(env)
		require.NoError(t, err, name)
		require.True(t, c.RefuseInsecureHTTP(), "file URLs must be https too")

		_, err = loadEnv(map[string]string{name: "http://127.0.0.1:8090/x"})
		require.NoError(t, err, "an http Optio (local use) may talk to an http Spark")
	}
}

func TestConfigMetricsListener(t *testing.T) {
	t.Parallel()
	c, err := loadEnv(nil)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9090", c.MetricsAddr, "loopback by default")
	require.Empty(t, c.MetricsToken)
	c, err = loadEnv(map[string]string{"OPTIO_METRICS_ADDR": "off"})
	require.NoError(t, err)
	require.Equal(t, "off", c.MetricsAddr)
	_, err = loadEnv(map[string]string{"OPTIO_METRICS_ADDR": "9090"})
	require.ErrorContains(t, err, "OPTIO_METRICS_ADDR:")
	_, err = loadEnv(map[string]string{"OPTIO_METRICS_TOKEN": "short"})
	require.ErrorContains(t, err, "OPTIO_METRICS_TOKEN:")
}
