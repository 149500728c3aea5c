package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/internal/browsertest"
	"github.com/optio-edu/optio/jobs"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
)

// TestHealthPageInBrowser opens /admin/health as an admin on a 390 px wide
// phone in headless Chromium: every chart is drawn by uPlot with both axes
// labelled and a legend (the target line named in it where there is one),
// and nothing scrolls sideways. OPTIO_SCREENSHOT_DIR keeps a screenshot.
func TestHealthPageInBrowser(t *testing.T) {
	t.Parallel()
	clock := optio.NewFakeClock(time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC))
	env := newSSOEnv(t, store.SQLite).set("SPARK_WEBHOOK_SECRET", healthHookSecret).set("SPARK_SSO_ALLOW_ADMIN", "true").
		set("OPTIO_WORKERS", "0")
	env.clock = clock
	a := env.start(t)
	h := &healthDay{t: t, a: a, clock: clock}
	h.signIn(studentClaims("s1", "bio"))
	status, body := h.hook("course", map[string]any{"spark_course_id": "bio", "course_title": "Biology",
		"assignments": []map[string]any{{"spark_assignment_id": "a1", "title": "Lab 1"}, {"spark_assignment_id": "a2", "title": "Lab 2"}}}, healthHookSecret)
	require.Equal(t, 202, status, body)
	for i, lat := range []time.Duration{40 * time.Second, 7 * time.Minute} {
		h.at(2+i, 0)
		h.submitAndSync("s1", fmt.Sprintf("a%d", i+1), lat)
	}
	h.at(5, 0)
	require.NoError(t, jobs.RunHealth(context.Background(), a.Store, nil))
	tok, err := spark.SignToken(ssoSecret, spark.Claims{Subject: "adm", Email: "adm@school.test", GivenName: "Ada", FamilyName: "Admin",
		Role: optio.RoleAdmin}, 5*time.Minute, clock.Now())
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(browsertest.Start(t, chromedp.WindowSize(390, 844)), 60*time.Second)
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.EmulateViewport(390, 844), // headless windows are at least 500 px wide
		chromedp.Navigate(a.URL()+"/spark/sso?token="+tok),
		chromedp.Navigate(a.URL()+"/admin/health"),
		chromedp.WaitVisible(`main h1`),
	))
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll(".chart[data-drawn=true]").length === 6`,
		chromedp.WithPollingTimeout(20*time.Second)))
	require.NoError(t, err, "every chart is drawn")

	type chart struct {
		ID      string   `json:"id"`
		Canvas  bool     `json:"canvas"`
		Axes    int      `json:"axes"`
		Labels  []string `json:"labels"`
		Legend  []string `json:"legend"`
		Caption string   `json:"caption"`
	}
	charts, err := chromedp.Run(ctx, chromedp.Evaluate[[]chart](`[...document.querySelectorAll("figure.health-chart .chart")].map(c => ({
		id: c.id,
		canvas: !!c.querySelector(".uplot canvas"),
		axes: c.querySelectorAll(".u-axis").length,
		labels: c.uplot.axes.map(a => a.label),
		legend: [...c.querySelectorAll(".u-legend .u-series .u-label")].map(e => e.textContent.trim()),
		caption: c.closest("figure").querySelector("figcaption").textContent.trim(),
	}))`))
	require.NoError(t, err)
	require.Len(t, charts, 6)
	targets := map[string]string{"chart-sso": "target (99 %)", "chart-webhooks": "target (1 %)", "chart-sync": "target (300 s)"}
	for _, c := range charts {
		require.True(t, c.Canvas, c.ID)
		require.GreaterOrEqual(t, c.Axes, 2, c.ID)
		require.Len(t, c.Labels, 2, c.ID)
		require.Equal(t, "time (UTC)", c.Labels[0], c.ID)
		require.NotEmpty(t, c.Labels[1], c.ID)
		require.NotEmpty(t, c.Legend, c.ID)
		require.NotEmpty(t, c.Caption, c.ID)
		if want, ok := targets[c.ID]; ok {
			require.Contains(t, c.Legend, want, c.ID)
		}
	}
	require.Contains(t, charts[2].Legend, "p95", "the sync chart names its percentiles")

	width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.innerWidth`))
	require.NoError(t, err)
	require.Equal(t, 390, width)
	overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	require.NoError(t, err)
	require.False(t, overflow, "nothing scrolls sideways at 390 px")
	marks, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".health-marks .mark").length`))
	require.NoError(t, err)
	require.Equal(t, 4, marks, "each target has its green or red mark")

	if dir := os.Getenv("OPTIO_SCREENSHOT_DIR"); dir != "" {
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "health-390.png"), shot, 0o644))
		for _, c := range charts {
			shot, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS("figure:has(#"+c.ID+")")))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, c.ID+".png"), shot, 0o644))
		}
	}
}
