package fetch

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Issue 17: when Optio is served over https, a submission file URL (or a
// redirect, which goes through the same check) in plain http is refused
// before anything is sent.
func TestHTTPSOnlyRefusesPlainHTTP(t *testing.T) {
	t.Parallel()
	p := Policy{HTTPSOnly: true}.withDefaults()
	err := p.checkURL(mustParse(t, "http://files.spark.example/essay.pdf"))
	require.Error(t, err)
	require.Contains(t, err.Error(), "plain http is not allowed")
	require.NoError(t, p.checkURL(mustParse(t, "https://files.spark.example/essay.pdf")))
	require.NoError(t, Policy{}.withDefaults().checkURL(mustParse(t, "http://files.spark.example/essay.pdf")),
		"without HTTPSOnly (local set-ups) http stays allowed")
}
