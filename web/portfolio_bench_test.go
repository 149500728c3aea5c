package web

import (
	"context"
	"fmt"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store/storetest"
)

// BenchmarkPortfolioPage renders the first page of a public portfolio with
// 500 evidence items (250 finished tasks, two blocks each: text plus an image,
// link, video or document) through the real handler, on each store, and
// reports renders per second: "cached" as repeated views are served (the
// portfolio unchanged since it was rendered); "changed" as the first view
// after a change is, the page rendered again with the cards kept from
// before (all 50 here: a changed piece of work would render its own card
// again, 1/50 of the template work of "uncached"); "uncached" with the cache
// off, as the very first view of a portfolio is.
func BenchmarkPortfolioPage(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			e := setupPortfolio(b, openStore(b, d))
			e.setVisibility(optio.VisibilityPublic)
			ctx := context.Background()
			img := e.file("cover.png", testPNG(b, 32, 32))
			require.NoError(b, e.db.CreateFile(ctx, img))
			vid := e.file("clip.mp4", testMP4)
			require.NoError(b, e.db.CreateFile(ctx, vid))
			pdf := e.file("essay.pdf", testPDF)
			require.NoError(b, e.db.CreateFile(ctx, pdf))
			second := []func(i int) optio.BlockInput{
				func(int) optio.BlockInput { return fileRef(optio.BlockImage, img) },
				func(i int) optio.BlockInput {
					return optio.BlockInput{BlockType: optio.BlockLink, Content: optio.BlockContent{URL: fmt.Sprintf("https://example.org/%d", i)}}
				},
				func(int) optio.BlockInput { return fileRef(optio.BlockVideo, vid) },
				func(int) optio.BlockInput { return fileRef(optio.BlockDocument, pdf) },
			}
			n := 0
			for c := range 5 {
				q := e.sparkQuest(fmt.Sprintf("c-%d", c), fmt.Sprintf("Course %d", c), fmt.Sprintf("OnFire course %d", c), 50)
				for _, task := range q.Tasks {
					e.clock.Advance(1e9)
					e.complete(task.ID, "spark",
						optio.BlockInput{BlockType: optio.BlockText, Content: optio.BlockContent{Text: fmt.Sprintf("Essay %d with <em>markup</em> & more.", n)}},
						second[n%len(second)](n))
					n++
				}
			}
			require.Equal(b, 250, n)
			path := "/portfolio/" + e.student.PortfolioSlug
			res := e.do("GET", path, nil, nil)
			require.Equal(b, 200, res.Code)
			require.Equal(b, portfolioPerPage, countOf(res.Body.String(), `<article class="sc-card" id="work-`))

			cache := e.srv.portfolioCache
			render := func(b *testing.B) {
				w := httptest.NewRecorder()
				e.srv.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
				if w.Code != 200 {
					b.Errorf("status %d", w.Code)
				}
			}
			// One viewer at a time (the latency of a render), and 16 at
			// once (what a server sustains: renders overlap their waits
			// for the database).
			for _, mode := range []string{"cached", "changed", "uncached", "cached-16", "changed-16", "uncached-16"} {
				b.Run(mode, func(b *testing.B) {
					e.srv.portfolioCache = cache
					if strings.HasPrefix(mode, "uncached") {
						e.srv.portfolioCache = nil
					}
					view := render
					if strings.HasPrefix(mode, "changed") {
						view = func(b *testing.B) {
							cache.dropRenderings()
							render(b)
						}
					}
					b.ReportAllocs()
					if strings.HasSuffix(mode, "-16") {
						b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
						b.RunParallel(func(pb *testing.PB) {
							for pb.Next() {
								view(b)
							}
						})
					} else {
						for b.Loop() {
							view(b)
						}
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "renders/s")
				})
			}
		})
	}
}

// fileRef is a block that points at an already stored file.
func fileRef(t optio.BlockType, f *optio.File) optio.BlockInput {
	return optio.BlockInput{BlockType: t, Content: optio.BlockContent{FileID: f.ID, Filename: f.Filename, ContentType: f.ContentType, Size: f.Size}}
}

// dropRenderings forgets the kept renderings of whole portfolios and keeps
// the cards, as a change to a portfolio makes its renderings stale.
func (c *portfolioCache) dropRenderings() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for el := c.order.Front(); el != nil; {
		next := el.Next()
		if e := el.Value.(*portfolioEntry); isRendering(e.key) {
			c.order.Remove(el)
			delete(c.items, e.key)
			c.size -= e.r.size()
		}
		el = next
	}
}

func isRendering(k any) bool { _, ok := k.(portfolioKey); return ok }
