package app_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/app"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// ssoMapCourse maps a Spark course to a new Optio quest, as the course-mapping
// code will, and returns the quest.
func ssoMapCourse(t *testing.T, a *app.App, course string) *optio.Quest {
	t.Helper()
	q := storetest.MustCreateQuest(t, a.Store, "OnFire "+course, 50, optio.PillarSTEM)
	_, err := a.Store.W.ExecContext(context.Background(), `INSERT INTO spark_course_mappings (id, spark_course_id, course_title, optio_quest_id, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$5) ON CONFLICT (spark_course_id) DO UPDATE SET course_title = excluded.course_title,
		optio_quest_id = excluded.optio_quest_id`, uuid.NewString(), course, q.Title, q.ID, time.Now().UTC())
	require.NoError(t, err)
	return q
}

func TestSSOStudentSignsInOnceAndEnrols(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		// Without auto-map an unmapped course is remembered, not mapped.
		a := newSSOEnv(t, d).set("SPARK_AUTO_MAP", "false").start(t)
		mapped := ssoMapCourse(t, a, "bio-101")

		b := newSSOBrowser(t, a.URL())
		tok := signSSO(t, ssoSecret, studentClaims("s-1", "bio-101", "chem-201"))
		status, loc := b.sso(tok)
		require.Equal(t, http.StatusSeeOther, status)
		require.Equal(t, "/dashboard", loc)

		me := b.me()
		require.Equal(t, optio.RoleStudent, me.Role)
		require.Equal(t, "s-1@school.test", me.Email)
		require.Equal(t, "Maya", me.GivenName)
		require.False(t, me.Provisional)
		require.NotEmpty(t, me.PortfolioSlug, "a student gets a stable portfolio URL")

		// The mapped course enrolled the student in its quest; the unmapped
		// one is remembered.
		progress, err := a.Store.QuestProgressFor(context.Background(), me.ID)
		require.NoError(t, err)
		require.Len(t, progress, 1)
		require.Equal(t, mapped.ID, progress[0].Quest.ID)
		require.Equal(t, 2, countRows(t, a, `SELECT COUNT(*) FROM spark_enrollments WHERE user_id = $1 AND status = 'enrolled'`, me.ID))

		// When chem-201 is mapped later, the remembered enrolment turns into a quest.
		chem := ssoMapCourse(t, a, "chem-201")
		n, err := a.Store.EnrollMappedQuestsForCourse(context.Background(), "chem-201")
		require.NoError(t, err)
		require.Equal(t, 1, n)
		progress, err = a.Store.QuestProgressFor(context.Background(), me.ID)
		require.NoError(t, err)
		require.Len(t, progress, 2)
		require.Contains(t, []string{progress[0].Quest.ID, progress[1].Quest.ID}, chem.ID)
		n, err = a.Store.EnrollMappedQuestsForCourse(context.Background(), "chem-201")
		require.NoError(t, err)
		require.Zero(t, n, "enrolling twice adds nothing")

		// The same link again is a replay, in JSON and in the browser.
		status, code, _ := newSSOBrowser(t, a.URL()).ssoError(tok)
		require.Equal(t, http.StatusUnauthorized, status)
		require.Equal(t, optio.ETokenReplayed, code)
		resp, page := newSSOBrowser(t, a.URL()).get("/spark/sso?token="+tok, "html")
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		require.Contains(t, page, "This sign-in link was already used")
		require.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"))

		// A returning student with a new token is the same user, renamed.
		c := studentClaims("s-1", "bio-101")
		c.GivenName, c.Email = "Maia", "maia@school.test"
		b2 := newSSOBrowser(t, a.URL())
		status, _ = b2.sso(signSSO(t, ssoSecret, c))
		require.Equal(t, http.StatusSeeOther, status)
		again := b2.me()
		require.Equal(t, me.ID, again.ID)
		require.Equal(t, "Maia", again.GivenName)
		require.Equal(t, "maia@school.test", again.Email)
		require.Equal(t, me.PortfolioSlug, again.PortfolioSlug, "the portfolio URL is stable")
		require.Equal(t, 1, countRows(t, a, `SELECT COUNT(*) FROM users`))

		_, metrics := newSSOBrowser(t, a.MetricsURL()).get("/metrics", "html")
		require.Contains(t, metrics, `optio_sso_attempts_total{outcome="ok"} 2`)
		require.Contains(t, metrics, `optio_sso_attempts_total{outcome="replayed"} 2`)
	})
}

