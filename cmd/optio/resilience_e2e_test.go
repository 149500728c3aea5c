package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/app"
	"github.com/optio-edu/optio/filestore"
	"github.com/optio-edu/optio/internal/apptest"
	"github.com/optio-edu/optio/jobs"
	"github.com/optio-edu/optio/sandbox"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// TestSubmissionFilesAndOutagesEndToEnd runs Optio and the sandbox Spark on
// one injected clock, on each store:
//
//   - (c) a submission with an iPhone photo (HEIC), a PDF and an .exe: the
//     text, the photo (shown as a JPEG rendition, the original downloadable)
//     and the PDF are on the student's portfolio, the .exe is shown as not
//     imported, and the sync record names it;
//   - (d) Spark's file host is down for 30 minutes of clock time: the sync
//     is retried on its schedule (visible to admins), and once the host is
//     back the work reaches the portfolio without an admin.
func TestSubmissionFilesAndOutagesEndToEnd(t *testing.T) {
	t.Parallel()
	filestore.WarmDecoders() // once per process; slow under -race
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		start := time.Now().UTC()
		clk := optio.NewFakeClock(start)
		env := map[string]string{"SPARK_SSO_SECRET": randomSecret(), "SPARK_WEBHOOK_SECRET": randomSecret(),
			"SPARK_API_KEY": randomSecret(), "SPARK_FILE_ALLOW_PRIVATE": "true"}
		getenv := testEnv(t, d, env)
		a := apptest.Start(t, getenv, app.Options{Clock: clk, Jobs: jobs.Options{FetchPollInterval: 50 * time.Millisecond,
			SweepInterval: 50 * time.Millisecond, SweepAge: time.Millisecond}}, nil)
		sb, err := sandbox.New(sandbox.Config{OptioURL: a.URL(), SSOSecret: env["SPARK_SSO_SECRET"],
			WebhookSecret: env["SPARK_WEBHOOK_SECRET"], APIKey: env["SPARK_API_KEY"], Clock: clk})
		require.NoError(t, err)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		require.NoError(t, sb.Start(ln))
		t.Cleanup(func() { _ = sb.Close() })
		_, err = sb.SendCourses(ctx)
		require.NoError(t, err)
		require.NoError(t, sb.WaitIdle(withTimeout(t, 30*time.Second)))

		var student string
		var assignments []string
		for _, u := range sb.Users() {
			if u.Role != sandbox.RoleStudent || student != "" {
				continue
			}
			for _, c := range sb.Courses() {
				if e, ok := sb.Enrollments(u.ID)[c.ID]; ok && e.Status == sandbox.StatusActive {
					for _, as := range c.Assignments {
						assignments = append(assignments, as.ID)
					}
				}
			}
			if len(assignments) >= 2 {
				student = u.ID
			} else {
				assignments = nil
			}
		}
		require.NotEmpty(t, student)
		sample := func(key string) sandbox.SampleFile {
			f, ok := sandbox.Sample(key)
			require.True(t, ok, key)
			return f
		}

		// (c) HEIC + PDF + .exe.
		_, err = sb.Submit(ctx, student, assignments[0], "Field trip to the quarry: my photo, my report, and the mod I made.",
			[]sandbox.SampleFile{sample("photo-heic"), sample("essay-pdf"), sample("mod-exe")})
		require.NoError(t, err)
		require.NoError(t, sb.WaitIdle(withTimeout(t, 30*time.Second)))
		u, err := a.Store.UserBySparkID(ctx, student)
		require.NoError(t, err)
		first := waitSync(t, a.Store, u.ID, assignments[0], optio.SyncCompleted)
		require.Equal(t, []optio.FileProblem{{Filename: "minecraft-mod.exe",
			Reason: "files of type application/vnd.microsoft.portable-executable are not accepted"}}, first.FileProblems)

		// Spark reads the sync's status with a signed GET.
		status := func(assignment string) (int, optio.SparkSubmissionStatus) {
			uri := "/spark/api/submissions/" + student + "/" + assignment
			h, err := spark.WebhookSigner{Secret: env["SPARK_WEBHOOK_SECRET"]}.Header("status-"+assignment, clk.Now(), []byte(uri))
			require.NoError(t, err)
			req, _ := http.NewRequest("GET", a.URL()+uri, nil)
			req.Header = h
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			var st optio.SparkSubmissionStatus
			if resp.StatusCode == 200 {
				require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
			}
			return resp.StatusCode, st
		}
		code, st := status(assignments[0])
		require.Equal(t, 200, code)
		require.Equal(t, optio.SyncCompleted, st.Status)
		require.Equal(t, first.FileProblems, st.FileProblems)
		code, _ = status("no-such-assignment")
		require.Equal(t, 404, code)
		resp, err := http.Get(a.URL() + "/spark/api/submissions/" + student + "/" + assignments[0])
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 401, resp.StatusCode, "unsigned requests are refused")

		browser := newClient(t, a.URL())
		sso, err := sb.SSOURL(student, "/dashboard")
		require.NoError(t, err)
		resp, err = browser.http.Get(sso)
		require.NoError(t, err)
		resp.Body.Close()
		require.Less(t, resp.StatusCode, 400)
		u, err = a.Store.UserBySparkID(ctx, student)
		require.NoError(t, err)
		page := getPage(t, browser, "/portfolio/"+u.PortfolioSlug)
		require.Contains(t, page, "Field trip to the quarry")
		require.Contains(t, page, "photosynthesis-essay.pdf")
		require.Contains(t, page, "Could not import</strong> minecraft-mod.exe: files of type application/vnd.microsoft.portable-executable are not accepted")
		require.Contains(t, page, "Download the original")
		img := between(page, `<a class="sc-thumb" href="`, `"`)
		require.NotEmpty(t, img, "the photo is shown inline")
		img = strings.ReplaceAll(img, "&amp;", "&")
		resp, err = browser.http.Get(a.URL() + img)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		require.Equal(t, "image/jpeg", resp.Header.Get("Content-Type"), "a browser gets a JPEG of the HEIC photo")
		require.Equal(t, []byte{0xff, 0xd8}, body[:2])

		// (d) the file host is down for 30 minutes of clock time.
		sb.SetFilesDown(true)
		_, err = sb.Submit(ctx, student, assignments[1], "My lab report, sent while Spark's file storage was down.",
			[]sandbox.SampleFile{sample("essay-pdf")})
		require.NoError(t, err)
		require.NoError(t, sb.WaitIdle(withTimeout(t, 30*time.Second)))
		attempts := 0
		for clk.Now().Sub(start) < 30*time.Minute {
			var row *store.SyncQueueRow
			require.Eventually(t, func() bool {
				row = syncRow(t, a.Store, u.ID, assignments[1])
				return row != nil && row.Attempts > attempts && row.Status == optio.SyncPending && row.NextAttemptAt != nil
			}, 30*time.Second, 20*time.Millisecond)
			attempts = row.Attempts
			require.Contains(t, row.ErrorMessage, "503")
			code, st := status(assignments[1])
			require.Equal(t, 200, code)
			require.Equal(t, optio.SyncPending, st.Status)
			require.Equal(t, attempts, st.Attempts)
			require.Equal(t, row.NextAttemptAt.Unix(), st.NextAttemptAt.Unix())
			require.Contains(t, st.Reason, "503 Service Unavailable")
			clk.Set(*row.NextAttemptAt)
		}
		require.GreaterOrEqual(t, attempts, 5)
		sb.SetFilesDown(false)
		waitSync(t, a.Store, u.ID, assignments[1], optio.SyncCompleted)
		page = getPage(t, browser, "/portfolio/"+u.PortfolioSlug)
		require.Contains(t, page, "sent while Spark&#39;s file storage was down")
		require.Equal(t, 2, strings.Count(page, "photosynthesis-essay.pdf</a>")+strings.Count(page, "Download photosynthesis-essay.pdf"), "both PDFs are on the portfolio")
	})
}

