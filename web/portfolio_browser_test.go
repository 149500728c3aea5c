package web

import (
	"bytes"
	"context"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
)

// chromiumPath finds Debian's chromium, skipping the test when it is absent
// unless OPTIO_REQUIRE_BROWSER=1 (CI), which makes absence a failure.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("OPTIO_REQUIRE_BROWSER") == "1" {
		t.Fatal("chromium is not installed but OPTIO_REQUIRE_BROWSER=1: install it with apt-get install -y chromium")
	}
	t.Skip("chromium not installed; skipping the browser test (set OPTIO_REQUIRE_BROWSER=1 to fail instead)")
	return ""
}

// TestPortfolioInBrowser opens a public portfolio with every evidence type in
// a real headless Chromium, checks the image decoded and the video player is
// there, and takes a full-page screenshot.
func TestPortfolioInBrowser(t *testing.T) {
	t.Parallel()
	chromium := chromiumPath(t)
	db := openSQLiteForBrowser(t)
	e := setupPortfolio(t, db)
	e.everyEvidence()
	e.setVisibility(optio.VisibilityPublic)
	ts := httptest.NewServer(e.srv)
	t.Cleanup(ts.Close)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(412, 915), // a phone
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel)

	img := `figure.block.image img`
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
	videos := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("figure.block.video video[controls]").length`))
	docLinks := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("p.block.document a[href^='/files/']").length`))
	scriptRan := run(t, ctx, chromedp.Evaluate[bool](`typeof window.pwned !== "undefined" || document.querySelectorAll("main script").length > 0`))
	overflowing := run(t, ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	require.NoError(t, chromedp.Do(ctx, chromedp.ScrollIntoView(`main h1`)))
	shot := run(t, ctx, chromedp.FullScreenshot(100))
	require.Equal(t, "Maya Ortiz", heading)
	require.Equal(t, 96, imgWidth, "the evidence image loaded through /files/")
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
