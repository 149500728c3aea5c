package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// viewers are everyone whose access the privacy rules decide.
type viewers struct {
	owner, otherStudent, parent, otherParent, observer, revokedObserver, admin *http.Cookie
}

func (e *pfEnv) viewers() viewers {
	parent := storetest.MustCreateUser(e.tb, e.db, optio.RoleParent, "Paula", "Ortiz")
	e.linkParent(parent)
	observer := storetest.MustCreateUser(e.tb, e.db, optio.RoleObserver, "Gran", "Ortiz")
	e.linkObserver(observer, false)
	revoked := storetest.MustCreateUser(e.tb, e.db, optio.RoleObserver, "Ex", "Neighbour")
	e.linkObserver(revoked, true)
	return viewers{
		owner:           e.sessionCookie(e.student),
		otherStudent:    e.sessionCookie(storetest.MustCreateUser(e.tb, e.db, optio.RoleStudent, "Zed", "Quinn")),
		parent:          e.sessionCookie(parent),
		otherParent:     e.sessionCookie(storetest.MustCreateUser(e.tb, e.db, optio.RoleParent, "Other", "Parent")),
		observer:        e.sessionCookie(observer),
		revokedObserver: e.sessionCookie(revoked),
		admin:           e.sessionCookie(storetest.MustCreateUser(e.tb, e.db, optio.RoleAdmin, "Ada", "Admin")),
	}
}

// TestPortfolioPrivacyPerRole checks, for each visibility and consent state,
// the exact status every kind of viewer gets from the page, the embed and the
// JSON.
func TestPortfolioPrivacyPerRole(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setupPortfolio(t, db)
		e.everyEvidence()
		v := e.viewers()
		who := []struct {
			name string
			c    *http.Cookie
			// family (owner, linked parent, observer, admin) always sees it.
			family bool
		}{
			{"owner", v.owner, true}, {"anonymous", nil, false}, {"other student", v.otherStudent, false},
			{"linked parent", v.parent, true}, {"other parent", v.otherParent, false}, {"observer", v.observer, true},
			{"revoked observer", v.revokedObserver, false}, {"admin", v.admin, true},
		}
		cases := []struct {
			name       string
			visibility optio.Visibility
			age        int
			consent    bool
			strangers  int
		}{
			{"public adult", optio.VisibilityPublic, 30, false, 200},
			{"unlisted adult", optio.VisibilityUnlisted, 30, false, 200},
			{"private adult", optio.VisibilityPrivate, 30, false, 404},
			{"public minor without consent", optio.VisibilityPublic, 14, false, 404},
			{"unlisted minor without consent", optio.VisibilityUnlisted, 14, false, 404},
			{"public minor with consent", optio.VisibilityPublic, 14, true, 200},
			{"private minor with consent", optio.VisibilityPrivate, 14, true, 404},
		}
		slug := e.student.PortfolioSlug
		for _, c := range cases {
			e.setVisibility(c.visibility)
			e.setAge(c.age)
			e.setConsent(c.consent)
			for _, w := range who {
				want := c.strangers
				if w.family {
					want = 200
				}
				for _, path := range []string{"/portfolio/" + slug, "/portfolio/" + slug + "/embed", "/api/public/portfolio/" + slug} {
					res := e.do("GET", path, w.c, nil)
					require.Equal(t, want, res.Code, "%s: %s GET %s", c.name, w.name, path)
					if want == 404 {
						require.NotContains(t, res.Body.String(), "Maya", "%s: a refused portfolio reveals nothing", c.name)
					}
				}
			}
		}

		// Unknown age counts as a minor.
		e.exec(`UPDATE users SET birth_date = NULL, parent_consent = FALSE, portfolio_visibility = 'public' WHERE id = $1`, e.student.ID)
		require.Equal(t, 404, e.do("GET", "/portfolio/"+slug, nil, nil).Code)
		require.Equal(t, 200, e.do("GET", "/portfolio/"+slug, v.parent, nil).Code)
		// A private portfolio and a missing one look the same.
		res := e.do("GET", "/api/public/portfolio/nobody-here", nil, nil)
		require.Equal(t, 404, res.Code)
		var a, b map[string]map[string]any
		require.NoError(t, json.Unmarshal(res.Body.Bytes(), &a))
		require.NoError(t, json.Unmarshal(e.do("GET", "/api/public/portfolio/"+slug, nil, nil).Body.Bytes(), &b))
		require.Equal(t, a, b)
		require.Equal(t, "portfolio_private", a["error"]["code"])
	})
}