func TestSSOFailuresExplainThemselves(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		a := newSSOEnv(t, d).start(t)
		now := time.Now()
		expired, err := spark.SignToken(ssoSecret, studentClaims("s-old"), 5*time.Minute, now.Add(-20*time.Minute))
		require.NoError(t, err)
		future, err := spark.SignToken(ssoSecret, studentClaims("s-future"), 5*time.Minute, now.Add(10*time.Minute))
		require.NoError(t, err)
		noSub := studentClaims("")
		noSub.Subject = ""
		wrongIss := studentClaims("s-iss")
		wrongIss.Issuer = "someone-else"

		for _, tc := range []struct {
			name, token, code string
			status            int
			page              string
		}{
			{"missing", "", "token_missing", 400, "This sign-in link is incomplete."},
			{"expired", expired, spark.ETokenExpired, 401, "This sign-in link has expired. Go back to Spark and click View Portfolio again."},
			{"not yet valid", future, spark.ETokenNotYetValid, 401, "This sign-in link is not valid yet"},
			{"bad signature", signSSO(t, "another-secret-entirely", studentClaims("s-x")), spark.ETokenBadSignature, 401, "it was not signed by your school"},
			{"missing claim", signSSO(t, ssoSecret, noSub), spark.ETokenMissingClaim, 401, "reason: missing claim"},
			{"wrong issuer", signSSO(t, ssoSecret, wrongIss), spark.ETokenWrongIssuer, 401, "reason: wrong issuer"},
			{"garbage", "not.a.jwt", spark.ETokenMalformed, 401, "reason: malformed"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b := newSSOBrowser(t, a.URL())
				status, code, msg := b.ssoError(url.QueryEscape(tc.token))
				require.Equal(t, tc.status, status)
				require.Equal(t, tc.code, code)
				require.NotEmpty(t, msg)
				resp, page := b.get("/spark/sso?token="+url.QueryEscape(tc.token), "html")
				require.Equal(t, tc.status, resp.StatusCode)
				require.Contains(t, resp.Header.Get("Content-Type"), "text/html")
				require.Contains(t, page, tc.page)
				require.Equal(t, 401, b.do401())
			})
		}
		require.Zero(t, countRows(t, a, `SELECT COUNT(*) FROM users`), "no failure creates anyone")
		require.Zero(t, countRows(t, a, `SELECT COUNT(*) FROM sso_nonces`))

		// Without SPARK_SSO_SECRET or a JWKS, SSO is not configured.
		bare := newSSOEnv(t, d).set("SPARK_SSO_SECRET", "").start(t)
		status, code, _ := newSSOBrowser(t, bare.URL()).ssoError(signSSO(t, ssoSecret, studentClaims("s-1")))
		require.Equal(t, http.StatusServiceUnavailable, status)
		require.Equal(t, spark.ESSONotConfigured, code)
		resp, page := newSSOBrowser(t, bare.URL()).get("/spark/sso?token=x", "html")
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		require.Contains(t, page, "Signing in from Spark is not set up on this Optio yet.")
	})
}

// do401 checks the refused ssoBrowser holds no session.
func (b *ssoBrowser) do401() int {
	resp, _ := b.get("/api/me", "json")
	return resp.StatusCode
}

func TestSSOTwoServersRefuseTheSameNonce(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		e := newSSOEnv(t, d)
		one, two := e.start(t), e.start(t) // two processes, one database
		tok := signSSO(t, ssoSecret, studentClaims("s-1"))
		status, _ := newSSOBrowser(t, one.URL()).sso(tok)
		require.Equal(t, http.StatusSeeOther, status)
		status, code, _ := newSSOBrowser(t, two.URL()).ssoError(tok)
		require.Equal(t, http.StatusUnauthorized, status)
		require.Equal(t, optio.ETokenReplayed, code)

		// A burst of the same fresh token at both servers: exactly one wins,
		// for a new student (s-2) and for a returning one (s-1, whose login
		// skips the enrolments it already has), and only the winner has a
		// session.
		for _, sub := range []string{"s-2", "s-1"} {
			sessions := countRows(t, one, `SELECT COUNT(*) FROM sessions`)
			tok = signSSO(t, ssoSecret, studentClaims(sub))
			var wg sync.WaitGroup
			results := make(chan int, 16)
			for i := range 16 {
				srv := one
				if i%2 == 1 {
					srv = two
				}
				wg.Go(func() {
					s, _, _ := newSSOBrowser(t, srv.URL()).ssoError(tok)
					results <- s
				})
			}
			wg.Wait()
			close(results)
			ok, replayed := 0, 0
			for s := range results {
				switch s {
				case http.StatusSeeOther:
					ok++
				case http.StatusUnauthorized:
					replayed++
				default:
					t.Errorf("unexpected status %d", s)
				}
			}
			require.Equal(t, 1, ok, sub)
			require.Equal(t, 15, replayed, sub)
			require.Equal(t, 1, countRows(t, one, `SELECT COUNT(*) FROM lms_integrations WHERE external_user_id = '`+sub+`'`))
			require.Equal(t, sessions+1, countRows(t, one, `SELECT COUNT(*) FROM sessions`), sub)
		}
	})
}

