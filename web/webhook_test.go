package web_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
	"github.com/optio-edu/optio/web"
)

const hookSecret = "spark-webhook-secret-for-tests-0123456789"

// hookEnv is one Optio web server over a real store, with a signer for the
// Spark side.
type hookEnv struct {
	t      testing.TB
	db     *store.DB // without the enqueuer: what a test reads and writes directly
	jobs   *recordingEnqueuer
	srv    http.Handler // the server itself, for requests that bypass the network
	url    string
	signer spark.WebhookSigner
	n      int
	mu     sync.Mutex
}

// recordingEnqueuer stands in for the jobs package: it writes each sync job
// it is handed after a commit into test_jobs. With lose set it drops them,
// as a crash before the jobs' insert would.
type recordingEnqueuer struct {
	db   *store.DB
	lose atomic.Bool
}

func (e *recordingEnqueuer) EnqueueTx(ctx context.Context, tx *sql.Tx, job optio.Job) error {
	if _, ok := job.(optio.SparkCourseFetchJob); ok {
		return nil // a course first seen: asking Spark's API for it commits with the course
	}
	return fmt.Errorf("unexpected job %T inside a webhook transaction", job)
}

func (e *recordingEnqueuer) EnqueueSoon(queueIDs ...string) {
	for _, id := range queueIDs {
		if !e.lose.Load() {
			if _, err := e.db.W.Exec(`INSERT INTO test_jobs (queue_id) VALUES ($1)`, id); err != nil {
				panic(err)
			}
		}
	}
}

// setupHooks starts a web server on a fresh store of dialect d with env
// (SPARK_WEBHOOK_SECRET defaults to hookSecret) and a recording enqueuer.
func setupHooks(t testing.TB, d store.Dialect, env map[string]string) *hookEnv {
	t.Helper()
	vars := map[string]string{"SPARK_WEBHOOK_SECRET": hookSecret, "OPTIO_METRICS_TOKEN": testMetricsToken}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := optio.LoadConfig(func(k string) string { return vars[k] })
	require.NoError(t, err)
	db := storetest.Open(t, d, nil)
	_, err = db.W.Exec(`CREATE TABLE test_jobs (queue_id TEXT NOT NULL)`)
	require.NoError(t, err)
	jobs := &recordingEnqueuer{db: db}
	srv := newServer(t, web.Deps{Config: cfg, Store: db.WithEnqueuer(jobs), Logger: slog.New(slog.DiscardHandler)})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &hookEnv{t: t, db: db, jobs: jobs, srv: srv, url: ts.URL, signer: spark.WebhookSigner{Secret: hookSecret}}
}

// eachStore runs fn in parallel on SQLite and PostgreSQL.
func eachWebhookStore(t *testing.T, env map[string]string, fn func(t *testing.T, h *hookEnv)) {
	t.Helper()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		fn(t, setupHooks(t, d, env))
	})
}

// answer is a decoded webhook response.
type answer struct {
	Status int
	Body   map[string]any
	Header http.Header
}

func (a answer) errCode() string {
	e, _ := a.Body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (a answer) fields() map[string]any {
	e, _ := a.Body["error"].(map[string]any)
	f, _ := e["fields"].(map[string]any)
	return f
}

func (h *hookEnv) newID() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n++
	return fmt.Sprintf("msg_%d_%d", time.Now().UnixNano(), h.n)
}

// send posts body to /spark/webhook/{endpoint}, signed now with a fresh id.
func (h *hookEnv) send(endpoint string, body any) answer {
	h.t.Helper()
	return h.sendAs(endpoint, h.newID(), time.Now(), h.signer, body)
}

func encode(body any) []byte {
	switch b := body.(type) {
	case []byte:
		return b
	case string:
		return []byte(b)
	}
	raw, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	return raw
}

// sendAs posts a delivery with the given id, timestamp and signer.
func (h *hookEnv) sendAs(endpoint, id string, ts time.Time, signer spark.WebhookSigner, body any) answer {
	h.t.Helper()
	raw := encode(body)
	hdr, err := signer.Header(id, ts, raw)
	require.NoError(h.t, err)
	return h.post(endpoint, hdr, bytes.NewReader(raw))
}

