package app_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/lti"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
	"github.com/optio-edu/optio/web"
)

var ltiStart = time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)

// launchAs runs a whole launch for sub with role in a fresh browser and
// returns the browser and where Optio sent it.
func launchAs(t *testing.T, p *testPlatform, base string, clock optio.Clock, sub, role string, mod func(map[string]any)) (*ssoBrowser, string) {
	t.Helper()
	b := newSSOBrowser(t, base)
	state, nonce := b.ltiLogin(p, sub)
	c := p.claims(clock.Now(), nonce, sub, role, base)
	if mod != nil {
		mod(c)
	}
	resp, body := b.ltiLaunch(p.sign(c), state, "html")
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
	return b, resp.Header.Get("Location")
}

func TestLTILaunchLandsEachRole(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		clock := optio.NewFakeClock(ltiStart)
		a, base := startLTIApp(t, d, clock)
		p := newTestPlatform(t)
		p.register(t, a)

		// A learner: created from the claims, enrolled in the course's quest, on their dashboard.
		stu := newSSOBrowser(t, base)
		state, nonce := stu.ltiLogin(p, "stu-1")
		form := p.sign(p.claims(clock.Now(), nonce, "stu-1", optio.LTIRoleLearner, base))
		resp, body := stu.ltiLaunch(form, state, "html")
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
		require.Equal(t, "/dashboard", resp.Header.Get("Location"))
		for _, c := range resp.Cookies() {
			if c.Name == "optio_session" || strings.HasPrefix(c.Name, "optio_lti") {
				require.Equal(t, http.SameSiteLaxMode, c.SameSite, "plain-http Optio: Lax, which reaches a frame on the same site (%s)", c.Name)
			}
		}
		me := stu.me()
		require.Equal(t, "Given stu-1", me.GivenName)
		require.Equal(t, "stu-1@school.test", me.Email)
		resp, body = stu.get("/dashboard", "html")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, body, "Biology 9", "the course's quest is on the dashboard")
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'self' "+p.srv.URL,
			"the launching platform may frame the pages a launch leads to")
		outsider := newSSOBrowser(t, base)
		resp, _ = outsider.get("/login", "html")
		require.True(t, strings.HasSuffix(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'self'"), "a browser no platform launched is framed by Optio only")
		require.NotContains(t, resp.Header.Get("Content-Security-Policy"), p.srv.URL)

		// The same form posted again (the back button, or a stolen form with the cookie): the state is spent.
		stu.http.Jar.SetCookies(mustURL(t, base+lti.LaunchPath), []*http.Cookie{{Name: "optio_lti_state_" + sha256Hex(state)[:16], Value: state, Path: lti.LaunchPath}})
		status, code, _ := stu.ltiRefusal(form, state)
		require.Equal(t, http.StatusBadRequest, status)
		require.Equal(t, optio.ELTIStateInvalid, code)

		// An instructor lands on the course's teacher page: the roster with progress.
		teacher, where := launchAs(t, p, base, clock, "teach-1", optio.LTIRoleInstructor, nil)
		require.Regexp(t, `^/lti/courses/[0-9a-f-]{36}$`, where)
		resp, body = teacher.get(where, "html")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, body, "Given stu-1 Family")
		require.Contains(t, body, "0 / 0")
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), p.srv.URL)
		resp, body = teacher.get(where, "json")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var roster struct {
			Roster []optio.LTIRosterEntry `json:"roster"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &roster))
		require.Len(t, roster.Roster, 1)
		require.Equal(t, me.ID, roster.Roster[0].UserID)

		// Who else may see the teacher page: a learner of the course no, a
		// stranger no, an instructor of another course no, an admin yes.
		resp, _ = stu.get(where, "html")
		require.Equal(t, http.StatusNotFound, resp.StatusCode, "a learner")
		resp, _ = outsider.get(where, "html")
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, "signed out: to the sign-in page")
		other, _ := launchAs(t, p, base, clock, "teach-2", optio.LTIRoleInstructor, func(c map[string]any) {
			c[lti.ClaimContext] = map[string]any{"id": "course-99", "title": "Art 9"}
		})
		resp, _ = other.get(where, "html")
		require.Equal(t, http.StatusNotFound, resp.StatusCode, "another course's instructor")
		_, err := a.Store.CreateUser(context.Background(), optio.NewUser{Email: "root@optio.test", PasswordHash: mustHashPassword(t, "admin-password-1"), GivenName: "Root", Role: optio.RoleAdmin, EmailVerified: true})
		require.NoError(t, err)
		admin := newSSOBrowser(t, base)
		require.Equal(t, http.StatusOK, login(t, admin, "root@optio.test", "admin-password-1"))
		resp, _ = admin.get(where, "html")
		require.Equal(t, http.StatusOK, resp.StatusCode, "an admin")

		// A mentor with role_scope_mentor lands on the parent page, linked to the student.
		mentor, where := launchAs(t, p, base, clock, "mum-1", optio.LTIRoleMentor, func(c map[string]any) {
			c[lti.ClaimRoleScopeMentor] = []string{"stu-1"}
		})
		require.Equal(t, "/parent", where)
		resp, body = mentor.get("/parent", "html")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, body, "Given stu-1")

		// A placement naming a quest (custom optio_quest_id) leads a learner to it.
		q, err := a.Store.CreateQuest(context.Background(), optio.QuestInput{Title: "Garden project", Active: ptr(true)})
		require.NoError(t, err)
		_, where = launchAs(t, p, base, clock, "stu-2", optio.LTIRoleLearner, func(c map[string]any) {
			c[lti.ClaimCustom] = map[string]any{"optio_quest_id": q.ID}
		})
		require.Equal(t, "/quests/"+q.ID, where)
		_, where = launchAs(t, p, base, clock, "stu-3", optio.LTIRoleLearner, func(c map[string]any) {
			c[lti.ClaimCustom] = map[string]any{"optio_target": "portfolio"}
		})
		require.Equal(t, "/portfolio/givenstu3family", where)

		// A launch of someone else in a signed-in browser ends the session it replaces.
		var old string
		for _, c := range stu.http.Jar.Cookies(mustURL(t, base)) {
			if c.Name == web.SessionCookie {
				old = c.Value
			}
		}
		require.NotEmpty(t, old)
		state, nonce = stu.ltiLogin(p, "stu-4")
		resp, body = stu.ltiLaunch(p.sign(p.claims(clock.Now(), nonce, "stu-4", optio.LTIRoleLearner, base)), state, "html")
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
		require.Equal(t, "Given stu-4", stu.me().GivenName)
		replay := newSSOBrowser(t, base)
		replay.http.Jar.SetCookies(mustURL(t, base), []*http.Cookie{{Name: web.SessionCookie, Value: old, Path: "/"}})
		resp, _ = replay.get("/api/me", "json")
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	})
}

func TestLTIDeepLinkingPlacesAQuest(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		clock := optio.NewFakeClock(ltiStart)
		a, base := startLTIApp(t, d, clock)
		p := newTestPlatform(t)
		p.register(t, a)
		q, err := a.Store.CreateQuest(context.Background(), optio.QuestInput{Title: "Garden project", Active: ptr(true)})
		require.NoError(t, err)
		returnURL := p.srv.URL + "/lti/deep_link_return?course=42"

		dlClaims := func(c map[string]any) {
			c[lti.ClaimMessageType] = lti.MessageDeepLinkingRequest
			delete(c, lti.ClaimResourceLink)
			c[lti.ClaimDeepLinking] = map[string]any{"deep_link_return_url": returnURL, "accept_types": []string{"ltiResourceLink"},
				"accept_presentation_document_targets": []string{"iframe", "window"}, "data": "opaque-platform-data"}
		}
		// A learner may not place content.
		b := newSSOBrowser(t, base)
		state, nonce := b.ltiLogin(p, "stu-1")
		c := p.claims(clock.Now(), nonce, "stu-1", optio.LTIRoleLearner, base)
		dlClaims(c)
		status, code, _ := b.ltiRefusal(p.sign(c), state)
		require.Equal(t, http.StatusForbidden, status)
		require.Equal(t, optio.ELTIRoleUnsupported, code)

		teacher := newSSOBrowser(t, base)
		state, nonce = teacher.ltiLogin(p, "teach-1")
		c = p.claims(clock.Now(), nonce, "teach-1", optio.LTIRoleInstructor, base)
		dlClaims(c)
		resp, body := teacher.ltiLaunch(p.sign(c), state, "html")
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Contains(t, body, "My Optio portfolio")
		require.Contains(t, body, "Quest: Garden project")
		request := regexp.MustCompile(`name="request" value="([^"]+)"`).FindStringSubmatch(body)
		require.Len(t, request, 2)

		// A picker's request tampered with is refused.
		resp, _ = teacher.ltiPostForm("/lti/deep-link", url.Values{"request": {request[1] + "x"}, "choice": {q.ID}})
		require.Equal(t, http.StatusForbidden, resp.StatusCode)

		resp, body = teacher.ltiPostForm("/lti/deep-link", url.Values{"request": {html.UnescapeString(request[1])}, "choice": {q.ID}})
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "form-action 'self' "+p.srv.URL)
		require.Contains(t, body, `action="`+html.EscapeString(returnURL)+`"`)
		jwt := regexp.MustCompile(`name="JWT" value="([^"]+)"`).FindStringSubmatch(body)
		require.Len(t, jwt, 2)

		// The platform verifies the response with Optio's JWKS.
		resp, keys := teacher.get(lti.JWKSPath, "json")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		set, err := jwk.Parse([]byte(keys))
		require.NoError(t, err)
		require.Equal(t, 1, set.Len())
		k, _ := set.Key(0)
		_, isPrivate := k.(jwk.RSAPrivateKey)
		require.False(t, isPrivate, "only public keys are served")
		payload, err := jws.Verify([]byte(jwt[1]), jws.WithKeySet(set, jws.WithRequireKid(true)))
		require.NoError(t, err)
		var got map[string]any
		require.NoError(t, json.Unmarshal(payload, &got))
		require.Equal(t, p.clientID, got["iss"])
		require.Equal(t, p.issuer, got["aud"])
		require.Equal(t, lti.MessageDeepLinkingResponse, got[lti.ClaimMessageType])
		require.Equal(t, lti.Version, got[lti.ClaimVersion])
		require.Equal(t, p.deploy, got[lti.ClaimDeploymentID])
		require.Equal(t, "opaque-platform-data", got[lti.ClaimDLData])
		items := got[lti.ClaimContentItems].([]any)
		require.Len(t, items, 1)
		item := items[0].(map[string]any)
		require.Equal(t, "ltiResourceLink", item["type"])
		require.Equal(t, base+lti.LaunchPath, item["url"])
		require.Equal(t, map[string]any{"optio_quest_id": q.ID}, item["custom"])
	})
}

