package jobs_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/jobs"
	"github.com/optio-edu/optio/sandbox"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// flakySpark is the Spark sandbox behind a front that answers the first
// failGrades posts to /api/grades with 503.
func flakySpark(t *testing.T, failGrades int32) (*sandbox.Sandbox, *httptest.Server, *atomic.Int32) {
	t.Helper()
	sb, err := sandbox.New(sandbox.Config{OptioURL: "http://127.0.0.1:9", SSOSecret: "sso-secret-for-passback-tests",
		WebhookSecret: "webhook-secret", APIKey: "k3y"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sb.Close() })
	var failed atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/grades" && failed.Load() < failGrades {
			failed.Add(1)
			http.Error(w, `{"error":{"code":"unavailable","message":"down for a moment"}}`, http.StatusServiceUnavailable)
			return
		}
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return sb, srv, &failed
}

// syncGraded imports a submission (revision n, n ≥ 1) with a grade and
// waits for its sync.
func syncGraded(t *testing.T, db *store.DB, n int, sparkUser, assignment, course, text, grade string) {
	t.Helper()
	at := time.Date(2026, 3, 2, 10, n, 0, 0, time.UTC)
	id, queued, err := db.ImportSubmission(context.Background(), store.IncomingSubmission{SparkUserID: sparkUser,
		SparkAssignmentID: assignment, SparkCourseID: course, Text: text, FilesJSON: "[]",
		SubmittedAt: at, Grade: &grade})
	require.NoError(t, err)
	require.True(t, queued)
	waitStatus(t, db, id, optio.SyncCompleted)
}

func passbackJobs(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	require.NoError(t, db.R.QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind = 'spark_grade_passback'`).Scan(&n))
	return n
}

func gradesIn(sb *sandbox.Sandbox) []string {
	var out []string
	for _, g := range sb.Grades() {
		out = append(out, g.Grade)
	}
	return out
}

// TestGradePassback: a synced grade reaches Spark's /api/grades despite a
// failure (retried); the same grade again is not sent again, a regrade is;
// a grade Optio itself gives a Spark task is sent too.
func TestGradePassback(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		sb, api, failed := flakySpark(t, 2)
		b := setup(t, db)
		mustSparkTask(t, db, "spark-physics", "spark-physics-forces-essay", 100)
		b.cfg.SparkAPIURL, b.cfg.SparkAPIKey, b.cfg.SparkGradePassback = api.URL, "k3y", true
		b.runner(t, func(o *jobs.Options) { o.MaxAttempts = 5 })
		db = b.db // the runner's store: it inserts the jobs

		syncGraded(t, db, 1, "spark-stu-maya", "spark-physics-forces-essay", "spark-physics", "Forces essay", "B+")
		require.Eventually(t, func() bool { return len(sb.Grades()) == 1 }, 20*time.Second, 20*time.Millisecond)
		g := sb.Grades()[0]
		require.Equal(t, "B+", g.Grade)
		require.Equal(t, "spark-stu-maya", g.SparkUserID)
		require.Equal(t, "spark-physics-forces-essay", g.SparkAssignmentID)
		require.EqualValues(t, 2, failed.Load(), "the first two posts failed and were retried")
		u, err := db.UserBySparkID(ctx, "spark-stu-maya")
		require.NoError(t, err)
		done, err := db.RecentCompletions(ctx, u.ID, 5, 0)
		require.NoError(t, err)
		require.Equal(t, done[0].Completion.ID, g.OptioTaskCompletionID)

		// A resubmission with the same grade queues no second passback.
		syncGraded(t, db, 2, "spark-stu-maya", "spark-physics-forces-essay", "spark-physics", "Forces essay, fixed typo", "B+")
		require.Equal(t, 1, passbackJobs(t, db))
		// A regrade is passed back, and so is a change back to the first grade.
		syncGraded(t, db, 3, "spark-stu-maya", "spark-physics-forces-essay", "spark-physics", "Forces essay, revised", "A-")
		require.Eventually(t, func() bool { return len(sb.Grades()) == 2 }, 20*time.Second, 20*time.Millisecond)
		syncGraded(t, db, 4, "spark-stu-maya", "spark-physics-forces-essay", "spark-physics", "Forces essay, as before", "B+")
		require.Eventually(t, func() bool { return len(sb.Grades()) == 3 }, 20*time.Second, 20*time.Millisecond, "grades: %+v", sb.Grades())
		require.Equal(t, []string{"B+", "A-", "B+"}, gradesIn(sb))
		require.Equal(t, 3, passbackJobs(t, db))

		// Optio completing and grading a Spark task itself passes the grade back.
		noah, err := db.ResolveSparkUser(ctx, optio.SparkIdentity{SparkUserID: "spark-stu-noah", Email: "noah@school.test",
			GivenName: "Noah", FamilyName: "Okafor", Role: optio.RoleStudent}, optio.LinkedViaSSO)
		require.NoError(t, err)
		lab := mustSparkTask(t, db, "physics-labs", "spark-physics-motion-lab", 50)
		grade := "Pass"
		c, err := db.CompleteTask(ctx, optio.CompletionInput{UserID: noah.ID, TaskID: lab, Grade: &grade,
			Blocks: []optio.BlockInput{{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "Measured in Optio"}}}})
		require.NoError(t, err)
		require.Eventually(t, func() bool { return len(sb.Grades()) == 4 }, 20*time.Second, 20*time.Millisecond)
		g = sb.Grades()[3]
		require.Equal(t, []string{"spark-stu-noah", "spark-physics-motion-lab", "Pass", c.Completion.ID},
			[]string{g.SparkUserID, g.SparkAssignmentID, g.Grade, g.OptioTaskCompletionID})
		// A completion without a grade, or of a task not from Spark, sends nothing.
		_, err = db.CompleteTask(ctx, optio.CompletionInput{UserID: noah.ID, TaskID: b.taskID,
			Blocks: []optio.BlockInput{{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "No grade"}}}})
		require.NoError(t, err)
		q := storetest.MustCreateQuest(t, db, "Garden", 20, optio.PillarWellness)
		_, err = db.CompleteTask(ctx, optio.CompletionInput{UserID: noah.ID, TaskID: q.Tasks[0].ID, Grade: &grade,
			Blocks: []optio.BlockInput{{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "Weeded"}}}})
		require.NoError(t, err)
		require.Equal(t, 4, passbackJobs(t, db))
	})
}

// TestGradePassbackOff: with SPARK_GRADE_PASSBACK=false a graded sync sends
// nothing and queues nothing.
func TestGradePassbackOff(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sb, api, _ := flakySpark(t, 0)
		b := setup(t, db)
		mustSparkTask(t, db, "spark-physics", "spark-physics-forces-essay", 100)
		b.cfg.SparkAPIURL, b.cfg.SparkAPIKey, b.cfg.SparkGradePassback = api.URL, "k3y", false
		b.runner(t, nil)
		db = b.db // the runner's store: it inserts the jobs
		syncGraded(t, db, 1, "spark-stu-maya", "spark-physics-forces-essay", "spark-physics", "Forces essay", "B+")
		require.Zero(t, passbackJobs(t, db))
		require.Empty(t, sb.Grades())
	})
}
