package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/sandbox"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/web"
)

const (
	docsSSOSecret     = "docs-sso-secret-0123456789abcdef"
	docsWebhookSecret = "whsec_ZG9jcy13ZWJob29rLXNlY3JldC0wMTIzNDU2Nzg5"
	docsAudience      = "optio"
)

// docsOptio starts a real Optio for the JSON examples: no job workers, so
// nothing downloads the examples' made-up file URLs.
func docsOptio(t *testing.T, extra map[string]string) string {
	t.Helper()
	env := map[string]string{"SPARK_SSO_SECRET": docsSSOSecret, "SPARK_SSO_AUDIENCE": docsAudience,
		"SPARK_WEBHOOK_SECRET": docsWebhookSecret, "OPTIO_WORKERS": "0", "OPTIO_LOG_LEVEL": "error"}
	for k, v := range extra {
		env[k] = v
	}
	return startApp(t, testEnv(t, store.SQLite, env)).URL()
}

// answer is a real HTTP answer kept for comparison with documented ones.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// postWebhook signs body as Spark does and posts it to base+path.
func postWebhook(t *testing.T, base, path, id string, body []byte, secret string) answer {
	t.Helper()
	h, err := spark.WebhookSigner{Secret: secret}.Header(id, time.Now(), body)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header = h
	req.Header.Set("Content-Type", "application/json")
	return do(t, http.DefaultClient, req)
}

func do(t *testing.T, c *http.Client, req *http.Request) answer {
	t.Helper()
	res, err := c.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return answer{res.StatusCode, res.Header, b}
}

// ssoSignIn turns documented claims into a token (fresh iat, exp and nonce;
// the documented lifetime) and signs in with it, returning the redirect
// status and the signed-in user.
func ssoSignIn(t *testing.T, base, where, claimsJSON string) (int, *optio.User) {
	t.Helper()
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(claimsJSON), &raw), where)
	type plain struct {
		Issuer          string     `json:"iss"`
		Subject         string     `json:"sub"`
		Audience        string     `json:"aud"`
		Email           string     `json:"email"`
		GivenName       string     `json:"given_name"`
		FamilyName      string     `json:"family_name"`
		Role            optio.Role `json:"role"`
		SparkCourseIDs  []string   `json:"spark_course_ids"`
		SparkStudentIDs []string   `json:"spark_student_ids"`
		IssuedAt        int64      `json:"iat"`
		ExpiresAt       int64      `json:"exp"`
		Nonce           string     `json:"nonce"`
	}
	var p plain
	require.NoError(t, json.Unmarshal([]byte(claimsJSON), &p), where)
	for _, k := range []string{"iss", "sub", "iat", "exp", "nonce", "role"} {
		require.Contains(t, raw, k, "%s: a required claim is missing", where)
	}
	ttl := time.Duration(p.ExpiresAt-p.IssuedAt) * time.Second
	require.True(t, ttl > 0 && ttl <= spark.DefaultMaxLifetime, "%s: lifetime %s", where, ttl)
	c := spark.Claims{Issuer: p.Issuer, Subject: p.Subject, Email: p.Email, GivenName: p.GivenName, FamilyName: p.FamilyName,
		Role: p.Role, SparkCourseIDs: p.SparkCourseIDs, SparkStudentIDs: p.SparkStudentIDs}
	if p.Audience != "" {
		c.Audience = []string{p.Audience}
	}
	tok, err := spark.SignToken(docsSSOSecret, c, ttl, time.Now())
	require.NoError(t, err)
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, base+"/spark/sso?token="+url.QueryEscape(tok), nil)
	a := do(t, cl, req)
	if a.status != http.StatusSeeOther {
		return a.status, nil
	}
	req, _ = http.NewRequest(http.MethodGet, base+"/api/me", nil)
	me := do(t, cl, req)
	require.Equal(t, http.StatusOK, me.status, "%s: /api/me after SSO: %s", where, me.body)
	var u optio.User
	require.NoError(t, json.Unmarshal(me.body, &u))
	return a.status, &u
}

var msgSeq atomic.Int64

func freshID() string { return "msg_docs_" + strconv.FormatInt(msgSeq.Add(1), 10) }