func (h *hookEnv) post(endpoint string, hdr http.Header, body io.Reader) answer {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+"/spark/webhook/"+endpoint, body)
	require.NoError(h.t, err)
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	a := answer{Status: resp.StatusCode, Header: resp.Header}
	raw, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	if len(raw) > 0 {
		require.NoError(h.t, json.Unmarshal(raw, &a.Body), "body: %s", raw)
	}
	return a
}

func (h *hookEnv) count(query string, args ...any) int {
	h.t.Helper()
	var n int
	require.NoError(h.t, h.db.R.QueryRow(query, args...).Scan(&n))
	return n
}

func (h *hookEnv) str(query string, args ...any) string {
	h.t.Helper()
	var s string
	require.NoError(h.t, h.db.R.QueryRow(query, args...).Scan(&s))
	return s
}

func submission(user, assignment, course, text string) map[string]any {
	return map[string]any{
		"spark_user_id": user, "spark_assignment_id": assignment, "spark_course_id": course,
		"submission_text": text, "submitted_at": "2026-03-01T14:00:00Z", "grade": "A-",
		"submission_files": []map[string]any{
			{"url": "https://files.spark.example/essay.pdf", "type": "application/pdf", "filename": "essay.pdf"},
			{"filename": "notes.txt", "type": "text/plain", "content_base64": "aGVsbG8="},
		},
	}
}

func course(id, title string, assignments ...map[string]any) map[string]any {
	return map[string]any{"spark_course_id": id, "course_title": title, "course_description": "About " + title,
		"assignments": assignments}
}

func assignment(id, title string, maxPoints any) map[string]any {
	a := map[string]any{"spark_assignment_id": id, "title": title, "description": title + " brief", "due_date": "2026-04-01"}
	if maxPoints != nil {
		a["max_points"] = maxPoints
	}
	return a
}

func roster(user, courseID, action, at string) map[string]any {
	return map[string]any{"spark_user_id": user, "spark_course_id": courseID, "action": action, "occurred_at": at}
}

