package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/app"
	"github.com/optio-edu/optio/sandbox"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// startPlanDemo runs optio demo's wiring (the sandbox as Spark's API) on a
// store of dialect d, with extra environment, without the demo's seeded
// work: these tests count a course's submissions.
func startPlanDemo(t *testing.T, d store.Dialect, extra map[string]string) *demo {
	t.Helper()
	env := testDemoEnv(t, d)
	for k, v := range extra {
		env[k] = v
	}
	return startTestDemo(t, env, false, app.Options{})
}

// testDemoEnv is the environment of a test demo: its own data directory and a
// fresh store of dialect d.
func testDemoEnv(t *testing.T, d store.Dialect) map[string]string {
	t.Helper()
	env := map[string]string{"OPTIO_DATA_DIR": t.TempDir(), "OPTIO_DATABASE_URL": storetest.URL(t, d)}
	if d == store.SQLite {
		env["OPTIO_DATABASE_URL"] = "sqlite://" + env["OPTIO_DATABASE_URL"]
	}
	return env
}

// startTestDemo runs optio demo's wiring on env, on loopback ports, closed
// when the test ends; withWork as launchDemo's.
func startTestDemo(t *testing.T, env map[string]string, withWork bool, opts app.Options) *demo {
	t.Helper()
	optioLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	sandboxLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dm, err := launchDemo(context.Background(), func(k string) string { return env[k] }, optioLn, sandboxLn, opts, withWork)
	require.NoError(t, err)
	t.Cleanup(dm.Close)
	return dm
}

// signIn follows the sandbox's "View Portfolio" link for a Spark user and
// returns a client holding the Optio session.
func signIn(t *testing.T, dm *demo, sparkUserID string) *client {
	t.Helper()
	link, err := dm.Sandbox.SSOURL(sparkUserID, "")
	require.NoError(t, err)
	c := newClient(t, dm.App.URL())
	resp, err := c.http.Get(link)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	return c
}

// page fetches an HTML page with c's session.
func (c *client) page(path string) (int, string) {
	c.t.Helper()
	resp, err := c.http.Get(c.base + path)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// planSubmit submits through the sandbox (the plan's submission webhook:
// ids, text, files with url/type/filename, submitted_at).
func planSubmit(t *testing.T, dm *demo, student, assignment, text string) {
	t.Helper()
	img, ok := sandbox.Sample("drawing-png")
	require.True(t, ok)
	_, err := dm.Sandbox.Submit(context.Background(), student, assignment, text, []sandbox.SampleFile{img})
	require.NoError(t, err)
}

func waitIdle(t *testing.T, dm *demo) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, dm.Sandbox.WaitIdle(ctx))
	for _, d := range dm.Sandbox.Deliveries() {
		require.Equal(t, sandbox.DeliveryDelivered, d.State, "%s webhook: %d %s", d.Kind, d.StatusCode, d.Response)
		require.NotEqual(t, "course", d.Kind, "the plan's Spark sends no course webhook")
	}
}

// TestPlanSparkEndToEnd is a Spark built exactly to the plan — SSO, the
// roster webhook with {spark_user_id, spark_course_id, action}, the
// submission webhook with the plan's fields, the API list — and no course
// webhook: the student's text and image reach the portfolio, and the quest
// takes the course's real title from Spark's API.
func TestPlanSparkEndToEnd(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		dm := startPlanDemo(t, d, nil)
		ctx := context.Background()
		maya := signIn(t, dm, "spark-stu-maya")
		_, err := dm.Sandbox.Roster(ctx, "spark-stu-maya", "spark-graphic-design", spark.RosterEnroll)
		require.NoError(t, err)
		planSubmit(t, dm, "spark-stu-maya", "spark-physics-forces-essay", "Forces balance when the cart stops accelerating.")
		waitIdle(t, dm)

		var html string
		require.Eventually(t, func() bool {
			_, html = maya.page("/portfolio/mayachen")
			return strings.Contains(html, "Forces balance when the cart stops accelerating.") && strings.Contains(html, "rock-layers-drawing.png")
		}, 30*time.Second, 50*time.Millisecond, "the evidence reaches the portfolio")
		require.Contains(t, html, `<a class="sc-thumb" href="/files/`)

		// Titles come from Spark's API, not from a course webhook.
		require.Eventually(t, func() bool {
			c, err := dm.App.Store.SparkCourse(ctx, "spark-physics")
			return err == nil && c.QuestTitle == "Physics" && c.MappedTasks == 4
		}, 30*time.Second, 50*time.Millisecond, "the quest takes Spark's title and every assignment")
		// XP is the assignment's max_points (150), however the sync and the API read raced.
		require.Eventually(t, func() bool {
			_, html = maya.page("/portfolio/mayachen")
			return strings.Contains(html, "Newton&#39;s laws essay") && strings.Contains(html, "+150 XP")
		}, 30*time.Second, 50*time.Millisecond, "the task is named and weighted by Spark")
		require.Eventually(t, func() bool {
			c, err := dm.App.Store.SparkCourse(ctx, "spark-graphic-design")
			return err == nil && c.Mapped && !strings.HasPrefix(c.QuestTitle, "Spark course")
		}, 30*time.Second, 50*time.Millisecond, "a course first seen in a roster event is mapped and named")
		st, err := dm.App.Store.SyncQueueStats(ctx, 5)
		require.NoError(t, err)
		require.Zero(t, st.Counts[optio.SyncWaiting], "with auto-map nothing waits")
		require.Zero(t, st.Counts[optio.SyncFailed])
	})
}

