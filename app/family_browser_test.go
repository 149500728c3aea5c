package app_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/app"
	"github.com/optio-edu/optio/internal/apptest"
	"github.com/optio-edu/optio/internal/browsertest"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
	"github.com/optio-edu/optio/web"
)

// TestFamilyInBrowser drives the family pages in headless Chromium: a
// parent sees the rhythm go from green to yellow as the clock moves 9 days;
// an observer is invited, signs up, accepts, comments and is revoked; a
// reused and an expired invitation are refused with a clear message.
func TestFamilyInBrowser(t *testing.T) {
	t.Parallel()
	clock := optio.NewFakeClock(time.Date(2026, 4, 6, 15, 0, 0, 0, time.UTC))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	env := apptest.Env(t, store.SQLite, map[string]string{"OPTIO_METRICS_ADDR": "off", "OPTIO_BASE_URL": "http://" + ln.Addr().String()})
	a := apptest.Start(t, env.Get, app.Options{Clock: clock}, ln)
	base := a.URL()

	// A student with one finished task and a Spark submission an hour ago,
	// and a parent linked by an admin.
	ctx := context.Background()
	hash, err := web.HashPassword("family pass 1")
	require.NoError(t, err)
	sam, err := a.Store.CreateUser(ctx, optio.NewUser{Email: "sam@example.com", PasswordHash: hash, GivenName: "Sam", FamilyName: "Lee", Role: optio.RoleStudent})
	require.NoError(t, err)
	pat, err := a.Store.CreateUser(ctx, optio.NewUser{Email: "pat@example.com", PasswordHash: hash, GivenName: "Pat", FamilyName: "Lee", Role: optio.RoleParent})
	require.NoError(t, err)
	apptest.LinkParent(t, a, pat, sam)
	q := storetest.MustCreateQuest(t, a.Store, "Robots", 40, optio.PillarSTEM)
	clock.Advance(-48 * time.Hour) // finished two days ago
	_, err = a.Store.CompleteTask(ctx, optio.CompletionInput{UserID: sam.ID, TaskID: q.Tasks[0].ID, Source: "optio",
		Blocks: []optio.BlockInput{{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "My robot arm lifts 200 g."}}}})
	require.NoError(t, err)
	clock.Advance(48 * time.Hour)
	_, err = a.Store.W.Exec(`INSERT INTO spark_assignment_submissions (id, user_id, spark_user_id, spark_assignment_id, spark_course_id,
		submission_files, submitted_at, created_at, updated_at) VALUES ('0193e6a0-0000-7000-8000-0000000000aa', $1, 'sp-sam', 'a1', 'c1', '[]', $2, $2, $2)`,
		sam.ID, clock.Now().Add(-time.Hour))
	require.NoError(t, err)

	browser := browsertest.Start(t)
	// Each person has their own cookie jar: a separate browser context.
	person := func() context.Context {
		c, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		c, cancelT := context.WithTimeout(c, 120*time.Second)
		t.Cleanup(cancelT)
		return c
	}
	run := func(c context.Context, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(c, steps...))
	}
	text := func(c context.Context, sel string) string {
		t.Helper()
		s, err := chromedp.Run(c, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err, sel)
		return strings.TrimSpace(s)
	}
	login := func(c context.Context, email string) {
		run(c, chromedp.Navigate(base+"/login"), chromedp.SendKeys(chromedp.CSS("#email"), email),
			chromedp.SendKeys(chromedp.CSS("#password"), "family pass 1"), chromedp.Click(chromedp.CSS(`form[action="/login"] button`)),
			chromedp.WaitNotPresent(chromedp.CSS("#password")))
	}

	// The parent sees flow today, and needs-support nine quiet days later.
	parent := person()
	login(parent, "pat@example.com")
	run(parent, chromedp.Navigate(base+"/parent"))
	require.Equal(t, "Flow", text(parent, `[data-testid=rhythm]`))
	require.Equal(t, "last submission today", text(parent, `[data-testid=rhythm-reason]`))
	clock.Advance(9 * 24 * time.Hour)
	run(parent, chromedp.Reload())
	require.Equal(t, "Needs support", text(parent, `[data-testid=rhythm]`))
	require.Equal(t, "last submission 9 days ago", text(parent, `[data-testid=rhythm-reason]`))

	// The student invites Gran, who may comment.
	student := person()
	login(student, "sam@example.com")
	run(student, chromedp.Navigate(base+"/family"), chromedp.Click(chromedp.CSS(`form[action="/family/invitations"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=accept-url]`)))
	acceptURL := text(student, `[data-testid=accept-url]`)
	require.True(t, strings.HasPrefix(acceptURL, base+"/observer/accept?code="), acceptURL)

	// Gran opens the link, signs up as a family member and accepts.
	gran := person()
	run(gran, chromedp.Navigate(acceptURL), chromedp.Click(chromedp.CSS(`a.button[href^="/register"]`)),
		chromedp.WaitVisible(chromedp.CSS("#given_name")),
		chromedp.SendKeys(chromedp.CSS("#given_name"), "Gran"), chromedp.SendKeys(chromedp.CSS("#family_name"), "Lee"),
		chromedp.SendKeys(chromedp.CSS("#email"), "gran@example.com"), chromedp.SendKeys(chromedp.CSS("#password"), "family pass 1"),
		chromedp.Click(chromedp.CSS(`input[name=role][value=observer]`)), chromedp.Click(chromedp.CSS(`form[action="/register"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/observer/accept"] button`)),
		chromedp.Click(chromedp.CSS(`form[action="/observer/accept"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	require.Equal(t, "You now follow Sam Lee.", text(gran, ".flash"))

	// Gran cheers on the finished work; the markup is shown, not run.
	run(gran, chromedp.Click(chromedp.CSS(`a.button[href^="/observer/students/"]`)), chromedp.WaitVisible(chromedp.CSS("textarea")),
		chromedp.SendKeys(chromedp.CSS("textarea"), "So proud of you <b>Sam</b>!"),
		chromedp.Click(chromedp.CSS(`form[action^="/observer/completions/"] button`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	require.Equal(t, "So proud of you <b>Sam</b>!", text(gran, `[data-testid=comment-body]`))

	// The parent sees the comment, then removes Gran.
	run(parent, chromedp.Reload())
	require.Equal(t, "So proud of you <b>Sam</b>!", text(parent, `[data-testid=comment-body]`))
	run(parent, chromedp.Click(chromedp.CSS(`#observers-`+sam.ID+` form[action^="/observers/"] button`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	require.Equal(t, "Gran Lee no longer follows Sam Lee.", text(parent, ".flash"))

	// Gran's access ends at once.
	run(gran, chromedp.Navigate(base+"/observer/students/"+sam.ID))
	require.Equal(t, "We could not find that", text(gran, "main h1"))
	require.Contains(t, text(gran, "main .card"), "Student not found.")
	run(gran, chromedp.Navigate(base+"/observer"))
	require.Contains(t, text(gran, "main"), "You do not follow anyone yet.")

	// The used link is refused, and so is one left to expire.
	run(gran, chromedp.Navigate(acceptURL), chromedp.Click(chromedp.CSS(`form[action="/observer/accept"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=accept-error]`)))
	require.Equal(t, "This invitation has already been used. Ask for a new one.", text(gran, `[data-testid=accept-error]`))
	run(student, chromedp.Navigate(base+"/family"), chromedp.SetValue(chromedp.CSS("#days"), "1"),
		chromedp.Click(chromedp.CSS(`form[action="/family/invitations"] button`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=accept-url]`)))
	expiring := text(student, `[data-testid=accept-url]`)
	clock.Advance(25 * time.Hour)
	run(gran, chromedp.Navigate(expiring), chromedp.Click(chromedp.CSS(`form[action="/observer/accept"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=accept-error]`)))
	require.Equal(t, "This invitation has expired. Ask for a new one.", text(gran, `[data-testid=accept-error]`))
}
