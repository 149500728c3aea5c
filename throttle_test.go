package optio_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
)

// TestThrottleConfig: the issue-17 settings have their documented defaults
// and a wrong value stops start-up naming the variable.
func TestThrottleConfig(t *testing.T) {
	t.Parallel()
	load := func(env map[string]string) (*optio.Config, error) {
		return optio.LoadConfig(func(k string) string { return env[k] })
	}
	c, err := load(nil)
	require.NoError(t, err)
	require.EqualValues(t, 2<<30, c.UploadQuotaBytes)
	require.Equal(t, 20, c.RegistrationsPerHour)
	require.Empty(t, c.TrustedProxies)

	c, err = load(map[string]string{"OPTIO_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7,2001:db8::/32", "OPTIO_UPLOAD_QUOTA_BYTES": "1000"})
	require.NoError(t, err)
	require.Equal(t, []string{"10.0.0.0/8", "192.0.2.7", "2001:db8::/32"}, c.TrustedProxies)
	require.EqualValues(t, 1000, c.UploadQuota())

	for env, msg := range map[string]string{
		"OPTIO_TRUSTED_PROXIES":        "OPTIO_TRUSTED_PROXIES: \"proxy.internal\" is not an IP address or CIDR like 10.0.0.0/8",
		"OPTIO_UPLOAD_QUOTA_BYTES":     "OPTIO_UPLOAD_QUOTA_BYTES: must be positive",
		"OPTIO_REGISTRATIONS_PER_HOUR": "OPTIO_REGISTRATIONS_PER_HOUR: must be between 1 and 1000000",
	} {
		bad := map[string]string{"OPTIO_TRUSTED_PROXIES": "proxy.internal", "OPTIO_UPLOAD_QUOTA_BYTES": "0", "OPTIO_REGISTRATIONS_PER_HOUR": "0"}[env]
		_, err := load(map[string]string{env: bad})
		require.EqualError(t, err, msg)
	}
	require.Equal(t, 20, optio.RegisterAddressRule(0).Limit, "a Config built in code gets the default")
}