func TestSubmissionWebhookStoresQueuesAndResubmits(t *testing.T) {
	t.Parallel()
	eachWebhookStore(t, nil, func(t *testing.T, h *hookEnv) {
		ctx := context.Background()
		// An unknown student, an unmapped course: stored and queued all the same.
		a := h.send("submission", submission("stu-9", "asg-1", "crs-1", "My essay"))
		require.Equal(t, http.StatusAccepted, a.Status, "%v", a.Body)
		require.Equal(t, "accepted", a.Body["status"])
		subID, _ := a.Body["submission_id"].(string)
		syncID, _ := a.Body["sync_id"].(string)
		require.NotEmpty(t, subID)
		require.NotEmpty(t, syncID)

		u, err := h.db.UserBySparkID(ctx, "stu-9")
		require.NoError(t, err, "the provisional student is resolvable by Spark id")
		require.True(t, u.Provisional)
		require.Equal(t, u.ID, h.str(`SELECT user_id FROM spark_assignment_submissions WHERE id = $1`, subID))
		var files []spark.SubmissionFile
		require.NoError(t, json.Unmarshal([]byte(h.str(`SELECT submission_files FROM spark_assignment_submissions WHERE id = $1`, subID)), &files))
		require.Len(t, files, 2)
		require.Equal(t, "https://files.spark.example/essay.pdf", files[0].URL)
		require.Equal(t, "aGVsbG8=", files[1].ContentBase64)
		require.Equal(t, "pending", h.str(`SELECT status FROM spark_evidence_sync_queue WHERE id = $1`, syncID))
		require.Equal(t, 1, h.count(`SELECT COUNT(*) FROM test_jobs WHERE queue_id = $1`, syncID), "the job is enqueued once the data is committed")

		// SSO later completes that same user.
		sso, err := h.db.ResolveSparkUser(ctx, optio.SparkIdentity{SparkUserID: "stu-9", Email: "nia@school.test", GivenName: "Nia", FamilyName: "Roy", Role: optio.RoleStudent}, optio.LinkedViaSSO)
		require.NoError(t, err)
		require.Equal(t, u.ID, sso.ID)
		require.False(t, sso.Provisional)

		// A resubmission: new id, same student and assignment.
		b := h.send("submission", submission("stu-9", "asg-1", "crs-1", "My better essay"))
		require.Equal(t, http.StatusAccepted, b.Status, "%v", b.Body)
		require.Equal(t, subID, b.Body["submission_id"])
		require.EqualValues(t, 2, b.Body["revision"])
		require.NotEqual(t, syncID, b.Body["sync_id"])
		require.Equal(t, 1, h.count(`SELECT COUNT(*) FROM spark_assignment_submissions`))
		require.Equal(t, 2, h.count(`SELECT COUNT(*) FROM spark_evidence_sync_queue WHERE submission_id = $1`, subID))
		require.Equal(t, "My better essay", h.str(`SELECT submission_text FROM spark_assignment_submissions WHERE id = $1`, subID))
		require.Equal(t, 2, h.count(`SELECT revision FROM spark_assignment_submissions WHERE id = $1`, subID))
		require.Equal(t, 2, h.count(`SELECT revision FROM spark_evidence_sync_queue WHERE id = $1`, b.Body["sync_id"]))
		require.Equal(t, 0, h.count(`SELECT COUNT(*) FROM spark_assignment_submissions WHERE synced_to_optio = TRUE`))

		// The course mapping arrives: the waiting work is queued again.
		_, err = h.db.W.Exec(`UPDATE spark_evidence_sync_queue SET status = 'waiting' WHERE id = $1`, syncID)
		require.NoError(t, err)
		c := h.send("course", course("crs-1", "Marine Biology", assignment("asg-1", "Tide pools", 50)))
		require.Equal(t, http.StatusAccepted, c.Status, "%v", c.Body)
		require.EqualValues(t, 2, c.Body["requeued"])
		require.Equal(t, 0, h.count(`SELECT COUNT(*) FROM spark_evidence_sync_queue WHERE status = 'waiting'`))
		require.Equal(t, 2, h.count(`SELECT COUNT(*) FROM test_jobs WHERE queue_id = $1`, syncID))
		// A later course update (the assignment already has its task) re-queues nothing.
		c = h.send("course", course("crs-1", "Marine Biology", assignment("asg-1", "Tide pools", 50)))
		require.EqualValues(t, 0, c.Body["requeued"])
	})
}

func TestWebhookDuplicateIDs(t *testing.T) {
	t.Parallel()
	eachWebhookStore(t, nil, func(t *testing.T, h *hookEnv) {
		body := submission("stu-1", "asg-1", "crs-1", "Essay")
		id := h.newID()
		first := h.sendAs("submission", id, time.Now(), h.signer, body)
		require.Equal(t, http.StatusAccepted, first.Status)
		again := h.sendAs("submission", id, time.Now(), h.signer, submission("stu-1", "asg-1", "crs-1", "Changed"))
		require.Equal(t, http.StatusOK, again.Status)
		require.Equal(t, "duplicate", again.Body["status"])
		require.Equal(t, "Essay", h.str(`SELECT submission_text FROM spark_assignment_submissions`))
		require.Equal(t, 1, h.count(`SELECT COUNT(*) FROM spark_evidence_sync_queue`))

		// The same id on another endpoint is still the same delivery.
		require.Equal(t, http.StatusOK, h.sendAs("roster", id, time.Now(), h.signer, roster("stu-1", "crs-1", "enroll", "2026-03-01T00:00:00Z")).Status)
		require.Equal(t, http.StatusOK, h.sendAs("course", id, time.Now(), h.signer, course("crs-1", "Art")).Status)
		require.Equal(t, 0, h.count(`SELECT COUNT(*) FROM spark_enrollments`))
		require.Equal(t, 0, h.count(`SELECT COUNT(*) FROM spark_course_mappings`))

		// Twenty concurrent deliveries of one id: exactly one acceptance.
		id = h.newID()
		body = submission("stu-2", "asg-1", "crs-1", "Concurrent")
		var wg sync.WaitGroup
		statuses := make([]int, 20)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = h.sendAs("submission", id, time.Now(), h.signer, body).Status
			}()
		}
		wg.Wait()
		accepted, dup := 0, 0
		for _, s := range statuses {
			switch s {
			case http.StatusAccepted:
				accepted++
			case http.StatusOK:
				dup++
			}
		}
		require.Equal(t, 1, accepted, "statuses %v", statuses)
		require.Equal(t, 19, dup, "statuses %v", statuses)
		require.Equal(t, 1, h.count(`SELECT COUNT(*) FROM spark_assignment_submissions WHERE spark_user_id = 'stu-2'`))
		require.Equal(t, 1, h.count(`SELECT COUNT(*) FROM spark_evidence_sync_queue q JOIN spark_assignment_submissions s ON s.id = q.submission_id WHERE s.spark_user_id = 'stu-2'`))
	})
}