// TestPortfolioPageShowsWork checks what a visitor sees: the student, XP,
// badges with progress, Spark work grouped under the Spark course's title
// with every evidence type and the Spark mark, Optio quests beside it,
// OpenGraph tags, and private blocks hidden from all but family.
func TestPortfolioPageShowsWork(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setupPortfolio(t, db)
		e.srv.BadgeProgress = func(ctx context.Context, userID string) ([]optio.BadgeProgress, error) {
			require.Equal(t, e.student.ID, userID)
			return []optio.BadgeProgress{
				{Badge: optio.Badge{ID: "b-story", Name: "Storyteller"}, Earned: true, EarnedAt: &testNow, Percent: 100, CredentialID: "award-story"},
				{Badge: optio.Badge{Name: "Maker <b>Pro</b>"}, Percent: 40, Text: "Complete 2 more Spark courses to earn this badge",
					CoursesMissing: []optio.CourseRef{{SparkCourseID: "c-9", Title: "Robotics", CatalogURL: "https://onfire.example/courses/c-9"}}},
			}, nil
		}
		v := e.everyEvidence()
		e.setVisibility(optio.VisibilityPublic)
		vs := e.viewers()
		slug := e.student.PortfolioSlug

		res := e.do("GET", "/portfolio/"+slug, nil, nil)
		require.Equal(t, 200, res.Code)
		page := res.Body.String()
		for _, want := range []string{
			"<h1>Maya Ortiz</h1>", "<main id=\"main\">", "role=\"banner\"", "role=\"contentinfo\"",
			`<div class="sc-avatar" aria-hidden="true">MO</div>`, `<dt>XP earned</dt><dd>170</dd>`, `<dt>Finished work</dt><dd>2</dd>`, `<dt>Badges</dt><dd>1</dd>`,
			`<svg class="xp-chart" role="img"`, "170 XP in total", `fill="#1f2937">Communication</text>`, "XP by pillar: STEM ",
			"Storyteller", `Earned <time datetime="2026-03-01">1 Mar 2026</time>`,
			`<img src="/badges/b-story/image.svg"`, `<a href="/credentials/award-story">Verified Open Badge`,
			"Spark coursework", "OnFire Creative Writing", "Optio quests", "Community garden",
			`<span>1 of 1 assignments finished · complete</span>`,
			`Synced from Spark on <time datetime="2026-02-27">27 Feb 2026</time>`,
			"My essay &lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; ends here.",
			`<a href="https://example.org/story" rel="nofollow noopener noreferrer" target="_blank">My story online</a>`,
			`<a class="sc-thumb" href="` + htmlAttr(fileURLOf(blockOf(t, v, "cover.png"))) + `" data-lightbox="image"`,
			`<img src="` + htmlAttr(thumbURLOf(blockOf(t, v, "cover.png"))) + `" alt="Image submitted for “Quest title for c-101 assignment A”"`,
			`<video controls preload="metadata" src="` + htmlAttr(fileURLOf(blockOf(t, v, "reading.mp4"))) + `#t=0.1"`,
			`<p class="sc-doc-type">PDF document</p>`, `Open essay.pdf</a>`, `download="essay.pdf"`,
			`<meta property="og:title" content="Maya Ortiz’s portfolio">`,
			`<meta property="og:url" content="http://optio.test/portfolio/` + slug + `">`,
			`<meta property="og:image" content="http://optio.test/portfolio/` + slug + `/og.png">`,
			`<meta name="twitter:card" content="summary_large_image">`,
		} {
			require.Contains(t, page, want)
		}
		// Strangers see earned badges only: never what is missing.
		for _, never := range []string{"Maker", "Complete 2 more Spark courses", "onfire.example", "badge-progress"} {
			require.NotContains(t, page, never)
		}
		require.Less(t, strings.Index(page, "Storyteller"), strings.Index(page, "OnFire Creative Writing"), "badges come before the work")
		// The owner and the family see the progress, with what is missing.
		for _, c := range []*http.Cookie{vs.owner, vs.parent} {
			fam := e.do("GET", "/portfolio/"+slug, c, nil).Body.String()
			for _, want := range []string{`<progress class="badge-progress" max="100" value="40"`, "Complete 2 more Spark courses to earn this badge",
				"Maker &lt;b&gt;Pro&lt;/b&gt;", `href="https://onfire.example/courses/c-9" rel="nofollow noopener"`} {
				require.Contains(t, fam, want)
			}
		}
		require.NotContains(t, e.do("GET", "/portfolio/"+slug, vs.observer, nil).Body.String(), "Maker", "observers see earned badges only")
		require.NotContains(t, page, "<script>alert", "submission text is inert")
		require.NotContains(t, page, "noindex", "a public portfolio may be indexed")
		require.NotContains(t, page, "Quest title for c-101<", "the Spark course title wins over the quest title")
		private := fileURLOf(blockOf(t, v, "diary.png"))
		require.NotContains(t, page, htmlAttr(private), "private blocks are hidden from strangers")
		require.NotContains(t, e.do("GET", "/portfolio/"+slug, vs.observer, nil).Body.String(), htmlAttr(private), "and from observers")
		require.Contains(t, e.do("GET", "/portfolio/"+slug, vs.owner, nil).Body.String(), htmlAttr(private), "the owner sees them")
		require.Contains(t, e.do("GET", "/portfolio/"+slug, vs.parent, nil).Body.String(), htmlAttr(private), "a linked parent sees them")

		// The JSON carries the same data.
		res = e.do("GET", "/api/public/portfolio/"+slug, nil, nil)
		require.Equal(t, 200, res.Code)
		var pv portfolioView
		require.NoError(t, json.Unmarshal(res.Body.Bytes(), &pv))
		require.Equal(t, "Maya Ortiz", pv.Student.Name)
		require.Equal(t, 170, pv.XP.Total)
		require.Len(t, pv.Badges, 1, "the public JSON carries earned badges only")
		require.Equal(t, "Storyteller", pv.Badges[0].Badge.Name)
		require.Len(t, pv.SparkCourses, 1)
		require.Equal(t, "c-101", pv.SparkCourses[0].SparkCourseID)
		require.Equal(t, "OnFire Creative Writing", pv.SparkCourses[0].Title)
		item := pv.SparkCourses[0].Items[0]
		require.True(t, item.FromSpark)
		require.Len(t, item.Evidence, 5, "the private block is left out")
		require.Equal(t, "My essay <script>alert('pwned')</script> ends here.", item.Evidence[0].Text)
		require.Equal(t, "http://optio.test"+fileURLOf(blockOf(t, v, "essay.pdf")), item.Evidence[4].FileURL)
		require.Equal(t, "PDF", item.Evidence[4].Kind)
		require.Equal(t, "PDF document", item.Evidence[4].KindLabel)
		require.Equal(t, "http://optio.test"+thumbURLOf(blockOf(t, v, "cover.png")), item.Evidence[2].ThumbURL)
		require.NotContains(t, res.Body.String(), "<script>", "JSON escapes markup too")
		require.Len(t, pv.Quests, 1)
		require.Equal(t, "Community garden", pv.Quests[0].Title)
		require.NotContains(t, res.Body.String(), e.student.Email)

		// Unlisted: viewable, not indexed.
		e.setVisibility(optio.VisibilityUnlisted)
		require.Contains(t, e.do("GET", "/portfolio/"+slug, nil, nil).Body.String(), `<meta name="robots" content="noindex">`)
	})
}

