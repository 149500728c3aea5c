package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/app"
	"github.com/optio-edu/optio/internal/browsertest"
	"github.com/optio-edu/optio/sandbox"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// browserPage is one page of the product as someone sees it: opened by path,
// or by open when it is the answer to a form.
type browserPage struct {
	name string
	who  string // anon, student, parent, observer, admin (signed in through the sandbox), or sandbox
	path string
	open func(t *testing.T, ctx context.Context)
	// shot and shotMobile name the screenshots kept under $OPTIO_SCREENSHOTS.
	shot, shotMobile string
}

// viewports are the desktop and phone sizes every page is checked at.
var viewports = []struct {
	name          string
	width, height int64
}{{"desktop", 1280, 900}, {"phone", 390, 844}}

// TestPagesInBrowser opens every page of the demo — Optio's for each role
// and the Spark sandbox's — in Chromium at 1280×900 and 390×844, and checks
// the page never scrolls sideways and axe-core finds no serious or critical
// accessibility violation. With OPTIO_SCREENSHOTS=dir it also saves the
// screenshots the README shows (go test ./cmd/optio -run TestPagesInBrowser
// with OPTIO_SCREENSHOTS=$PWD/docs/screenshots regenerates them).
func TestPagesInBrowser(t *testing.T) {
	t.Parallel()
	shots := os.Getenv("OPTIO_SCREENSHOTS")
	browser := browsertest.Start(t)

	// The demo on SQLite: what is checked is the page, the same on either store.
	env := map[string]string{"OPTIO_DATA_DIR": t.TempDir(), "OPTIO_DATABASE_URL": "sqlite://" + storetest.URL(t, store.SQLite)}
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dm := startTestDemo(t, env, true, app.Options{Logger: quiet})
	base, sb := dm.App.URL(), dm.Sandbox.URL()

	// Ava hands in work in two courses, so her pages have something to show.
	const ava = "spark-stu-ava"
	var parentID, assignment string
	for _, u := range dm.Sandbox.Users() {
		if u.ID == ava {
			parentID = u.ParentID
		}
	}
	require.NotEmpty(t, parentID)
	n := 0
	for _, c := range dm.Sandbox.Courses() {
		if _, ok := dm.Sandbox.Enrollments(ava)[c.ID]; !ok || len(c.Assignments) == 0 {
			continue
		}
		assignment = c.Assignments[0].ID
		for i, key := range []string{"essay-pdf", "drawing-png"} {
			if i >= len(c.Assignments) {
				break
			}
			sample, ok := sandbox.Sample(key)
			require.True(t, ok, key)
			_, err := dm.Sandbox.Submit(ctx, ava, c.Assignments[i].ID, "My work on "+c.Assignments[i].Title+".", []sandbox.SampleFile{sample})
			require.NoError(t, err)
		}
		if n++; n == 2 {
			break
		}
	}
	require.NotEmpty(t, assignment)
	waitCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	require.NoError(t, dm.Sandbox.WaitIdle(waitCtx))
	require.Eventually(t, func() bool {
		st, err := dm.App.Store.SyncQueueStats(ctx, 1)
		return err == nil && st.Counts[optio.SyncPending]+st.Counts[optio.SyncProcessing] == 0
	}, 60*time.Second, 50*time.Millisecond, "Ava's work synced")

	// One browser context (its own cookies) per person, signed in the way the
	// banner says: "View Portfolio in Optio" in the sandbox.
	people := map[string]context.Context{}
	person := func(who string) context.Context {
		if c, ok := people[who]; ok {
			return c
		}
		c, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		// The first action opens the tab, on c itself: a tab opened under a
		// derived context with a deadline would close when that ends.
		require.NoError(t, chromedp.Do(c, chromedp.Navigate("about:blank")))
		people[who] = c
		return c
	}
	do := func(c context.Context, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		tctx, cancel := context.WithTimeout(c, 30*time.Second)
		defer cancel()
		require.NoError(t, chromedp.Do(tctx, actions...))
	}
	text := func(c context.Context, sel string) string {
		t.Helper()
		tctx, cancel := context.WithTimeout(c, 20*time.Second)
		defer cancel()
		s, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			wctx, cancel := context.WithTimeout(c, 5*time.Second)
			defer cancel()
			where, _ := chromedp.Run(wctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText.slice(0, 500)`))
			t.Fatalf("%s: %v on %s", sel, err, where)
		}
		return strings.TrimSpace(s)
	}
	ssoAs := func(who, sparkID string) {
		sso, err := dm.Sandbox.SSOURL(sparkID, "")
		require.NoError(t, err)
		do(person(who), chromedp.Navigate(sso), chromedp.WaitVisible(chromedp.CSS(`header.top nav`)))
		require.Contains(t, text(person(who), `form.signout button`), "Sign out", who)
	}
	ssoAs("student", ava)
	ssoAs("parent", parentID)
	ssoAs("admin", "spark-admin")
	// Someone Ava invites follows her: the invitation page, then sign-up and accept.
	invite := func(t *testing.T, c context.Context) {
		do(c, chromedp.Navigate(base+"/family"), chromedp.Click(chromedp.CSS(`form[action="/family/invitations"] button`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=accept-url]`)))
	}
	invite(t, person("student"))
	acceptURL := text(person("student"), `[data-testid=accept-url]`)
	do(person("observer"), chromedp.Navigate(acceptURL), chromedp.Click(chromedp.CSS(`a.button[href^="/register"]`)),
		chromedp.WaitVisible(chromedp.CSS("#given_name")),
		chromedp.SendKeys(chromedp.CSS("#given_name"), "Gran"), chromedp.SendKeys(chromedp.CSS("#family_name"), "Okoye"),
		chromedp.SendKeys(chromedp.CSS("#email"), "gran@example.com"), chromedp.SendKeys(chromedp.CSS("#password"), "family pass 1"),
		chromedp.Click(chromedp.CSS(`input[name=role][value=observer]`)), chromedp.Click(chromedp.CSS(`form[action="/register"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/observer/accept"] button`)), chromedp.Click(chromedp.CSS(`form[action="/observer/accept"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)))

	avaUser, err := dm.App.Store.UserBySparkID(ctx, ava)
	require.NoError(t, err)
	quests, err := dm.App.Store.ListQuests(ctx, true)
	require.NoError(t, err)
	require.NotEmpty(t, quests)
	badges, err := dm.App.Store.ListBadges(ctx, true)
	require.NoError(t, err)
	require.NotEmpty(t, badges)
	parentSSO, err := dm.Sandbox.SSOURL(parentID, "")
	require.NoError(t, err)

	pages := []browserPage{
		{name: "home", who: "anon", path: "/", shot: "home.png"},
		{name: "login", who: "anon", path: "/login"},
		{name: "register", who: "anon", path: "/register"},
		{name: "404", who: "anon", path: "/no/such/page", shot: "not-found.png"},
		{name: "private portfolio", who: "anon", path: "/portfolio/" + avaUser.PortfolioSlug},
		{name: "dashboard", who: "student", path: "/dashboard", shot: "dashboard.png", shotMobile: "dashboard-mobile.png"},
		{name: "quests", who: "student", path: "/quests", shot: "quests.png"},
		{name: "quest", who: "student", path: "/quests/" + quests[0].ID, shot: "quest.png"},
		{name: "badges", who: "student", path: "/badges", shot: "badges.png"},
		{name: "family", who: "student", path: "/family"},
		{name: "invitation", who: "student", open: invite},
		{name: "tutor", who: "student", path: "/tutor", shot: "tutor.png"},
		{name: "account", who: "student", path: "/account"},
		{name: "404 signed in", who: "student", path: "/dashbord"},
		{name: "parent", who: "parent", path: "/parent", shot: "parent.png", shotMobile: "parent-mobile.png"},
		{name: "observer", who: "observer", path: "/observer"},
		{name: "observer student", who: "observer", path: "/observer/students/" + avaUser.ID},
		{name: "observer accept", who: "observer", path: "/observer/accept?code=NOPE"},
		{name: "admin", who: "admin", path: "/admin"},
		{name: "admin spark", who: "admin", path: "/admin/spark", shot: "admin-spark.png"},
		{name: "admin badges", who: "admin", path: "/admin/spark-badges", shot: "admin-badges.png"},
		{name: "admin badge", who: "admin", path: "/admin/spark-badges/" + badges[0].ID},
		{name: "admin portfolio default", who: "admin", path: "/admin/portfolio-default"},
		{name: "sso switch", who: "student", open: func(t *testing.T, c context.Context) {
			do(c, chromedp.Navigate(parentSSO), chromedp.WaitVisible(chromedp.CSS(`form[action="/spark/sso/confirm"]`)))
		}},
		{name: "sandbox home", who: "sandbox", path: sb + "/"},
		{name: "sandbox student", who: "sandbox", path: sb + "/users/" + ava},
		{name: "sandbox parent", who: "sandbox", path: sb + "/users/" + parentID},
		{name: "sandbox submit", who: "sandbox", path: sb + "/users/" + ava + "/assignments/" + assignment},
		{name: "sandbox deliveries", who: "sandbox", path: sb + "/deliveries", shotMobile: "sandbox-deliveries-mobile.png"},
		{name: "sandbox grades", who: "sandbox", path: sb + "/grades"},
		{name: "sandbox error", who: "sandbox", path: sb + "/users/nobody"},
	}

	for _, vp := range viewports {
		for _, p := range pages {
			t.Run(vp.name+"/"+p.name, func(t *testing.T) {
				c := person(p.who)
				do(c, chromedp.EmulateViewport(vp.width, vp.height))
				if p.open != nil {
					p.open(t, c)
				} else {
					u := p.path
					if !strings.HasPrefix(u, "http") {
						u = base + u
					}
					do(c, chromedp.Navigate(u), chromedp.WaitReady(chromedp.CSS("body")))
				}
				title, err := chromedp.Run(c, chromedp.Evaluate[string](`document.title`))
				require.NoError(t, err)
				require.NotEmpty(t, title, "every page has a title")

				over, err := browsertest.Overflowing(c)
				require.NoError(t, err)
				if over {
					wide, _ := chromedp.Run(c, chromedp.Evaluate[string](`(() => { const w = window.innerWidth; const out = [];
						for (const el of document.querySelectorAll("body *")) { const r = el.getBoundingClientRect();
							if (r.right > w + 1 && out.length < 5) out.push(el.tagName.toLowerCase() + (el.className ? "." + String(el.className).replace(/ /g, ".") : "") + " right=" + Math.round(r.right)); }
						return out.join("; "); })()`))
					t.Errorf("%s at %dpx scrolls sideways; too wide: %s", p.name, vp.width, wide)
				}
				vs, err := browsertest.RunAxe(c)
				require.NoError(t, err)
				for _, v := range vs {
					if v.Severe() {
						t.Errorf("%s at %dpx: %s", p.name, vp.width, v)
					}
				}
				name := p.shot
				if vp.width < 500 {
					name = p.shotMobile
				}
				if shots != "" && name != "" {
					png, err := chromedp.Run(c, chromedp.CaptureScreenshot())
					require.NoError(t, err)
					require.Less(t, len(png), 300<<10, "%s: a screenshot stays under 300 KB", name)
					require.NoError(t, os.WriteFile(filepath.Join(shots, name), png, 0o644))
					t.Logf("%s: %d KB", name, len(png)>>10)
				}
			})
		}
	}
}