// TestDocsJSONExamples sends every request example in docs/spark to a real
// Optio, signs in with every SSO claims example, and compares every response
// example's keys with an answer Optio really gave.
func TestDocsJSONExamples(t *testing.T) {
	t.Parallel()
	base := docsOptio(t, nil)
	real := map[string]answer{}
	keep := func(method, path string, a answer) {
		if k := method + " " + path + " " + strconv.Itoa(a.status); real[k].body == nil {
			real[k] = a
		}
	}
	var responses []docBlock
	requests := 0
	for _, b := range allBlocks(sparkDocs(t)) {
		if b.Lang != "json" {
			continue
		}
		if v, ok := b.marker("request"); ok {
			requests++
			if v == "sso-claims" {
				status, u := ssoSignIn(t, base, b.where(), b.Body)
				require.Equal(t, http.StatusSeeOther, status, "%s: SSO with these claims", b.where())
				var c struct{ Sub, Role string }
				require.NoError(t, json.Unmarshal([]byte(b.Body), &c))
				require.Equal(t, c.Role, string(u.Role), b.where())
				continue
			}
			method, path, _ := strings.Cut(v, " ")
			require.Equal(t, http.MethodPost, method, b.where())
			require.True(t, strings.HasPrefix(path, "/spark/webhook/"), "%s: only webhooks are request examples", b.where())
			id := freshID()
			a := postWebhook(t, base, path, id, []byte(b.Body), docsWebhookSecret)
			require.Equal(t, http.StatusAccepted, a.status, "%s: %s", b.where(), a.body)
			keep(method, path, a)
			a = postWebhook(t, base, path, id, []byte(b.Body), docsWebhookSecret)
			require.Equal(t, http.StatusOK, a.status, "%s: a repeated webhook-id: %s", b.where(), a.body)
			keep(method, path, a)
		}
		if v, ok := b.marker("bad-request"); ok {
			key, _ := parseExampleKey(v)
			f := strings.Fields(key)
			require.Len(t, f, 3, b.where())
			a := postWebhook(t, base, f[1], freshID(), []byte(b.Body), docsWebhookSecret)
			require.Equal(t, f[2], strconv.Itoa(a.status), "%s: %s", b.where(), a.body)
			keep(f[0], f[1], a)
		}
		if _, ok := b.marker("response"); ok {
			responses = append(responses, b)
		}
	}
	require.GreaterOrEqual(t, requests, 5, "the documents lost their request examples")

	// Every example payload file is accepted by the endpoint its name says.
	files, err := filepath.Glob(filepath.Join(sparkDocsDir, "examples", "*.json"))
	require.NoError(t, err)
	for _, f := range files {
		kind := strings.TrimSuffix(filepath.Base(f), ".json") // "first-submission" is a submission
		kind = kind[strings.LastIndex(kind, "-")+1:]
		require.Contains(t, webhookKinds, kind, "%s: name an example after its webhook", f)
		body, err := os.ReadFile(f)
		require.NoError(t, err)
		a := postWebhook(t, base, "/spark/webhook/"+kind, freshID(), body, docsWebhookSecret)
		require.Equal(t, http.StatusAccepted, a.status, "%s: %s", f, a.body)
	}

	// Answers the request examples cannot produce: a wrong signature, a
	// flood, an expired token.
	sub, err := os.ReadFile(filepath.Join(sparkDocsDir, "examples", "submission.json"))
	require.NoError(t, err)
	keep("POST", "/spark/webhook/submission", postWebhook(t, base, "/spark/webhook/submission", freshID(), sub, "whsec_bm90LXRoZS1zZWNyZXQ="))
	limited := docsOptio(t, map[string]string{"SPARK_WEBHOOK_RATE": "0.5", "SPARK_WEBHOOK_BURST": "1"})
	require.Equal(t, http.StatusAccepted, postWebhook(t, limited, "/spark/webhook/submission", freshID(), sub, docsWebhookSecret).status)
	flood := postWebhook(t, limited, "/spark/webhook/submission", freshID(), sub, docsWebhookSecret)
	require.Equal(t, http.StatusTooManyRequests, flood.status)
	require.NotEmpty(t, flood.header.Get("Retry-After"))
	keep("POST", "/spark/webhook/submission", flood)
	expired, err := spark.SignToken(docsSSOSecret, spark.Claims{Subject: "spark-stu-maya", Role: optio.RoleStudent, Audience: []string{docsAudience}},
		5*time.Minute, time.Now().Add(-20*time.Minute))
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodGet, base+"/spark/sso?token="+expired, nil)
	req.Header.Set("Accept", "application/json")
	keep("GET", "/spark/sso", do(t, http.DefaultClient, req))

	require.NotEmpty(t, responses)
	for _, b := range responses {
		v, _ := b.marker("response")
		key, optional := parseExampleKey(v)
		a, ok := real[key]
		require.True(t, ok, "%s: no real answer for %q to compare with", b.where(), key)
		requireSameShape(t, b.where(), b.Body, a.body, optional)
	}
}