func thumbURLOf(b optio.EvidenceBlock) string {
	return "/files/" + b.Content.FileID + "/thumb?b=" + b.ID
}

func htmlAttr(s string) string { return strings.ReplaceAll(s, "&", "&amp;") }

// TestPortfolioFiles checks evidence files are served only through a block
// the viewer may see: private blocks only to the student, linked parents and
// admins; everything else 404.
func TestPortfolioFiles(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setupPortfolio(t, db)
		v := e.everyEvidence()
		e.setVisibility(optio.VisibilityPublic)
		vs := e.viewers()
		private := fileURLOf(blockOf(t, v, "diary.png"))
		public := fileURLOf(blockOf(t, v, "cover.png"))
		video := fileURLOf(blockOf(t, v, "reading.mp4"))
		pdf := fileURLOf(blockOf(t, v, "essay.pdf"))

		for name, want := range map[string]struct {
			c    *http.Cookie
			code int
		}{
			"owner": {vs.owner, 200}, "anonymous": {nil, 404}, "other student": {vs.otherStudent, 404}, "linked parent": {vs.parent, 200},
			"other parent": {vs.otherParent, 404}, "observer": {vs.observer, 404}, "revoked observer": {vs.revokedObserver, 404}, "admin": {vs.admin, 200},
		} {
			require.Equal(t, want.code, e.do("GET", private, want.c, nil).Code, "private block file for %s", name)
			require.Equal(t, 200, e.do("GET", public, want.c, nil).Code, "public block file for %s", name)
		}

		res := e.do("GET", public, nil, nil)
		require.Equal(t, "image/png", res.Header().Get("Content-Type"))
		require.Equal(t, "public, max-age=300", res.Header().Get("Cache-Control"))
		require.Contains(t, res.Header().Get("Content-Disposition"), `inline; filename=cover.png`)
		res = e.do("GET", private, vs.owner, nil)
		require.Equal(t, "private, max-age=300", res.Header().Get("Cache-Control"))
		res = e.do("GET", pdf, nil, nil)
		require.Equal(t, "application/pdf", res.Header().Get("Content-Type"))
		require.Equal(t, testPDF, res.Body.Bytes())

		// Video seeks with ranges.
		res = e.do("GET", video, nil, map[string]string{"Range": "bytes=4-11"})
		require.Equal(t, http.StatusPartialContent, res.Code)
		require.Equal(t, "ftypmp42", res.Body.String())
		require.Equal(t, "video/mp4", res.Header().Get("Content-Type"))

		// The block must reference the file; no block, wrong block, bad ids: 404.
		fileID := blockOf(t, v, "cover.png").Content.FileID
		for _, path := range []string{
			"/files/" + fileID, "/files/" + fileID + "?b=" + blockOf(t, v, "essay.pdf").ID,
			"/files/" + fileID + "?b=not-a-uuid", "/files/nope?b=" + blockOf(t, v, "cover.png").ID,
			"/files/" + blockOf(t, v, "diary.png").Content.FileID + "?b=" + blockOf(t, v, "cover.png").ID,
		} {
			require.Equal(t, 404, e.do("GET", path, vs.owner, nil).Code, path)
		}

		// A private portfolio's files are gone for strangers, kept for family.
		e.setVisibility(optio.VisibilityPrivate)
		require.Equal(t, 404, e.do("GET", public, nil, nil).Code)
		require.Equal(t, 404, e.do("GET", public, vs.otherParent, nil).Code)
		require.Equal(t, 200, e.do("GET", public, vs.observer, nil).Code)
		require.Equal(t, "private, max-age=300", e.do("GET", public, vs.observer, nil).Header().Get("Cache-Control"))
	})
}

