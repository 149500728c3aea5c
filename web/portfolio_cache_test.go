package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// cacheHits is how many portfolio renderings srv served from its cache.
func cacheHits(srv *Server) float64 {
	return testutil.ToFloat64(srv.Metrics.PortfolioCache.WithLabelValues("hit"))
}

// twice asks srv for path as the viewer with cookie c two times, requires
// 200 and the same body both times, and returns it. The second answer comes
// from the cache when nothing changed in between.
func twice(t *testing.T, srv *Server, c *http.Cookie, path string) string {
	t.Helper()
	var bodies [2]string
	for i := range bodies {
		r, _ := http.NewRequest("GET", path, nil)
		if c != nil {
			r.AddCookie(c)
		}
		w := newRecorder()
		srv.ServeHTTP(w, r)
		require.Equal(t, 200, w.Code, "%s (request %d)", path, i+1)
		bodies[i] = w.Body.String()
	}
	require.Equal(t, bodies[0], bodies[1], path)
	return bodies[0]
}

// TestPortfolioCacheShowsEveryChange renders the page, the embed and the JSON
// for every kind of viewer (each twice, so the second comes from the cache),
// then changes one thing a portfolio shows at a time and checks, through the
// real handler, that every viewer sees the change on the very next request,
// and that no viewer ever gets what another access level sees.
func TestPortfolioCacheShowsEveryChange(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := setupPortfolio(t, db)
		e.srv.BadgeProgress = optio.BadgeProgressWithLinks(db, "https://onfire.example/courses/{course_id}")
		v := e.everyEvidence()
		birds := storetest.MustCreateQuest(t, db, "Bird count", 30, optio.PillarSTEM)
		e.setVisibility(optio.VisibilityPublic)
		vs := e.viewers()
		slug := e.student.PortfolioSlug
		page, embed, api := "/portfolio/"+slug, "/portfolio/"+slug+"/embed", "/api/public/portfolio/"+slug
		diary := htmlAttr(fileURLOf(blockOf(t, v, "diary.png"))) // private from the start
		cover := htmlAttr(fileURLOf(blockOf(t, v, "cover.png"))) // made private below
		family := map[string]*http.Cookie{"owner": vs.owner, "parent": vs.parent, "admin": vs.admin}
		others := map[string]*http.Cookie{"anonymous": nil, "observer": vs.observer, "other student": vs.otherStudent}

		// everyone renders every form twice and checks what their access
		// allows of the private blocks; check runs on every body.
		everyone := func(check func(who, path, body string)) {
			t.Helper()
			for _, group := range []map[string]*http.Cookie{family, others} {
				for who, c := range group {
					for _, path := range []string{page, embed, api} {
						body := twice(t, e.srv, c, path)
						_, fam := family[who]
						require.Equal(t, fam, strings.Contains(body, diary), "%s %s: private block shown only to family", who, path)
						check(who, path, body)
					}
				}
			}
		}
		hits := cacheHits(e.srv)
		everyone(func(who, path, body string) {
			require.Contains(t, body, "Community garden", "%s %s", who, path)
			require.Contains(t, body, cover, "%s %s", who, path)
			require.NotContains(t, body, "Bird count", "%s %s", who, path)
		})
		require.Greater(t, cacheHits(e.srv), hits, "second views come from the cache")
		entries, _, _ := e.srv.portfolioCache.stats()
		require.Equal(t, 9, entries, "one rendering per form and access level (family, observer, public)")

		// The layout names the viewer; the kept part never does.
		for who, want := range map[*http.Cookie]string{vs.owner: "Sign out Maya", vs.parent: "Sign out Paula", vs.admin: "Sign out Ada"} {
			body := twice(t, e.srv, who, page)
			require.Contains(t, body, want)
			for _, other := range []string{"Sign out Maya", "Sign out Paula", "Sign out Ada"} {
				if other != want {
					require.NotContains(t, body, other)
				}
			}
		}
		require.Contains(t, twice(t, e.srv, nil, page), `<a href="/login">Sign in</a>`)

		// New evidence, with its XP (the student's own version).
		e.complete(birds.Tasks[0].ID, "optio", optio.BlockInput{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "Forty sparrows"}})
		everyone(func(who, path, body string) {
			require.Contains(t, body, "Forty sparrows", "%s %s", who, path)
			if path == api {
				require.Contains(t, body, `"total_items":3`, "%s", who)
			} else {
				require.Contains(t, body, "200 XP", "%s %s", who, path)
			}
		})

		// A block made private: gone for strangers and observers at once,
		// still there (marked private) for the family.
		e.exec(`UPDATE evidence_document_blocks SET is_private = TRUE WHERE id = $1`, blockOf(t, v, "cover.png").ID)
		everyone(func(who, path, body string) {
			_, fam := family[who]
			require.Equal(t, fam, strings.Contains(body, cover), "%s %s", who, path)
		})

		// Shared data: a quest renamed, a badge defined.
		_, err := db.UpdateQuest(ctx, birds.ID, optio.QuestInput{Title: "Winter bird count"})
		require.NoError(t, err)
		name, courses := "Storyteller", []string{"c-101"}
		_, err = db.CreateBadge(ctx, optio.BadgeInput{Name: &name, RequiredCourses: &courses})
		require.NoError(t, err)
		everyone(func(who, path, body string) {
			require.Contains(t, body, "Winter bird count", "%s %s", who, path)
			// Progress towards a badge not yet earned: the family only.
			_, fam := family[who]
			require.Equal(t, fam, strings.Contains(body, "Storyteller"), "%s %s", who, path)
		})

		// The profile: a new name, then private (strangers get 404 at once;
		// the family and observers still see it).
		e.exec(`UPDATE users SET given_name = 'Mia' WHERE id = $1`, e.student.ID)
		everyone(func(who, path, body string) { require.Contains(t, body, "Mia Ortiz", "%s %s", who, path) })
		e.setVisibility(optio.VisibilityPrivate)
		for _, path := range []string{page, embed, api} {
			for _, c := range []*http.Cookie{nil, vs.otherStudent} {
				require.Equal(t, 404, e.do("GET", path, c, nil).Code, path)
			}
			for _, c := range []*http.Cookie{vs.owner, vs.parent, vs.observer, vs.admin} {
				twice(t, e.srv, c, path)
			}
		}
		require.NotContains(t, twice(t, e.srv, vs.owner, page), `<meta property="og:image"`, "a private portfolio offers no preview image")
	})
}

