package web

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

const embedSecret = "spark-embed-test-secret-0123456789abcdef"

// withSparkSSO configures SPARK_SSO_SECRET (embedSecret) on e's server.
func (e *pfEnv) withSparkSSO(t *testing.T) {
	e.srv.Config.SparkSSOSecrets = []string{embedSecret}
	v, err := spark.NewSSOVerifier(t.Context(), spark.SSOConfig{Secrets: []string{embedSecret}, Clock: e.clock})
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	e.srv.SSO = v
}

func (e *pfEnv) embedToken(t *testing.T, secret, slug string, at time.Time) string {
	tok, err := spark.SignEmbedToken(secret, "spark-teacher-7", slug, 5*time.Minute, at)
	require.NoError(t, err)
	return tok
}

// TestPortfolioVisibilityChoices shows each visibility choice (public, link
// only, school only, private) to anonymous visitors, a linked parent, an
// observer and another student, for a consented minor, with what each sees:
// the page, indexing headers, the owner's reason and the strangers' page.
func TestPortfolioVisibilityChoices(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setupPortfolio(t, db)
		e.everyEvidence()
		v := e.viewers()
		e.setAge(14)
		e.setConsent(true)
		slug := e.student.PortfolioSlug
		page := "/portfolio/" + slug
		who := map[string]*http.Cookie{"anonymous": nil, "linked parent": v.parent, "observer": v.observer, "other student": v.otherStudent}
		for _, c := range []struct {
			vis       optio.Visibility
			strangers int
			indexed   bool
		}{
			{optio.VisibilityPublic, 200, true},
			{optio.VisibilityUnlisted, 200, false},
			{optio.VisibilitySchool, 404, false},
			{optio.VisibilityPrivate, 404, false},
		} {
			e.setVisibility(c.vis)
			for name, ck := range who {
				want := c.strangers
				if name == "linked parent" || name == "observer" {
					want = 200
				}
				res := e.do("GET", page, ck, map[string]string{"Accept": "text/html"})
				require.Equal(t, want, res.Code, "%s as %s", c.vis, name)
				body := res.Body.String()
				if want == 404 {
					require.Contains(t, body, "This portfolio is private", "%s as %s: a real page", c.vis, name)
					require.Contains(t, body, "<html")
					require.NotContains(t, body, "Maya")
					api := e.do("GET", "/api/public/portfolio/"+slug, ck, nil)
					require.Equal(t, 404, api.Code)
					require.Contains(t, api.Body.String(), `"code":"portfolio_private"`)
					continue
				}
				require.Contains(t, body, "Maya Ortiz")
				robots := res.Header().Get("X-Robots-Tag")
				if c.indexed {
					require.Empty(t, robots, "%s is indexed", c.vis)
					require.NotContains(t, body, `content="noindex"`)
				} else {
					require.Equal(t, "noindex", robots, "%s as %s", c.vis, name)
					require.Contains(t, body, `<meta name="robots" content="noindex">`)
				}
			}
			// The family learns why strangers do not see it; strangers never do.
			res := e.do("GET", page, v.parent, nil).Body.String()
			switch c.vis {
			case optio.VisibilitySchool:
				require.Contains(t, res, "school only")
			case optio.VisibilityPrivate:
				require.Contains(t, res, "This portfolio is private: only the student")
			default:
				require.NotContains(t, res, `id="hidden-reason"`)
			}
		}

		// Without consent a public portfolio is waiting for a parent, and the
		// owner and the parent are told so, with where to act.
		e.setVisibility(optio.VisibilityPublic)
		e.setConsent(false)
		require.Equal(t, 404, e.do("GET", page, nil, nil).Code)
		for _, ck := range []*http.Cookie{v.owner, v.parent} {
			body := e.do("GET", page, ck, nil).Body.String()
			require.Contains(t, body, "waiting for a parent&#39;s consent")
			require.Contains(t, body, `<a href="/family">Ask a parent to consent here</a>`)
			require.Contains(t, body, `Parents: <a href="/parent">give or withdraw consent</a>`)
		}
		var j map[string]any
		require.NoError(t, json.Unmarshal(e.do("GET", "/api/public/portfolio/"+slug, v.owner, nil).Body.Bytes(), &j))
		require.Contains(t, j["hidden_reason"], "waiting for a parent's consent")
	})
}