// TestPortfolioHeaders checks framing (CSP), CORS and ETag revalidation.
func TestPortfolioHeaders(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setupPortfolio(t, db)
		e.everyEvidence()
		e.setVisibility(optio.VisibilityPublic)
		slug := e.student.PortfolioSlug

		embed := e.do("GET", "/portfolio/"+slug+"/embed", nil, nil)
		require.Equal(t, 200, embed.Code)
		require.True(t, strings.HasSuffix(embed.Header().Get("Content-Security-Policy"), "frame-ancestors 'self' "+sparkOrigin))
		require.Contains(t, embed.Body.String(), "Open the full portfolio on Optio")
		require.Contains(t, embed.Body.String(), "OnFire Creative Writing")
		for _, path := range []string{"/portfolio/" + slug, "/api/public/portfolio/" + slug, "/login", "/"} {
			csp := e.do("GET", path, nil, nil).Header().Get("Content-Security-Policy")
			require.True(t, strings.HasSuffix(csp, "frame-ancestors 'self'"), "%s: %s", path, csp)
			require.NotContains(t, csp, sparkOrigin)
		}

		api := "/api/public/portfolio/" + slug
		res := e.do("GET", api, nil, map[string]string{"Origin": sparkOrigin})
		require.Equal(t, 200, res.Code)
		require.Equal(t, sparkOrigin, res.Header().Get("Access-Control-Allow-Origin"))
		require.Contains(t, res.Header().Values("Vary"), "Origin")
		require.Empty(t, res.Header().Get("Access-Control-Allow-Credentials"))
		res = e.do("GET", api, nil, map[string]string{"Origin": "https://evil.example"})
		require.Equal(t, 200, res.Code)
		require.Empty(t, res.Header().Get("Access-Control-Allow-Origin"))
		require.Contains(t, res.Header().Values("Vary"), "Origin")
		res = e.do("OPTIONS", api, nil, map[string]string{"Origin": sparkOrigin, "Access-Control-Request-Method": "GET"})
		require.Equal(t, 204, res.Code)
		require.Equal(t, sparkOrigin, res.Header().Get("Access-Control-Allow-Origin"))
		require.Contains(t, res.Header().Get("Access-Control-Allow-Methods"), "GET")
		res = e.do("OPTIONS", api, nil, map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
		require.Equal(t, 204, res.Code)
		require.Empty(t, res.Header().Get("Access-Control-Allow-Origin"))

		for _, path := range []string{"/portfolio/" + slug, api, "/portfolio/" + slug + "/embed"} {
			first := e.do("GET", path, nil, nil)
			etag := first.Header().Get("ETag")
			require.NotEmpty(t, etag, path)
			require.Equal(t, "private, no-cache", first.Header().Get("Cache-Control"))
			again := e.do("GET", path, nil, map[string]string{"If-None-Match": etag})
			require.Equal(t, http.StatusNotModified, again.Code, path)
			require.Empty(t, again.Body.String())
			require.Equal(t, 304, e.do("GET", path, nil, map[string]string{"If-None-Match": `"x", W/` + etag}).Code)
			require.Equal(t, 200, e.do("GET", path, nil, map[string]string{"If-None-Match": `"stale"`}).Code)
		}
		// New work changes the ETag.
		etag := e.do("GET", api, nil, nil).Header().Get("ETag")
		q := storetest.MustCreateQuest(t, e.db, "Poster", 10, optio.PillarArt)
		e.complete(q.Tasks[0].ID, "optio", optio.BlockInput{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "A poster."}})
		require.Equal(t, 200, e.do("GET", api, nil, map[string]string{"If-None-Match": etag}).Code)
	})
}