// TestPortfolioCacheBirthday: nothing is written when a minor whose parent
// has not consented turns 18, yet strangers may now see the portfolio and
// the owner's page gains its preview image and loses noindex.
func TestPortfolioCacheBirthday(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setupPortfolio(t, db)
		e.setAge(17)
		e.everyEvidence()
		e.setVisibility(optio.VisibilityPublic)
		owner := e.sessionCookie(e.student)
		page := "/portfolio/" + e.student.PortfolioSlug
		body := twice(t, e.srv, owner, page)
		require.Contains(t, body, `<meta name="robots" content="noindex">`)
		require.NotContains(t, body, `<meta property="og:image"`)
		require.Equal(t, 404, e.do("GET", page, nil, nil).Code)

		e.clock.Advance(366 * 24 * time.Hour)
		owner = e.sessionCookie(e.student) // the first session has expired
		body = twice(t, e.srv, owner, page)
		require.Contains(t, body, "Sign out Maya")
		require.NotContains(t, body, `noindex`)
		require.Contains(t, body, `<meta property="og:image"`)
		require.Equal(t, 200, e.do("GET", page, nil, nil).Code)
	})
}

// TestPortfolioCacheSkipsIncompletePages: a page shown without its badges
// because they could not be read is not kept, so the badges are back as
// soon as they can be read, though nothing was written.
func TestPortfolioCacheSkipsIncompletePages(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setupPortfolio(t, db)
		e.everyEvidence()
		e.setVisibility(optio.VisibilityPublic)
		broken := true
		e.srv.BadgeProgress = func(ctx context.Context, userID string) ([]optio.BadgeProgress, error) {
			if broken {
				return nil, errors.New("badge store down")
			}
			return []optio.BadgeProgress{{Badge: optio.Badge{Name: "Storyteller"}, Earned: true, EarnedAt: &testNow, Percent: 100}}, nil
		}
		page := "/portfolio/" + e.student.PortfolioSlug
		require.NotContains(t, twice(t, e.srv, nil, page), "Storyteller")
		broken = false
		require.Contains(t, twice(t, e.srv, nil, page), "Storyteller")
	})
}