func TestWebhookSignatures(t *testing.T) {
	t.Parallel()
	eachWebhookStore(t, map[string]string{"SPARK_WEBHOOK_SECRET": "whsec_bmV3LXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVm, old-secret-0123456789abcdef0123456"}, func(t *testing.T, h *hookEnv) {
		body := submission("stu-1", "asg-1", "crs-1", "Essay")
		now := time.Now()
		cases := map[string]func() answer{
			"wrong secret": func() answer {
				return h.sendAs("submission", h.newID(), now, spark.WebhookSigner{Secret: "not-ours"}, body)
			},
			"stale": func() answer {
				return h.sendAs("submission", h.newID(), now.Add(-6*time.Minute), spark.WebhookSigner{Secret: "old-secret-0123456789abcdef0123456"}, body)
			},
			"future": func() answer {
				return h.sendAs("submission", h.newID(), now.Add(6*time.Minute), spark.WebhookSigner{Secret: "old-secret-0123456789abcdef0123456"}, body)
			},
			"tampered body": func() answer {
				raw := encode(body)
				hdr, err := spark.WebhookSigner{Secret: "old-secret-0123456789abcdef0123456"}.Header(h.newID(), now, raw)
				require.NoError(t, err)
				return h.post("submission", hdr, strings.NewReader(strings.Replace(string(raw), "Essay", "Esssay", 1)))
			},
		}
		for _, missing := range []string{spark.HeaderWebhookID, spark.HeaderWebhookTimestamp, spark.HeaderWebhookSignature} {
			cases["missing "+missing] = func() answer {
				raw := encode(body)
				hdr, err := spark.WebhookSigner{Secret: "new-secret-0123456789abcdef"}.Header(h.newID(), now, raw)
				require.NoError(t, err)
				hdr.Del(missing)
				return h.post("submission", hdr, bytes.NewReader(raw))
			}
		}
		for name, send := range cases {
			a := send()
			require.Equal(t, http.StatusUnauthorized, a.Status, name)
			require.Contains(t, a.errCode(), "webhook_", name)
		}
		require.Equal(t, 0, h.count(`SELECT COUNT(*) FROM webhook_deliveries`), "nothing is recorded for a bad signature")
		require.Equal(t, 0, h.count(`SELECT COUNT(*) FROM users`))

		// Rotation: both the new (whsec_) and the old secret are accepted.
		require.Equal(t, http.StatusAccepted, h.sendAs("submission", h.newID(), now, spark.WebhookSigner{Secret: "new-secret-0123456789abcdef"}, body).Status)
		require.Equal(t, http.StatusAccepted, h.sendAs("submission", h.newID(), now, spark.WebhookSigner{Secret: "old-secret-0123456789abcdef0123456"}, body).Status)
	})
}

func TestWebhookNotConfigured(t *testing.T) {
	t.Parallel()
	h := setupHooks(t, store.SQLite, map[string]string{"SPARK_WEBHOOK_SECRET": " "})
	for _, ep := range []string{"submission", "roster", "course"} {
		a := h.send(ep, submission("stu-1", "asg-1", "crs-1", "x"))
		require.Equal(t, http.StatusServiceUnavailable, a.Status)
		require.Equal(t, spark.EWebhookNotConfigured, a.errCode())
	}
}

// endless is a body that never ends; the server must stop at the cap.
type endless struct{ read int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	e.read += int64(len(p))
	return len(p), nil
}