// TestPortfolioPagination checks hundreds of items are split into pages of
// 50, newest first, and that bad page numbers are refused precisely.
func TestPortfolioPagination(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setupPortfolio(t, db)
		e.setVisibility(optio.VisibilityPublic)
		q := e.sparkQuest("c-7", "Spark 7", "", 120)
		for _, task := range q.Tasks {
			e.clock.Advance(1e9)
			e.complete(task.ID, "spark", optio.BlockInput{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "work on " + task.ID}})
		}
		slug := e.student.PortfolioSlug
		counts := []int{50, 50, 20}
		for i, want := range counts {
			res := e.do("GET", fmt.Sprintf("/portfolio/%s?page=%d", slug, i+1), nil, nil)
			require.Equal(t, 200, res.Code)
			body := res.Body.String()
			require.Equal(t, want, countOf(body, `<article class="sc-card"`), "page %d", i+1)
			require.Contains(t, body, fmt.Sprintf("Page %d of 3", i+1))
			require.Contains(t, body, "Spark 7", "no mapping: the quest title names the course")
			if i > 0 {
				require.Contains(t, body, fmt.Sprintf(`rel="prev" href="?page=%d"`, i))
			}
			if i < 2 {
				require.Contains(t, body, fmt.Sprintf(`rel="next" href="?page=%d"`, i+2))
			}
		}
		newest := q.Tasks[len(q.Tasks)-1].ID
		require.Contains(t, e.do("GET", "/portfolio/"+slug, nil, nil).Body.String(), "work on "+newest, "newest first")

		var pv portfolioView
		res := e.do("GET", "/api/public/portfolio/"+slug+"?page=3", nil, nil)
		require.NoError(t, json.Unmarshal(res.Body.Bytes(), &pv))
		require.Equal(t, 120, pv.TotalItems)
		require.Equal(t, 3, pv.TotalPages)
		require.Equal(t, 50, pv.PerPage)
		require.Len(t, pv.SparkCourses[0].Items, 20)

		for _, bad := range []string{"0", "-1", "abc", "1.5", "999999999"} {
			res := e.do("GET", "/api/public/portfolio/"+slug+"?page="+url.QueryEscape(bad), nil, nil)
			require.Equal(t, 400, res.Code, bad)
			var body apiErr
			require.NoError(t, json.Unmarshal(res.Body.Bytes(), &body))
			require.Equal(t, "invalid", body.Error.Code)
			require.Contains(t, body.Error.Fields, "page")
		}
		require.Equal(t, 404, e.do("GET", "/api/public/portfolio/"+slug+"?page=4", nil, nil).Code)
		require.Equal(t, 404, e.do("GET", "/portfolio/"+slug+"?page=4", nil, nil).Code)
	})
}

