package app_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// fetchAs is the Fetch Metadata a browser sends for one kind of load.
type fetchAs struct{ site, mode, dest string }

var (
	// A link clicked in Spark (another site), opened as a page.
	topLevelFromSpark = fetchAs{"cross-site", "navigate", "document"}
	// An attacker's page: <img src>, <script src>, fetch(), <iframe>.
	asImage  = fetchAs{"cross-site", "no-cors", "image"}
	asScript = fetchAs{"cross-site", "no-cors", "script"}
	asFetch  = fetchAs{"cross-site", "cors", "empty"}
	asFrame  = fetchAs{"cross-site", "navigate", "iframe"}
)

// load requests path as the browser would for kind f (nil body: GET).
func (b *ssoBrowser) load(method, path string, f fetchAs, form url.Values, origin string) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	require.NoError(b.t, err)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if f.site != "" {
		req.Header.Set("Sec-Fetch-Site", f.site)
		req.Header.Set("Sec-Fetch-Mode", f.mode)
		req.Header.Set("Sec-Fetch-Dest", f.dest)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := b.http.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

func (b *ssoBrowser) cookie() string {
	u, _ := url.Parse(b.base)
	for _, c := range b.http.Jar.Cookies(u) {
		if c.Name == "optio_session" {
			return c.Value
		}
	}
	return ""
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// Issue 17, item 9: another site could make a signed-in child's browser
// load /spark/sso?token=<the attacker's token> as an <img> (or a script,
// fetch, hidden frame) and silently switch the child into the attacker's
// account. The link now works only as a page the browser opens; the
// attacker's token is not even spent.
func TestSSOOnlyAsTopLevelNavigation(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		a := newSSOEnv(t, d).start(t)
		child := newSSOBrowser(t, a.URL())
		status, _ := child.sso(signSSO(t, ssoSecret, studentClaims("kid")))
		require.Equal(t, http.StatusSeeOther, status)
		kid := child.me()

		attacker := signSSO(t, ssoSecret, spark.Claims{Subject: "mallory", Email: "mallory@evil.example", GivenName: "Mal", Role: optio.RoleStudent})
		for name, f := range map[string]fetchAs{"img": asImage, "script": asScript, "fetch": asFetch, "iframe": asFrame} {
			resp, body := child.load("GET", "/spark/sso?token="+attacker, f, nil, "")
			require.Equal(t, http.StatusForbidden, resp.StatusCode, name)
			require.Contains(t, body, "open it yourself from Spark", name)
			require.Empty(t, resp.Header.Values("Set-Cookie"), name)
			require.Equal(t, kid.ID, child.me().ID, "%s: still the child", name)
		}
		require.Equal(t, 1, countRows(t, a, `SELECT COUNT(*) FROM users`), "no account was made for the attacker's token")
		require.Equal(t, 1, countRows(t, a, `SELECT COUNT(*) FROM sso_nonces`), "the attacker's nonce was not used")
		_, _, code := newSSOBrowser(t, a.URL()).ssoError(attacker)
		require.Equal(t, "", code, "the token is still unused (it signs its owner in)")

		// A genuine click in Spark, opened as a page, signs in as before.
		fresh := newSSOBrowser(t, a.URL())
		resp, _ := fresh.load("GET", "/spark/sso?token="+signSSO(t, ssoSecret, studentClaims("kid")), topLevelFromSpark, nil, "")
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		require.Equal(t, kid.ID, fresh.me().ID)

		// Inside Spark's iframe (OPTIO_COOKIE_SAMESITE_NONE) a framed
		// navigation is what Spark does, so it is allowed there.
		framed := newSSOEnv(t, d).set("OPTIO_BASE_URL", "https://optio.school.test").set("OPTIO_COOKIE_SAMESITE_NONE", "true").start(t)
		resp, _ = newSSOBrowser(t, framed.URL()).load("GET", "/spark/sso?token="+signSSO(t, ssoSecret, studentClaims("s-frame")), asFrame, nil, "")
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		resp, _ = newSSOBrowser(t, framed.URL()).load("GET", "/spark/sso?token="+signSSO(t, ssoSecret, studentClaims("s-frame")), asImage, nil, "")
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
	})
}

