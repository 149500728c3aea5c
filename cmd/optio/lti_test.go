package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// TestLTIPlatformCommands: `optio lti platform add|list|remove` against the
// configured store, with add's validation naming each bad flag.
func TestLTIPlatformCommands(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		u := storetest.URL(t, d)
		if d == store.SQLite {
			u = "sqlite://" + filepath.ToSlash(u)
		}
		env := envOf(map[string]string{"OPTIO_DATABASE_URL": u, "OPTIO_DATA_DIR": t.TempDir(), "OPTIO_BASE_URL": "https://optio.school.test"})
		out, _, err := runCLI(t, env, "lti", "platform", "list")
		require.NoError(t, err)
		require.Contains(t, out, "no LMS platform registered")

		_, _, err = runCLI(t, env, "lti", "platform", "add", "--issuer", "https://canvas.test", "--client-id", "10000000001",
			"--auth-url", "http://canvas.test/api/lti/authorize_redirect", "--token-url", "https://canvas.test/login/oauth2/token",
			"--jwks-url", "https://canvas.test/api/lti/security/jwks")
		require.Error(t, err)
		require.Contains(t, err.Error(), "deployment_ids: at least one deployment id")
		require.Contains(t, err.Error(), "auth_url: must be https", "an https Optio refuses http platform URLs")

		out, _, err = runCLI(t, env, "lti", "platform", "add", "--issuer", "https://canvas.test", "--client-id", "10000000001",
			"--deployment-id", "1:abc", "--deployment-id", "2:def",
			"--auth-url", "https://sso.canvas.test/api/lti/authorize_redirect", "--token-url", "https://sso.canvas.test/login/oauth2/token",
			"--jwks-url", "https://sso.canvas.test/api/lti/security/jwks", "--frame-origin", "https://school.instructure.test")
		require.NoError(t, err)
		require.Contains(t, out, "deployments:  1:abc, 2:def")
		require.Contains(t, out, "frame origin: https://school.instructure.test")

		_, _, err = runCLI(t, env, "lti", "platform", "add", "--issuer", "https://canvas.test", "--client-id", "10000000001",
			"--deployment-id", "1:abc", "--auth-url", "https://a.test/x", "--token-url", "https://a.test/y", "--jwks-url", "https://a.test/z")
		require.ErrorContains(t, err, "already registered")

		out, _, err = runCLI(t, env, "lti", "platform", "list")
		require.NoError(t, err)
		require.Contains(t, out, "issuer:       https://canvas.test")
		id := out[:36]
		out, _, err = runCLI(t, env, "lti", "platform", "remove", id)
		require.NoError(t, err)
		require.Contains(t, out, "removed "+id)
		_, _, err = runCLI(t, env, "lti", "platform", "remove", id)
		require.ErrorContains(t, err, "not found")
	})
}
