package main

import (
	"bytes"
	"context"
	"html"
	"image/jpeg"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/app"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// TestDemoPublicPortfolio checks the demo seeds one consented family: the
// banner says which link to open, a stranger opening it sees Noah's Physics
// work (a picture, a PDF essay with its first page, a video) and the badge
// it earned, and a restart keeps a parent's later decision.
func TestDemoPublicPortfolio(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		env := map[string]string{"OPTIO_DATA_DIR": t.TempDir(), "OPTIO_DATABASE_URL": storetest.URL(t, d)}
		if d == store.SQLite {
			env["OPTIO_DATABASE_URL"] = "sqlite://" + env["OPTIO_DATABASE_URL"]
		}
		start := func() *demo {
			optioLn, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			sandboxLn, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			dm, err := startDemo(context.Background(), func(k string) string { return env[k] }, optioLn, sandboxLn, app.Options{})
			require.NoError(t, err)
			return dm
		}
		get := func(u string) (int, string) {
			resp, err := http.Get(u)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		dm := start()
		var banner bytes.Buffer
		printDemo(&banner, dm)
		require.Contains(t, banner.String(), "Open this first: "+dm.PublicPortfolio+"\n  Noah Okafor's public portfolio")
		require.True(t, strings.HasPrefix(dm.PublicPortfolio, dm.App.URL()+"/portfolio/"))
		code, body := get(dm.PublicPortfolio)
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, body, "Noah Okafor")

		// The seeded submissions arrive as Spark's would: webhook, then files.
		require.NoError(t, dm.Sandbox.WaitIdle(context.Background()))
		shows := []string{
			`<h2 id="pf-badges-h">Badges earned</h2>`, `<h3>Physics Lab Explorer</h3>`,
			`Motion lab report`, `Newton&#39;s laws essay`, `Energy transfer project`, `Waves reflection`,
			`4 of 4 assignments finished · complete`, `Minecraft Biology`, `Biome survey`, `Photoshop basics`, `1 of 3 assignments finished`, `1 of 4 assignments finished`,
			`<a class="sc-thumb" href="/files/`, `alt="Image submitted for “Motion lab report”"`,
			`<p class="sc-doc-type">PDF document</p>`, `photosynthesis-essay.pdf`, `<video controls`,
		}
		require.Eventually(t, func() bool {
			_, body = get(dm.PublicPortfolio)
			for _, s := range shows {
				if !strings.Contains(body, s) {
					return false
				}
			}
			return true
		}, time.Minute, 100*time.Millisecond, "a stranger sees the seeded work and badge; last page:\n%s", body)
		require.NotContains(t, body, "On the way", "a stranger sees no progress towards unearned badges")
		m := regexp.MustCompile(`<img class="sc-doc-page" src="([^"]+)"`).FindStringSubmatch(body)
		require.NotNil(t, m, "the essay's card shows its first page")
		resp, err := http.Get(dm.App.URL() + html.UnescapeString(m[1]))
		require.NoError(t, err)
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "image/jpeg", resp.Header.Get("Content-Type"))
		_, err = jpeg.DecodeConfig(bytes.NewReader(page))
		require.NoError(t, err)

		// The parent withdraws; a restart on the same data does not re-consent.
		ctx := context.Background()
		noah, err := dm.App.Store.UserBySparkID(ctx, "spark-stu-noah")
		require.NoError(t, err)
		grace, err := dm.App.Store.UserBySparkID(ctx, "spark-par-grace")
		require.NoError(t, err)
		_, err = dm.App.Store.SetParentConsent(ctx, grace.ID, noah.ID, false, nil)
		require.NoError(t, err)
		dm.Close()
		dm = start()
		t.Cleanup(dm.Close)
		code, body = get(dm.PublicPortfolio)
		require.Equal(t, http.StatusNotFound, code)
		require.Contains(t, body, "This portfolio is private")
	})
}
