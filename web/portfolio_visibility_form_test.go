package web

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// inForce is the "In force now" line of a visibility form.
var inForce = regexp.MustCompile(`data-testid="visibility-in-force">(.*?)</p>`)

func inForceOf(t *testing.T, body string) string {
	t.Helper()
	m := inForce.FindStringSubmatch(body)
	require.NotNil(t, m, "the page has a visibility form")
	return html.UnescapeString(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[1], ""))
}

// TestVisibilityFormsSayWhatIsInForce: a minor's dashboard and their
// parent's page never promise "anyone" while consent is missing; they say
// what is in force and where to act. The parent's form changes the choice
// (within consent: public waits for it) with a confirmation that stays on
// the page; another parent cannot.
func TestVisibilityFormsSayWhatIsInForce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setupPortfolio(t, db)
		v := e.viewers()
		e.setAge(14)
		e.setVisibility(optio.VisibilityPublic)

		dash := e.do("GET", "/dashboard", v.owner, nil).Body.String()
		now := inForceOf(t, dash)
		require.Contains(t, now, "In force now — Family only: you, your family and observers see it now.")
		require.Contains(t, now, "It is set to Public, but a parent has not consented yet")
		require.NotContains(t, now, "anyone can see it")
		require.Contains(t, dash, `<a href="/family">Ask a parent to consent</a>`)
		require.Contains(t, dash, `<option value="public" selected>Public: anyone, and search engines — needs a parent&#39;s consent first</option>`)

		parentPage := e.do("GET", "/parent", v.parent, nil).Body.String()
		require.Contains(t, inForceOf(t, parentPage), "Family only: Maya, their family and observers see it now.")
		require.Contains(t, parentPage, `<a href="#consent-`+e.student.ID+`">Give your consent below</a>`)
		require.Contains(t, parentPage, `<section class="child-section" id="consent-`+e.student.ID+`"`, "the consent form is on the page while it is missing")
		require.NotContains(t, parentPage, `<details id="consent-`, "never folded away")

		post := func(c *http.Cookie, studentID, value string) *http.Response {
			r := httptestForm("/parent/students/"+studentID+"/portfolio-visibility", url.Values{"portfolio_visibility": {value}})
			r.AddCookie(c)
			w := newRecorder()
			e.srv.ServeHTTP(w, r)
			return w.Result()
		}
		res := post(v.parent, e.student.ID, "unlisted")
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		loc, err := url.Parse(res.Header.Get("Location"))
		require.NoError(t, err)
		require.Equal(t, "/parent", loc.Path)
		require.Equal(t, "Saved. Family only: Maya, their family and observers see it now. It becomes Link only once a parent consents.", loc.Query().Get("flash"))
		shown := e.do("GET", loc.RequestURI(), v.parent, nil).Body.String()
		require.Contains(t, shown, `<p class="flash" role="status">Saved. Family only`, "the confirmation stays on the page")
		require.Contains(t, shown, `<option value="unlisted" selected>`)

		// With consent the choice is in force, and both pages say so.
		e.setConsent(true)
		require.Equal(t, "In force now — Link only: anyone with the link can see it; search engines are asked not to list it.",
			inForceOf(t, e.do("GET", "/dashboard", v.owner, nil).Body.String()))
		require.Equal(t, 200, e.do("GET", "/portfolio/"+e.student.PortfolioSlug, nil, nil).Code)
		require.Equal(t, http.StatusSeeOther, post(v.parent, e.student.ID, "school").StatusCode)
		require.Contains(t, inForceOf(t, e.do("GET", "/dashboard", v.owner, nil).Body.String()), "School only: it shows inside Spark")
		require.Equal(t, 404, e.do("GET", "/portfolio/"+e.student.PortfolioSlug, nil, nil).Code)

		// Nobody else may: another parent, an observer, a bad value.
		require.Equal(t, 404, post(v.otherParent, e.student.ID, "public").StatusCode)
		require.Equal(t, 403, post(v.observer, e.student.ID, "public").StatusCode)
		require.Equal(t, 400, post(v.parent, e.student.ID, "everyone").StatusCode)
		u, err := db.UserByID(t.Context(), e.student.ID)
		require.NoError(t, err)
		require.Equal(t, optio.VisibilitySchool, u.Visibility)
	})
}
