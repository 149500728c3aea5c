package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/app"
	"github.com/optio-edu/optio/jobs"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

const healthHookSecret = "spark-webhook-secret-for-health-0123456789"

// healthDay is one scripted day of traffic against the real program with
// a fake clock: SSO sign-ins, webhooks, syncs with chosen latencies, a
// failed sync, badge pages and OnFire clicks.
type healthDay struct {
	t     *testing.T
	a     *app.App
	clock *optio.FakeClock
	n     int
}

func (h *healthDay) at(hour, minute int) {
	h.clock.Set(time.Date(2026, 3, 2, hour, minute, 0, 0, time.UTC)) // a Monday
}

// hook delivers a signed webhook stamped with the fake clock.
func (h *healthDay) hook(endpoint string, body any, secret string) (int, map[string]any) {
	h.t.Helper()
	h.n++
	raw, _ := body.([]byte)
	if raw == nil {
		var err error
		raw, err = json.Marshal(body)
		require.NoError(h.t, err)
	}
	hdr, err := spark.WebhookSigner{Secret: secret}.Header(fmt.Sprintf("msg_health_%d", h.n), h.clock.Now(), raw)
	require.NoError(h.t, err)
	return h.post(endpoint, hdr, raw)
}

func (h *healthDay) post(endpoint string, hdr http.Header, raw []byte) (int, map[string]any) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.a.URL()+"/spark/webhook/"+endpoint, bytes.NewReader(raw))
	require.NoError(h.t, err)
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// signIn signs a Spark user in by SSO and returns the browser.
func (h *healthDay) signIn(c spark.Claims) *ssoBrowser {
	h.t.Helper()
	b := newSSOBrowser(h.t, h.a.URL())
	tok, err := spark.SignToken(ssoSecret, c, 5*time.Minute, h.clock.Now())
	require.NoError(h.t, err)
	status, _ := b.sso(tok)
	require.Equal(h.t, http.StatusSeeOther, status)
	return b
}

// submitAndSync delivers a submission, lets latency pass and runs its sync.
func (h *healthDay) submitAndSync(student, assignment string, latency time.Duration) {
	h.t.Helper()
	status, body := h.hook("submission", map[string]any{"spark_user_id": student, "spark_assignment_id": assignment,
		"spark_course_id": "bio", "submission_text": "Work for " + assignment}, healthHookSecret)
	require.Equal(h.t, http.StatusAccepted, status, body)
	h.clock.Advance(latency)
	require.NoError(h.t, h.a.Jobs.Sync.Sync(context.Background(), body["sync_id"].(string)))
}

func healthReport(t *testing.T, b *ssoBrowser) optio.HealthReport {
	t.Helper()
	resp, body := b.get("/api/admin/health", "json")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	var r optio.HealthReport
	require.NoError(t, json.Unmarshal([]byte(body), &r))
	return r
}