// TestDocsSparkAPIExamples checks API_SPECIFICATION.md both ways: each
// documented answer has the keys the sandbox (which implements the
// contract) really sends, and Optio's Spark client accepts each documented
// answer as it is.
func TestDocsSparkAPIExamples(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const key = "docs-api-key"
	sb, err := sandbox.New(sandbox.Config{OptioURL: "http://127.0.0.1:1", SSOSecret: "x", WebhookSecret: "y", APIKey: key})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, sb.Start(ln))
	t.Cleanup(func() { _ = sb.Close() })
	essay, ok := sandbox.Sample("essay-pdf")
	require.True(t, ok)
	_, err = sb.Submit(ctx, "spark-stu-maya", "spark-physics-energy-project", "The marble drops, rolls and rings the bell.", []sandbox.SampleFile{essay})
	require.NoError(t, err)

	call := func(method, path, apiKey string, body []byte, idem string) answer {
		req, err := http.NewRequest(method, sb.URL()+path, bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+apiKey)
		if idem != "" {
			req.Header.Set("Idempotency-Key", idem)
		}
		return do(t, http.DefaultClient, req)
	}
	documented := map[string]string{} // "GET /api/courses" → example, for the client check
	var grade spark.GradePassback
	n := 0
	for _, b := range parseDoc(t, filepath.Join(sparkDocsDir, "API_SPECIFICATION.md")) {
		if v, ok := b.marker("spark-request"); ok {
			require.Equal(t, "POST /api/grades", v, b.where())
			require.NoError(t, json.Unmarshal([]byte(b.Body), &grade))
			idem := spark.PassbackKey(grade.OptioTaskCompletionID, grade.GradedAt)
			a := call("POST", "/api/grades", key, []byte(b.Body), idem)
			require.Equal(t, http.StatusCreated, a.status, "%s: %s", b.where(), a.body)
			a = call("POST", "/api/grades", key, []byte(b.Body), idem)
			require.Equal(t, http.StatusOK, a.status, "%s: a repeated Idempotency-Key: %s", b.where(), a.body)
		}
		v, ok := b.marker("spark-response")
		if !ok {
			continue
		}
		n++
		k, optional := parseExampleKey(v)
		f := strings.Fields(k)
		var a answer
		switch {
		case len(f) == 2 && f[0] == "GET":
			a = call("GET", f[1], key, nil, "")
			require.Equal(t, http.StatusOK, a.status, "%s: %s", b.where(), a.body)
			documented[k] = b.Body
		case len(f) == 3 && f[0] == "GET" && f[2] == "401":
			a = call("GET", f[1], "not-the-key", nil, "")
			require.Equal(t, http.StatusUnauthorized, a.status)
		case k == "POST /api/grades 201":
			a = call("POST", "/api/grades", key, []byte(`{"spark_user_id":"spark-stu-leo","spark_assignment_id":"spark-physics-motion-lab","grade":"B","optio_task_completion_id":"docs-c2","graded_at":"2025-03-14T15:43:10Z"}`), "docs-c2")
			require.Equal(t, http.StatusCreated, a.status, string(a.body))
		default:
			t.Fatalf("%s: no way to ask the sandbox for %q", b.where(), k)
		}
		requireSameShape(t, b.where(), b.Body, a.body, optional)
	}
	require.GreaterOrEqual(t, n, 6)

	// Optio's client reads the documented answers.
	fake := http.NewServeMux()
	for k, body := range documented {
		fake.HandleFunc(k, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, body)
		})
	}
	fake.HandleFunc("POST /api/grades", func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, spark.PassbackKey(grade.OptioTaskCompletionID, grade.GradedAt), r.Header.Get("Idempotency-Key"), "the documented key")
		w.WriteHeader(http.StatusCreated)
	})
	srv := &http.Server{Handler: fake}
	fln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(fln) }()
	t.Cleanup(func() { _ = srv.Close() })
	c := &spark.Client{BaseURL: "http://" + fln.Addr().String(), APIKey: key}
	courses, err := c.ListCourses(ctx, "")
	require.NoError(t, err)
	require.NotEmpty(t, courses.Courses)
	course, err := c.GetCourse(ctx, "spark-physics")
	require.NoError(t, err)
	require.Equal(t, "Physics", course.Title)
	as, err := c.ListAssignments(ctx, "spark-physics")
	require.NoError(t, err)
	require.NotEmpty(t, as)
	es, err := c.ListEnrollments(ctx, "spark-stu-maya")
	require.NoError(t, err)
	require.NotEmpty(t, es)
	subs, err := c.ListSubmissions(ctx, "spark-physics-energy-project", time.Time{}, "")
	require.NoError(t, err)
	require.Len(t, subs.Submissions, 1, "the documented submission is valid: %v", subs.Rejected)
	require.NotEmpty(t, subs.NextCursor)
	require.NoError(t, c.PostGrade(ctx, grade))
}