// TestLTILaunchBadInput drives every bad input of issue 23 through the real
// program: each is refused with its own code and leaves no account behind.
func TestLTILaunchBadInput(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		clock := optio.NewFakeClock(ltiStart)
		a, base := startLTIApp(t, d, clock)
		p := newTestPlatform(t)
		p.register(t, a)
		refused := func(t *testing.T, sub string, mod func(map[string]any), wantStatus int, wantCode string) string {
			t.Helper()
			b := newSSOBrowser(t, base)
			state, nonce := b.ltiLogin(p, sub)
			c := p.claims(clock.Now(), nonce, sub, optio.LTIRoleLearner, base)
			if mod != nil {
				mod(c)
			}
			status, code, msg := b.ltiRefusal(p.sign(c), state)
			require.Equal(t, wantCode, code, msg)
			require.Equal(t, wantStatus, status, msg)
			require.Zero(t, countRows(t, a, `SELECT COUNT(*) FROM lms_integrations WHERE external_user_id = $1`, sub), "a refused launch creates nobody")
			return msg
		}

		t.Run("unregistered platform or deployment at login", func(t *testing.T) {
			b := newSSOBrowser(t, base)
			q := url.Values{"iss": {"https://stranger.example"}, "login_hint": {"x"}, "target_link_uri": {base + lti.LaunchPath}}
			resp, body := b.get(lti.LoginPath+"?"+q.Encode(), "json")
			require.Equal(t, http.StatusBadRequest, resp.StatusCode)
			require.Contains(t, body, optio.ELTIUnknownPlatform)
			q = url.Values{"iss": {p.issuer}, "login_hint": {"x"}, "target_link_uri": {base + lti.LaunchPath}, "lti_deployment_id": {"dep-unknown"}}
			resp, body = b.get(lti.LoginPath+"?"+q.Encode(), "json")
			require.Equal(t, http.StatusForbidden, resp.StatusCode)
			require.Contains(t, body, optio.ELTIUnknownDeployment)
			q = url.Values{"iss": {p.issuer}, "login_hint": {"x"}, "target_link_uri": {"https://evil.example/lti/launch"}}
			resp, body = b.get(lti.LoginPath+"?"+q.Encode(), "json")
			require.Equal(t, http.StatusBadRequest, resp.StatusCode)
			require.Contains(t, body, optio.ELTIClaimInvalid)
		})
		t.Run("unknown deployment in the id_token", func(t *testing.T) {
			refused(t, "bad-dep", func(c map[string]any) { c[lti.ClaimDeploymentID] = "dep-unknown" }, http.StatusForbidden, optio.ELTIUnknownDeployment)
		})
		t.Run("wrong aud", func(t *testing.T) {
			refused(t, "bad-aud", func(c map[string]any) { c["aud"] = "someone-else" }, http.StatusUnauthorized, optio.ELTIWrongAudience)
			refused(t, "bad-aud2", func(c map[string]any) { c["aud"] = []string{p.clientID, "someone-else"} }, http.StatusUnauthorized, optio.ELTIWrongAudience)
			refused(t, "bad-azp", func(c map[string]any) { c["azp"] = "someone-else" }, http.StatusUnauthorized, optio.ELTIWrongAudience)
		})
		t.Run("wrong iss", func(t *testing.T) {
			refused(t, "bad-iss", func(c map[string]any) { c["iss"] = "https://other.example" }, http.StatusUnauthorized, optio.ELTIWrongIssuer)
		})
		t.Run("expired launch", func(t *testing.T) {
			refused(t, "late", func(c map[string]any) {
				c["iat"], c["exp"] = clock.Now().Add(-20*time.Minute).Unix(), clock.Now().Add(-15*time.Minute).Unix()
			}, http.StatusUnauthorized, optio.ELTITokenExpired)
			refused(t, "old", func(c map[string]any) { c["iat"] = clock.Now().Add(-time.Hour).Unix() }, http.StatusUnauthorized, optio.ELTITokenExpired)
			refused(t, "future", func(c map[string]any) { c["iat"] = clock.Now().Add(time.Hour).Unix() }, http.StatusUnauthorized, optio.ELTITokenExpired)
		})
		t.Run("wrong LTI claims", func(t *testing.T) {
			refused(t, "v11", func(c map[string]any) { c[lti.ClaimVersion] = "1.1" }, http.StatusBadRequest, optio.ELTIClaimInvalid)
			refused(t, "type", func(c map[string]any) { c[lti.ClaimMessageType] = "LtiSubmissionReviewRequest" }, http.StatusBadRequest, optio.ELTIClaimInvalid)
			refused(t, "nolink", func(c map[string]any) { delete(c, lti.ClaimResourceLink) }, http.StatusBadRequest, optio.ELTIClaimInvalid)
			refused(t, "noroles", func(c map[string]any) { delete(c, lti.ClaimRoles) }, http.StatusBadRequest, optio.ELTIClaimInvalid)
			refused(t, "guest", func(c map[string]any) {
				c[lti.ClaimRoles] = []string{"http://purl.imsglobal.org/vocab/lis/v2/membership#Guest"}
			},
				http.StatusForbidden, optio.ELTIRoleUnsupported)
		})
		t.Run("id_token signed by an unregistered key", func(t *testing.T) {
			evil := newRSAKey(t, "k-evil")
			b := newSSOBrowser(t, base)
			state, nonce := b.ltiLogin(p, "forged")
			status, code, msg := b.ltiRefusal(signWith(t, p.claims(clock.Now(), nonce, "forged", optio.LTIRoleLearner, base), evil), state)
			require.Equal(t, http.StatusUnauthorized, status)
			require.Equal(t, optio.ELTITokenInvalid, code)
			require.Contains(t, msg, "not in the platform's JWKS")
			sameKid := newRSAKey(t, "k1") // claims the platform's kid
			state, nonce = b.ltiLogin(p, "forged")
			status, code, _ = b.ltiRefusal(signWith(t, p.claims(clock.Now(), nonce, "forged", optio.LTIRoleLearner, base), sameKid), state)
			require.Equal(t, http.StatusUnauthorized, status)
			require.Equal(t, optio.ELTITokenInvalid, code)
			state, _ = b.ltiLogin(p, "forged")
			status, code, _ = b.ltiRefusal("not.a.jwt", state)
			require.Equal(t, http.StatusUnauthorized, status)
			require.Equal(t, optio.ELTITokenInvalid, code)
		})
		t.Run("replayed state and nonce", func(t *testing.T) {
			b := newSSOBrowser(t, base)
			state, nonce := b.ltiLogin(p, "replay")
			token := p.sign(p.claims(clock.Now(), nonce, "replay", optio.LTIRoleLearner, base))
			resp, body := b.ltiLaunch(token, state, "html")
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
			// The id_token again, with a fresh login's state: its nonce is not this login's.
			state2, _ := b.ltiLogin(p, "replay")
			status, code, _ := b.ltiRefusal(token, state2)
			require.Equal(t, http.StatusUnauthorized, status)
			require.Equal(t, optio.ELTINonceInvalid, code)
			// A state not issued to this browser (no cookie): refused before it is spent.
			state3, nonce3 := b.ltiLogin(p, "replay")
			thief := newSSOBrowser(t, base)
			status, code, _ = thief.ltiRefusal(p.sign(p.claims(clock.Now(), nonce3, "replay", optio.LTIRoleLearner, base)), state3)
			require.Equal(t, http.StatusForbidden, status)
			require.Equal(t, optio.ELTIStateNotOurs, code)
			// A state past its lifetime.
			state4, nonce4 := b.ltiLogin(p, "replay")
			clock.Advance(optio.LTIStateTTL + time.Second)
			status, code, _ = b.ltiRefusal(p.sign(p.claims(clock.Now(), nonce4, "replay", optio.LTIRoleLearner, base)), state4)
			require.Equal(t, http.StatusBadRequest, status)
			require.Equal(t, optio.ELTIStateInvalid, code)
		})
		t.Run("platform JWKS down: cached keys still verify, rotation refetches", func(t *testing.T) {
			_, where := launchAs(t, p, base, clock, "warm", optio.LTIRoleLearner, nil) // keys cached
			require.Equal(t, "/dashboard", where)
			p.down.Store(true)
			clock.Advance(lti.KeyMaxAge + time.Minute) // the kept set is stale; the refetch fails
			hits := p.hits.Load()
			_, where = launchAs(t, p, base, clock, "cached", optio.LTIRoleLearner, nil)
			require.Equal(t, "/dashboard", where, "a platform JWKS that is down does not stop launches signed with known keys")
			require.Greater(t, p.hits.Load(), hits, "Optio did try to refresh")

			p.rotate("k2") // a new key the cache has never seen, while the JWKS is down
			clock.Advance(time.Minute)
			msg := refused(t, "rotated-down", nil, http.StatusServiceUnavailable, optio.EUNAVAILABLE)
			require.Contains(t, msg, "JWKS")
			p.down.Store(false)
			clock.Advance(time.Minute)
			_, where = launchAs(t, p, base, clock, "rotated", optio.LTIRoleLearner, nil)
			require.Equal(t, "/dashboard", where, "an unknown kid refetches the JWKS")
		})
		t.Run("platform JWKS down before any fetch", func(t *testing.T) {
			q := newTestPlatform(t)
			q.down.Store(true)
			q.register(t, a)
			b := newSSOBrowser(t, base)
			state, nonce := b.ltiLogin(q, "cold")
			status, code, msg := b.ltiRefusal(q.sign(q.claims(clock.Now(), nonce, "cold", optio.LTIRoleLearner, base)), state)
			require.Equal(t, http.StatusServiceUnavailable, status)
			require.Equal(t, optio.EUNAVAILABLE, code)
			require.Contains(t, msg, q.srv.URL+"/lti/jwks")
		})
	})
}

