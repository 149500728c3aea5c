package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v3/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/openbadges"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// raw sends a request and returns the response with its body read.
func (c *client) raw(method, path string, body io.Reader, contentType string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	require.NoError(c.t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// setResolver resolves keys from a fetched key set (for the status list).
type setResolver struct{ set jwk.Set }

func (r setResolver) Key(_ context.Context, kid string) (jwk.Key, error) {
	k, ok := r.set.LookupKeyID(kid)
	if !ok {
		return nil, fmt.Errorf("unknown key %s", kid)
	}
	return k, nil
}

func (setResolver) StatusList(context.Context, string) (*openbadges.StatusList, error) {
	return nil, fmt.Errorf("no nested status lists")
}

// sparkRows writes what the course webhook and evidence sync would for one
// course with one assignment, and the student's synced submission with XP.
func sparkRows(t *testing.T, db *store.DB, studentID, courseID string, xp int) {
	t.Helper()
	now := time.Now().UTC()
	ids := make([]string, 4)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	quest, task, mapping, completion := ids[0], ids[1], ids[2], ids[3]
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO quests (id, title, source, lms_platform, lms_course_id, active, created_at, updated_at) VALUES ($1,'Physics','lms','spark',$2,TRUE,$3,$3)`, []any{quest, courseID, now}},
		{`INSERT INTO spark_course_mappings (id, spark_course_id, course_title, optio_quest_id, created_at, updated_at) VALUES ($1,$2,'Physics',$3,$4,$4)`, []any{mapping, courseID, quest, now}},
		{`INSERT INTO tasks (id, quest_id, title, pillar, xp_value, lms_assignment_id, created_at, updated_at) VALUES ($1,$2,'Lab','stem',$3,'a1',$4,$4)`, []any{task, quest, xp, now}},
		{`INSERT INTO spark_assignments (spark_assignment_id, spark_course_id, title, optio_task_id, created_at, updated_at) VALUES ('a1',$1,'Lab',$2,$3,$3)`, []any{courseID, task, now}},
		{`INSERT INTO spark_assignment_submissions (id, user_id, spark_user_id, spark_assignment_id, spark_course_id, submission_files, submitted_at, synced_to_optio, created_at, updated_at)
			VALUES ($1,$2,'s1','a1',$3,'[]',$4,TRUE,$4,$4)`, []any{mapping, studentID, courseID, now}},
		{`INSERT INTO quest_task_completions (id, user_id, task_id, quest_id, source, completed_at, updated_at) VALUES ($1,$2,$3,$4,'spark',$5,$5)`, []any{completion, studentID, task, quest, now}},
		{`INSERT INTO xp_ledger (id, user_id, task_id, pillar, amount, created_at) VALUES ($1,$2,$3,'stem',$4,$5)`, []any{completion, studentID, task, xp, now}},
	} {
		_, err := db.W.Exec(q.sql, q.args...)
		require.NoError(t, err, q.sql)
	}
}

// TestBadgesEndToEnd drives badges through the real program: admin API and
// page, authorization, awarding when a badge is edited after students
// qualify, the student page and API, the SVG image, and an Open Badges 3.0
// credential verified with the served key set — on SQLite and PostgreSQL.
func TestBadgesEndToEnd(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		getenv := testEnv(t, d, map[string]string{"SPARK_CATALOG_URL": "https://onfire.test/courses/{course_id}"})
		var out bytes.Buffer
		require.NoError(t, run(context.Background(), []string{"admin", "create", "--email", "head@school.test", "--password", "correct horse"}, &out, &out, getenv))
		a := startApp(t, getenv)
		ctx := context.Background()

		anon := newClient(t, a.URL())
		admin := newClient(t, a.URL())
		require.Equal(t, 200, admin.do("POST", "/api/auth/login", map[string]string{"email": "head@school.test", "password": "correct horse"}, nil))
		student := newClient(t, a.URL())
		var me optio.User
		require.Equal(t, 201, student.do("POST", "/api/auth/register", map[string]string{"email": "lia@family.test", "password": "physics2026",
			"given_name": "Lia", "family_name": "Chen", "role": "student"}, &me))

		// Authorization.
		require.Equal(t, 401, anon.do("GET", "/api/admin/badges", nil, nil))
		require.Equal(t, 401, anon.do("GET", "/api/badges", nil, nil))
		require.Equal(t, 403, student.do("GET", "/api/admin/badges", nil, nil))
		require.Equal(t, 403, student.do("POST", "/api/admin/badges", `{"name":"Mine","required_courses":["x"]}`, nil))
		require.Equal(t, 403, student.do("DELETE", "/api/admin/badges/0190a0a0-0000-7000-8000-000000000000", nil, nil))
		require.Equal(t, 403, admin.do("GET", "/api/badges", nil, nil), "the badge progress API is a student's own")
		resp, _ := student.raw("GET", "/admin/spark-badges", nil, "")
		require.Equal(t, 403, resp.StatusCode)

		// The student qualifies before the badge exists.
		sparkRows(t, a.Store, me.ID, "spark-physics", 300)

		// Create: unknown courses are accepted with a warning; a name with markup is kept as text.
		var saved struct {
			Badge          optio.Badge `json:"badge"`
			Warnings       []string    `json:"warnings"`
			UnknownCourses []string    `json:"unknown_courses"`
			Awarded        int         `json:"awarded"`
		}
		require.Equal(t, 201, admin.do("POST", "/api/admin/badges", `{"name":"<b>Physics</b> & Co","description":"Lab work","required_courses":["spark-physics","spark-quantum"],"xp_required":300,"pillar":"stem"}`, &saved))
		require.Equal(t, []string{"spark-quantum"}, saved.UnknownCourses)
		require.Len(t, saved.Warnings, 1)
		require.Contains(t, saved.Warnings[0], "spark-quantum")
		require.Zero(t, saved.Awarded)
		badgeID := saved.Badge.ID

		// Validation.
		var e apiError
		require.Equal(t, 409, admin.do("POST", "/api/admin/badges", `{"name":"<B>PHYSICS</B> & CO","required_courses":["x"]}`, &e))
		require.Equal(t, "conflict", e.Error.Code)
		e = apiError{}
		require.Equal(t, 400, admin.do("POST", "/api/admin/badges", `{"name":"Neg","required_courses":[],"xp_required":-5}`, &e))
		require.Contains(t, e.Error.Fields, "required_courses")
		require.Contains(t, e.Error.Fields, "xp_required")
		require.Equal(t, 400, admin.do("POST", "/api/admin/badges", `{"name":5}`, nil))
		require.Equal(t, 404, admin.do("PATCH", "/api/admin/badges/0190a0a0-0000-7000-8000-000000000000", `{"xp_required":1}`, nil))

		// The admin page shows the warning, escaped names.
		resp, page := admin.raw("GET", "/admin/spark-badges", nil, "")
		require.Equal(t, 200, resp.StatusCode)
		require.Contains(t, page, "Not known to Optio yet (no Spark course mapping): spark-quantum")
		require.Contains(t, page, "&lt;b&gt;Physics&lt;/b&gt; &amp; Co")
		require.NotContains(t, page, "<b>Physics</b>")
		require.Contains(t, page, `href="/admin/spark-badges/`+badgeID+`"`, "the list links to each badge's edit view")
		resp, page = admin.raw("GET", "/admin/spark-badges/"+badgeID, nil, "")
		require.Equal(t, 200, resp.StatusCode)
		require.Contains(t, page, `action="/admin/spark-badges/`+badgeID+`"`, "the edit view holds the form")
		require.Contains(t, page, "&lt;b&gt;Physics&lt;/b&gt; &amp; Co")
		resp, _ = student.raw("GET", "/admin/spark-badges/"+badgeID, nil, "")
		require.Equal(t, 403, resp.StatusCode, "admins only")

		// Progress before: one course missing, linked to the catalog.
		var prog struct {
			Badges []optio.BadgeProgress `json:"badges"`
		}
		require.Equal(t, 200, student.do("GET", "/api/badges", nil, &prog))
		require.Len(t, prog.Badges, 1)
		require.Equal(t, "Complete 1 more Spark course to earn this badge", prog.Badges[0].Text)
		require.Equal(t, "https://onfire.test/courses/spark-quantum", prog.Badges[0].CoursesMissing[0].CatalogURL)
		require.Equal(t, 404, student.do("GET", "/api/badges/"+badgeID+"/credential", nil, nil), "not earned yet")

		// Editing the badge (the admin form) awards those who now qualify.
		resp, _ = admin.raw("POST", "/admin/spark-badges/"+badgeID, strings.NewReader(url.Values{"courses": {"spark-physics"}}.Encode()), "application/x-www-form-urlencoded")
		require.Equal(t, 303, resp.StatusCode)
		flash, _ := url.QueryUnescape(resp.Header.Get("Location"))
		require.Contains(t, flash, "Awarded to 1 students")
		require.Equal(t, 200, student.do("GET", "/api/badges", nil, &prog))
		require.True(t, prog.Badges[0].Earned)
		require.Equal(t, "Earned on "+time.Now().UTC().Format("2 Jan 2006"), prog.Badges[0].Text)

		// The student page uses the same data; the nav links to it.
		resp, page = student.raw("GET", "/badges", nil, "")
		require.Equal(t, 200, resp.StatusCode)
		require.Contains(t, page, `<a href="/badges" aria-current="page">Badges</a>`)
		require.Contains(t, page, prog.Badges[0].Text)
		require.Contains(t, page, "/api/badges/"+badgeID+"/credential")

		// The image: SVG, locked down, text escaped.
		resp, svg := anon.raw("GET", "/badges/"+badgeID+"/image.svg", nil, "")
		require.Equal(t, 200, resp.StatusCode)
		require.Equal(t, "image/svg+xml", resp.Header.Get("Content-Type"))
		require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'")
		require.Contains(t, svg, "&lt;b&gt;Physics&lt;/b&gt; &amp; Co")
		require.NotContains(t, svg, "<b>")

		// The credential verifies with the served key set through a general
		// JOSE library, and carries the VC-JWT claims.
		resp, jwt := student.raw("GET", "/api/badges/"+badgeID+"/credential", nil, "")
		require.Equal(t, 200, resp.StatusCode, jwt)
		require.Equal(t, "application/vc+jwt", resp.Header.Get("Content-Type"))
		resp, jwks := anon.raw("GET", "/.well-known/jwks.json", nil, "")
		require.Equal(t, 200, resp.StatusCode)
		require.NotContains(t, jwks, `"d"`, "only the public key is served")
		set, err := jwk.Parse([]byte(jwks))
		require.NoError(t, err)
		tok, err := jwxjwt.Parse([]byte(jwt), jwxjwt.WithKeySet(set))
		require.NoError(t, err)
		base := a.Config.BaseURL
		iss, _ := tok.Issuer()
		require.Equal(t, base+"/issuer", iss)
		sub, _ := tok.Subject()
		require.Equal(t, "urn:uuid:"+me.ID, sub)
		jti, _ := tok.JwtID()
		require.True(t, strings.HasPrefix(jti, base+"/credentials/"), jti)
		credID := strings.TrimPrefix(jti, base+"/credentials/")

		parts := strings.Split(jwt, ".")
		require.Len(t, parts, 3)
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		require.NoError(t, err)
		var cred openbadges.Credential
		require.NoError(t, json.Unmarshal(payload, &cred))
		require.Equal(t, openbadges.Contexts, cred.Context)
		require.Equal(t, []string{"VerifiableCredential", "OpenBadgeCredential"}, cred.Type)
		require.Equal(t, openbadges.Profile{ID: base + "/issuer", Type: []string{"Profile"}, Name: "Optio", URL: base}, cred.Issuer)
		require.Equal(t, "<b>Physics</b> & Co", cred.CredentialSubject.Achievement.Name)
		require.Equal(t, base+"/badges/"+badgeID+"/image.svg", cred.CredentialSubject.Achievement.Image.ID)
		require.Equal(t, openbadges.IdentityHash("lia@family.test", cred.CredentialSubject.Identifier[0].Salt), cred.CredentialSubject.Identifier[0].IdentityHash)
		require.Equal(t, base+"/credentials/status/1", cred.CredentialStatus.StatusListCredential)

		// The kid dereferences to the key; the issuer Profile is served at its id.
		hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
		var h struct{ Kid string }
		require.NoError(t, json.Unmarshal(hdr, &h))
		resp, keyJSON := anon.raw("GET", strings.TrimPrefix(h.Kid, base), nil, "")
		require.Equal(t, 200, resp.StatusCode)
		require.NotContains(t, keyJSON, `"d"`)
		var prof openbadges.Profile
		require.Equal(t, 200, anon.do("GET", "/issuer", nil, &prof))
		require.Equal(t, cred.Issuer.ID, prof.ID)

		// The verifier endpoint: verified, and not when tampered.
		verify := func(body []byte, contentType string) (int, map[string]any) {
			resp, out := anon.raw("POST", "/credentials/verify", bytes.NewReader(body), contentType)
			var v map[string]any
			_ = json.Unmarshal([]byte(out), &v)
			return resp.StatusCode, v
		}
		code, v := verify([]byte(jwt), "text/plain")
		require.Equal(t, 200, code)
		require.Equal(t, true, v["verified"], v)
		forged := strings.Replace(string(payload), "Physics", "Chemistry", 1)
		tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]
		_, v = verify([]byte(tampered), "text/plain")
		require.Equal(t, false, v["verified"], "a tampered credential does not verify")
		code, _ = verify([]byte("hello"), "text/plain")
		require.Equal(t, 400, code)

		// Baked images round-trip through the verifier.
		resp, pngBody := anon.raw("GET", "/credentials/"+credID+"/badge.png", nil, "")
		require.Equal(t, 200, resp.StatusCode)
		require.Equal(t, "image/png", resp.Header.Get("Content-Type"))
		code, v = verify([]byte(pngBody), "image/png")
		require.Equal(t, 200, code)
		require.Equal(t, true, v["verified"], v)
		resp, svgBody := anon.raw("GET", "/credentials/"+credID+"/badge.svg", nil, "")
		require.Equal(t, 200, resp.StatusCode)
		require.Contains(t, svgBody, `<openbadges:credential verify="`)
		code, v = verify([]byte(svgBody), "image/svg+xml")
		require.Equal(t, 200, code)
		require.Equal(t, true, v["verified"], v)

		// A browser's "check a badge" form gets the result page.
		formPost := func(file []byte) (int, string) {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			if file != nil {
				fw, err := mw.CreateFormFile("file", "badge.png")
				require.NoError(t, err)
				_, _ = fw.Write(file)
			}
			require.NoError(t, mw.Close())
			req, _ := http.NewRequest("POST", a.URL()+"/credentials/verify", &body)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			req.Header.Set("Accept", "text/html,application/xhtml+xml")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			out, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(out)
		}
		code, html := formPost([]byte(pngBody))
		require.Equal(t, 200, code)
		require.Contains(t, html, "Verified</strong> — signed by Optio, not revoked.")
		require.Contains(t, html, "&lt;b&gt;Physics&lt;/b&gt; &amp; Co")
		code, html = formPost(nil)
		require.Equal(t, 400, code)
		require.Contains(t, html, "Choose a badge image or credential file to check.")

		// The verification page: the owner sees their name; a stranger does
		// not while the portfolio is private; JSON-LD at the same URL.
		resp, page = student.raw("GET", "/credentials/"+credID, nil, "")
		require.Equal(t, 200, resp.StatusCode)
		require.Contains(t, page, "Verified</strong> — signed by Optio, not revoked.")
		require.Contains(t, page, "Lia")
		require.Contains(t, page, "https://www.linkedin.com/profile/add?")
		require.Contains(t, page, "startTask=CERTIFICATION_NAME")
		require.Contains(t, page, "&lt;b&gt;Physics&lt;/b&gt; &amp; Co")
		resp, page = anon.raw("GET", "/credentials/"+credID, nil, "")
		require.Equal(t, 200, resp.StatusCode)
		require.NotContains(t, page, "Lia")
		require.NotContains(t, page, "Chen")
		require.Contains(t, page, "keep their name private")
		require.Contains(t, page, "Verified</strong>")
		req, _ := http.NewRequest("GET", a.URL()+"/credentials/"+credID, nil)
		req.Header.Set("Accept", "application/ld+json")
		ldResp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var ld openbadges.Credential
		require.NoError(t, json.NewDecoder(ldResp.Body).Decode(&ld))
		ldResp.Body.Close()
		require.Equal(t, "application/ld+json", ldResp.Header.Get("Content-Type"))
		require.Equal(t, jti, ld.ID)
		req, _ = http.NewRequest("GET", a.URL()+"/credentials/"+credID, nil)
		req.Header.Set("Accept", "application/vc+jwt")
		jwtResp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		fetched, _ := io.ReadAll(jwtResp.Body)
		jwtResp.Body.Close()
		require.Equal(t, "application/vc+jwt", jwtResp.Header.Get("Content-Type"))
		_, err = jwxjwt.Parse(fetched, jwxjwt.WithKeySet(set))
		require.NoError(t, err, "the VC-JWT at the credential's id verifies with the served keys")

		// Revocation: students cannot, admins can with a reason; the status
		// list bit is set and verification says revoked.
		require.Equal(t, 403, student.do("POST", "/api/admin/badge-awards/"+credID+"/revoke", `{"reason":"mine"}`, nil))
		require.Equal(t, 400, admin.do("POST", "/api/admin/badge-awards/"+credID+"/revoke", `{"reason":""}`, nil))
		require.Equal(t, 200, admin.do("POST", "/api/admin/badge-awards/"+credID+"/revoke", `{"reason":"Awarded in error: course mapping was wrong"}`, nil))
		resp, listJWT := anon.raw("GET", "/credentials/status/1", nil, "")
		require.Equal(t, 200, resp.StatusCode)
		list, err := openbadges.VerifyStatusList(ctx, listJWT, base+"/credentials/status/1", setResolver{set})
		require.NoError(t, err)
		idx, err := strconv.ParseInt(cred.CredentialStatus.StatusListIndex, 10, 64)
		require.NoError(t, err)
		bit, err := list.Get(idx)
		require.NoError(t, err)
		require.True(t, bit, "the credential's bit is set")
		_, v = verify([]byte(pngBody), "image/png")
		require.Equal(t, false, v["verified"])
		require.Equal(t, true, v["revoked"])
		require.Equal(t, "Awarded in error: course mapping was wrong", v["revocation_reason"])
		resp, page = anon.raw("GET", "/credentials/"+credID, nil, "")
		require.Equal(t, 200, resp.StatusCode)
		require.Contains(t, page, "Revoked</strong>")
		require.Contains(t, page, "Awarded in error: course mapping was wrong")
		require.NotContains(t, page, "linkedin.com")
		require.Equal(t, 200, student.do("GET", "/api/badges", nil, &prog))
		require.False(t, prog.Badges[0].Earned, "a revoked badge is no longer earned")

		// A second process on the same database serves the same key.
		b := startApp(t, getenv)
		_, jwks2 := newClient(t, b.URL()).raw("GET", "/.well-known/jwks.json", nil, "")
		require.JSONEq(t, jwks, jwks2)

		// Retiring a badge whose only award was revoked: nobody shows it.
		require.Equal(t, 200, admin.do("DELETE", "/api/admin/badges/"+badgeID, nil, nil))
		require.Equal(t, 200, student.do("GET", "/api/badges", nil, &prog))
		require.Empty(t, prog.Badges)
		n, err := a.Store.AwardBadgesAll(ctx)
		require.NoError(t, err)
		require.Zero(t, n)

		_, metrics := newClient(t, a.MetricsURL()).raw("GET", "/metrics", nil, "")
		require.Contains(t, metrics, "optio_badges_awarded_total")
	})
}
