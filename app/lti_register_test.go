package app_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/lti"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// TestLTIDynamicRegistration: a platform administrator's one pasted URL
// registers Optio with the platform and the platform with Optio; the next
// launch works. Only an Optio admin completes it, the issuer must be on
// the configuration's host, and private addresses follow the download
// SSRF rules.
func TestLTIDynamicRegistration(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		clock := optio.NewFakeClock(ltiStart)
		a, base := startLTIApp(t, d, clock, "SPARK_FILE_ALLOW_PRIVATE", "true")
		p := newTestPlatform(t)
		ctx := context.Background()
		_, err := a.Store.CreateUser(ctx, optio.NewUser{Email: "root@optio.test", PasswordHash: mustHashPassword(t, "admin-password-1"), GivenName: "Root", Role: optio.RoleAdmin, EmailVerified: true})
		require.NoError(t, err)
		q := url.Values{"openid_configuration": {p.srv.URL + "/lti/.well-known/openid-configuration"}, "registration_token": {"reg-token-1"}}
		path := lti.RegisterPath + "?" + q.Encode()

		stranger := newSSOBrowser(t, base)
		resp, _ := stranger.get(path, "html")
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, "only a signed-in admin registers")
		require.Empty(t, p.registrations)

		admin := newSSOBrowser(t, base)
		require.Equal(t, http.StatusOK, login(t, admin, "root@optio.test", "admin-password-1"))
		p.configIssuer = "https://elsewhere.example/lti"
		resp, body := admin.get(path, "html")
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.Contains(t, body, "is not on the host its configuration came from")
		p.configIssuer = ""

		resp, body = admin.get(path, "html")
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Contains(t, body, "Optio is registered")
		require.Contains(t, body, `/static/lti-close.js`)
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'self' "+p.srv.URL)
		require.Len(t, p.registrations, 1)
		reg := p.registrations[0]
		require.Equal(t, "Bearer reg-token-1", p.regAuth)
		require.Equal(t, base+lti.LoginPath, reg["initiate_login_uri"])
		require.Equal(t, []any{base + lti.LaunchPath}, reg["redirect_uris"])
		require.Equal(t, base+lti.JWKSPath, reg["jwks_uri"])
		require.Equal(t, "private_key_jwt", reg["token_endpoint_auth_method"])
		require.Contains(t, reg["scope"], lti.ScopeScore)

		ps, err := a.Store.LTIPlatforms(ctx)
		require.NoError(t, err)
		require.Len(t, ps, 1)
		require.Equal(t, p.issuer, ps[0].Issuer)
		require.Equal(t, p.clientID, ps[0].ClientID)
		require.Equal(t, []string{p.deploy}, ps[0].DeploymentIDs)
		_, where := launchAs(t, p, base, clock, "stu-1", optio.LTIRoleLearner, nil)
		require.Equal(t, "/dashboard", where, "the registered platform launches")

		// The same platform again: Optio registers with it (it cannot know the
		// client id before), then refuses to store a duplicate.
		resp, _ = admin.get(path, "html")
		require.Equal(t, http.StatusConflict, resp.StatusCode)
		require.Len(t, p.registrations, 2)

		// Without SPARK_FILE_ALLOW_PRIVATE a platform on a private address is refused (SSRF).
		b, base2 := startLTIApp(t, d, clock)
		_, err = b.Store.CreateUser(ctx, optio.NewUser{Email: "root@optio.test", PasswordHash: mustHashPassword(t, "admin-password-1"), GivenName: "Root", Role: optio.RoleAdmin, EmailVerified: true})
		require.NoError(t, err)
		admin2 := newSSOBrowser(t, base2)
		require.Equal(t, http.StatusOK, login(t, admin2, "root@optio.test", "admin-password-1"))
		resp, body = admin2.get(path, "html")
		require.Equal(t, http.StatusForbidden, resp.StatusCode, body)
		require.Len(t, p.registrations, 2, "nothing was posted")
	})
}