// TestPlanSparkWithoutAutoMap: the waiting course is listed on the admin
// page with its count, and one click maps it; then the work syncs.
func TestPlanSparkWithoutAutoMap(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		dm := startPlanDemo(t, d, map[string]string{"SPARK_AUTO_MAP": "false"})
		ctx := context.Background()
		maya := signIn(t, dm, "spark-stu-maya")
		planSubmit(t, dm, "spark-stu-maya", "spark-physics-forces-essay", "A waiting essay about forces.")
		waitIdle(t, dm)
		require.Eventually(t, func() bool {
			c, err := dm.App.Store.SparkCourse(ctx, "spark-physics")
			return err == nil && c.Waiting == 1 && c.Title == "Physics"
		}, 30*time.Second, 50*time.Millisecond, "the submission waits; Spark's API named the course")

		admin := signIn(t, dm, "spark-admin")
		status, html := admin.page("/admin/spark")
		require.Equal(t, http.StatusOK, status)
		require.Contains(t, html, "1 submission(s) waiting")
		require.Contains(t, html, "No poll yet: Optio polls Spark's API every", "polling is on (SPARK_API_URL), not yet run")
		row := html[strings.Index(html, "<code>spark-physics</code>"):]
		row = row[:strings.Index(row, "</tr>")]
		require.Contains(t, row, "unmapped")
		require.Contains(t, row, "waiting: 1")
		require.Contains(t, row, "Map and sync 1")
		_, before := maya.page("/portfolio/mayachen")
		require.NotContains(t, before, "A waiting essay about forces.")

		// One click: the form's default creates a quest named by Spark.
		resp, err := admin.http.PostForm(admin.base+"/admin/spark/courses/spark-physics/map", url.Values{})
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		require.Eventually(t, func() bool {
			_, html := maya.page("/portfolio/mayachen")
			return strings.Contains(html, "A waiting essay about forces.")
		}, 30*time.Second, 50*time.Millisecond, "mapped: the waiting work syncs")
		c, err := dm.App.Store.SparkCourse(ctx, "spark-physics")
		require.NoError(t, err)
		require.Equal(t, "Physics", c.QuestTitle)
		require.Zero(t, c.Waiting)

		// The switches from the page: sync off keeps new work waiting.
		resp, err = admin.http.PostForm(admin.base+"/admin/spark/courses/spark-physics/settings", url.Values{"auto_enroll_students": {"on"}, "pillar": {"art"}})
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		c, err = dm.App.Store.SparkCourse(ctx, "spark-physics")
		require.NoError(t, err)
		require.False(t, c.SyncEnabled)
		require.Equal(t, optio.PillarArt, c.Pillar)
		planSubmit(t, dm, "spark-stu-maya", "spark-physics-motion-lab", "Held back while sync is off.")
		waitIdle(t, dm)
		require.Eventually(t, func() bool {
			c, err := dm.App.Store.SparkCourse(ctx, "spark-physics")
			return err == nil && c.Waiting == 1
		}, 30*time.Second, 50*time.Millisecond)
		require.Equal(t, http.StatusForbidden, maya.do("PATCH", "/api/admin/spark/courses/spark-physics", `{"sync_enabled":true}`, nil))
		require.Equal(t, http.StatusNotFound, admin.do("PATCH", "/api/admin/spark/courses/never-seen", `{"sync_enabled":true}`, nil))
		var e apiError
		require.Equal(t, http.StatusBadRequest, admin.do("PATCH", "/api/admin/spark/courses/spark-physics", `{"pillar":"music"}`, &e))
		require.Contains(t, e.Error.Fields, "pillar")
		var on optio.SparkCourseStatus
		require.Equal(t, http.StatusOK, admin.do("PATCH", "/api/admin/spark/courses/spark-physics", `{"sync_enabled":true}`, &on))
		require.True(t, on.SyncEnabled)
		require.Eventually(t, func() bool {
			_, html := maya.page("/portfolio/mayachen")
			return strings.Contains(html, "Held back while sync is off.")
		}, 30*time.Second, 50*time.Millisecond, "enabled again: it syncs")
	})
}
