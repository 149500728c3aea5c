package web

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/store"
)

// TestUnknownPathsAnswerLikeEveryOtherMiss checks a path no route serves:
// browsers get the styled 404 page (with the navigation of whoever is signed
// in), API clients the JSON error, and a path another method serves still a
// 405.
func TestUnknownPathsAnswerLikeEveryOtherMiss(t *testing.T) {
	t.Parallel()
	e := setupPortfolio(t, openStore(t, store.SQLite))
	owner := e.sessionCookie(e.student)

	page := e.do("GET", "/no/such/page", nil, map[string]string{"Accept": "text/html"})
	require.Equal(t, http.StatusNotFound, page.Code)
	require.Equal(t, "text/html; charset=utf-8", page.Header().Get("Content-Type"))
	require.Contains(t, page.Body.String(), "We could not find that")
	require.Contains(t, page.Body.String(), `href="/static/optio.css"`, "styled like every page")
	require.Contains(t, page.Body.String(), `<a class="button" href="/">Back to Optio</a>`)

	signedIn := e.do("GET", "/dashbord", owner, nil)
	require.Equal(t, http.StatusNotFound, signedIn.Code)
	require.Contains(t, signedIn.Body.String(), "Sign out Maya", "the page knows who is signed in")
	require.Contains(t, signedIn.Body.String(), `<a class="button" href="/dashboard">Back to your dashboard</a>`)

	for _, c := range []struct{ path, accept string }{{"/api/nope", ""}, {"/api/nope", "text/html"}, {"/nope", "application/json"}} {
		res := e.do("GET", c.path, nil, map[string]string{"Accept": c.accept})
		require.Equal(t, http.StatusNotFound, res.Code, c.path)
		require.Equal(t, "application/json; charset=utf-8", res.Header().Get("Content-Type"), c.path)
		var body errorBody
		require.NoError(t, json.Unmarshal(res.Body.Bytes(), &body), c.path)
		require.Equal(t, "not_found", body.Error.Code, c.path)
	}

	require.Equal(t, http.StatusMethodNotAllowed, e.do("DELETE", "/dashboard", owner, nil).Code, "a known path with the wrong method")
	require.Equal(t, http.StatusMethodNotAllowed, e.do("PUT", "/api/me", owner, nil).Code)
}

// TestFavicon checks the icons the layout links are served.
func TestFavicon(t *testing.T) {
	t.Parallel()
	e := setupPortfolio(t, openStore(t, store.SQLite))
	for path, kind := range map[string]string{"/favicon.ico": "image/x-icon", "/static/favicon.svg": "image/svg+xml", "/static/apple-touch-icon.png": "image/png"} {
		res := e.do("GET", path, nil, nil)
		require.Equal(t, http.StatusOK, res.Code, path)
		require.Contains(t, []string{kind, "image/vnd.microsoft.icon"}, res.Header().Get("Content-Type"), path)
		require.NotEmpty(t, res.Body.Bytes(), path)
	}
}
