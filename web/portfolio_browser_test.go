package web

import (
	"bytes"
	"context"
	"image/png"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/internal/browsertest"
	"github.com/optio-edu/optio/store"
)

// TestPortfolioInBrowser opens a public portfolio with every evidence type in
// a real headless Chromium, checks the image decoded and the video player is
// there, and takes a full-page screenshot.
func TestPortfolioInBrowser(t *testing.T) {
	t.Parallel()
	db := openSQLiteForBrowser(t)
	e := setupPortfolio(t, db)
	e.everyEvidence()
	e.setVisibility(optio.VisibilityPublic)
	ts := httptest.NewServer(e.srv)
	t.Cleanup(ts.Close)

	ctx, cancel := context.WithTimeout(browsertest.Start(t, chromedp.WindowSize(412, 915)), 60*time.Second) // a phone
	t.Cleanup(cancel)

	img := `.sc-media img`
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/portfolio/"+e.student.PortfolioSlug),
		chromedp.WaitVisible(`main h1`),
		chromedp.ScrollIntoView(img),
	))
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`(() => { const i = document.querySelector("`+img+`"); return i && i.complete && i.naturalWidth > 0; })()`,
		chromedp.WithPollingTimeout(20*time.Second)))
	require.NoError(t, err, "the evidence image loads")
	heading := run(t, ctx, chromedp.Text(`main h1`))
	imgWidth := run(t, ctx, chromedp.Evaluate[int](`document.querySelector("`+img+`").naturalWidth`))
	videos := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll(".sc-card video[controls]").length`))
	docLinks := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll(".sc-doc a[href^='/files/']").length`))
	scriptRan := run(t, ctx, chromedp.Evaluate[bool](`typeof window.pwned !== "undefined" || document.querySelectorAll("main script").length > 0`))
	overflowing := run(t, ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	require.NoError(t, chromedp.Do(ctx, chromedp.ScrollIntoView(`main h1`)))
	shot := run(t, ctx, chromedp.FullScreenshot(100))
	require.Equal(t, "Maya Ortiz", heading)
	require.Equal(t, 96, imgWidth, "the evidence image's thumbnail loaded through /files/")
	require.Equal(t, 1, videos, "the video has a player")
	require.Equal(t, 2, docLinks, "the PDF has an open and a download link")
	require.False(t, scriptRan, "submission text never becomes script")
	require.False(t, overflowing, "the page fits a phone's width")

	path := filepath.Join(t.TempDir(), "portfolio.png")
	require.NoError(t, os.WriteFile(path, shot, 0o600))
	require.Greater(t, len(shot), 10_000, "a real screenshot, not a blank")
	cfg, err := png.DecodeConfig(bytes.NewReader(shot))
	require.NoError(t, err, "the screenshot is a PNG")
	require.GreaterOrEqual(t, cfg.Width, 400)
	require.Greater(t, cfg.Height, 915, "the full page is longer than one screen")
	if dir := os.Getenv("OPTIO_SCREENSHOT_DIR"); dir != "" { // keep a copy to look at
		require.NoError(t, os.WriteFile(filepath.Join(dir, "portfolio.png"), shot, 0o600))
	}
	t.Logf("screenshot: %s (%d bytes, %dx%d)", path, len(shot), cfg.Width, cfg.Height)
}

// openSQLiteForBrowser is the store for the browser test: what it checks is
// the page in a browser, which does not differ between engines.
func openSQLiteForBrowser(t *testing.T) *store.DB {
	return openStore(t, store.SQLite)
}

// run runs one browser action, failing the test on error.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	require.NoError(t, err)
	return v
}