func TestWebhookBodyLimitsAndValidation(t *testing.T) {
	t.Parallel()
	eachWebhookStore(t, map[string]string{"SPARK_WEBHOOK_MAX_BYTES": "4096"}, func(t *testing.T, h *hookEnv) {
		big := submission("stu-1", "asg-1", "crs-1", strings.Repeat("x", 5000))
		a := h.send("submission", big)
		require.Equal(t, http.StatusRequestEntityTooLarge, a.Status)
		require.Equal(t, optio.ETOOLARGE, a.errCode())

		// Without a Content-Length (chunked), the cap still holds.
		raw := encode(big)
		hdr, err := h.signer.Header(h.newID(), time.Now(), raw)
		require.NoError(t, err)
		a = h.post("submission", hdr, io.MultiReader(bytes.NewReader(raw), &endless{}))
		require.Equal(t, http.StatusRequestEntityTooLarge, a.Status)

		// Malformed JSON and invalid payloads: 400 naming the problem.
		a = h.send("submission", `{"spark_user_id": "stu-1",`)
		require.Equal(t, http.StatusBadRequest, a.Status)
		require.Equal(t, optio.EMALFORMED, a.errCode())
		a = h.send("submission", map[string]any{"spark_assignment_id": 7, "spark_course_id": "c"})
		require.Equal(t, http.StatusBadRequest, a.Status)
		require.Equal(t, optio.EMALFORMED, a.errCode())
		a = h.send("submission", map[string]any{"spark_assignment_id": "a", "spark_course_id": "c", "submitted_at": "yesterday",
			"submission_files": []map[string]any{{"url": "ftp://x/y.pdf", "type": "application/pdf", "filename": "y.pdf"}}})
		require.Equal(t, http.StatusBadRequest, a.Status)
		require.Equal(t, optio.EPAYLOAD, a.errCode())
		f := a.fields()
		require.Contains(t, f, "spark_user_id")
		require.Contains(t, f, "submitted_at")
		require.Contains(t, f, "submission_files[0].url")
		a = h.send("roster", roster("stu-1", "crs-1", "transfer", "2026-01-01T00:00:00Z"))
		require.Equal(t, http.StatusBadRequest, a.Status)
		require.Contains(t, a.fields(), "action")
		a = h.send("course", map[string]any{"spark_course_id": "crs-1", "assignments": []map[string]any{{"spark_assignment_id": "a1", "title": "T", "max_points": -1}}})
		require.Equal(t, http.StatusBadRequest, a.Status)
		require.Contains(t, a.fields(), "course_title")
		require.Contains(t, a.fields(), "assignments[0].max_points")
		// A NUL in free text (PostgreSQL cannot store it): 400 naming the field.
		a = h.send("submission", submission("stu-1", "asg-1", "crs-1", "my essay \u0000 ends"))
		require.Equal(t, http.StatusBadRequest, a.Status)
		require.Equal(t, optio.EPAYLOAD, a.errCode())
		require.Contains(t, a.fields(), "submission_text")
		a = h.send("course", map[string]any{"spark_course_id": "crs-1", "course_title": "Rivers", "course_description": "nul \u0000",
			"assignments": []map[string]any{{"spark_assignment_id": "a1", "title": "T", "description": "x\u0000"}}})
		require.Equal(t, http.StatusBadRequest, a.Status)
		require.Contains(t, a.fields(), "course_description")
		require.Contains(t, a.fields(), "assignments[0].description")
		require.Equal(t, 0, h.count(`SELECT COUNT(*) FROM webhook_deliveries`), "nothing invalid is accepted")
	})
}

