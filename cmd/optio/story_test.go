package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/app"
	"github.com/optio-edu/optio/internal/browsertest"
	"github.com/optio-edu/optio/sandbox"
)

// TestDemoStoryInBrowser runs the whole story against optio demo's wiring:
// sandbox login → SSO → dashboard; a sandbox submission with a file →
// evidence on the portfolio page; a roster enrolment shows the course.
func TestDemoStoryInBrowser(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(browsertest.Start(t), 3*time.Minute)
	defer cancel()
	d := startTestDemo(t, map[string]string{"OPTIO_DATA_DIR": t.TempDir()}, true, app.Options{})
	sb := d.Sandbox.URL()

	// Sandbox login → SSO → Optio dashboard.
	ssoURL, err := d.Sandbox.SSOURL("spark-stu-maya", "") // what the "View Portfolio in Optio" button opens
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(ssoURL), chromedp.WaitVisible(chromedp.CSS(`h1`))))
	heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`h1`)))
	require.NoError(t, err)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	require.Contains(t, heading, "Maya")
	require.True(t, strings.HasPrefix(loc, d.App.URL()+"/dashboard"), loc)
	href, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.Search(`//a[contains(., "My portfolio")]`), "href"))
	require.NoError(t, err)
	require.Contains(t, href.Value, "/portfolio/mayachen")

	// A submission with a file in the sandbox → evidence on the portfolio.
	var assignmentID string
	for _, c := range d.Sandbox.Courses() {
		if c.ID == "spark-physics" {
			assignmentID = c.Assignments[0].ID
		}
	}
	require.NotEmpty(t, assignmentID)
	ctx, cancelTab := chromedp.NewContext(ctx) // a fresh tab for Spark's side
	defer cancelTab()
	// The page may still be settling under load (a node can vanish between
	// query and action); try the form again until the sandbox has the work.
	// Maya's own submissions (the demo's seed hands in Noah's work).
	mayas := func() []sandbox.SubmissionRecord {
		var out []sandbox.SubmissionRecord
		for _, s := range d.Sandbox.Submissions() {
			if s.StudentID == "spark-stu-maya" {
				out = append(out, s)
			}
		}
		return out
	}
	for attempt := 0; attempt < 5 && len(mayas()) == 0; attempt++ {
		err = chromedp.Do(ctx,
			chromedp.Navigate(sb+"/users/spark-stu-maya/assignments/"+assignmentID),
			chromedp.WaitVisible(chromedp.CSS(`#text`)),
			chromedp.SendKeys(chromedp.CSS(`#text`), "Momentum is conserved in every collision we measured."),
			chromedp.SetValue(chromedp.CSS(`#sample`), "essay-pdf"),
			chromedp.WaitVisible(chromedp.Search(`//button[contains(., "Submit assignment")]`)),
			chromedp.Click(chromedp.Search(`//button[contains(., "Submit assignment")]`)),
		)
		if err != nil {
			t.Logf("submitting through the sandbox's form, attempt %d: %v", attempt+1, err)
		}
		for i := 0; i < 30 && len(mayas()) == 0; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	}
	for i := 0; i < 100 && len(mayas()) == 0; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	require.Len(t, mayas(), 1, "the sandbox stored the submission")
	var page string
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		// A navigation still in flight can abort this one; just try again.
		if err := chromedp.Do(ctx, chromedp.Navigate(d.App.URL()+"/portfolio/mayachen")); err == nil {
			page, _ = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`body`)))
		}
		if strings.Contains(page, "Momentum is conserved") {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	require.Contains(t, page, "Momentum is conserved in every collision we measured.")
	require.Contains(t, page, "photosynthesis-essay.pdf")
	require.Contains(t, page, "Synced from Spark")

	// Roster: enrolling in a new course in Spark shows it in Optio.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(sb+"/users/spark-stu-maya"),
		chromedp.WaitVisible(chromedp.CSS(`h1`)),
		chromedp.Click(chromedp.Search(`//tr[contains(., "spark-graphic-design")]//button[@value="enroll"]`)),
	))
	time.Sleep(500 * time.Millisecond) // let the form post land before waiting on the sender
	wctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, d.Sandbox.WaitIdle(wctx))
	for i := 0; i < 20 && !strings.Contains(page, "Graphic Design"); i++ {
		if err := chromedp.Do(ctx, chromedp.Navigate(d.App.URL()+"/dashboard")); err == nil {
			page, _ = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`body`)))
		}
		time.Sleep(200 * time.Millisecond)
	}
	require.Contains(t, page, "Graphic Design")
}