// TestLTIRosterAndScores: a launch naming NRPS and AGS brings the course's
// whole roster (every page) onto the teacher page, and a learner's finished
// task posts their progress to the platform's gradebook, on a line item
// Optio creates once for the quest, through a 429 the platform sends.
func TestLTIRosterAndScores(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		clock := optio.NewFakeClock(ltiStart)
		a, base := startLTIApp(t, d, clock)
		p := newTestPlatform(t)
		p.toolJWKS = base + lti.JWKSPath
		learner := "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
		p.roster = [][]map[string]any{
			{{"status": "Active", "user_id": "stu-1", "given_name": "Given stu-1", "family_name": "Family", "roles": []string{learner}},
				{"status": "Active", "user_id": "teach-1", "name": "Teacher One", "roles": []string{optio.LTIRoleInstructor}}},
			{{"status": "Active", "user_id": "stu-9", "name": "Nina Roster", "email": "nina@school.test", "roles": []string{learner}},
				{"status": "Inactive", "user_id": "stu-8", "name": "Gone Student", "roles": []string{learner}}},
		}
		p.register(t, a)

		teacher, where := launchAs(t, p, base, clock, "teach-1", optio.LTIRoleInstructor, p.serviceClaims)
		require.Eventually(t, func() bool {
			_, body := teacher.get(where, "html")
			return strings.Contains(body, "Nina Roster")
		}, 20*time.Second, 50*time.Millisecond, "the NRPS roster reaches the teacher page")
		_, body := teacher.get(where, "html")
		require.NotContains(t, body, "Gone Student", "inactive members are not added")
		_, err := a.Store.CreateUser(context.Background(), optio.NewUser{Email: "root@optio.test", PasswordHash: mustHashPassword(t, "admin-password-1"), GivenName: "Root", Role: optio.RoleAdmin, EmailVerified: true})
		require.NoError(t, err)
		admin := newSSOBrowser(t, base)
		require.Equal(t, http.StatusOK, login(t, admin, "root@optio.test", "admin-password-1"))
		_, adminPage := admin.get("/admin/lti", "html")
		require.Contains(t, adminPage, "Biology 9")
		require.Contains(t, adminPage, "synced 2026-09-01 08:00 UTC", "admins see the roster sync")
		require.NotContains(t, body, "Teacher One", "instructors are not students")

		// The course's quest gets a task; the learner launches and finishes it.
		courseID := strings.TrimPrefix(where, "/lti/courses/")
		var c *optio.LTICourse
		c, err = a.Store.LTICourseByID(context.Background(), courseID)
		require.NoError(t, err)
		xp := 100
		task, err := a.Store.CreateTask(context.Background(), c.QuestID, optio.TaskInput{Title: "Cell diagram", Pillar: optio.PillarSTEM, XPValue: &xp})
		require.NoError(t, err)
		_, err = a.Store.CreateTask(context.Background(), c.QuestID, optio.TaskInput{Title: "Lab report", Pillar: optio.PillarSTEM, XPValue: &xp})
		require.NoError(t, err)
		stu, _ := launchAs(t, p, base, clock, "stu-1", optio.LTIRoleLearner, p.serviceClaims)
		p.throttled.Store(1)
		status, body := stu.send("POST", "/api/tasks/"+task.ID+"/complete", map[string]any{"evidence": []map[string]any{{"type": "text", "text": "my diagram"}}})
		require.Equal(t, http.StatusCreated, status, body)
		require.Eventually(t, func() bool { _, scores := p.recorded(); return len(scores) == 1 }, 20*time.Second, 50*time.Millisecond,
			"the score reaches the platform after its 429")
		items, scores := p.recorded()
		require.Len(t, items, 1)
		require.Equal(t, c.QuestID, items[0]["resourceId"])
		require.Equal(t, "Biology 9", items[0]["label"])
		require.EqualValues(t, 2, items[0]["scoreMaximum"])
		require.Equal(t, "stu-1", scores[0]["userId"])
		require.EqualValues(t, 1, scores[0]["scoreGiven"])
		require.EqualValues(t, 2, scores[0]["scoreMaximum"])
		require.Equal(t, "InProgress", scores[0]["activityProgress"])
		require.Equal(t, "FullyGraded", scores[0]["gradingProgress"])
	})
}
