package web

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"
	xdraw "golang.org/x/image/draw"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/internal/browsertest"
	"github.com/optio-edu/optio/sandbox"
	"github.com/optio-edu/optio/store/storetest"
)

// showcaseFixture gives the student a portfolio worth looking at: two Spark
// courses with pictures, a video, a PDF and slides, an Optio quest, an
// earned badge and one in progress, and an observer's encouragement.
func showcaseFixture(t *testing.T, e *pfEnv) {
	t.Helper()
	ctx := context.Background()
	v := e.everyEvidence()
	synced := testNow.Add(-24 * time.Hour)
	q := e.sparkQuest("c-202", "Quest for c-202", "OnFire Marine Biology", 3)
	e.complete(q.Tasks[0].ID, "spark",
		optio.BlockInput{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "Tide pool survey: 14 species in one square metre.", Source: "spark", SyncedAt: &synced}},
		fileBlock(optio.BlockImage, e.file("tide-pool.png", picturePNG(t, 900, 600, color.RGBA{14, 116, 144, 255}, color.RGBA{253, 224, 71, 255})), false, &synced))
	e.complete(q.Tasks[1].ID, "spark",
		fileBlock(optio.BlockImage, e.file("coral.png", picturePNG(t, 800, 800, color.RGBA{190, 18, 60, 255}, color.RGBA{254, 215, 170, 255})), false, &synced),
		fileBlock(optio.BlockDocument, e.file("reef-talk.pptx", testPPTX(t)), false, &synced))
	essay, ok := sandbox.Sample("essay-pdf")
	require.True(t, ok)
	pdf := e.file(essay.Name, essay.Data)
	e.complete(q.Tasks[2].ID, "spark", fileBlock(optio.BlockDocument, pdf, false, &synced))
	// Drawn now, so the page's wait for its images does not depend on how
	// fast a loaded machine renders the first PDF; the page serves it as
	// kept (filestore's tests cover the drawing itself).
	_, err := e.files.Thumbnail(ctx, pdf.BlobKey, pdf.ContentType)
	require.NoError(t, err)

	name, desc, courses := "Storyteller", "Finished the creative writing course with a published story.", []string{"c-101"}
	earned, err := e.db.CreateBadge(ctx, optio.BadgeInput{Name: &name, Description: &desc, RequiredCourses: &courses})
	require.NoError(t, err)
	name2, courses2, xp := "Ocean Explorer", []string{"c-202", "c-303"}, 500
	open, err := e.db.CreateBadge(ctx, optio.BadgeInput{Name: &name2, RequiredCourses: &courses2, XPRequired: &xp})
	require.NoError(t, err)
	e.srv.BadgeProgress = func(context.Context, string) ([]optio.BadgeProgress, error) {
		return []optio.BadgeProgress{
			{Badge: *earned, Earned: true, EarnedAt: &testNow, Percent: 100},
			{Badge: *open, Percent: 45, Text: "Complete 1 more Spark course to earn this badge",
				CoursesMissing: []optio.CourseRef{{SparkCourseID: "c-303", Title: "Deep Sea Science", CatalogURL: "https://onfire.example/courses/c-303"}}},
		}, nil
	}
	gran := storetest.MustCreateUser(t, e.db, optio.RoleObserver, "Gran", "Ortiz")
	e.linkObserver(gran, false)
	_, err = e.db.AddComment(ctx, v.Completion.ID, gran.ID, "What a story, Maya! I read it twice.")
	require.NoError(t, err)
}