func TestSSORotatedSecret(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		a := newSSOEnv(t, d).set("SPARK_SSO_SECRET", "new-secret-aaaaaaaaaaaaaaaaaaaaaaa,old-secret-bbbbbbbbbbbbbbbbbbbbbbb").start(t)
		for _, secret := range []string{"new-secret-aaaaaaaaaaaaaaaaaaaaaaa", "old-secret-bbbbbbbbbbbbbbbbbbbbbbb"} {
			status, loc := newSSOBrowser(t, a.URL()).sso(signSSO(t, secret, studentClaims("s-1")))
			require.Equal(t, http.StatusSeeOther, status, secret)
			require.Equal(t, "/dashboard", loc)
		}
		status, code, _ := newSSOBrowser(t, a.URL()).ssoError(signSSO(t, ssoSecret, studentClaims("s-1")))
		require.Equal(t, http.StatusUnauthorized, status)
		require.Equal(t, spark.ETokenBadSignature, code)
	})
}

func TestSSOJWKSSignedTokens(t *testing.T) {
	t.Parallel()
	rsaKey, err := spark.GenerateSigningKey("RS256", "spark-rsa-1")
	require.NoError(t, err)
	ecKey, err := spark.GenerateSigningKey("ES256", "spark-ec-1")
	require.NoError(t, err)
	jwks, err := spark.PublicJWKS(rsaKey, ecKey)
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	}))
	t.Cleanup(srv.Close)
	stranger, err := spark.GenerateSigningKey("ES256", "spark-ec-1") // same kid, other key
	require.NoError(t, err)

	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		a := newSSOEnv(t, d).set("SPARK_SSO_SECRET", "").set("SPARK_SSO_JWKS_URL", srv.URL+"/.well-known/jwks.json").start(t)
		for _, key := range []jwk.Key{rsaKey, ecKey} {
			tok, err := spark.SignTokenWithKey(key, studentClaims("s-jwks"), 5*time.Minute, time.Now())
			require.NoError(t, err)
			b := newSSOBrowser(t, a.URL())
			status, loc := b.sso(tok)
			require.Equal(t, http.StatusSeeOther, status)
			require.Equal(t, "/dashboard", loc)
			require.Equal(t, "s-jwks@school.test", b.me().Email)
		}
		forged, err := spark.SignTokenWithKey(stranger, studentClaims("s-jwks"), 5*time.Minute, time.Now())
		require.NoError(t, err)
		status, code, _ := newSSOBrowser(t, a.URL()).ssoError(forged)
		require.Equal(t, http.StatusUnauthorized, status)
		require.Equal(t, spark.ETokenBadSignature, code)
		// HS256 is refused when no secret is configured.
		status, code, _ = newSSOBrowser(t, a.URL()).ssoError(signSSO(t, ssoSecret, studentClaims("s-jwks")))
		require.Equal(t, http.StatusUnauthorized, status)
		require.Equal(t, spark.ETokenAlgorithmRefused, code)
	})
}