func TestWebhookKeepsASubmissionWhoseJobIsLost(t *testing.T) {
	t.Parallel()
	eachWebhookStore(t, nil, func(t *testing.T, h *hookEnv) {
		// The process dies between the commit and the job's insert: Spark
		// was told 202, and the pending queue row is what the sweeper
		// gives a job (jobs.TestSweeperEnqueuesPendingRows).
		h.jobs.lose.Store(true)
		id := h.newID()
		body := submission("stu-new", "asg-1", "crs-1", "Essay")
		a := h.sendAs("submission", id, time.Now(), h.signer, body)
		require.Equal(t, http.StatusAccepted, a.Status)
		require.Equal(t, "pending", h.str(`SELECT status FROM spark_evidence_sync_queue WHERE id = $1`, a.Body["sync_id"]))
		require.Equal(t, 0, h.count(`SELECT COUNT(*) FROM test_jobs`))
		// Spark's retry of the same delivery is a duplicate, not a second row.
		h.jobs.lose.Store(false)
		require.Equal(t, http.StatusOK, h.sendAs("submission", id, time.Now(), h.signer, body).Status)
		require.Equal(t, 1, h.count(`SELECT COUNT(*) FROM spark_evidence_sync_queue`))
		require.Equal(t, 0, h.count(`SELECT COUNT(*) FROM test_jobs`))

		// Without an enqueuer the queue row is still written, pending, for the sweeper.
		bare := httptest.NewServer(newServer(t, web.Deps{Config: h.srv.(*web.Server).Config, Store: h.db, Logger: slog.New(slog.DiscardHandler)}))
		t.Cleanup(bare.Close)
		h.url = bare.URL
		a = h.send("submission", submission("stu-new", "asg-2", "crs-1", "Essay 2"))
		require.Equal(t, http.StatusAccepted, a.Status)
		require.Equal(t, "pending", h.str(`SELECT status FROM spark_evidence_sync_queue WHERE id = $1`, a.Body["sync_id"]))
	})
}

func TestRosterWebhook(t *testing.T) {
	t.Parallel()
	eachWebhookStore(t, nil, func(t *testing.T, h *hookEnv) {
		ctx := context.Background()
		// Unmapped course, unknown student with names: a provisional student.
		ro := roster("stu-5", "crs-7", "enroll", "2026-03-02T10:00:00Z")
		ro["given_name"], ro["family_name"] = "Ada", "Lovelace"
		a := h.send("roster", ro)
		require.Equal(t, http.StatusAccepted, a.Status, "%v", a.Body)
		require.Equal(t, "accepted", a.Body["status"])
		u, err := h.db.UserBySparkID(ctx, "stu-5")
		require.NoError(t, err)
		require.True(t, u.Provisional)
		require.Equal(t, "Ada", u.GivenName)
		require.Equal(t, "enrolled", h.str(`SELECT status FROM spark_enrollments WHERE user_id = $1`, u.ID))

		// Out of order: an older drop arrives after the enrol and changes nothing.
		a = h.send("roster", roster("stu-5", "crs-7", "drop", "2026-03-01T10:00:00Z"))
		require.Equal(t, http.StatusAccepted, a.Status)
		require.Equal(t, false, a.Body["applied"])
		require.Equal(t, "enrolled", h.str(`SELECT status FROM spark_enrollments WHERE user_id = $1`, u.ID))

		// The course gets mapped: the enrolled student joins its quest.
		c := h.send("course", course("crs-7", "Poetry Writing", assignment("p-1", "Sonnet", nil)))
		require.Equal(t, http.StatusAccepted, c.Status, "%v", c.Body)
		require.EqualValues(t, 1, c.Body["enrolled"])
		questID := c.Body["quest_id"].(string)
		require.Equal(t, "active", h.str(`SELECT status FROM user_quests WHERE user_id = $1 AND quest_id = $2`, u.ID, questID))

		// Later events move the quest enrolment too.
		a = h.send("roster", roster("stu-5", "crs-7", "complete", "2026-05-01T10:00:00Z"))
		require.Equal(t, true, a.Body["applied"])
		require.Equal(t, "completed", h.str(`SELECT status FROM user_quests WHERE user_id = $1 AND quest_id = $2`, u.ID, questID))
		a = h.send("roster", roster("stu-5", "crs-7", "drop", "2026-04-01T10:00:00Z"))
		require.Equal(t, false, a.Body["applied"])
		require.Equal(t, "completed", h.str(`SELECT status FROM user_quests WHERE user_id = $1 AND quest_id = $2`, u.ID, questID))

		// A new student on a mapped course: enrolled in its quest straight away; a drop drops it.
		a = h.send("roster", roster("stu-6", "crs-7", "enroll", "2026-03-02T10:00:00Z"))
		require.Equal(t, http.StatusAccepted, a.Status)
		v, err := h.db.UserBySparkID(ctx, "stu-6")
		require.NoError(t, err)
		require.Equal(t, "active", h.str(`SELECT status FROM user_quests WHERE user_id = $1 AND quest_id = $2`, v.ID, questID))
		h.send("roster", roster("stu-6", "crs-7", "drop", "2026-03-03T10:00:00Z"))
		require.Equal(t, "dropped", h.str(`SELECT status FROM user_quests WHERE user_id = $1 AND quest_id = $2`, v.ID, questID))
	})
}

