package app_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// TestLTIAdminPage: an admin registers and removes a platform with the
// page's forms (no JavaScript); bad input is shown on the page, field by
// field, and keeps what was typed; nobody else reaches the page.
func TestLTIAdminPage(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		a, base := startLTIApp(t, d, nil)
		ctx := context.Background()
		_, err := a.Store.CreateUser(ctx, optio.NewUser{Email: "root@optio.test", PasswordHash: mustHashPassword(t, "admin-password-1"), GivenName: "Root", Role: optio.RoleAdmin, EmailVerified: true})
		require.NoError(t, err)
		admin := newSSOBrowser(t, base)
		require.Equal(t, http.StatusOK, login(t, admin, "root@optio.test", "admin-password-1"))

		resp, body := admin.get("/admin/lti", "html")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, body, base+"/lti/login")
		require.Contains(t, body, base+"/lti/jwks")
		require.Contains(t, body, "No platform registered yet")

		form := url.Values{"issuer": {"https://moodle.test"}, "client_id": {"abc"}, "deployment_ids": {""},
			"auth_url": {"https://moodle.test/mod/lti/auth.php"}, "token_url": {"not a url"}, "jwks_url": {"https://moodle.test/mod/lti/certs.php"}}
		resp, body = admin.ltiPostForm("/admin/lti/platforms", form)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.Contains(t, body, "<code>deployment_ids</code>: at least one deployment id")
		require.Contains(t, body, "<code>token_url</code>: an absolute http(s) URL")
		require.Contains(t, body, `value="https://moodle.test/mod/lti/auth.php"`, "what was typed stays")

		form.Set("deployment_ids", "1, 2")
		form.Set("token_url", "https://moodle.test/mod/lti/token.php")
		resp, body = admin.ltiPostForm("/admin/lti/platforms", form)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
		resp, body = admin.get(resp.Header.Get("Location"), "html")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, body, "Registered https://moodle.test (client abc).")
		require.Contains(t, body, "<code>https://moodle.test/mod/lti/certs.php</code>")
		ps, err := a.Store.LTIPlatforms(ctx)
		require.NoError(t, err)
		require.Len(t, ps, 1)
		require.Equal(t, []string{"1", "2"}, ps[0].DeploymentIDs)

		resp, body = admin.ltiPostForm("/admin/lti/platforms", form)
		require.Equal(t, http.StatusConflict, resp.StatusCode)
		require.Contains(t, body, "already registered")

		stranger := newSSOBrowser(t, base)
		resp, _ = stranger.get("/admin/lti", "html")
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		status, _ := register(t, stranger, "kid@home.test", "kid password 1", optio.RoleStudent)
		require.Equal(t, http.StatusCreated, status)
		resp, _ = stranger.get("/admin/lti", "html")
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		resp, _ = stranger.ltiPostForm("/admin/lti/platforms/"+ps[0].ID+"/delete", nil)
		require.Equal(t, http.StatusForbidden, resp.StatusCode)

		resp, body = admin.ltiPostForm("/admin/lti/platforms/"+ps[0].ID+"/delete", nil)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
		ps, err = a.Store.LTIPlatforms(ctx)
		require.NoError(t, err)
		require.Empty(t, ps)
	})
}