func TestSSOParentLinksChildren(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		a := newSSOEnv(t, d).start(t)
		// One child has signed in before; the other Optio has never met.
		kid1 := newSSOBrowser(t, a.URL())
		status, _ := kid1.sso(signSSO(t, ssoSecret, studentClaims("kid-1")))
		require.Equal(t, http.StatusSeeOther, status)
		kid1ID := kid1.me().ID

		parent := newSSOBrowser(t, a.URL())
		status, loc := parent.sso(signSSO(t, ssoSecret, spark.Claims{Subject: "mum-1", Email: "mum@family.test", GivenName: "Ana", FamilyName: "Ortiz",
			Role: optio.RoleParent, SparkStudentIDs: []string{"kid-1", "kid-2", "kid-2", "mum-1"}, SparkCourseIDs: []string{"bio-101"}}))
		require.Equal(t, http.StatusSeeOther, status)
		require.Equal(t, "/parent", loc)
		p := parent.me()
		require.Equal(t, optio.RoleParent, p.Role)
		require.Equal(t, 2, countRows(t, a, `SELECT COUNT(*) FROM parent_links WHERE parent_id = $1 AND linked_via = 'sso'`, p.ID))
		require.Equal(t, 1, countRows(t, a, `SELECT COUNT(*) FROM parent_links WHERE parent_id = $1 AND student_id = $2`, p.ID, kid1ID))
		require.Zero(t, countRows(t, a, `SELECT COUNT(*) FROM spark_enrollments WHERE user_id = $1`, p.ID), "a parent's courses are not enrolments")

		kid2, err := a.Store.UserBySparkID(context.Background(), "kid-2")
		require.NoError(t, err)
		require.True(t, kid2.Provisional, "an unknown child waits as a provisional student")

		// The child later signs in: the same user, completed, still linked.
		b := newSSOBrowser(t, a.URL())
		status, _ = b.sso(signSSO(t, ssoSecret, studentClaims("kid-2")))
		require.Equal(t, http.StatusSeeOther, status)
		me := b.me()
		require.Equal(t, kid2.ID, me.ID)
		require.False(t, me.Provisional)
		require.Equal(t, 1, countRows(t, a, `SELECT COUNT(*) FROM parent_links WHERE parent_id = $1 AND student_id = $2`, p.ID, me.ID))

		// Signing in again links nothing twice.
		status, _ = newSSOBrowser(t, a.URL()).sso(signSSO(t, ssoSecret, spark.Claims{Subject: "mum-1", Role: optio.RoleParent, SparkStudentIDs: []string{"kid-1", "kid-2"}}))
		require.Equal(t, http.StatusSeeOther, status)
		require.Equal(t, 2, countRows(t, a, `SELECT COUNT(*) FROM parent_links WHERE parent_id = $1`, p.ID))
		require.Equal(t, 2, countRows(t, a, `SELECT COUNT(*) FROM audit_log WHERE action = 'spark.parent_linked' AND actor_id = $1`, p.ID))
	})
}

func TestSSOCompletesWebhookFirstStudent(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		a := newSSOEnv(t, d).start(t)
		prov, err := a.Store.ResolveSparkUser(context.Background(), optio.SparkIdentity{SparkUserID: "s-hook", GivenName: "Leo"}, optio.LinkedViaWebhook)
		require.NoError(t, err)
		require.True(t, prov.Provisional)

		b := newSSOBrowser(t, a.URL())
		status, loc := b.sso(signSSO(t, ssoSecret, studentClaims("s-hook")))
		require.Equal(t, http.StatusSeeOther, status)
		require.Equal(t, "/dashboard", loc)
		me := b.me()
		require.Equal(t, prov.ID, me.ID, "never duplicated")
		require.False(t, me.Provisional)
		require.Equal(t, "s-hook@school.test", me.Email)
		require.Equal(t, 1, countRows(t, a, `SELECT COUNT(*) FROM users`))
	})
}