// TestPortfolioEmbedToken checks the school-only portfolio inside Spark: a
// Spark embed token opens the embed (framable by SPARK_ALLOWED_ORIGINS) and
// its files, once; a replayed, expired, wrongly signed or SSO token, a token
// for another portfolio and any token for a private portfolio are refused.
func TestPortfolioEmbedToken(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setupPortfolio(t, db)
		e.withSparkSSO(t)
		e.everyEvidence()
		e.setAge(14) // a minor without consent: school only needs none
		e.setVisibility(optio.VisibilitySchool)
		slug := e.student.PortfolioSlug
		embed := "/portfolio/" + slug + "/embed"
		require.Equal(t, 404, e.do("GET", embed, nil, nil).Code)

		tok := e.embedToken(t, embedSecret, slug, testNow)
		res := e.do("GET", embed+"?token="+tok, nil, nil)
		require.Equal(t, 200, res.Code, res.Body.String())
		require.Contains(t, res.Body.String(), "Maya Ortiz")
		require.NotContains(t, res.Body.String(), "diary.png", "private blocks stay hidden")
		require.Contains(t, res.Header().Get("Content-Security-Policy"), "frame-ancestors 'self' "+sparkOrigin)
		require.Equal(t, "noindex", res.Header().Get("X-Robots-Tag"))

		// The embed's images load through their grant, and only with it.
		m := regexp.MustCompile(`src="(/files/[^"]+)"`).FindStringSubmatch(res.Body.String())
		require.NotNil(t, m, "the embed shows an image")
		img := html.UnescapeString(m[1])
		require.Contains(t, img, "&g=")
		require.Equal(t, 200, e.do("GET", img, nil, nil).Code)
		noGrant, _, _ := strings.Cut(img, "&g=")
		require.Equal(t, 404, e.do("GET", noGrant, nil, nil).Code)
		require.Equal(t, 404, e.do("GET", img+"x", nil, nil).Code, "a forged grant")
		e.clock.Advance(fileGrantTTL + time.Second)
		require.Equal(t, 404, e.do("GET", img, nil, nil).Code, "an expired grant")

		now := e.clock.Now()
		sso, err := spark.SignToken(embedSecret, spark.Claims{Subject: "s-1", Role: optio.RoleStudent}, 5*time.Minute, now)
		require.NoError(t, err)
		fresh := e.embedToken(t, embedSecret, slug, now)
		require.Equal(t, 200, e.do("GET", embed+"?token="+fresh, nil, nil).Code)
		for name, c := range map[string]struct {
			token, code string
		}{
			"replayed":          {fresh, optio.ETokenReplayed},
			"expired":           {e.embedToken(t, embedSecret, slug, now.Add(-10*time.Minute)), spark.ETokenExpired},
			"wrong key":         {e.embedToken(t, "another-secret-0123456789abcdef0123", slug, now), spark.ETokenBadSignature},
			"an SSO token":      {sso, spark.ETokenMissingClaim},
			"another portfolio": {e.embedToken(t, embedSecret, "someone-else", now), spark.ETokenInvalidClaim},
		} {
			res := e.do("GET", embed+"?token="+url.QueryEscape(c.token), nil, map[string]string{"Accept": "application/json"})
			require.Equal(t, http.StatusUnauthorized, res.Code, name)
			require.Contains(t, res.Body.String(), `"code":"`+c.code+`"`, name)
			require.NotContains(t, res.Body.String(), "Maya", name)
		}

		// A private portfolio stays private, even to Spark.
		e.setVisibility(optio.VisibilityPrivate)
		require.Equal(t, 404, e.do("GET", embed+"?token="+e.embedToken(t, embedSecret, slug, now), nil, nil).Code)
		// An embed token opens only the embed, never the page.
		e.setVisibility(optio.VisibilitySchool)
		require.Equal(t, 404, e.do("GET", "/portfolio/"+slug+"?token="+e.embedToken(t, embedSecret, slug, now), nil, nil).Code)
	})
}