func TestCourseWebhookKeepsTaskIDsStable(t *testing.T) {
	t.Parallel()
	eachWebhookStore(t, nil, func(t *testing.T, h *hookEnv) {
		ctx := context.Background()
		a := h.send("course", course("crs-art", "Digital Illustration", assignment("a-1", "Sketchbook", 40), assignment("a-2", "Poster", nil)))
		require.Equal(t, http.StatusAccepted, a.Status, "%v", a.Body)
		questID := a.Body["quest_id"].(string)
		ids := a.Body["task_ids"].(map[string]any)
		q, err := h.db.QuestByID(ctx, questID)
		require.NoError(t, err)
		require.Equal(t, optio.SourceLMS, q.Source)
		require.Equal(t, optio.PlatformSpark, q.LMSPlatform)
		require.Equal(t, "crs-art", q.LMSCourseID)
		require.Len(t, q.Tasks, 2)
		require.Equal(t, "a-1", q.Tasks[0].LMSAssignmentID)
		require.Equal(t, optio.PillarArt, q.Tasks[0].Pillar)
		require.Equal(t, 40, q.Tasks[0].XPValue)
		require.Equal(t, 100, q.Tasks[1].XPValue)
		require.NotNil(t, q.Tasks[0].DueAt)
		require.Equal(t, time.Date(2026, 4, 1, 23, 59, 59, 0, time.UTC), *q.Tasks[0].DueAt)
		require.Equal(t, ids["a-1"], h.str(`SELECT optio_task_id FROM spark_assignments WHERE spark_assignment_id = 'a-1'`))
		require.Equal(t, questID, h.str(`SELECT optio_quest_id FROM spark_course_mappings WHERE spark_course_id = 'crs-art'`))

		// An update: a-1 renamed, a-2 left out, a-3 new.
		b := h.send("course", course("crs-art", "Digital Illustration II", assignment("a-3", "Portfolio", 80), assignment("a-1", "Sketchbook (revised)", 40)))
		require.Equal(t, http.StatusAccepted, b.Status, "%v", b.Body)
		require.Equal(t, questID, b.Body["quest_id"])
		ids2 := b.Body["task_ids"].(map[string]any)
		require.Equal(t, ids["a-1"], ids2["a-1"], "task ids are stable across updates")
		q, err = h.db.QuestByID(ctx, questID)
		require.NoError(t, err)
		require.Equal(t, "Digital Illustration II", q.Title)
		require.Len(t, q.Tasks, 3, "a task whose assignment left the payload is kept")
		byAssignment := map[string]optio.Task{}
		for _, task := range q.Tasks {
			byAssignment[task.LMSAssignmentID] = task
		}
		require.Equal(t, "Sketchbook (revised)", byAssignment["a-1"].Title)
		require.Equal(t, ids["a-2"], byAssignment["a-2"].ID)
		require.Equal(t, 80, byAssignment["a-3"].XPValue)
		require.Equal(t, 1, h.count(`SELECT COUNT(*) FROM quests`))
	})
}

func TestCourseWebhookWithoutAutoMap(t *testing.T) {
	t.Parallel()
	eachWebhookStore(t, map[string]string{"SPARK_AUTO_MAP": "false"}, func(t *testing.T, h *hookEnv) {
		a := h.send("course", course("crs-1", "Geology", assignment("g-1", "Rocks", 10)))
		require.Equal(t, http.StatusAccepted, a.Status, "%v", a.Body)
		require.Nil(t, a.Body["quest_id"])
		require.Equal(t, 0, h.count(`SELECT COUNT(*) FROM quests`))
		require.Equal(t, "Geology", h.str(`SELECT course_title FROM spark_course_mappings`))
		require.Equal(t, "Rocks", h.str(`SELECT title FROM spark_assignments`))
	})
}