func TestSSORoles(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		e := newSSOEnv(t, d)
		a := e.start(t)
		admin := spark.Claims{Subject: "boss", Email: "boss@school.test", GivenName: "Pat", FamilyName: "Lee", Role: optio.RoleAdmin}

		// Admin from Spark refused by default, with a clear message, and nothing created.
		status, code, msg := newSSOBrowser(t, a.URL()).ssoError(signSSO(t, ssoSecret, admin))
		require.Equal(t, http.StatusForbidden, status)
		require.Equal(t, optio.ESSOAdminNotAllowed, code)
		require.Contains(t, msg, "SPARK_SSO_ALLOW_ADMIN")
		resp, page := newSSOBrowser(t, a.URL()).get("/spark/sso?token="+signSSO(t, ssoSecret, admin), "html")
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		require.Contains(t, page, "does not accept administrator sign-ins from Spark")
		require.Zero(t, countRows(t, a, `SELECT COUNT(*) FROM users`))

		// A student's role cannot be escalated by a later token.
		st := newSSOBrowser(t, a.URL())
		status, _ = st.sso(signSSO(t, ssoSecret, studentClaims("s-1")))
		require.Equal(t, http.StatusSeeOther, status)
		for _, role := range []optio.Role{optio.RoleAdmin, optio.RoleParent} {
			c := studentClaims("s-1")
			c.Role, c.SparkStudentIDs = role, []string{"victim"}
			status, code, _ := newSSOBrowser(t, a.URL()).ssoError(signSSO(t, ssoSecret, c))
			require.Equal(t, http.StatusForbidden, status, role)
			require.NotEqual(t, "", code)
		}
		c := studentClaims("s-1")
		c.Role = optio.RoleParent
		_, code, msg = newSSOBrowser(t, a.URL()).ssoError(signSSO(t, ssoSecret, c))
		require.Equal(t, optio.ESSORoleMismatch, code)
		require.Contains(t, msg, "a student in Optio")
		u, err := a.Store.UserBySparkID(context.Background(), "s-1")
		require.NoError(t, err)
		require.Equal(t, optio.RoleStudent, u.Role)
		require.Zero(t, countRows(t, a, `SELECT COUNT(*) FROM parent_links`))
		_, err = a.Store.UserBySparkID(context.Background(), "victim")
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err), "a refused login leaves nothing behind")

		// An Optio admin (password account, created as `optio admin create`
		// does: email verified) cannot be entered through Spark by email.
		_, err = a.Store.CreateUser(context.Background(), optio.NewUser{Email: "head@school.test", GivenName: "Head", FamilyName: "Teacher", Role: optio.RoleAdmin,
			EmailVerified: true})
		require.NoError(t, err)
		h := studentClaims("s-head")
		h.Email = "head@school.test"
		status, code, _ = newSSOBrowser(t, a.URL()).ssoError(signSSO(t, ssoSecret, h))
		require.Equal(t, http.StatusForbidden, status)
		require.Equal(t, optio.ESSOAdminNotAllowed, code)

		// With SPARK_SSO_ALLOW_ADMIN, on the same database: a new admin, and an
		// existing student promoted (audited).
		b := e.set("SPARK_SSO_ALLOW_ADMIN", "true").start(t)
		boss := newSSOBrowser(t, b.URL())
		status, loc := boss.sso(signSSO(t, ssoSecret, admin))
		require.Equal(t, http.StatusSeeOther, status)
		require.Equal(t, "/admin", loc)
		require.Equal(t, optio.RoleAdmin, boss.me().Role)
		promoted := newSSOBrowser(t, b.URL())
		c = studentClaims("s-1")
		c.Role = optio.RoleAdmin
		status, loc = promoted.sso(signSSO(t, ssoSecret, c))
		require.Equal(t, http.StatusSeeOther, status)
		require.Equal(t, "/admin", loc)
		require.Equal(t, optio.RoleAdmin, promoted.me().Role)
		require.Equal(t, 1, countRows(t, b, `SELECT COUNT(*) FROM audit_log WHERE action = 'spark.sso_role_changed' AND subject_id = $1`, u.ID))
		// Even so, a parent token for a student stays refused.
		c = studentClaims("s-new")
		_, _ = newSSOBrowser(t, b.URL()).sso(signSSO(t, ssoSecret, c))
		c.Role = optio.RoleParent
		_, code, _ = newSSOBrowser(t, b.URL()).ssoError(signSSO(t, ssoSecret, c))
		require.Equal(t, optio.ESSORoleMismatch, code)
	})
}

