// Package browsertest starts Debian's headless Chromium for the browser
// tests, one way for every package: a missing browser skips the test unless
// OPTIO_REQUIRE_BROWSER is set (CI), where it fails.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// Start launches a fresh headless browser (its own profile, no background
// networking) with any extra options, waits until it is up, and returns its
// context; everything is stopped when the test ends.
func Start(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(opts, extra...)...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

func chromiumPath(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("OPTIO_REQUIRE_BROWSER") != "" {
		t.Fatal("chromium is not installed but OPTIO_REQUIRE_BROWSER is set: install it with apt-get install -y chromium")
	}
	t.Skip("chromium not installed; skipping the browser test (set OPTIO_REQUIRE_BROWSER=1 to fail instead)")
	return ""
}
