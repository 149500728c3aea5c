package main

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/app"
	"github.com/optio-edu/optio/sandbox"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
	"github.com/optio-edu/optio/web"
)

// TestLTIThroughTheSandbox joins the two sides of LTI 1.3 as `optio demo`
// wires them: the sandbox's platform (its own keys, launches, NRPS and AGS,
// built from the specs) and Optio's tool. The instructor's launch lands on
// the course's teacher page and the roster arrives by NRPS; a learner's
// launch lands on their dashboard; finishing a task of the course's quest
// puts a score in the platform's gradebook; a parent (mentor) lands on the
// parent page; the Spark flows of the same demo are untouched.
func TestLTIThroughTheSandbox(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		dm := startTestDemo(t, testDemoEnv(t, d), true, app.Options{})
		require.Equal(t, dm.Sandbox.URL()+"/lti/courses/"+sandbox.LTICourseID, dm.LTICourse)

		browser := func() *http.Client {
			jar, err := cookiejar.New(nil)
			require.NoError(t, err)
			return &http.Client{Jar: jar, Timeout: 30 * time.Second}
		}
		launch := func(c *http.Client, user string) (string, string) {
			t.Helper()
			resp, err := dm.Sandbox.LaunchLTI(ctx, c, sandbox.LTILaunchRequest{UserID: user})
			require.NoError(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s's launch: %s", user, b)
			require.True(t, strings.HasPrefix(resp.Request.URL.String(), dm.App.URL()), "the launch ends in Optio, at %s", resp.Request.URL)
			return resp.Request.URL.Path, string(b)
		}
		get := func(c *http.Client, path string) string {
			t.Helper()
			resp, err := c.Get(dm.App.URL() + path)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", path, b)
			return string(b)
		}

		// Dynamic Registration across both sides: the demo's registration
		// (made directly) is removed, and the platform's admin opens Optio's
		// registration URL in a browser where an Optio admin is signed in;
		// Optio registers itself with the platform and stores the platform.
		platforms, err := dm.App.Store.LTIPlatforms(ctx)
		require.NoError(t, err)
		require.Len(t, platforms, 1)
		require.NoError(t, dm.App.Store.DeleteLTIPlatform(ctx, platforms[0].ID))
		hash, err := web.HashPassword("correct horse battery")
		require.NoError(t, err)
		_, err = dm.App.Store.CreateUser(ctx, optio.NewUser{Email: "head@school.test", PasswordHash: hash, GivenName: "Head", Role: optio.RoleAdmin, EmailVerified: true})
		require.NoError(t, err)
		reg, err := dm.Sandbox.StartLTIDynamicRegistration(dm.App.URL() + "/lti/register")
		require.NoError(t, err)
		stranger := browser()
		resp, err := stranger.Get(reg.OpenURL)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, "/login", resp.Request.URL.Path, "only an Optio admin registers a platform: a stranger is asked to sign in")
		require.Len(t, dm.Sandbox.LTITools(), 1, "nothing registered for a stranger")
		admin := browser()
		resp, err = admin.Post(dm.App.URL()+"/api/auth/login", "application/json", strings.NewReader(`{"email":"head@school.test","password":"correct horse battery"}`))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		reg, err = dm.Sandbox.StartLTIDynamicRegistration(dm.App.URL() + "/lti/register")
		require.NoError(t, err)
		resp, err = admin.Get(reg.OpenURL)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
		require.Contains(t, string(b), "Optio is registered")
		require.Contains(t, string(b), `<script src="/static/lti-close.js"`, "the page tells the platform it is done (org.imsglobal.lti.close)")
		tools := dm.Sandbox.LTITools()
		require.Len(t, tools, 2)
		platforms, err = dm.App.Store.LTIPlatforms(ctx)
		require.NoError(t, err)
		require.Len(t, platforms, 1)
		require.Equal(t, dm.Sandbox.LTIIssuer(), platforms[0].Issuer)
		require.Equal(t, tools[1].ClientID, platforms[0].ClientID, "Optio stored the client id the platform assigned")
		require.Equal(t, []string{tools[1].DeploymentID}, platforms[0].DeploymentIDs)

		// The instructor: the course's teacher page; the roster comes by NRPS.
		teacher := browser()
		teacherPage, _ := launch(teacher, sandbox.LTIInstructorID)
		require.True(t, strings.HasPrefix(teacherPage, "/lti/courses/"), "the instructor lands on the teacher page, not %s", teacherPage)
		require.Eventually(t, func() bool {
			body := get(teacher, teacherPage)
			return strings.Contains(body, "Maya") && strings.Contains(body, "Noah")
		}, 30*time.Second, 100*time.Millisecond, "the course's roster reaches the teacher page by NRPS")

		// A learner: their dashboard shows the course's quest.
		maya := browser()
		where, body := launch(maya, "spark-stu-maya")
		require.Equal(t, "/dashboard", where)
		course, err := dm.App.Store.LTICourseByID(ctx, strings.TrimPrefix(teacherPage, "/lti/courses/"))
		require.NoError(t, err)
		q, err := dm.App.Store.QuestByID(ctx, course.QuestID)
		require.NoError(t, err)
		require.Contains(t, body, q.Title, "the course's quest is on the dashboard")

		// Her finished task reaches the platform's gradebook (AGS).
		// The teacher adds a task to the course's quest on the teacher page
		// (an LTI platform sends no assignments); a learner may not.
		addTask := url.Values{"title": {"Pendulum lab"}, "pillar": {"stem"}, "xp_value": {"50"}}
		resp, err = maya.PostForm(dm.App.URL()+teacherPage+"/tasks", addTask)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNotFound, resp.StatusCode, "a learner adds no task")
		resp, err = teacher.PostForm(dm.App.URL()+teacherPage+"/tasks", addTask)
		require.NoError(t, err)
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
		require.Equal(t, teacherPage, resp.Request.URL.Path)
		require.Contains(t, string(b), "Task added: Pendulum lab")
		q, err = dm.App.Store.QuestByID(ctx, course.QuestID)
		require.NoError(t, err)
		require.Len(t, q.Tasks, 1)
		task := q.Tasks[0]
		require.Equal(t, "Pendulum lab", task.Title)
		require.Equal(t, 50, task.XPValue)
		req, err := http.NewRequest("POST", dm.App.URL()+"/api/tasks/"+task.ID+"/complete",
			strings.NewReader(`{"evidence":[{"type":"text","text":"period 2.01 s for 1 m"}]}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", dm.App.URL())
		resp, err = maya.Do(req)
		require.NoError(t, err)
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", b)
		require.Eventually(t, func() bool {
			for _, s := range dm.Sandbox.LTIScores() {
				if s.UserID == "spark-stu-maya" {
					return true
				}
			}
			return false
		}, 30*time.Second, 100*time.Millisecond, "Maya's score reaches the sandbox's gradebook")
		items := dm.Sandbox.LTILineItems(sandbox.LTICourseID)
		require.Len(t, items, 1, "one line item for the course's quest")
		require.Contains(t, get(browser(), "/"), "Optio") // Optio still answers a stranger

		// The instructor places the quest in the course by Deep Linking:
		// Optio's picker, its signed answer posted to the platform, which
		// verifies it with Optio's JWKS and adds the link; Noah's launch of
		// that link lands on the quest.
		resp, err = dm.Sandbox.LaunchLTI(ctx, teacher, sandbox.LTILaunchRequest{UserID: sandbox.LTIInstructorID, DeepLinking: true})
		require.NoError(t, err)
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
		require.Contains(t, string(b), "Quest: "+q.Title, "the picker offers the course's quest")
		request := regexp.MustCompile(`name="request" value="([^"]+)"`).FindStringSubmatch(string(b))
		require.Len(t, request, 2)
		resp, err = teacher.PostForm(dm.App.URL()+"/lti/deep-link", url.Values{"request": {html.UnescapeString(request[1])}, "choice": {q.ID}})
		require.NoError(t, err)
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
		var action []string // the form that carries the JWT
		for _, form := range strings.Split(string(b), "<form")[1:] {
			if strings.Contains(form[:strings.Index(form+"</form>", "</form>")], `name="JWT"`) {
				action = regexp.MustCompile(`action="([^"]+)"`).FindStringSubmatch(form)
			}
		}
		jwt := regexp.MustCompile(`name="JWT" value="([^"]+)"`).FindStringSubmatch(string(b))
		require.Len(t, action, 2)
		require.Len(t, jwt, 2)
		require.Equal(t, dm.Sandbox.LTIIssuer()+"/deep-links", html.UnescapeString(action[1]))
		resp, err = teacher.PostForm(html.UnescapeString(action[1]), url.Values{"JWT": {html.UnescapeString(jwt[1])}})
		require.NoError(t, err)
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Less(t, resp.StatusCode, 400, "the platform accepts Optio's deep linking response: %s", b)
		var placed *sandbox.LTIPlacement
		for _, p := range dm.Sandbox.LTIPlacements(sandbox.LTICourseID) {
			if p.DeepLinked {
				placed = &p
			}
		}
		require.NotNil(t, placed, "the quest is placed in the course")
		require.Equal(t, q.ID, placed.Custom["optio_quest_id"])
		resp, err = dm.Sandbox.LaunchLTI(ctx, browser(), sandbox.LTILaunchRequest{UserID: "spark-stu-noah", PlacementID: placed.ID})
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "/quests/"+q.ID, resp.Request.URL.Path, "the placed link leads to the quest")

		// A parent (mentor of Maya) lands on the parent page, linked to her.
		lin := browser()
		where, body = launch(lin, "spark-par-lin")
		require.Equal(t, "/parent", where)
		require.Contains(t, body, "Maya")
	})
}