func TestSSOReturnToStaysOnOptio(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		a := newSSOEnv(t, d).start(t)
		for i, tc := range []struct{ returnTo, want string }{
			{"/quests?tab=spark", "/quests?tab=spark"},
			{"/portfolio/maya-ortiz", "/portfolio/maya-ortiz"},
			{"//evil.com", "/dashboard"},
			{"//evil.com/path", "/dashboard"},
			{`/\evil.com`, "/dashboard"},
			{`\\evil.com`, "/dashboard"},
			{"https://evil.com", "/dashboard"},
			{"http:evil.com", "/dashboard"},
			{"javascript:alert(1)", "/dashboard"},
			{"JaVaScRiPt:alert(1)", "/dashboard"},
			{"%2F%2Fevil.com", "/dashboard"},                // decoded once by the query: //evil.com
			{"/%2F%2Fevil.com", "/dashboard"},               // //evil.com after one more decoding
			{"/%5Cevil.com", "/dashboard"},                  // /\evil.com after decoding
			{"%252F%252Fevil.com", "/dashboard"},            // double-encoded
			{"/\t/evil.com", "/dashboard"},                  // browsers drop tabs
			{"/%09/evil.com", "/dashboard"},                 // ... encoded
			{"/\x00//evil.com", "/dashboard"},               // control character
			{"evil.com", "/dashboard"},                      // relative without a slash
			{" //evil.com", "/dashboard"},                   // leading space
			{"/..//evil.com", "/evil.com"},                  // dot segments clean to a same-origin path
			{"https:\\\\evil.com", "/dashboard"},            // backslash scheme-relative
			{"/" + strings.Repeat("a", 3000), "/dashboard"}, // absurdly long
		} {
			b := newSSOBrowser(t, a.URL())
			tok := signSSO(t, ssoSecret, studentClaims("s-"+string(rune('a'+i))))
			status, loc := b.sso(tok, "&return_to="+url.QueryEscape(tc.returnTo))
			require.Equal(t, http.StatusSeeOther, status, tc.returnTo)
			require.Equal(t, tc.want, loc, "return_to %q", tc.returnTo)
			u, err := url.Parse(loc)
			require.NoError(t, err)
			require.Empty(t, u.Host, tc.returnTo)
		}
	})
}

func TestSSOTokenNeverLogged(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		var logs ssoLogSink
		e := newSSOEnv(t, d)
		e.logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		a := e.start(t)
		good := signSSO(t, ssoSecret, studentClaims("s-log"))
		bad := signSSO(t, "wrong-secret-zzzzzzzzzzzzzzzzzzzzzzz", studentClaims("s-log"))
		expired, err := spark.SignToken(ssoSecret, studentClaims("s-log"), time.Minute, time.Now().Add(-time.Hour))
		require.NoError(t, err)
		admin := signSSO(t, ssoSecret, spark.Claims{Subject: "boss", Role: optio.RoleAdmin})
		b := newSSOBrowser(t, a.URL())
		for _, tok := range []string{good, good, bad, expired, admin} {
			b.sso(tok)
			b.ssoError(tok)
		}
		_, metrics := newSSOBrowser(t, a.MetricsURL()).get("/metrics", "html")
		out := logs.String()
		require.Contains(t, out, `"msg":"spark sso"`, "the capture works")
		require.Contains(t, out, `"msg":"spark sso refused"`)
		for _, tok := range []string{good, bad, expired, admin} {
			sig := tok[strings.LastIndex(tok, ".")+1:]
			require.NotContains(t, out, tok)
			require.NotContains(t, out, sig, "a token's signature is in the log")
			require.NotContains(t, metrics, sig)
		}
		require.NotContains(t, out, "token=")
	})
}

func TestSSOCookieWorksInSparkIframe(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		a := newSSOEnv(t, d).set("OPTIO_BASE_URL", "https://optio.school.test").set("OPTIO_COOKIE_SAMESITE_NONE", "true").start(t)
		resp, _ := newSSOBrowser(t, a.URL()).get("/spark/sso?token="+signSSO(t, ssoSecret, studentClaims("s-frame")), "html")
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		var cookie *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == "optio_session" {
				cookie = c
			}
		}
		require.NotNil(t, cookie)
		require.Equal(t, http.SameSiteNoneMode, cookie.SameSite)
		require.True(t, cookie.Secure)
		require.True(t, cookie.Partitioned)
		require.True(t, cookie.HttpOnly)
		raw := strings.Join(resp.Header.Values("Set-Cookie"), "\n")
		require.Contains(t, raw, "SameSite=None")
		require.Contains(t, raw, "Secure")
		require.Contains(t, raw, "Partitioned")

		// Without the setting the cookie is Lax.
		plain := newSSOEnv(t, d).start(t)
		resp, _ = newSSOBrowser(t, plain.URL()).get("/spark/sso?token="+signSSO(t, ssoSecret, studentClaims("s-lax")), "html")
		require.Contains(t, strings.Join(resp.Header.Values("Set-Cookie"), "\n"), "SameSite=Lax")
	})
}