type apiErr struct {
	Error struct {
		Code   string            `json:"code"`
		Fields map[string]string `json:"fields"`
	} `json:"error"`
}

// TestPortfolioSettingsForm checks the dashboard's visibility form.
func TestPortfolioSettingsForm(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setupPortfolio(t, db)
		owner := e.sessionCookie(e.student)
		dash := e.do("GET", "/dashboard", owner, nil)
		require.Equal(t, 200, dash.Code)
		require.Contains(t, dash.Body.String(), `<form method="post" action="/dashboard/portfolio-settings" class="visibility-form">`)
		require.Contains(t, dash.Body.String(), `<option value="public" selected>`)

		post := func(c *http.Cookie, value string) int {
			r := httptestForm("/dashboard/portfolio-settings", url.Values{"portfolio_visibility": {value}})
			if c != nil {
				r.AddCookie(c)
			}
			w := newRecorder()
			e.srv.ServeHTTP(w, r)
			return w.Code
		}
		require.Equal(t, http.StatusSeeOther, post(owner, "private"))
		u, err := e.db.UserByID(context.Background(), e.student.ID)
		require.NoError(t, err)
		require.Equal(t, optio.VisibilityPrivate, u.Visibility)
		require.Contains(t, e.do("GET", "/dashboard", owner, nil).Body.String(), `<option value="private" selected>`)
		require.Equal(t, 400, post(owner, "everyone"))
		require.Equal(t, http.StatusSeeOther, post(nil, "public"), "anonymous goes to the login page")
		parent := storetest.MustCreateUser(t, e.db, optio.RoleParent, "P", "Q")
		require.Equal(t, 403, post(e.sessionCookie(parent), "public"))
		u, err = e.db.UserByID(context.Background(), e.student.ID)
		require.NoError(t, err)
		require.Equal(t, optio.VisibilityPrivate, u.Visibility, "refused changes change nothing")
	})
}

// TestDashboardSaysThingsInWords: the student's recent work names a file's
// type and a pillar as people do ("PDF document", "Communication"), never a MIME type
// or a key, and a quest with every task done says so.
func TestDashboardSaysThingsInWords(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setupPortfolio(t, db)
		q := e.sparkQuest("c-9", "Essays", "Essay writing", 1)
		e.complete(q.Tasks[0].ID, "spark", fileBlock(optio.BlockDocument, e.file("essay.pdf", testPDF), false, nil))
		page := e.do("GET", "/dashboard", e.sessionCookie(e.student), nil).Body.String()
		require.Contains(t, page, `<span class="muted">(PDF document, `)
		require.NotContains(t, page, "application/pdf")
		require.Contains(t, page, `<span class="pillar pillar-communication">Communication</span>`)
		require.Contains(t, page, "1 of 1 tasks · ")
		require.Contains(t, page, " · all done</p>")
		require.Contains(t, page, `fill="#1f2937">Wellness</text>`)
	})
}