// TestDocsWorkedSignature recomputes the worked example of INTEGRATION.md
// byte for byte.
func TestDocsWorkedSignature(t *testing.T) {
	t.Parallel()
	var ex map[string]string
	for _, b := range parseDoc(t, filepath.Join(sparkDocsDir, "INTEGRATION.md")) {
		if _, ok := b.marker("worked-example"); ok {
			ex = map[string]string{}
			for _, line := range strings.Split(strings.TrimSpace(b.Body), "\n") {
				kv := regexp.MustCompile(`\s{2,}`).Split(line, 2)
				require.Len(t, kv, 2, line)
				ex[kv[0]] = kv[1]
			}
		}
	}
	require.NotNil(t, ex, "INTEGRATION.md has no worked example")
	ts, err := strconv.ParseInt(ex["webhook-timestamp"], 10, 64)
	require.NoError(t, err)
	key, err := optio.DecodeWebhookSecret(ex["secret"])
	require.NoError(t, err)
	require.Equal(t, hex.EncodeToString(key), ex["key (hex)"])
	require.Equal(t, ex["webhook-id"]+"."+ex["webhook-timestamp"]+"."+ex["body"], ex["signed content"])
	sig, err := spark.WebhookSigner{Secret: ex["secret"]}.Sign(ex["webhook-id"], time.Unix(ts, 0), []byte(ex["body"]))
	require.NoError(t, err)
	require.Equal(t, ex["webhook-signature"], sig)

	h := http.Header{}
	h.Set(spark.HeaderWebhookID, ex["webhook-id"])
	h.Set(spark.HeaderWebhookTimestamp, ex["webhook-timestamp"])
	h.Set(spark.HeaderWebhookSignature, ex["webhook-signature"])
	v := spark.WebhookVerifier{Secrets: []string{ex["secret"]}, Clock: optio.NewFakeClock(time.Unix(ts, 0).Add(time.Minute))}
	_, _, err = v.Verify(h, []byte(ex["body"]))
	require.NoError(t, err)
}

// TestDocsErrorCatalogue checks that INTEGRATION.md lists every code Spark can
// see, each with the status Optio really answers.
func TestDocsErrorCatalogue(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(sparkDocsDir, "INTEGRATION.md"))
	require.NoError(t, err)
	_, table, ok := strings.Cut(string(raw), "<!-- error-catalogue -->")
	require.True(t, ok)
	row := regexp.MustCompile("^\\| `([a-z_]+)` \\| (\\d{3}) \\|")
	listed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(table), "\n") {
		if !strings.HasPrefix(line, "|") {
			break
		}
		if m := row.FindStringSubmatch(line); m != nil {
			require.Equal(t, m[2], strconv.Itoa(web.StatusOf(m[1])), "status of %s", m[1])
			listed[m[1]] = true
		}
	}
	for _, code := range []string{
		spark.ETokenMissing, spark.ETokenMalformed, spark.ETokenBadSignature, spark.ETokenAlgorithmRefused, spark.ETokenExpired,
		spark.ETokenNotYetValid, spark.ETokenMissingClaim, spark.ETokenLifetimeTooLong, spark.ETokenWrongIssuer,
		spark.ETokenWrongAudience, spark.ETokenInvalidClaim, spark.ESSONotConfigured, spark.EWebhookNotConfigured,
		spark.EWebhookMissingHeaders, spark.EWebhookBadTimestamp, spark.EWebhookBadSignature,
		optio.ETokenReplayed, optio.ESSOAdminNotAllowed, optio.ESSORoleMismatch,
		optio.EPAYLOAD, optio.EMALFORMED, optio.ETOOLARGE, optio.ERATELIMIT, optio.EUNAVAILABLE, optio.EINTERNAL, optio.ENOTFOUND,
		optio.EPortfolioPrivate,
	} {
		require.True(t, listed[code], "the error catalogue lacks %s", code)
	}
}
