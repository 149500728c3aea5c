package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// send makes a JSON request as this browser and returns the status and body.
func (b *ssoBrowser) send(method, path string, body any) (int, string) {
	b.t.Helper()
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(b.t, err)
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, b.base+path, r)
	require.NoError(b.t, err)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.http.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// errorOf decodes an error answer's code and fields.
func errorOf(t testing.TB, body string) (string, map[string]string) {
	t.Helper()
	var e struct {
		Error struct {
			Code   string            `json:"code"`
			Fields map[string]string `json:"fields"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &e), body)
	return e.Error.Code, e.Error.Fields
}

func register(t testing.TB, b *ssoBrowser, email, password string, role optio.Role) (int, string) {
	t.Helper()
	return b.send("POST", "/api/auth/register", map[string]any{"email": email, "password": password,
		"given_name": "Eve", "family_name": "Mallory", "role": role})
}

func login(t testing.TB, b *ssoBrowser, email, password string) int {
	t.Helper()
	status, _ := b.send("POST", "/api/auth/login", map[string]string{"email": email, "password": password})
	return status
}

// TestPreHijackedAccountGetsNothingFromSSO is issue 17's account
// pre-hijacking attack, through HTTP on both stores: an attacker registers a
// password account with a student's (and a parent's) email before the real
// person first arrives through Spark SSO. The attacker's password sign-in
// must not reach the student's synced work or the parent's child.
func TestPreHijackedAccountGetsNothingFromSSO(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		a := newSSOEnv(t, d).start(t)
		ctx := context.Background()

		// Student case.
		attacker := newSSOBrowser(t, a.URL())
		status, body := register(t, attacker, "S-1@School.test", "attacker-pass", optio.RoleStudent)
		require.Equal(t, http.StatusCreated, status, body)
		student := newSSOBrowser(t, a.URL())
		status, loc := student.sso(signSSO(t, ssoSecret, studentClaims("s-1")))
		require.Equal(t, http.StatusSeeOther, status)
		require.Equal(t, "/dashboard", loc)
		real := student.me()
		require.Equal(t, "s-1@school.test", real.Email, "the Spark account gets the email")
		require.True(t, real.EmailVerified)
		q := storetest.MustCreateQuest(t, a.Store, "Essay", 25, optio.PillarCommunication)
		_, err := a.Store.CompleteTask(ctx, optio.CompletionInput{UserID: real.ID, TaskID: q.Tasks[0].ID, Source: "spark",
			Blocks: []optio.BlockInput{{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "my private essay"}}}})
		require.NoError(t, err)

		eve := newSSOBrowser(t, a.URL())
		require.Equal(t, http.StatusOK, login(t, eve, "s-1@school.test", "attacker-pass"), "the attacker still reaches their own account")
		me := eve.me()
		require.NotEqual(t, real.ID, me.ID)
		require.Empty(t, me.Email, "and it lost its claim to the email")
		status, body = eve.send("GET", "/api/dashboard", nil)
		require.Equal(t, http.StatusOK, status, body)
		require.NotContains(t, body, "my private essay")
		require.NotContains(t, body, real.ID)
		require.Zero(t, countRows(t, a, `SELECT COUNT(*) FROM audit_log WHERE action = 'spark.linked_by_email'`))

		// Parent case: the attacker registers the parent's email; the real
		// parent signs in through Spark with their child.
		status, body = register(t, newSSOBrowser(t, a.URL()), "mum@family.test", "attacker-pass", optio.RoleParent)
		require.Equal(t, http.StatusCreated, status, body)
		parent := newSSOBrowser(t, a.URL())
		status, loc = parent.sso(signSSO(t, ssoSecret, spark.Claims{Subject: "mum-1", Email: "mum@family.test", GivenName: "Ana", FamilyName: "Ortiz",
			Role: optio.RoleParent, SparkStudentIDs: []string{"s-1"}}))
		require.Equal(t, http.StatusSeeOther, status)
		require.Equal(t, "/parent", loc)
		status, body = parent.send("GET", "/api/parent/students/"+real.ID+"/dashboard", nil)
		require.Equal(t, http.StatusOK, status, "the real parent sees their child: %s", body)
		mallory := newSSOBrowser(t, a.URL())
		require.Equal(t, http.StatusOK, login(t, mallory, "mum@family.test", "attacker-pass"))
		status, body = mallory.send("GET", "/api/parent/students/"+real.ID+"/dashboard", nil)
		require.GreaterOrEqual(t, status, 400, body)
		require.NotContains(t, body, "my private essay")
		page, html := mallory.get("/parent", "html")
		require.Equal(t, http.StatusOK, page.StatusCode)
		require.NotContains(t, html, "Maya", "the child's name is not on the attacker's family page")

		// The attacker cannot use the link flow: their account is not
		// Spark-linked, and they do not know the parent's Spark session.
		status, body = mallory.send("POST", "/api/me/link-account", map[string]string{"email": "mum@family.test", "password": "attacker-pass"})
		require.Equal(t, http.StatusForbidden, status, body)
		// And the real parent, linking with the attacker's email, needs the
		// attacker's password: a wrong one is refused and changes nothing.
		status, body = parent.send("POST", "/api/me/link-account", map[string]string{"email": "mum@family.test", "password": "a guess, wrong"})
		require.Equal(t, http.StatusUnauthorized, status, body)
		require.Equal(t, 2, countRows(t, a, `SELECT COUNT(*) FROM users WHERE role = 'parent'`))
	})
}

// TestLinkSparkAndPasswordAccounts: a parent who made a password account
// and later arrives through Spark joins the two on the account page's API
// with the right password; a wrong one is refused.
func TestLinkSparkAndPasswordAccounts(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		a := newSSOEnv(t, d).start(t)
		kid := newSSOBrowser(t, a.URL())
		status, _ := kid.sso(signSSO(t, ssoSecret, studentClaims("kid-1")))
		require.Equal(t, http.StatusSeeOther, status)
		kidID := kid.me().ID

		mine := newSSOBrowser(t, a.URL())
		status, body := register(t, mine, "ana@family.test", "my own password", optio.RoleParent)
		require.Equal(t, http.StatusCreated, status, body)
		passwordID := mine.me().ID

		sso := newSSOBrowser(t, a.URL())
		status, _ = sso.sso(signSSO(t, ssoSecret, spark.Claims{Subject: "ana-1", Email: "ana@family.test", GivenName: "Ana", FamilyName: "Ortiz",
			Role: optio.RoleParent, SparkStudentIDs: []string{"kid-1"}}))
		require.Equal(t, http.StatusSeeOther, status)
		require.NotEqual(t, passwordID, sso.me().ID)

		page, html := sso.get("/account", "html")
		require.Equal(t, http.StatusOK, page.StatusCode)
		require.Contains(t, html, `action="/account/link"`)

		status, body = sso.send("POST", "/api/me/link-account", map[string]string{"email": "ana@family.test", "password": "not my password"})
		require.Equal(t, http.StatusUnauthorized, status, body)
		status, body = sso.send("POST", "/api/me/link-account", map[string]string{"email": "ANA@family.test", "password": "my own password"})
		require.Equal(t, http.StatusOK, status, body)
		u := sso.me()
		require.Equal(t, passwordID, u.ID, "the Spark account had no work of its own: it folded into the password account")
		require.True(t, u.EmailVerified)
		require.Equal(t, "ana@family.test", u.Email)

		// Either way in now reaches the one account, with the child.
		pw := newSSOBrowser(t, a.URL())
		require.Equal(t, http.StatusOK, login(t, pw, "ana@family.test", "my own password"))
		status, body = pw.send("GET", "/api/parent/students/"+kidID+"/dashboard", nil)
		require.Equal(t, http.StatusOK, status, body)
		again := newSSOBrowser(t, a.URL())
		status, _ = again.sso(signSSO(t, ssoSecret, spark.Claims{Subject: "ana-1", Email: "ana@family.test", Role: optio.RoleParent}))
		require.Equal(t, http.StatusSeeOther, status)
		require.Equal(t, passwordID, again.me().ID)
	})
}

// TestUnicodeLookalikeEmails: the Kelvin sign and dotted capital I no
// longer reach kate@… and inci@… accounts, through registration, sign-in
// and SSO.
func TestUnicodeLookalikeEmails(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		a := newSSOEnv(t, d).start(t)
		for _, email := range []string{"kate@home.example", "inci@home.example"} {
			status, body := register(t, newSSOBrowser(t, a.URL()), email, "kates password", optio.RoleParent)
			require.Equal(t, http.StatusCreated, status, body)
		}
		for _, email := range []string{"\u212Aate@home.example", "\u0130nci@home.example", "i\u0307nci@home.example", "k\u0430te@home.example"} {
			require.Equal(t, http.StatusUnauthorized, login(t, newSSOBrowser(t, a.URL()), email, "kates password"), "%q", email)
			status, body := register(t, newSSOBrowser(t, a.URL()), email, "another password", optio.RoleParent)
			require.Equal(t, http.StatusBadRequest, status, body)
			code, fields := errorOf(t, body)
			require.Equal(t, optio.EINVALID, code)
			require.Contains(t, fields, "email")
		}
		require.Equal(t, http.StatusOK, login(t, newSSOBrowser(t, a.URL()), "  KATE@Home.Example ", "kates password"))

		b := newSSOBrowser(t, a.URL())
		c := studentClaims("kelvin")
		c.Email = "\u212Aate@home.example"
		status, _ := b.sso(signSSO(t, ssoSecret, c))
		require.Equal(t, http.StatusSeeOther, status)
		me := b.me()
		require.Empty(t, me.Email, "an address the rule refuses is not stored, nor matched")
		require.Equal(t, 1, countRows(t, a, `SELECT COUNT(*) FROM users WHERE email = 'kate@home.example' AND role = 'parent'`))
	})
}

// TestChildCannotLiftTheConsentGate is issue 17's consent attack through
// HTTP: after a parent records "no consent" with a birth date, the student's
// PATCH /api/me with an adult birth date is refused and the portfolio stays
// hidden from strangers. A student without a recorded birth date cannot
// make themselves an adult either.
func TestChildCannotLiftTheConsentGate(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		a := newSSOEnv(t, d).start(t)
		kid := newSSOBrowser(t, a.URL())
		status, _ := kid.sso(signSSO(t, ssoSecret, studentClaims("kid-9")))
		require.Equal(t, http.StatusSeeOther, status)
		st := kid.me()
		status, body := kid.send("PATCH", "/api/me", map[string]any{"portfolio_visibility": "public"})
		require.Equal(t, http.StatusOK, status, body)
		stranger := newSSOBrowser(t, a.URL())
		resp, _ := stranger.get("/portfolio/"+st.PortfolioSlug, "html")
		require.Equal(t, http.StatusNotFound, resp.StatusCode, "a minor (unknown age) is hidden without consent")

		// Without any recorded birth date, the student cannot become an adult.
		status, body = kid.send("PATCH", "/api/me", map[string]any{"birth_date": "1990-01-01T00:00:00Z"})
		require.Equal(t, http.StatusForbidden, status, body)
		code, fields := errorOf(t, body)
		require.Equal(t, optio.EFORBIDDEN, code)
		require.Contains(t, fields["birth_date"], "18 or older")

		parent := newSSOBrowser(t, a.URL())
		status, _ = parent.sso(signSSO(t, ssoSecret, spark.Claims{Subject: "dad-9", Email: "dad@family.test", GivenName: "Dan", FamilyName: "Ortiz",
			Role: optio.RoleParent, SparkStudentIDs: []string{"kid-9"}}))
		require.Equal(t, http.StatusSeeOther, status)
		status, body = parent.send("POST", "/api/parent/students/"+st.ID+"/consent", map[string]any{"consent": false, "birth_date": "2013-04-02"})
		require.Equal(t, http.StatusOK, status, body)
		require.Contains(t, body, `"birth_date_recorded":{"source":"parent"`)

		// The attack: the student sets their birth date to 1990.
		for _, birth := range []string{"1990-01-01T00:00:00Z", "2012-01-01T00:00:00Z"} {
			status, body = kid.send("PATCH", "/api/me", map[string]any{"birth_date": birth})
			require.Equal(t, http.StatusForbidden, status, body)
			code, fields = errorOf(t, body)
			require.Equal(t, optio.EFORBIDDEN, code)
			require.Contains(t, fields["birth_date"], "recorded by a parent")
		}
		me := kid.me()
		require.Equal(t, "2013-04-02", me.BirthDate.Format("2006-01-02"))
		require.Equal(t, optio.SourceParent, me.BirthDateFact.Source)
		require.False(t, me.ParentConsent)
		resp, _ = stranger.get("/portfolio/"+st.PortfolioSlug, "html")
		require.Equal(t, http.StatusNotFound, resp.StatusCode, "the portfolio stays hidden")

		// Who recorded what is shown to the family.
		_, html := parent.get("/parent", "html")
		require.Contains(t, html, "recorded by a parent")
		_, html = kid.get("/account", "html")
		require.Contains(t, html, "recorded by a parent")
		require.True(t, strings.Contains(html, "Public portfolio consent: not given"), html)
	})
}

// TestSessionsSignOutEverywhereAndPasswordChange: the account's sessions
// are listed (current marked, no tokens), one can be ended, a password
// change ends the others, and "sign out everywhere" ends them all.
func TestSessionsSignOutEverywhereAndPasswordChange(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		a := newSSOEnv(t, d).start(t)
		laptop := newSSOBrowser(t, a.URL())
		status, body := register(t, laptop, "fam@home.test", "first password", optio.RoleParent)
		require.Equal(t, http.StatusCreated, status, body)
		phone, shared := newSSOBrowser(t, a.URL()), newSSOBrowser(t, a.URL())
		require.Equal(t, http.StatusOK, login(t, phone, "fam@home.test", "first password"))
		require.Equal(t, http.StatusOK, login(t, shared, "fam@home.test", "first password"))

		var list struct {
			Sessions []optio.SessionInfo `json:"sessions"`
		}
		status, body = laptop.send("GET", "/api/me/sessions", nil)
		require.Equal(t, http.StatusOK, status, body)
		require.NoError(t, json.Unmarshal([]byte(body), &list))
		require.Len(t, list.Sessions, 3)
		require.NotContains(t, body, "token")
		current := 0
		for _, s := range list.Sessions {
			if s.Current {
				current++
			}
			require.Equal(t, "Program", s.Device)
		}
		require.Equal(t, 1, current)
		page, html := laptop.get("/account", "html")
		require.Equal(t, http.StatusOK, page.StatusCode)
		require.Contains(t, html, "(this browser)")
		require.Contains(t, html, "Sign out everywhere")

		// End the shared device's session from the laptop.
		status, body = shared.send("GET", "/api/me/sessions", nil)
		require.Equal(t, http.StatusOK, status)
		require.NoError(t, json.Unmarshal([]byte(body), &list))
		var sharedID string
		for _, s := range list.Sessions {
			if s.Current {
				sharedID = s.ID
			}
		}
		status, body = laptop.send("DELETE", "/api/me/sessions/"+sharedID, nil)
		require.Equal(t, http.StatusNoContent, status, body)
		status, _ = shared.send("GET", "/api/me", nil)
		require.Equal(t, http.StatusUnauthorized, status)

		// Password change: the current password is required; the others end.
		status, body = laptop.send("POST", "/api/me/password", map[string]string{"current_password": "wrong", "new_password": "second password"})
		require.Equal(t, http.StatusUnauthorized, status, body)
		status, _ = phone.send("GET", "/api/me", nil)
		require.Equal(t, http.StatusOK, status, "a refused change ends nothing")
		status, body = laptop.send("POST", "/api/me/password", map[string]string{"current_password": "first password", "new_password": "second password"})
		require.Equal(t, http.StatusNoContent, status, body)
		status, _ = phone.send("GET", "/api/me", nil)
		require.Equal(t, http.StatusUnauthorized, status, "the phone was signed out")
		status, _ = laptop.send("GET", "/api/me", nil)
		require.Equal(t, http.StatusOK, status, "this browser stays signed in")
		require.Equal(t, http.StatusUnauthorized, login(t, newSSOBrowser(t, a.URL()), "fam@home.test", "first password"))
		tablet := newSSOBrowser(t, a.URL())
		require.Equal(t, http.StatusOK, login(t, tablet, "fam@home.test", "second password"))

		// Sign out everywhere, from the tablet: every session ends.
		status, body = tablet.send("POST", "/api/auth/logout-everywhere", nil)
		require.Equal(t, http.StatusOK, status, body)
		require.Contains(t, body, `"sessions_ended":2`)
		for _, b := range []*ssoBrowser{laptop, tablet} {
			status, _ = b.send("GET", "/api/me", nil)
			require.Equal(t, http.StatusUnauthorized, status)
		}
		require.Zero(t, countRows(t, a, `SELECT COUNT(*) FROM sessions`))

		// A Spark-only account has no password to change.
		kid := newSSOBrowser(t, a.URL())
		status, _ = kid.sso(signSSO(t, ssoSecret, studentClaims("kid-pw")))
		require.Equal(t, http.StatusSeeOther, status)
		status, body = kid.send("POST", "/api/me/password", map[string]string{"current_password": "", "new_password": "whatever123"})
		require.Equal(t, http.StatusConflict, status, body)
	})
}

// postForm submits a page form as this browser (no JavaScript) and returns
// the status and Location.
func (b *ssoBrowser) postForm(path string, form url.Values) (int, string, string) {
	b.t.Helper()
	resp, err := b.http.PostForm(b.base+path, form)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// TestAccountPageForms: the account page works without JavaScript: change
// the password (a wrong current one is shown on the page), end a session,
// sign out everywhere, and link accounts.
func TestAccountPageForms(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		a := newSSOEnv(t, d).start(t)
		one, two := newSSOBrowser(t, a.URL()), newSSOBrowser(t, a.URL())
		status, body := register(t, one, "pat@home.test", "pat password 1", optio.RoleStudent)
		require.Equal(t, http.StatusCreated, status, body)
		require.Equal(t, http.StatusOK, login(t, two, "pat@home.test", "pat password 1"))

		status, _, page := one.postForm("/account/password", url.Values{"current_password": {"nope"}, "new_password": {"pat password 2"}})
		require.Equal(t, http.StatusUnauthorized, status)
		require.Contains(t, page, "The current password is wrong.")
		status, loc, _ := one.postForm("/account/password", url.Values{"current_password": {"pat password 1"}, "new_password": {"pat password 2"}})
		require.Equal(t, http.StatusSeeOther, status)
		require.True(t, strings.HasPrefix(loc, "/account?flash="), loc)
		status, _ = two.send("GET", "/api/me", nil)
		require.Equal(t, http.StatusUnauthorized, status, "the other browser was signed out")

		require.Equal(t, http.StatusOK, login(t, two, "pat@home.test", "pat password 2"))
		var list struct {
			Sessions []optio.SessionInfo `json:"sessions"`
		}
		_, body = one.send("GET", "/api/me/sessions", nil)
		require.NoError(t, json.Unmarshal([]byte(body), &list))
		require.Len(t, list.Sessions, 2)
		for _, s := range list.Sessions {
			if !s.Current {
				status, _, _ = one.postForm("/account/sessions/"+s.ID+"/end", nil)
				require.Equal(t, http.StatusSeeOther, status)
			}
		}
		status, _ = two.send("GET", "/api/me", nil)
		require.Equal(t, http.StatusUnauthorized, status)

		status, loc, _ = one.postForm("/account/logout-everywhere", nil)
		require.Equal(t, http.StatusSeeOther, status)
		require.True(t, strings.HasPrefix(loc, "/login"), loc)
		status, _ = one.send("GET", "/api/me", nil)
		require.Equal(t, http.StatusUnauthorized, status)

		// Linking from the page: this student's Spark account has no work, so
		// it folds into the password account and the browser lands signed in.
		sso := newSSOBrowser(t, a.URL())
		c := studentClaims("pat-1")
		c.Email = "pat@home.test"
		status, _ = sso.sso(signSSO(t, ssoSecret, c))
		require.Equal(t, http.StatusSeeOther, status)
		status, _, page = sso.postForm("/account/link", url.Values{"email": {"pat@home.test"}, "password": {"wrong password"}})
		require.Equal(t, http.StatusUnauthorized, status)
		require.Contains(t, page, "Email or password is wrong.")
		status, loc, _ = sso.postForm("/account/link", url.Values{"email": {"pat@home.test"}, "password": {"pat password 2"}})
		require.Equal(t, http.StatusSeeOther, status)
		require.True(t, strings.HasPrefix(loc, "/account?flash="), loc)
		me := sso.me()
		require.True(t, me.HasPassword)
		require.Equal(t, "pat@home.test", me.Email)
		require.Equal(t, 1, countRows(t, a, `SELECT COUNT(*) FROM users`))
	})
}
