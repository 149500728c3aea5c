package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// TestWorkerKilledMidJob: two worker processes share one PostgreSQL; the
// one running every sync (each stalled in a file download) is killed with
// SIGKILL. After OPTIO_JOB_RESCUE_AFTER the survivor rescues the jobs, and
// each finishes exactly once: one completion, one XP award and one set of
// evidence blocks per submission, every job completed.
func TestWorkerKilledMidJob(t *testing.T) {
	t.Parallel()
	const jobs = 4
	var hits atomic.Int32
	release := make(chan struct{})
	var releaseOnce sync.Once
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/pdf")
		_, _ = io.WriteString(w, "%PDF-1.4\n")
		w.(http.Flusher).Flush()
		select { // a slow download: the rest comes when the test says so
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
	}))
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }); files.Close() })

	dbURL := storetest.URL(t, store.Postgres)
	env := map[string]string{
		"OPTIO_ADDR": "127.0.0.1:0", "OPTIO_METRICS_ADDR": "off", "OPTIO_BASE_URL": "http://optio.test", "OPTIO_DATA_DIR": t.TempDir(), "OPTIO_DATABASE_URL": dbURL,
		"SPARK_WEBHOOK_SECRET": randomSecret(), "SPARK_FILE_ALLOW_PRIVATE": "true",
		"OPTIO_JOB_RESCUE_AFTER": "3s", "OPTIO_LOG_LEVEL": "warn",
	}
	web := startProcess(t, "optio serve --workers 0", env, "serve", "--workers", "0")
	base := serveURL(t, web)
	victim := startProcess(t, "optio worker (victim)", env, "worker", "--workers", "4")
	waitOutput(t, victim, "worker running")
	db, err := sql.Open("pgx", dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	count := func(q string) int {
		var n int
		require.NoError(t, db.QueryRow(q).Scan(&n))
		return n
	}
	// The victim leads (it is the only River client), so the survivor's
	// rescuer starts as soon as it takes over the leadership.
	require.Eventually(t, func() bool { return count(`SELECT COUNT(*) FROM river_leader`) == 1 }, 30*time.Second, 50*time.Millisecond)

	send := func(id string, path string, v any) {
		body, err := json.Marshal(v)
		require.NoError(t, err)
		h, err := spark.WebhookSigner{Secret: env["SPARK_WEBHOOK_SECRET"]}.Header(id, time.Now(), body)
		require.NoError(t, err)
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(body))
		req.Header = h
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusAccepted, resp.StatusCode)
	}
	course := spark.Course{SparkCourseID: "bio", Title: "Biology"}
	for i := range jobs {
		course.Assignments = append(course.Assignments, spark.Assignment{SparkAssignmentID: fmt.Sprintf("a%d", i), Title: fmt.Sprintf("Lab %d", i)})
	}
	send("msg_course", "/spark/webhook/course", course)
	for i := range jobs {
		send(fmt.Sprintf("msg_sub_%d", i), "/spark/webhook/submission", spark.Submission{SparkUserID: "stu-1", SparkCourseID: "bio",
			SparkAssignmentID: fmt.Sprintf("a%d", i), Text: "My lab report", SubmittedAt: time.Now().UTC(),
			Files: []spark.SubmissionFile{{URL: fmt.Sprintf("%s/report-%d.pdf", files.URL, i), Type: "pdf", Filename: "report.pdf"}}})
	}
	require.Eventually(t, func() bool { return hits.Load() == jobs }, 30*time.Second, 10*time.Millisecond, "the victim never started every download")

	survivor := startProcess(t, "optio worker (survivor)", env, "worker", "--workers", "4")
	waitOutput(t, survivor, "worker running")
	victim.kill()
	releaseOnce.Do(func() { close(release) })

	require.Eventually(t, func() bool {
		return count(`SELECT COUNT(*) FROM spark_evidence_sync_queue WHERE status = 'completed'`) == jobs
	}, 50*time.Second, 100*time.Millisecond, "the survivor never finished the killed worker's jobs")
	require.Eventually(t, func() bool { // River records the finish just after the work commits
		return count(`SELECT COUNT(*) FROM river_job WHERE kind = 'spark_sync_submission' AND state = 'completed'`) == jobs
	}, 10*time.Second, 50*time.Millisecond)
	require.Equal(t, jobs, count(`SELECT COUNT(*) FROM river_job WHERE kind = 'spark_sync_submission' AND attempt >= 2`), "every job was rescued and run again")
	require.Equal(t, jobs, count(`SELECT COUNT(*) FROM quest_task_completions`))
	require.Equal(t, jobs, count(`SELECT COUNT(*) FROM xp_ledger`))
	require.Equal(t, 2*jobs, count(`SELECT COUNT(*) FROM evidence_document_blocks`), "a text and a document block per submission, none twice")
	require.GreaterOrEqual(t, int(hits.Load()), 2*jobs, "each file was downloaded again by the survivor")
}
