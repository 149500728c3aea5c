package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/sandbox"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// sparkProxy sits between Optio and the sandbox's API so a test can make
// Spark fail: fault, when set, answers a request instead of the sandbox.
type sparkProxy struct {
	mu    sync.Mutex
	sb    http.Handler
	fault func(w http.ResponseWriter, r *http.Request) bool
}

func (p *sparkProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	sb, fault := p.sb, p.fault
	p.mu.Unlock()
	if fault != nil && fault(w, r) {
		return
	}
	sb.ServeHTTP(w, r)
}

func (p *sparkProxy) setFault(f func(w http.ResponseWriter, r *http.Request) bool) {
	p.mu.Lock()
	p.fault = f
	p.mu.Unlock()
}

// TestPollingAloneBringsWorkToThePortfolio is issue 16's done-when (b):
// a sandbox Spark that sends no webhook at all (webhooks off, no course
// webhook), Optio with SPARK_API_URL and a 10 s poll interval. The periodic
// poll learns the course, its assignments and the student's enrolments and
// imports the submission with its image: the work is on the student's
// portfolio in a quest with the course's real title, the student enrolled.
// Polling again, or the same work also arriving by webhook, duplicates
// nothing; Spark answering 500 mid-poll is resumed by the next poll; a
// hostile API's oversized page stops the poll with an error admins see.
func TestPollingAloneBringsWorkToThePortfolio(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		secrets := map[string]string{"SPARK_SSO_SECRET": randomSecret(), "SPARK_WEBHOOK_SECRET": randomSecret(), "SPARK_API_KEY": "spk_" + randomSecret()}
		proxy := &sparkProxy{}
		apiLn, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		apiSrv := &http.Server{Handler: proxy, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = apiSrv.Serve(apiLn) }()
		t.Cleanup(func() { _ = apiSrv.Close() })
		apiURL := "http://" + apiLn.Addr().String()

		env := map[string]string{"SPARK_API_URL": apiURL, "SPARK_POLL_INTERVAL": "10s", "SPARK_FILE_ALLOW_PRIVATE": "true",
			"SPARK_API_MAX_RESPONSE_BYTES": strconv.Itoa(1 << 20)}
		for k, v := range secrets {
			env[k] = v
		}
		getenv := testEnv(t, d, env)
		var out strings.Builder
		require.NoError(t, run(ctx, []string{"admin", "create", "--email", "ops@school.test", "--password", "correct horse"}, &out, &out, getenv))
		a := startApp(t, getenv)

		sb, err := sandbox.New(sandbox.Config{OptioURL: a.URL(), SSOSecret: secrets["SPARK_SSO_SECRET"],
			WebhookSecret: secrets["SPARK_WEBHOOK_SECRET"], APIKey: secrets["SPARK_API_KEY"], PublicURL: apiURL,
			WebhooksOff: true, PageSize: 1})
		require.NoError(t, err)
		t.Cleanup(func() { _ = sb.Close() })
		proxy.mu.Lock()
		proxy.sb = sb
		proxy.mu.Unlock()

		const student = "spark-stu-maya"
		var course sandbox.Course
		for _, c := range sb.Courses() {
			if e, ok := sb.Enrollments(student)[c.ID]; ok && e.Status == sandbox.StatusActive {
				course = c
				break
			}
		}
		require.NotEmpty(t, course.ID)
		chart, ok := sandbox.Sample("chart-png")
		require.True(t, ok)
		_, err = sb.Submit(ctx, student, course.Assignments[0].ID, "Energy is conserved in every swing we filmed.", []sandbox.SampleFile{chart})
		require.NoError(t, err)
		require.Empty(t, sb.Deliveries(), "webhooks are off: nothing was sent")

		// The periodic poll (every 10 s) brings the work in; no webhook ever arrived.
		db := a.Store
		require.Eventually(t, func() bool {
			var n int
			require.NoError(t, db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM spark_evidence_sync_queue WHERE status = 'completed'`).Scan(&n))
			return n == 1
		}, 40*time.Second, 100*time.Millisecond, "synced within one poll interval")

		// What the student sees, signed in from Spark.
		stu := newClient(t, a.URL())
		ssoURL, err := sb.SSOURL(student, "")
		require.NoError(t, err)
		req, _ := http.NewRequest(http.MethodGet, ssoURL, nil)
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		req.Header.Set("Sec-Fetch-Dest", "document")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		res, err := stu.http.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		var dash struct {
			User   optio.User
			XP     optio.XPSummary
			Quests []optio.QuestProgress
		}
		require.Equal(t, 200, stu.do("GET", "/api/dashboard", nil, &dash))
		titles := map[string]string{}
		for _, q := range dash.Quests {
			titles[q.Quest.Title] = q.Status
		}
		require.Equal(t, optio.EnrollmentActive, titles[course.Title], "enrolled in a quest with the course's real title: %v", titles)
		require.Greater(t, len(titles), 1, "every course Spark's enrolments list, not only the one with work")
		xp := dash.XP.Total
		require.Equal(t, int(course.Assignments[0].MaxPoints), xp)
		code, page := stu.page("/portfolio/" + dash.User.PortfolioSlug)
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, page, "Energy is conserved in every swing we filmed.")
		require.Contains(t, page, "<img")
		require.Contains(t, page, course.Title)

		// Polling again duplicates nothing.
		r, err := a.Jobs.Poll.Poll(ctx, nil)
		require.NoError(t, err)
		require.Zero(t, r.Queued)
		// The same work delivered by webhook too: accepted, and nothing duplicated.
		rec := sb.Submissions()[0]
		body, err := json.Marshal(map[string]any{"spark_user_id": rec.StudentID, "spark_assignment_id": rec.AssignmentID,
			"spark_course_id": rec.CourseID, "submission_text": rec.Text, "submitted_at": rec.SubmittedAt,
			"submission_files": []map[string]string{{"url": rec.Files[0].URL, "type": rec.Files[0].ContentType, "filename": rec.Files[0].Name}}})
		require.NoError(t, err)
		ans := postWebhook(t, a.URL(), "/spark/webhook/submission", "msg_overlap_1", body, secrets["SPARK_WEBHOOK_SECRET"])
		require.Less(t, ans.status, 300, string(ans.body))
		waitAllSynced(t, db)
		_, err = a.Jobs.Poll.Poll(ctx, nil)
		require.NoError(t, err)
		waitAllSynced(t, db)
		require.Equal(t, 200, stu.do("GET", "/api/dashboard", nil, &dash))
		require.Equal(t, xp, dash.XP.Total, "no second XP award")
		var completions, blocks int
		require.NoError(t, db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM quest_task_completions`).Scan(&completions))
		require.NoError(t, db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM evidence_document_blocks`).Scan(&blocks))
		require.Equal(t, 1, completions)
		require.Equal(t, 2, blocks, "text and image, once")

		// Spark answers 500 mid-poll: the poll stops there, the next resumes.
		for i, asg := range course.Assignments[1:3] {
			_, err = sb.Submit(ctx, student, asg.ID, "More work "+strconv.Itoa(i), nil)
			require.NoError(t, err)
		}
		var failed atomic.Bool
		proxy.setFault(func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/api/assignments/"+course.Assignments[2].ID+"/submissions" && !failed.Swap(true) {
				http.Error(w, `{"error":{"message":"spark database restarting"}}`, http.StatusInternalServerError)
				return true
			}
			return false
		})
		r, err = a.Jobs.Poll.Poll(ctx, nil)
		require.ErrorContains(t, err, "spark database restarting")
		require.Equal(t, 1, r.Queued, "the work before the failure is kept")
		admin := newClient(t, a.URL())
		require.Equal(t, 200, admin.do("POST", "/api/auth/login", map[string]string{"email": "ops@school.test", "password": "correct horse"}, nil))
		var q optio.SyncQueueStats
		require.Equal(t, 200, admin.do("GET", "/api/admin/spark/sync/evidence-queue", nil, &q))
		require.NotNil(t, q.Poll)
		require.False(t, q.Poll.OK)
		require.Contains(t, q.Poll.Error, "spark database restarting")
		r, err = a.Jobs.Poll.Poll(ctx, nil)
		require.NoError(t, err)
		require.Equal(t, 1, r.Queued, "the rest, once")
		waitAllSynced(t, db)
		require.NoError(t, db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM quest_task_completions`).Scan(&completions))
		require.Equal(t, 3, completions)

		// A hostile API: a 9 MB assignments page is refused on its
		// Content-Length (SPARK_API_MAX_RESPONSE_BYTES is 1 MB here).
		proxy.setFault(func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.HasSuffix(r.URL.Path, "/assignments") {
				return false
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(9<<20))
			_, _ = io.WriteString(w, `{"assignments":[{"id":"x","title":"`+strings.Repeat("x", 64<<10))
			return true // the rest is never sent; Optio must not wait for it
		})
		_, err = a.Jobs.Poll.Poll(ctx, nil)
		require.Error(t, err)
		require.Equal(t, optio.ETOOLARGE, optio.ErrorCode(err))
		require.Equal(t, 200, admin.do("GET", "/api/admin/spark/sync/evidence-queue", nil, &q))
		require.Contains(t, q.Poll.Error, "SPARK_API_MAX_RESPONSE_BYTES")
		code, html := admin.page("/admin/spark")
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, html, "SPARK_API_MAX_RESPONSE_BYTES", "the admin page says why polling stopped")
	})
}

// waitAllSynced waits until no sync is pending or processing.
func waitAllSynced(t *testing.T, db *store.DB) {
	t.Helper()
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, db.R.QueryRowContext(context.Background(),
			`SELECT COUNT(*) FROM spark_evidence_sync_queue WHERE status IN ('pending','processing')`).Scan(&n))
		return n == 0
	}, 30*time.Second, 50*time.Millisecond)
}
