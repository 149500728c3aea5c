package jobs_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// fakeSpark speaks spark.Client's API contract with one course, one
// assignment and the given submissions.
func fakeSpark(t *testing.T, subs func() []map[string]any) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/courses", func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "Bearer k3y", r.Header.Get("Authorization"))
		_ = json.NewEncoder(w).Encode(map[string]any{"courses": []map[string]any{{"id": "course-1", "title": "Biology", "updated_at": time.Now().UTC()}}})
	})
	mux.HandleFunc("GET /api/courses/course-1/assignments", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"assignments": []map[string]any{{"id": "asg-1", "course_id": "course-1", "title": "Cell essay"}}})
	})
	mux.HandleFunc("GET /api/assignments/asg-1/submissions", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"submissions": subs()})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestPollingPicksUpAMissedSubmission(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := setup(t, db)
		at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
		pdf := b.srv.put("/essay.pdf", pdfBytes())
		api := fakeSpark(t, func() []map[string]any {
			return []map[string]any{{"id": "sub-1", "spark_user_id": "spark-stu-9", "spark_assignment_id": "asg-1", "spark_course_id": "course-1",
				"submission_text": "Polled essay", "submitted_at": at.Format(time.RFC3339), "grade": 91,
				"submission_files": []map[string]any{{"url": pdf, "type": "application/pdf", "filename": "essay.pdf"}}}}
		})
		b.cfg.SparkAPIURL, b.cfg.SparkAPIKey = api.URL, "k3y"
		r := b.runner(t, nil)
		db = b.db // the runner's store: it inserts the jobs
		res, err := r.Poll.Poll(ctx, nil)
		require.NoError(t, err)
		require.Equal(t, 1, res.Queued)
		u, err := db.UserBySparkID(ctx, "spark-stu-9")
		require.NoError(t, err)
		require.Eventually(t, func() bool { return countFor(t, db, u.ID).completions == 1 }, 20*time.Second, 20*time.Millisecond)
		done, err := db.RecentCompletions(ctx, u.ID, 5, 0)
		require.NoError(t, err)
		require.Equal(t, "91", *done[0].Completion.Grade)
		require.Len(t, done[0].Evidence.Blocks, 2)

		// Polling again finds nothing new.
		res, err = r.Poll.Poll(ctx, nil)
		require.NoError(t, err)
		require.Equal(t, 1, res.Seen)
		require.Zero(t, res.Queued)
		stats, err := db.SyncQueueStats(ctx, 5)
		require.NoError(t, err)
		require.Equal(t, 1, stats.Counts[optio.SyncCompleted])
		require.Equal(t, 1, countFor(t, db, u.ID).xpRows)
	})
}