// syncRow is the latest queue row of a student's submission of an
// assignment, or nil.
func syncRow(t *testing.T, db *store.DB, userID, sparkAssignmentID string) *store.SyncQueueRow {
	t.Helper()
	var id string
	err := db.R.QueryRowContext(context.Background(), `SELECT q.id FROM spark_evidence_sync_queue q
		JOIN spark_assignment_submissions s ON s.id = q.submission_id
		WHERE s.user_id = $1 AND s.spark_assignment_id = $2 ORDER BY q.created_at DESC LIMIT 1`, userID, sparkAssignmentID).Scan(&id)
	if err != nil {
		return nil
	}
	row, err := db.SyncQueueRowByID(context.Background(), id)
	require.NoError(t, err)
	return row
}

func waitSync(t *testing.T, db *store.DB, userID, sparkAssignmentID, status string) *store.SyncQueueRow {
	t.Helper()
	var row *store.SyncQueueRow
	require.Eventually(t, func() bool {
		row = syncRow(t, db, userID, sparkAssignmentID)
		return row != nil && row.Status == status
	}, 30*time.Second, 20*time.Millisecond, "never %s", status)
	return row
}

// getPage fetches an HTML page with the client's cookies.
func getPage(t *testing.T, c *client, path string) string {
	t.Helper()
	resp, err := c.http.Get(c.base + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", path, b)
	return string(b)
}

// between is the text of s after the first from and before the next to.
func between(s, from, to string) string {
	_, after, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, to)
	return v
}