// picturePNG is a simple landscape: sky in top, ground in bottom, a sun.
func picturePNG(t *testing.T, w, h int, top, bottom color.RGBA) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		f := float64(y) / float64(h)
		c := color.RGBA{uint8(float64(top.R)*(1-f) + float64(bottom.R)*f), uint8(float64(top.G)*(1-f) + float64(bottom.G)*f),
			uint8(float64(top.B)*(1-f) + float64(bottom.B)*f), 255}
		draw.Draw(img, image.Rect(0, y, w, y+1), image.NewUniform(c), image.Point{}, draw.Src)
	}
	for y := range h {
		for x := range w {
			if dx, dy := x-w*3/4, y-h/4; dx*dx+dy*dy < (h/8)*(h/8) {
				img.Set(x, y, color.RGBA{255, 255, 255, 255})
			}
		}
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

// testPPTX is the sandbox's sample PowerPoint deck.
func testPPTX(t *testing.T) []byte {
	f, ok := sandbox.Sample("slides-pptx")
	require.True(t, ok)
	return f.Data
}

// TestShowcaseInBrowser opens the public showcase and the owner's view in a
// real Chromium at a desktop and a phone size: nothing overflows sideways,
// earned badges come before the work, the lightbox opens on a picture and
// closes on Esc with focus back on the picture, axe-core finds no serious or
// critical violation, and strangers never see progress towards badges.
// With OPTIO_SCREENSHOTS=dir it writes showcase.png and showcase-owner.png
// (desktop) there, each under 300 KB.
func TestShowcaseInBrowser(t *testing.T) {
	t.Parallel()
	e := setupPortfolio(t, openSQLiteForBrowser(t))
	showcaseFixture(t, e)
	e.setVisibility(optio.VisibilityPublic)
	ts := httptest.NewServer(e.srv)
	t.Cleanup(ts.Close)
	e.srv.Config.BaseURL = ts.URL
	owner := e.sessionCookie(e.student)
	page := ts.URL + "/portfolio/" + e.student.PortfolioSlug
	shots := os.Getenv("OPTIO_SCREENSHOTS")

	for _, size := range []struct {
		name string
		w, h int
	}{{"desktop", 1280, 900}, {"phone", 390, 844}} {
		t.Run(size.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(browsertest.Start(t, chromedp.WindowSize(size.w, size.h)), 90*time.Second)
			t.Cleanup(cancel)
			require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(int64(size.w), int64(size.h))))

			// The public view.
			require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(`.sc-header h1`)))
			waitImages(t, ctx)
			require.Equal(t, "Maya Ortiz", run(t, ctx, chromedp.Text(`.sc-header h1`)))
			require.False(t, run(t, ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)), "no sideways scrolling")
			require.True(t, run(t, ctx, chromedp.Evaluate[bool](
				`!!(document.querySelector(".sc-badges").compareDocumentPosition(document.querySelector(".sc-work")) & Node.DOCUMENT_POSITION_FOLLOWING)`)),
				"earned badges come before the work")
			require.Equal(t, 1, run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll(".sc-badge img").length`)))
			text := run(t, ctx, chromedp.Evaluate[string](`document.body.innerText`))
			for _, never := range []string{"Ocean Explorer", "Deep Sea Science", "Still to complete", "I read it twice"} {
				require.NotContains(t, text, never, "strangers see neither progress nor encouragement")
			}
			require.Contains(t, text, "PowerPoint presentation")
			// The essay's card shows its first page; the PDF that cannot be
			// drawn (everyEvidence's essay.pdf) keeps a card with no trace of
			// a picture.
			require.Equal(t, 2, run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("img.sc-doc-page").length`)))
			require.True(t, run(t, ctx, chromedp.Evaluate[bool](`(() => {
				const [drawn, failed] = [...document.querySelectorAll("img.sc-doc-page")].sort((a, b) => b.naturalWidth - a.naturalWidth);
				return drawn.naturalWidth > 0 && drawn.getBoundingClientRect().height > 100 &&
					failed.naturalWidth === 0 && failed.getBoundingClientRect().height === 0 &&
					failed.closest(".sc-doc").querySelector(".sc-doc-type").textContent === "PDF document";
			})()`)), "a drawn first page, and a failed one that takes no space")
			// The chart's bars take their colours from the pillar tokens.
			require.True(t, run(t, ctx, chromedp.Evaluate[bool](`["stem", "wellness", "communication", "civics", "art"].every(p => {
				const n = parseInt(getComputedStyle(document.documentElement).getPropertyValue("--pillar-" + p).trim().slice(1), 16);
				return getComputedStyle(document.querySelector(".xp-chart .xp-bar-" + p)).fill === "rgb(" + (n >> 16) + ", " + ((n >> 8) & 255) + ", " + (n & 255) + ")";
			})`)), "chart bars are coloured by --pillar-<key>")
			requireNoSeriousAxe(t, ctx, "public")
			if shots != "" && size.name == "desktop" {
				writeShot(t, ctx, filepath.Join(shots, "showcase.png"))
			}

			// The lightbox: opens on the first picture, moves with the arrow
			// keys, closes on Esc and gives focus back.
			require.NoError(t, chromedp.Do(ctx, chromedp.ScrollIntoView(`a.sc-thumb`), chromedp.Click(`a.sc-thumb`, chromedp.NodeVisible),
				chromedp.WaitVisible(`#sc-lightbox .sc-lightbox-stage img`)))
			require.True(t, run(t, ctx, chromedp.Evaluate[bool](`document.getElementById("sc-lightbox").open`)))
			require.True(t, run(t, ctx, chromedp.Evaluate[bool](`document.getElementById("sc-lightbox").contains(document.activeElement)`)), "focus moves into the lightbox")
			first := run(t, ctx, chromedp.Text(`#sc-lightbox-caption`))
			require.Contains(t, first, "(1 of ")
			require.NoError(t, chromedp.Do(ctx, chromedp.KeyEvent(kb.ArrowRight)))
			require.Contains(t, run(t, ctx, chromedp.Text(`#sc-lightbox-caption`)), "(2 of ")
			requireNoSeriousAxe(t, ctx, "lightbox open")
			require.NoError(t, chromedp.Do(ctx, chromedp.KeyEvent(kb.Escape)))
			_, err := chromedp.Run(ctx, chromedp.Poll[bool](`!document.getElementById("sc-lightbox").open`, chromedp.WithPollingTimeout(5*time.Second)))
			require.NoError(t, err, "Esc closes the lightbox")
			require.True(t, run(t, ctx, chromedp.Evaluate[bool](`document.activeElement === document.querySelector("a.sc-thumb")`)), "focus returns to the picture")

			// The owner's view: progress and encouragement too.
			_, err = chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: owner.Name, Value: owner.Value, URL: ts.URL})
			require.NoError(t, err)
			require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(`.sc-progress`)))
			waitImages(t, ctx)
			text = run(t, ctx, chromedp.Evaluate[string](`document.body.innerText`))
			for _, want := range []string{"Ocean Explorer", "Still to complete: Deep Sea Science", "What a story, Maya! I read it twice.", "— Gran Ortiz"} {
				require.Contains(t, text, want)
			}
			require.False(t, run(t, ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)), "no sideways scrolling (owner)")
			requireNoSeriousAxe(t, ctx, "owner")
			if shots != "" && size.name == "desktop" {
				writeShot(t, ctx, filepath.Join(shots, "showcase-owner.png"))
			}
		})
	}
}

