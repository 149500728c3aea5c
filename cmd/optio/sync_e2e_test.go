package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/app"
	"github.com/optio-edu/optio/internal/apptest"
	"github.com/optio-edu/optio/jobs"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// TestSparkSyncAdminEndToEnd: a submission waits for its course to be
// mapped, an admin maps it, the file 404s until its retry window ends and
// the sync fails, and the
// admin's retry then syncs it.
func TestSparkSyncAdminEndToEnd(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		var serving atomic.Bool
		files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !serving.Load() {
				http.NotFound(w, r)
				return
			}
			_, _ = io.WriteString(w, "%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
		}))
		t.Cleanup(files.Close)
		getenv := testEnv(t, d, map[string]string{"SPARK_FILE_ALLOW_PRIVATE": "true", "SPARK_AUTO_MAP": "false"})
		var out strings.Builder
		require.NoError(t, run(ctx, []string{"admin", "create", "--email", "ops@school.test", "--password", "correct horse"}, &out, &out, getenv))
		a := apptest.Start(t, getenv, app.Options{Jobs: jobs.Options{FetchPollInterval: 50 * time.Millisecond,
			SyncRetry:     jobs.RetrySchedule{Base: 20 * time.Millisecond, Max: 20 * time.Millisecond, Window: 60 * time.Millisecond},
			SweepInterval: 30 * time.Millisecond, SweepAge: time.Millisecond}}, nil)
		db := a.Store
		now := time.Now().UTC()
		_, err := db.W.ExecContext(ctx, `INSERT INTO spark_course_mappings (id, spark_course_id, course_title, created_at, updated_at) VALUES ($1,'bio-101','Biology <101>',$2,$2)`, uuid.NewString(), now)
		require.NoError(t, err)
		_, err = db.W.ExecContext(ctx, `INSERT INTO spark_assignments (spark_assignment_id, spark_course_id, title, created_at, updated_at) VALUES ('cells','bio-101','Cells essay',$1,$1)`, now)
		require.NoError(t, err)
		qid, queued, err := db.ImportSubmission(ctx, store.IncomingSubmission{SparkUserID: "stu-9", SparkAssignmentID: "cells", SparkCourseID: "bio-101",
			Text: "My essay", FilesJSON: `[{"url":"` + files.URL + `/late.pdf","type":"pdf","filename":"late.pdf"}]`, SubmittedAt: now})
		require.NoError(t, err)
		require.True(t, queued)
		waitRow(t, db, qid, optio.SyncWaiting)

		admin := newClient(t, a.URL())
		require.Equal(t, 200, admin.do("POST", "/api/auth/login", map[string]string{"email": "ops@school.test", "password": "correct horse"}, nil))
		student := newClient(t, a.URL())
		require.Equal(t, 201, student.do("POST", "/api/auth/register", map[string]string{"email": "kid@family.test", "password": "garden2026",
			"given_name": "Kid", "family_name": "Lee", "role": "student"}, nil))
		for _, p := range []struct{ m, path string }{{"GET", "/api/admin/spark/courses"}, {"GET", "/api/admin/spark/sync/evidence-queue"},
			{"POST", "/api/admin/spark/sync/process"}, {"POST", "/api/admin/spark/courses/bio-101/map"}} {
			require.Equal(t, 403, student.do(p.m, p.path, `{}`, nil), p.path)
		}

		var courses struct{ Courses []optio.SparkCourseStatus }
		require.Equal(t, 200, admin.do("GET", "/api/admin/spark/courses", nil, &courses))
		require.Len(t, courses.Courses, 1)
		require.False(t, courses.Courses[0].Mapped)
		var e apiError
		require.Equal(t, 400, admin.do("POST", "/api/admin/spark/courses/bio-101/map", `{"optio_quest_id":"nope"}`, &e))
		require.Contains(t, e.Error.Fields, "optio_quest_id")
		require.Equal(t, 404, admin.do("POST", "/api/admin/spark/courses/nope/map", `{"optio_quest_id":"create_new"}`, nil))
		var mapped optio.SparkCourseStatus
		require.Equal(t, 200, admin.do("POST", "/api/admin/spark/courses/bio-101/map", `{"optio_quest_id":"create_new","quest_data":{"title":"Biology","description":"Cells"}}`, &mapped))
		require.True(t, mapped.Mapped)
		require.Equal(t, 1, mapped.MappedTasks)

		// Mapping re-queued the waiting sync; the file 404s until it fails.
		row := waitRow(t, db, qid, optio.SyncFailed)
		require.GreaterOrEqual(t, row.Attempts, 2, "retried within SPARK_SYNC_RETRY_WINDOW, then failed for an admin")
		var q optio.SyncQueueStats
		require.Equal(t, 200, admin.do("GET", "/api/admin/spark/sync/evidence-queue", nil, &q))
		require.Equal(t, 1, q.Counts[optio.SyncFailed])
		require.Len(t, q.RecentFailures, 1)
		require.Contains(t, q.RecentFailures[0].ErrorMessage, `"late.pdf"`)
		require.Contains(t, q.RecentFailures[0].ErrorMessage, "404")

		page := newClient(t, a.URL())
		page.http.Jar = admin.http.Jar
		req, _ := http.NewRequest("GET", a.URL()+"/admin/spark", nil)
		resp, err := page.http.Do(req)
		require.NoError(t, err)
		html, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		require.Contains(t, string(html), "late.pdf")
		require.Contains(t, string(html), "Biology &lt;101&gt;", "course titles are escaped")
		require.Contains(t, string(html), "<svg")
		require.Contains(t, string(html), "Polling is off: set SPARK_API_URL")

		serving.Store(true)
		var res struct{ Enqueued int }
		require.Equal(t, 202, admin.do("POST", "/api/admin/spark/sync/process", `{"retry_failed":true}`, &res))
		require.Equal(t, 1, res.Enqueued)
		waitRow(t, db, qid, optio.SyncCompleted)
		u, err := db.UserBySparkID(ctx, "stu-9")
		require.NoError(t, err)
		xp, err := db.XPSummary(ctx, u.ID)
		require.NoError(t, err)
		require.Equal(t, 100, xp.Total)
		done, err := db.RecentCompletions(ctx, u.ID, 5, 0)
		require.NoError(t, err)
		require.Len(t, done, 1)
		require.Len(t, done[0].Evidence.Blocks, 2)
	})
}

func waitRow(t *testing.T, db *store.DB, id, status string) *store.SyncQueueRow {
	t.Helper()
	var row *store.SyncQueueRow
	require.Eventually(t, func() bool {
		var err error
		row, err = db.SyncQueueRowByID(context.Background(), id)
		require.NoError(t, err)
		return row.Status == status
	}, 30*time.Second, 20*time.Millisecond, "never %s", status)
	return row
}
