package optio_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
)

// The export, deletion and retention settings have their documented
// defaults, and a wrong value stops start-up naming the variable.
func TestConfigPrivacySettings(t *testing.T) {
	t.Parallel()
	c, err := loadEnv(nil)
	require.NoError(t, err)
	require.Equal(t, 72*time.Hour, c.DeletionCoolingOff)
	require.Equal(t, 24*time.Hour, c.ExportLinkTTL)
	require.Equal(t, optio.Retention{TutorConversations: 365 * 24 * time.Hour, SSONonces: time.Hour, WebhookDeliveries: 30 * 24 * time.Hour,
		Sessions: 24 * time.Hour, SyncErrors: 90 * 24 * time.Hour}, c.Retention())
	require.Equal(t, time.Hour, c.RetentionInterval)

	c, err = loadEnv(map[string]string{"OPTIO_RETAIN_TUTOR": "0", "OPTIO_DELETION_COOLING_OFF": "0s"})
	require.NoError(t, err, "0 keeps tutor conversations; no cooling-off is allowed")
	require.Zero(t, c.Retention().TutorConversations)

	for name, v := range map[string]string{
		"OPTIO_RETAIN_WEBHOOK_DELIVERIES": "10m", "OPTIO_RETAIN_SESSIONS": "-1h", "OPTIO_EXPORT_LINK_TTL": "1000h",
		"OPTIO_RETENTION_INTERVAL": "5s", "OPTIO_DELETION_COOLING_OFF": "soon",
	} {
		_, err := loadEnv(map[string]string{name: v})
		require.Error(t, err, name)
		require.Contains(t, err.Error(), name, "the message names the variable")
	}
}