// waitImages waits until every image on the page has loaded (or, for a
// PDF's first page, failed).
func waitImages(t *testing.T, ctx context.Context) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](
		`document.querySelectorAll("img[loading=lazy]").forEach(i => i.loading = "eager")`)))
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`[...document.images].every(i => i.complete && (i.naturalWidth > 0 || i.classList.contains("sc-doc-page")))`,
		chromedp.WithPollingTimeout(30*time.Second)))
	require.NoError(t, err, "every image loads (a PDF's first page may fail: its card stays)")
}

func requireNoSeriousAxe(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	vs, err := browsertest.RunAxe(ctx)
	require.NoError(t, err)
	var msgs []string
	for _, v := range vs {
		if v.Severe() {
			msgs = append(msgs, v.String())
		}
	}
	require.Empty(t, msgs, "%s: axe-core serious or critical violations", what)
}

// writeShot saves a full-page screenshot as a PNG under 300 KB, reduced to
// 256 colours when the full-colour one is larger.
func writeShot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`)))
	raw := run(t, ctx, chromedp.FullScreenshot(100))
	out := raw
	if len(raw) >= 300_000 {
		img, err := png.Decode(bytes.NewReader(raw))
		require.NoError(t, err)
		out = palettedPNG(t, img)
	}
	require.Less(t, len(out), 300_000, "%s is under 300 KB", path)
	require.NoError(t, os.WriteFile(path, out, 0o644))
	t.Logf("screenshot %s: %d bytes", path, len(out))
}

// palettedPNG encodes img with a 256-colour palette made of its own most
// common colours (screenshots are mostly flat colour), dithered.
func palettedPNG(t *testing.T, img image.Image) []byte {
	counts := map[color.RGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			counts[color.RGBA{uint8(r>>8) &^ 3, uint8(g>>8) &^ 3, uint8(bl>>8) &^ 3, 255}]++
		}
	}
	type cc struct {
		c color.RGBA
		n int
	}
	var all []cc
	for c, n := range counts {
		all = append(all, cc{c, n})
	}
	// The most common colours first; ties by value, so the output is stable.
	sortCC := func(a, b cc) bool {
		if a.n != b.n {
			return a.n > b.n
		}
		return fmt.Sprint(a.c) < fmt.Sprint(b.c)
	}
	for i := 1; i < len(all); i++ {
		for j := i; j > 0 && sortCC(all[j], all[j-1]); j-- {
			all[j], all[j-1] = all[j-1], all[j]
		}
	}
	pal := color.Palette{}
	for _, c := range all {
		if len(pal) == 256 {
			break
		}
		pal = append(pal, c.c)
	}
	dst := image.NewPaletted(b, pal)
	xdraw.FloydSteinberg.Draw(dst, b, img, b.Min)
	var buf bytes.Buffer
	require.NoError(t, (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, dst))
	return buf.Bytes()
}

// TestEmbedFramedBySpark serves a page from an origin in
// SPARK_ALLOWED_ORIGINS that frames the embed with a fresh Spark embed
// token: the showcase renders inside the frame (it reports its height to
// the page around it). The same token replayed, an expired token, and a
// page from an origin not in the list are refused.
func TestEmbedFramedBySpark(t *testing.T) {
	t.Parallel()
	e := setupPortfolio(t, openSQLiteForBrowser(t))
	e.withSparkSSO(t)
	e.everyEvidence()
	e.setAge(14)
	e.setVisibility(optio.VisibilitySchool)
	optioSrv := httptest.NewServer(e.srv)
	t.Cleanup(optioSrv.Close)

	// "Spark": a page that frames whatever ?src= names and records the
	// frame's messages.
	sparkPage := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><title>Spark</title><body><h1>Spark course page</h1>
<script>window.msgs = []; addEventListener("message", e => window.msgs.push(e.data));</script>
<iframe title="Portfolio" width="800" height="600" onload="window.frameLoaded = true" src="%s"></iframe></body></html>`, strings.ReplaceAll(r.URL.Query().Get("src"), `"`, "%22"))
	})
	spark := httptest.NewServer(sparkPage)
	t.Cleanup(spark.Close)
	elsewhere := httptest.NewServer(sparkPage)
	t.Cleanup(elsewhere.Close)
	e.srv.Config.SparkAllowedOrigins = []string{spark.URL}

	ctx, cancel := context.WithTimeout(browsertest.Start(t), 60*time.Second)
	t.Cleanup(cancel)
	embed := optioSrv.URL + "/portfolio/" + e.student.PortfolioSlug + "/embed?token="
	var mu sync.Mutex
	status := map[string]int64{} // the embed's HTTP status, by URL
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		if r, ok := ev.(*network.EventResponseReceived); ok && strings.Contains(r.Response.URL, "/embed?token=") {
			mu.Lock()
			status[r.Response.URL] = r.Response.Status
			mu.Unlock()
		}
	}))
	// framed opens the Spark page at origin framing src, waits until the
	// frame has loaded (the page's onload), and returns what the frame is:
	// the HTTP status Optio answered, whether the browser refused to show it
	// (an error page instead), and the messages the embed sent.
	type frameResult struct {
		status  int64
		refused bool
		msgs    []any
	}
	visits := 0
	framed := func(origin, src string) frameResult {
		t.Helper()
		visits++
		visit := fmt.Sprint(visits)
		// Not chromedp.Navigate: it waits for every frame to load, and a
		// frame the browser refuses never does.
		_, err := chromedp.Call(ctx, page.Navigate, page.NavigateParams{URL: origin + "/course?visit=" + visit + "&src=" + url.QueryEscape(src)})
		require.NoError(t, err)
		// The new document may not exist yet: retry until it does and its
		// frame has loaded.
		deadline := time.Now().Add(15 * time.Second)
		for {
			loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`location.search.startsWith("?visit=`+visit+`&") && window.frameLoaded === true`))
			if err == nil && loaded {
				break
			}
			require.True(t, time.Now().Before(deadline), "the frame loads (or fails to): %v", err)
			time.Sleep(50 * time.Millisecond)
		}
		tree, err := chromedp.Call(ctx, page.GetFrameTree, cdp.Empty{})
		require.NoError(t, err)
		require.Len(t, tree.FrameTree.ChildFrames, 1)
		res := frameResult{refused: tree.FrameTree.ChildFrames[0].Frame.UnreachableURL != ""}
		mu.Lock()
		res.status = status[src]
		mu.Unlock()
		if !res.refused && res.status == http.StatusOK {
			res.msgs, err = chromedp.Run(ctx, chromedp.Poll[[]any](`window.msgs.length ? window.msgs : null`, chromedp.WithPollingTimeout(10*time.Second)))
			require.NoError(t, err, "a rendered embed reports its height")
		}
		return res
	}
	tok := e.embedToken(t, embedSecret, e.student.PortfolioSlug, e.clock.Now())
	ok := framed(spark.URL, embed+url.QueryEscape(tok))
	require.Equal(t, int64(http.StatusOK), ok.status)
	require.False(t, ok.refused, "the browser shows the embed inside Spark's page")
	require.NotEmpty(t, ok.msgs)
	m, isMap := ok.msgs[0].(map[string]any)
	require.True(t, isMap)
	require.Equal(t, "optio:portfolio-height", m["type"])
	require.Greater(t, m["height"], 200.0)

	replayed := framed(spark.URL, embed+url.QueryEscape(tok))
	require.Equal(t, int64(http.StatusUnauthorized), replayed.status, "a replayed token is refused")
	require.Empty(t, replayed.msgs)
	old := e.embedToken(t, embedSecret, e.student.PortfolioSlug, e.clock.Now().Add(-10*time.Minute))
	expired := framed(spark.URL, embed+url.QueryEscape(old))
	require.Equal(t, int64(http.StatusUnauthorized), expired.status, "an expired token is refused")
	require.Empty(t, expired.msgs)
	fresh := e.embedToken(t, embedSecret, e.student.PortfolioSlug, e.clock.Now())
	blocked := framed(elsewhere.URL, embed+url.QueryEscape(fresh))
	require.Equal(t, int64(http.StatusOK), blocked.status, "Optio answers…")
	require.True(t, blocked.refused, "…but frame-ancestors keeps a page from an origin not in SPARK_ALLOWED_ORIGINS from showing it")
	require.Empty(t, blocked.msgs)
}
