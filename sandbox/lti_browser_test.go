package sandbox_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/internal/browsertest"
	"github.com/optio-edu/optio/sandbox"
)

// TestLTIPlatformInABrowser drives the platform as an admin and a course's
// people do, in Chromium: dynamic registration (the tool's page in an
// iframe posts its close message), a launch into the course page's iframe,
// "Add Optio to this course" (deep linking round trip in the iframe), and
// the LTI pages pass axe and fit a phone's width.
func TestLTIPlatformInABrowser(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	tt := newTestTool(t, b.sb)
	tt.autoDeepLink = true
	ctx, cancel := context.WithTimeout(browsertest.Start(t), 90*time.Second)
	defer cancel()
	run := func(actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, actions...))
	}

	run(chromedp.Navigate(b.url+"/lti"),
		chromedp.SendKeys(chromedp.CSS(`#registration_url`), tt.URL+"/lti/register"),
		chromedp.Submit(chromedp.CSS(`#registration_url`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)))
	notice, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`p.notice`)))
	require.NoError(t, err)
	require.Contains(t, notice, "The tool registered itself")
	tools := b.sb.LTITools()
	require.Len(t, tools, 1)
	require.True(t, tools[0].Dynamic)

	run(chromedp.Navigate(b.url+"/lti/courses/spark-physics?as=spark-stu-maya"),
		chromedp.Click(chromedp.CSS(`button[value="iframe"]`)))
	require.Eventually(t, func() bool {
		tt.mu.Lock()
		defer tt.mu.Unlock()
		return len(tt.launches) == 1
	}, 20*time.Second, 50*time.Millisecond, "the launch reached the tool through the course's iframe")
	require.Equal(t, "spark-stu-maya", tt.lastLaunch()["sub"])

	run(chromedp.Navigate(b.url+"/lti/courses/spark-physics"),
		chromedp.Click(`//button[contains(., "to this course")]`))
	require.Eventually(t, func() bool { return len(b.sb.LTIPlacements("spark-physics")) == 2 }, 20*time.Second, 50*time.Millisecond)
	require.Eventually(t, func() bool {
		added, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("iframe[name=tool_frame]").contentDocument || {}).title || ""`))
		return err == nil && strings.HasPrefix(added, "Added to the course")
	}, 20*time.Second, 50*time.Millisecond, "the deep linking result shows in the course's iframe")

	_, err = b.sb.StartLTILaunch(sandbox.LTILaunchRequest{UserID: "spark-par-lin"})
	require.NoError(t, err)
	for _, vp := range []struct{ w, h int64 }{{1280, 900}, {375, 800}} {
		for _, path := range []string{"/lti", "/lti/courses/spark-physics", "/lti/courses/spark-physics?as=spark-par-lin", "/lti/courses/spark-physics/gradebook"} {
			run(chromedp.EmulateViewport(vp.w, vp.h), chromedp.Navigate(b.url+path), chromedp.WaitReady(chromedp.CSS("body")))
			over, err := browsertest.Overflowing(ctx)
			require.NoError(t, err)
			require.False(t, over, "%s at %dpx scrolls sideways", path, vp.w)
			vs, err := browsertest.RunAxe(ctx)
			require.NoError(t, err)
			for _, v := range vs {
				if v.Severe() {
					t.Errorf("%s at %dpx: %s", path, vp.w, v)
				}
			}
		}
	}
}