func TestHealthAfterAScriptedDay(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		clock := optio.NewFakeClock(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
		env := newSSOEnv(t, d).set("SPARK_WEBHOOK_SECRET", healthHookSecret).set("SPARK_SSO_ALLOW_ADMIN", "true").
			set("SPARK_TRUST_CONSENT", "true").set("OPTIO_WORKERS", "0").
			set("SPARK_CATALOG_URL", "https://onfire.test/courses/{course_id}")
		env.clock = clock
		env.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
		a := env.start(t)
		h := &healthDay{t: t, a: a, clock: clock}

		// 00:10 the admin, a parent and four students sign in (6 ok).
		h.at(0, 10)
		admin := h.signIn(spark.Claims{Subject: "adm", Email: "adm@school.test", GivenName: "Ada", FamilyName: "Admin", Role: optio.RoleAdmin})
		yes := true
		adult := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
		students := map[string]*ssoBrowser{}
		for _, s := range []string{"s1", "s2", "s3", "s4"} {
			c := studentClaims(s, "bio")
			if s == "s1" { // an adult who chose to publish: visible beyond the family
				c.BirthDate, c.PublishConsent = &adult, &yes
			}
			students[s] = h.signIn(c)
		}
		parent := h.signIn(spark.Claims{Subject: "par", Email: "par@school.test", GivenName: "Pat", FamilyName: "Parent", Role: optio.RoleParent})
		// An observer used Optio this week too.
		obs := storetest.MustCreateUser(t, a.Store, optio.RoleObserver, "Olive", "Observer")
		_, err := a.Store.CreateSession(ctx, obs.ID, "observer-session-hash", time.Hour)
		require.NoError(t, err)

		// Two badges: bio alone, and bio with chem.
		bioOnly, err := a.Store.CreateBadge(ctx, optio.BadgeInput{Name: ptr("Biologist"), RequiredCourses: &[]string{"bio"}, XPRequired: ptr(0)})
		require.NoError(t, err)
		both, err := a.Store.CreateBadge(ctx, optio.BadgeInput{Name: ptr("Scientist"), RequiredCourses: &[]string{"bio", "chem"}, XPRequired: ptr(0)})
		require.NoError(t, err)

		// 01:00 Spark sends the course with six assignments (auto-mapped).
		h.at(1, 0)
		var asg []map[string]any
		for i := 1; i <= 6; i++ {
			asg = append(asg, map[string]any{"spark_assignment_id": fmt.Sprintf("a%d", i), "title": fmt.Sprintf("Lab %d", i), "max_points": 10})
		}
		status, body := h.hook("course", map[string]any{"spark_course_id": "bio", "course_title": "Biology", "assignments": asg}, healthHookSecret)
		require.Equal(t, http.StatusAccepted, status, body)

		// 02:00–10:00 twenty submissions synced with chosen latencies:
		// 10 × 30 s, 6 × 2 min, 2 × 4 min, 1 × 8 min, 1 × 20 min.
		// Sorted, p50 is the 10th (30 s), p95 the 19th (8 min), p99 the
		// 20th (20 min); 18 of 20 (90 %) are within 5 minutes.
		latencies := []time.Duration{}
		for range 10 {
			latencies = append(latencies, 30*time.Second)
		}
		for range 6 {
			latencies = append(latencies, 2*time.Minute)
		}
		latencies = append(latencies, 4*time.Minute, 4*time.Minute, 8*time.Minute, 20*time.Minute)
		plan := []struct {
			student string
			n       int
		}{{"s1", 6}, {"s2", 6}, {"s3", 5}, {"s4", 3}}
		i := 0
		for _, p := range plan {
			for k := 1; k <= p.n; k++ {
				h.at(2+i/3, (i%3)*20)
				h.submitAndSync(p.student, fmt.Sprintf("a%d", k), latencies[i])
				i++
			}
		}
		require.Equal(t, 20, i)

		// 11:00 a re-delivery (duplicate), a forged delivery and a bad payload.
		h.at(11, 0)
		raw := []byte(`{"spark_user_id":"s4","spark_assignment_id":"a1","spark_course_id":"bio","submission_text":"Again"}`)
		hdr, err := spark.WebhookSigner{Secret: healthHookSecret}.Header("msg_redelivered", clock.Now(), raw)
		require.NoError(t, err)
		st1, _ := h.post("submission", hdr, raw)
		st2, _ := h.post("submission", hdr, raw)
		require.Equal(t, []int{http.StatusAccepted, http.StatusOK}, []int{st1, st2})
		status, _ = h.hook("submission", raw, "whsec_"+"Zm9yZ2VkLXNlY3JldC1mb3ItdGVzdHMtMDEyMzQ1Njc4OQ==")
		require.Equal(t, http.StatusUnauthorized, status)
		status, _ = h.hook("submission", map[string]any{"spark_user_id": "s4"}, healthHookSecret)
		require.Equal(t, http.StatusBadRequest, status)
		// That re-submission fails for good (as the sync worker records it).
		var lastQueue string
		require.NoError(t, a.Store.R.QueryRow(`SELECT id FROM spark_evidence_sync_queue WHERE status = 'pending'`).Scan(&lastQueue))
		_, err = a.Store.W.Exec(`UPDATE spark_evidence_sync_queue SET status = 'failed', error_message = 'Spark file URL answered 404', updated_at = $1 WHERE id = $2`,
			clock.Now(), lastQueue)
		require.NoError(t, err)

		// 12:00 s2 and s3 open their badge pages; each sees an OnFire link
		// for chem (not taken), none for bio (taken), and clicks it.
		h.at(12, 0)
		for _, s := range []string{"s2", "s3"} {
			resp, page := students[s].get("/badges", "html")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			link := "/go/onfire/chem?badge=" + both.ID
			require.Contains(t, page, `href="`+link+`"`)
			require.NotContains(t, page, "/go/onfire/bio?")
			resp, _ = students[s].get(link, "html")
			require.Equal(t, http.StatusFound, resp.StatusCode)
			require.Equal(t, "https://onfire.test/courses/chem", resp.Header.Get("Location"))
		}
		resp, _ := students["s2"].get("/go/onfire/not-a-badge-course", "html")
		require.Equal(t, http.StatusNotFound, resp.StatusCode, "only badge courses are redirected")

		// 20:00 Spark says s2 enrolled in chem (the click led somewhere).
		h.at(20, 0)
		status, _ = h.hook("roster", map[string]any{"spark_user_id": "s2", "spark_course_id": "chem", "action": "enroll"}, healthHookSecret)
		require.Equal(t, http.StatusAccepted, status)

		// 23:00 nine more sign-ins, one with an expired link, one forged.
		h.at(23, 0)
		for range 8 {
			h.signIn(studentClaims("s4", "bio"))
		}
		late := newSSOBrowser(t, a.URL())
		old, err := spark.SignToken(ssoSecret, studentClaims("s4"), 5*time.Minute, clock.Now().Add(-time.Hour))
		require.NoError(t, err)
		_, code, _ := late.ssoError(old)
		require.Equal(t, spark.ETokenExpired, code)
		forged, err := spark.SignToken("another-secret-0123456789abcdef", studentClaims("s4"), 5*time.Minute, clock.Now())
		require.NoError(t, err)
		_, code, _ = late.ssoError(forged)
		require.Equal(t, spark.ETokenBadSignature, code)

		// 23:30 the health job runs; the admin reads the report.
		h.at(23, 30)
		require.NoError(t, jobs.RunHealth(ctx, a.Store, nil))
		r := healthReport(t, admin)
		require.Len(t, r.Windows, 3)
		hour, day, month := r.Windows[0], r.Windows[1], r.Windows[2]

		// SSO: 6 + 8 ok, 2 failures over the day; 8 of 10 in the last hour.
		require.Equal(t, int64(16), day.SSO.Attempts)
		require.Equal(t, map[string]int64{"ok": 14, "expired": 1, "bad_signature": 1}, day.SSO.ByOutcome)
		require.InDelta(t, 14.0/16, *day.SSO.SuccessRate, 1e-9)
		require.False(t, day.SSO.MeetsTarget, "87.5 % is under the 99 % target")
		require.Equal(t, int64(10), hour.SSO.Attempts)
		require.InDelta(t, 0.8, *hour.SSO.SuccessRate, 1e-9)
		require.Equal(t, day.SSO, month.SSO)

		// Webhooks: 1 course + 20 + 1 submissions + 1 roster accepted, 1
		// duplicate, 2 failures (bad signature, invalid) of 26.
		require.Equal(t, int64(26), day.Webhooks.Deliveries)
		require.Equal(t, int64(2), day.Webhooks.Failures)
		require.InDelta(t, 2.0/26, *day.Webhooks.FailureRate, 1e-9)
		require.False(t, day.Webhooks.MeetsTarget)
		require.Equal(t, map[string]int64{"accepted": 21, "duplicate": 1, "bad_signature": 1, "invalid": 1}, day.Webhooks.ByEndpoint["submission"])
		require.Equal(t, map[string]int64{"accepted": 1}, day.Webhooks.ByEndpoint["course"])
		require.Equal(t, map[string]int64{"accepted": 1}, day.Webhooks.ByEndpoint["roster"])
		require.Equal(t, int64(0), hour.Webhooks.Deliveries, "no webhook in the last hour")
		require.Nil(t, hour.Webhooks.FailureRate)
		require.True(t, hour.Webhooks.MeetsTarget)

		// Sync latency.
		require.Equal(t, 20, day.Sync.Completed)
		require.Equal(t, 30.0, day.Sync.P50Seconds)
		require.Equal(t, 480.0, day.Sync.P95Seconds)
		require.Equal(t, 1200.0, day.Sync.P99Seconds)
		require.InDelta(t, 0.9, *day.Sync.UnderFiveShare, 1e-9)
		require.False(t, day.Sync.MeetsTarget)
		require.Equal(t, 1, day.Sync.Failed)
		require.Equal(t, []optio.ReasonCount{{Reason: "Spark file URL answered 404", Count: 1}}, day.Sync.TopErrors)
		require.Equal(t, 0, hour.Sync.Completed)
		require.Equal(t, 1, r.Queue.Counts["failed"])
		require.Equal(t, 20, r.Queue.Counts["completed"])

		// Hourly series: 03:00 held three syncs of 30 s; 23:00 ten sign-ins.
		require.Len(t, r.Hourly, 24)
		for _, p := range r.Hourly {
			switch p.Start.Hour() {
			case 3:
				require.Equal(t, 3, p.SyncsCompleted)
				require.Equal(t, 30.0, *p.SyncP95Seconds)
			case 23:
				require.Equal(t, int64(10), p.SSOAttempts)
			}
		}

		// Badge accuracy: every award matches the rules.
		require.NotNil(t, r.BadgeAccuracy)
		require.Equal(t, 0, r.BadgeAccuracy.Mismatches, "%+v", r.BadgeAccuracy.List)

		// Business: s1 and s2 finished bio (Biologist); all four have work.
		b := r.Business
		require.NotNil(t, b.Latest)
		require.Equal(t, optio.BusinessDay{Day: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), StudentsWithSyncedWork: 4,
			PortfoliosBeyondFamily: 1, BadgesEarned: 2, ActiveParents: 1, ActiveObservers: 1, OnFireClicks: 2}, *b.Latest)
		require.Equal(t, []optio.WeekCount{{Week: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Count: 2}}, b.BadgesPerWeek)
		require.ElementsMatch(t, []optio.BadgeCompletion{
			{BadgeID: bioOnly.ID, Name: "Biologist", Earned: 2, Progress: 4, Rate: 0.5},
			{BadgeID: both.ID, Name: "Scientist", Earned: 0, Progress: 4, Rate: 0},
		}, b.Completion)
		require.Equal(t, []optio.OnFireCourse{{SparkCourseID: "chem", Clicks: 2, Enrolments: 1}}, b.OnFire)

		// The page shows the same figures, each chart and the retry button.
		resp, page := admin.get("/admin/health", "html")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		for _, id := range []string{"chart-sso", "chart-webhooks", "chart-sync", "chart-polls", "chart-adoption", "chart-badges"} {
			require.Contains(t, page, `id="`+id+`"`)
		}
		require.Contains(t, page, "87.5 %")
		require.Contains(t, page, "Retry 1 failed sync")
		require.Contains(t, page, "Spark file URL answered 404")

		// Students, parents and strangers may not read either.
		for _, b := range []*ssoBrowser{students["s1"], parent} {
			resp, _ = b.get("/api/admin/health", "json")
			require.Equal(t, http.StatusForbidden, resp.StatusCode)
			resp, _ = b.get("/admin/health", "html")
			require.NotEqual(t, http.StatusOK, resp.StatusCode)
		}
		resp, _ = newSSOBrowser(t, a.URL()).get("/api/admin/health", "json")
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

		// The retry button re-queues the failed sync and comes back here.
		code2, loc := postFormNoFollow(t, admin, "/admin/spark/process", "retry_failed=true&from=health")
		require.Equal(t, http.StatusSeeOther, code2)
		require.True(t, strings.HasPrefix(loc, "/admin/health?flash=1+syncs+queued"), loc)

		// Plant two mismatches: s2 loses the award it earned (qualifies,
		// no badge) and s4 holds Scientist the rules never granted.
		_, err = a.Store.W.Exec(`DELETE FROM user_badges WHERE badge_id = $1 AND user_id = (SELECT id FROM users WHERE email = 's2@school.test')`, bioOnly.ID)
		require.NoError(t, err)
		_, err = a.Store.W.Exec(`INSERT INTO user_badges (id, user_id, badge_id, earned_at, evidence)
			SELECT '01890000-0000-7000-8000-000000000001', id, $1, $2, '{}' FROM users WHERE email = 's4@school.test'`, both.ID, clock.Now())
		require.NoError(t, err)
		// The admin presses "Check now" rather than wait for the job.
		code2, loc = postFormNoFollow(t, admin, "/admin/health/check", "")
		require.Equal(t, http.StatusSeeOther, code2)
		require.Equal(t, "/admin/health?flash=Checked+4+students%3A+2+badge+mismatches.", loc)
		r = healthReport(t, admin)
		require.Equal(t, 2, r.BadgeAccuracy.Mismatches)
		kinds := map[string]string{}
		for _, m := range r.BadgeAccuracy.List {
			kinds[m.BadgeName] = m.Kind
		}
		require.Equal(t, map[string]string{"Biologist": "missing", "Scientist": "unearned"}, kinds)
		require.Contains(t, scrape(t, a), "optio_badge_accuracy_mismatches 2\n")
		_, page = admin.get("/admin/health", "html")
		require.Contains(t, page, "holds a badge the rules never granted")
	})
}

func ptr[T any](v T) *T { return &v }

func postFormNoFollow(t *testing.T, b *ssoBrowser, path, form string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.base)
	resp, err := b.http.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Location")
}

// scrape reads /metrics from the metrics listener.
func scrape(t *testing.T, a *app.App) string {
	t.Helper()
	resp, err := http.Get(a.MetricsURL() + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}