func TestWebhookRateLimit(t *testing.T) {
	t.Parallel()
	h := setupHooks(t, store.SQLite, map[string]string{"SPARK_WEBHOOK_RATE": "0.01", "SPARK_WEBHOOK_BURST": "2"})
	for i := range 2 {
		require.Equal(t, http.StatusAccepted, h.send("submission", submission("stu-1", fmt.Sprint("asg-", i), "crs-1", "x")).Status)
	}
	a := h.send("submission", submission("stu-1", "asg-9", "crs-1", "x"))
	require.Equal(t, http.StatusTooManyRequests, a.Status)
	require.Equal(t, optio.ERATELIMIT, a.errCode())
	require.NotEmpty(t, a.Header.Get("Retry-After"))

	// Bad signatures are refused before they cost Spark's bucket anything.
	a = h.sendAs("submission", h.newID(), time.Now(), spark.WebhookSigner{Secret: "nope"}, submission("stu-1", "asg-9", "crs-1", "x"))
	require.Equal(t, http.StatusUnauthorized, a.Status)

	_, metrics := scrapeMetrics(t, h.url, testMetricsToken)
	for _, want := range []string{
		`optio_spark_webhooks_total{endpoint="submission",outcome="accepted"} 2`,
		`optio_spark_webhooks_total{endpoint="submission",outcome="rate_limited"} 1`,
		`optio_spark_webhooks_total{endpoint="submission",outcome="bad_signature"} 1`,
	} {
		require.Contains(t, string(metrics), want)
	}
}

// A class of 200 submitting at once on SQLite (one writer): every delivery
// is accepted, none sees "database is locked", and the default rate limit
// lets the burst through.
func TestSubmissionBurstOnSQLite(t *testing.T) {
	t.Parallel()
	h := setupHooks(t, store.SQLite, nil)
	const n = 200
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = h.send("submission", submission(fmt.Sprintf("stu-%d", i), fmt.Sprintf("asg-%d", i%10), "crs-1", "Deadline essay"))
		}()
	}
	wg.Wait()
	for i, a := range answers {
		require.Equal(t, http.StatusAccepted, a.Status, "delivery %d: %v", i, a.Body)
	}
	require.Equal(t, n, h.count(`SELECT COUNT(*) FROM spark_assignment_submissions`))
	require.Equal(t, n, h.count(`SELECT COUNT(*) FROM test_jobs`))
}

// Different deliveries for one new student racing each other (PostgreSQL
// runs them truly in parallel): one student, every delivery accepted.
func TestConcurrentFirstSubmissionsOfOneStudent(t *testing.T) {
	t.Parallel()
	eachWebhookStore(t, nil, func(t *testing.T, h *hookEnv) {
		const n = 20
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = h.send("submission", submission("stu-race", fmt.Sprintf("asg-%d", i%4), "crs-1", "x")).Status
			}()
		}
		wg.Wait()
		for _, s := range statuses {
			require.Equal(t, http.StatusAccepted, s, "statuses %v", statuses)
		}
		require.Equal(t, 1, h.count(`SELECT COUNT(*) FROM lms_integrations WHERE external_user_id = 'stu-race'`))
		require.Equal(t, 4, h.count(`SELECT COUNT(*) FROM spark_assignment_submissions`))
		require.Equal(t, n, h.count(`SELECT SUM(revision) FROM spark_assignment_submissions`))
		require.Equal(t, n, h.count(`SELECT COUNT(*) FROM spark_evidence_sync_queue`))
	})
}

// The example payloads documented for the Spark team are accepted as written.
func TestDocumentedExamplesAreAccepted(t *testing.T) {
	t.Parallel()
	eachWebhookStore(t, nil, func(t *testing.T, h *hookEnv) {
		for _, kind := range []string{"course", "roster", "submission"} {
			raw, err := os.ReadFile(filepath.Join("..", "docs", "spark", "examples", kind+".json"))
			require.NoError(t, err)
			a := h.send(kind, raw)
			require.Equal(t, http.StatusAccepted, a.Status, "%s: %v", kind, a.Body)
		}
		require.Equal(t, "Minecraft Geology", h.str(`SELECT title FROM quests WHERE lms_course_id = 'spark-minecraft-geology'`))
	})
}