// Issue 17, item 9: when a different person is signed in, following a
// sign-in link asks before switching accounts. The page spends nothing;
// only its own form, bound to this browser's session, completes the
// switch, once.
func TestSSOAsksBeforeSwitchingAccounts(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		a := newSSOEnv(t, d).start(t)
		child := newSSOBrowser(t, a.URL())
		status, _ := child.sso(signSSO(t, ssoSecret, studentClaims("kid")))
		require.Equal(t, http.StatusSeeOther, status)
		kid := child.me()

		// The same person signing in again goes straight through.
		status, loc := child.sso(signSSO(t, ssoSecret, studentClaims("kid")))
		require.Equal(t, http.StatusSeeOther, status)
		require.Equal(t, "/dashboard", loc)
		require.Equal(t, kid.ID, child.me().ID)
		oldCookie := child.cookie()

		// An attacker's own fresh token, opened as a page (a link on their site).
		attacker := signSSO(t, ssoSecret, spark.Claims{Subject: "mallory", Email: "mallory@evil.example", GivenName: "Mal", FamilyName: "Ice", Role: optio.RoleStudent})
		for range 2 { // showing the page twice spends nothing
			resp, body := child.load("GET", "/spark/sso?token="+attacker+"&return_to=/tutor", topLevelFromSpark, nil, "")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Contains(t, body, "You are signed in to Optio as <strong>Maya Ortiz kid (kid@school.test)</strong>")
			require.Contains(t, body, "Continue as Mal Ice (mallory@evil.example)")
			require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
			require.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"))
			require.Empty(t, resp.Header.Values("Set-Cookie"))
			require.Equal(t, kid.ID, child.me().ID, "nothing switched")
		}
		require.Equal(t, 1, countRows(t, a, `SELECT COUNT(*) FROM users`))
		require.Equal(t, 2, countRows(t, a, `SELECT COUNT(*) FROM sso_nonces`), "only the child's two logins used nonces")
		_, page := child.load("GET", "/spark/sso?token="+attacker, topLevelFromSpark, nil, "")
		csrf := csrfField.FindStringSubmatch(page)
		require.Len(t, csrf, 2, page)

		// The attacker cannot send the confirmation for the child: not from
		// their site, not without the value bound to the child's session.
		form := url.Values{"token": {attacker}, "csrf": {csrf[1]}}
		resp, _ := child.load("POST", "/spark/sso/confirm", fetchAs{"cross-site", "navigate", "document"}, form, "https://evil.example")
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "cross-site form post")
		for name, v := range map[string]url.Values{
			"no csrf":                {"token": {attacker}},
			"wrong csrf":             {"token": {attacker}, "csrf": {"AAAA"}},
			"csrf for another token": {"token": {attacker}, "csrf": {csrfField.FindStringSubmatch(mustPage(t, child, signSSO(t, ssoSecret, studentClaims("other"))))[1]}},
		} {
			resp, body := child.load("POST", "/spark/sso/confirm", fetchAs{"same-origin", "navigate", "document"}, v, "")
			require.Equal(t, http.StatusForbidden, resp.StatusCode, name)
			require.Contains(t, body, "still signed in as before", name)
		}
		stranger := newSSOBrowser(t, a.URL()) // signed in as someone else: their own csrf values do not fit
		status, _ = stranger.sso(signSSO(t, ssoSecret, studentClaims("stranger")))
		require.Equal(t, http.StatusSeeOther, status)
		resp, _ = stranger.load("POST", "/spark/sso/confirm", fetchAs{"same-origin", "navigate", "document"}, form, "")
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "a csrf value from another session")
		require.Equal(t, kid.ID, child.me().ID)

		// The child's own click on "Continue" switches, once.
		resp, _ = child.load("POST", "/spark/sso/confirm", fetchAs{"same-origin", "navigate", "document"},
			url.Values{"token": {attacker}, "csrf": {csrf[1]}, "return_to": {"/tutor"}}, a.URL())
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		require.Equal(t, "/tutor", resp.Header.Get("Location"))
		mal := child.me()
		require.Equal(t, "mallory@evil.example", mal.Email)
		require.NotEqual(t, kid.ID, mal.ID)

		// The child's old session ended with the switch.
		jar, _ := cookiejar.New(nil)
		old := newSSOBrowser(t, a.URL())
		old.http.Jar = jar
		u, _ := url.Parse(a.URL())
		jar.SetCookies(u, []*http.Cookie{{Name: "optio_session", Value: oldCookie}})
		resp, _ = old.get("/api/me", "json")
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

		// Replays: the link and the form both used the nonce up.
		status, code, _ := newSSOBrowser(t, a.URL()).ssoError(attacker)
		require.Equal(t, http.StatusUnauthorized, status)
		require.Equal(t, optio.ETokenReplayed, code)
		require.Equal(t, 1, countRows(t, a, `SELECT COUNT(*) FROM sessions WHERE user_id = $1`, mal.ID))
	})
}

// mustPage is the switch page b sees for token.
func mustPage(t *testing.T, b *ssoBrowser, token string) string {
	t.Helper()
	resp, body := b.load("GET", "/spark/sso?token="+token, topLevelFromSpark, nil, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return body
}