// TestPortfolioCacheAcrossProcesses: two Optio servers with their own caches
// and their own connection pools share one database, as several `optio
// serve` processes share PostgreSQL. A change made through one is seen by
// the other on its next request, with no message between them.
func TestPortfolioCacheAcrossProcesses(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		dbURL := storetest.URL(t, d)
		open := func() *store.DB {
			db, err := store.Open(ctx, dbURL, nil)
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			require.NoError(t, db.Migrate(ctx))
			return db
		}
		e := setupPortfolio(t, open())
		e.everyEvidence()
		e.setVisibility(optio.VisibilityPublic)
		dbB := open()
		dbB.Clock = e.clock
		b := mustNew(t, Deps{Config: e.srv.Config, Store: dbB, Files: e.files, Logger: slog.New(slog.DiscardHandler), Clock: e.clock})
		owner := e.sessionCookie(e.student)
		page, api := "/portfolio/"+e.student.PortfolioSlug, "/api/public/portfolio/"+e.student.PortfolioSlug
		for _, srv := range []*Server{e.srv, b} {
			require.Contains(t, twice(t, srv, nil, page), "Community garden")
			require.Contains(t, twice(t, srv, owner, api), `"total_items":2`)
		}

		// Evidence added through B's store shows on A.
		q := storetest.MustCreateQuest(t, dbB, "Bird count", 30, optio.PillarSTEM)
		_, err := dbB.CompleteTask(ctx, optio.CompletionInput{UserID: e.student.ID, TaskID: q.Tasks[0].ID, Source: "optio",
			Blocks: []optio.BlockInput{{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "Forty sparrows"}}}})
		require.NoError(t, err)
		require.Contains(t, twice(t, e.srv, nil, page), "Forty sparrows")
		require.Contains(t, twice(t, e.srv, owner, api), `"total_items":3`)

		// The owner makes the portfolio private through B's settings form:
		// A answers strangers 404 on the next request.
		r := httptestForm("/dashboard/portfolio-settings", url.Values{"portfolio_visibility": {"private"}})
		r.AddCookie(owner)
		w := newRecorder()
		b.ServeHTTP(w, r)
		require.Equal(t, http.StatusSeeOther, w.Code)
		require.Equal(t, "/dashboard?flash="+url.QueryEscape("Saved. Private: only you, your family and observers see it.")+"#ps-h", w.Header().Get("Location"))
		require.Equal(t, 404, e.do("GET", page, nil, nil).Code)
		require.Equal(t, 404, e.do("GET", api, nil, nil).Code)
		var pv portfolioView
		require.NoError(t, json.Unmarshal([]byte(twice(t, e.srv, owner, api)), &pv))
		require.Equal(t, optio.VisibilityPrivate, pv.Student.Visibility)
	})
}

// TestPortfolioCacheBounds checks the cache on its own: an entry is used only
// at the version it was rendered at, a late rendering at an older version
// does not replace a newer one, and memory stays within the budget, least
// recently used dropped first.
func TestPortfolioCacheBounds(t *testing.T) {
	t.Parallel()
	require.Nil(t, newPortfolioCache(0), "0 turns the cache off")
	var off *portfolioCache
	off.put(portfolioKey{studentID: "s"}, &portfolioRender{body: "x"})
	_, ok := off.get(portfolioKey{studentID: "s"}, optio.PortfolioVersion{})
	require.False(t, ok)

	c := newPortfolioCache(64 << 10)
	k := portfolioKey{studentID: "s1", form: "page", access: accessPublic, public: true, page: 1}
	v1, v2 := optio.PortfolioVersion{Student: 1, Global: 4}, optio.PortfolioVersion{Student: 2, Global: 4}
	c.put(k, &portfolioRender{version: v2, body: "new"})
	c.put(k, &portfolioRender{version: v1, body: "old"})
	got, ok := c.get(k, v2)
	require.True(t, ok)
	require.Equal(t, "new", got.body)
	_, ok = c.get(k, v1)
	require.False(t, ok, "only the version it was rendered at")
	_, ok = c.get(k, optio.PortfolioVersion{Student: 2, Global: 5})
	require.False(t, ok, "a change to shared data")
	for _, other := range []portfolioKey{
		{studentID: "s1", form: "page", access: accessFamily, public: true, page: 1},
		{studentID: "s1", form: "page", access: accessObserver, public: true, page: 1},
		{studentID: "s1", form: "json", access: accessPublic, public: true, page: 1},
		{studentID: "s1", form: "page", access: accessPublic, public: false, page: 1},
		{studentID: "s1", form: "page", access: accessPublic, public: true, page: 2},
		{studentID: "s2", form: "page", access: accessPublic, public: true, page: 1},
	} {
		_, ok := c.get(other, v2)
		require.False(t, ok, "%+v", other)
	}

	big := strings.Repeat("x", 10<<10)
	for i := range 20 {
		c.put(portfolioKey{studentID: string(rune('a' + i)), form: "page"}, &portfolioRender{version: v1, body: big})
		_, _, bytes := c.stats()
		require.LessOrEqual(t, bytes, int64(64<<10))
	}
	entries, _, _ := c.stats()
	require.Equal(t, 6, entries, "six 10 kB pages fit in 64 kB")
	_, ok = c.get(portfolioKey{studentID: "t", form: "page"}, v1)
	require.True(t, ok, "the newest stay")
	_, ok = c.get(portfolioKey{studentID: "a", form: "page"}, v1)
	require.False(t, ok, "the oldest went first")
	c.put(portfolioKey{studentID: "huge"}, &portfolioRender{body: strings.Repeat("x", 20<<10)})
	_, ok = c.get(portfolioKey{studentID: "huge"}, optio.PortfolioVersion{})
	require.False(t, ok, "an entry over a quarter of the budget is not kept")
}