// TestPortfolioSparkDefaultVisibility checks the admin's default for new
// Spark students: set by the API and the page, given at provisioning, and
// refused to anyone but an admin or for an unknown value.
func TestPortfolioSparkDefaultVisibility(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setupPortfolio(t, db)
		v := e.viewers()
		put := func(c *http.Cookie, body string) *httptest.ResponseRecorder {
			r := httptest.NewRequest("PUT", "/api/admin/portfolio-default", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			r.AddCookie(c)
			w := httptest.NewRecorder()
			e.srv.ServeHTTP(w, r)
			return w
		}
		res := e.do("GET", "/api/admin/portfolio-default", v.admin, nil)
		require.Equal(t, 200, res.Code)
		require.JSONEq(t, `{"visibility":"public"}`, res.Body.String())
		require.Equal(t, 403, put(v.owner, `{"visibility":"school"}`).Code)
		bad := put(v.admin, `{"visibility":"everyone"}`)
		require.Equal(t, 400, bad.Code)
		require.Contains(t, bad.Body.String(), `"visibility"`)
		require.Equal(t, 200, put(v.admin, `{"visibility":"school"}`).Code)
		page := e.do("GET", "/admin/portfolio-default", v.admin, nil)
		require.Equal(t, 200, page.Code)
		require.Contains(t, page.Body.String(), `<option value="school" selected>`)

		nonces := 0
		login := func(sub string) *optio.User {
			nonces++
			res, err := db.SparkSSOLogin(t.Context(), optio.SSOLogin{Nonce: fmt.Sprint("n-", nonces), NonceExpiry: testNow.Add(time.Hour),
				Identity: optio.SparkIdentity{SparkUserID: sub, GivenName: "New", FamilyName: sub, Role: optio.RoleStudent}})
			require.NoError(t, err)
			return res.User
		}
		u := login("spark-new-1")
		require.Equal(t, optio.VisibilitySchool, u.Visibility)
		again, err := db.UserByID(t.Context(), u.ID)
		require.NoError(t, err)
		require.Equal(t, optio.VisibilitySchool, again.Visibility)
		require.Equal(t, 404, e.do("GET", "/portfolio/"+u.PortfolioSlug, nil, nil).Code)

		// Existing students keep theirs; the student may change it later.
		require.Equal(t, optio.VisibilityPublic, e.student.Visibility)
		require.Equal(t, 200, put(v.admin, `{"visibility":"private"}`).Code)
		require.Equal(t, optio.VisibilitySchool, login("spark-new-1").Visibility, "an existing account is not reset")
		require.Equal(t, optio.VisibilityPrivate, login("spark-new-2").Visibility)
	})
}

// TestParentPortfolioVisibility checks a linked parent can choose the
// visibility of their child's portfolio, and nobody else can.
func TestParentPortfolioVisibility(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setupPortfolio(t, db)
		v := e.viewers()
		put := func(c *http.Cookie, body string) *httptest.ResponseRecorder {
			r := httptest.NewRequest("PUT", "/api/parent/students/"+e.student.ID+"/portfolio-visibility", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			r.AddCookie(c)
			w := httptest.NewRecorder()
			e.srv.ServeHTTP(w, r)
			return w
		}
		require.Equal(t, 404, put(v.otherParent, `{"visibility":"private"}`).Code)
		require.Equal(t, 403, put(v.observer, `{"visibility":"private"}`).Code)
		require.Equal(t, 400, put(v.parent, `{"visibility":"friends"}`).Code)
		require.Equal(t, 200, e.do("GET", "/portfolio/"+e.student.PortfolioSlug, nil, nil).Code)
		res := put(v.parent, `{"visibility":"unlisted"}`)
		require.Equal(t, 200, res.Code, res.Body.String())
		page := e.do("GET", "/portfolio/"+e.student.PortfolioSlug, nil, nil)
		require.Equal(t, 200, page.Code)
		require.Equal(t, "noindex", page.Header().Get("X-Robots-Tag"))
		require.Equal(t, 200, put(v.parent, `{"visibility":"private"}`).Code)
		require.Equal(t, 404, e.do("GET", "/portfolio/"+e.student.PortfolioSlug, nil, nil).Code)
	})
}
