package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
	"github.com/optio-edu/optio/web"
)

// TestRegisterFromAnInvitationLink: the link on an invitation page opens
// sign-up with "family member" chosen, and sign-up lands back on the
// invitation; only student, parent and observer can be preselected.
func TestRegisterFromAnInvitationLink(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		db := storetest.Open(t, d, nil)
		cfg, err := optio.LoadConfig(func(string) string { return "" })
		require.NoError(t, err)
		srv := httptest.NewServer(newServer(t, web.Deps{Config: cfg, Store: db, Logger: slog.New(slog.DiscardHandler)}))
		t.Cleanup(srv.Close)
		cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		get := func(path string) string {
			resp, err := cl.Get(srv.URL + path)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, 200, resp.StatusCode)
			b, _ := io.ReadAll(resp.Body)
			return string(b)
		}
		checked := func(page string) string {
			for _, role := range []string{"student", "parent", "observer"} {
				if strings.Contains(page, `value="`+role+`" checked`) {
					return role
				}
			}
			return ""
		}

		accept := get("/observer/accept?code=ABCD2345")
		require.Contains(t, accept, `href="/register?role=observer&amp;next=%2fobserver%2faccept%3fcode%3dABCD2345"`)
		page := get("/register?role=observer&next=" + url.QueryEscape("/observer/accept?code=ABCD2345"))
		require.Equal(t, "observer", checked(page))
		require.Contains(t, page, `name="next" value="/observer/accept?code=ABCD2345"`)
		require.Equal(t, "parent", checked(get("/register?role=parent")))
		require.Equal(t, "student", checked(get("/register?role=admin")), "admin is never preselected")
		require.Equal(t, "student", checked(get("/register")))
		require.Contains(t, get("/login?next=%2Fobserver%2Faccept%3Fcode%3DX"), `href="/register?next=%2fobserver%2faccept%3fcode%3dX"`)

		resp, err := cl.PostForm(srv.URL+"/register", url.Values{"given_name": {"Gran"}, "family_name": {"Lee"},
			"email": {"gran@family.test"}, "password": {"a long password"}, "role": {"observer"}, "next": {"/observer/accept?code=ABCD2345"}})
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		require.Equal(t, "/observer/accept?code=ABCD2345", resp.Header.Get("Location"))
		u, _, err := db.UserCredentials(context.Background(), "gran@family.test")
		require.NoError(t, err)
		require.Equal(t, optio.RoleObserver, u.Role)
	})
}
