package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// TestOnFireClicksResistInflation: a loop of anonymous requests from one
// address is redirected every time but counted once per course; another
// address, a signed-in student and the same address an hour later each
// count once more; a course no badge requires is 404 every time and
// counted never.
func TestOnFireClicksResistInflation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setupPortfolio(t, db)
		e.srv.Config.SparkCatalogURL = "https://onfire.test/courses/{course_id}"
		name, courses := "Chemist", []string{"chem", "bio"}
		_, err := db.CreateBadge(context.Background(), optio.BadgeInput{Name: &name, RequiredCourses: &courses})
		require.NoError(t, err)
		click := func(path, addr string, c *http.Cookie) *httptest.ResponseRecorder {
			t.Helper()
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.RemoteAddr = addr
			if c != nil {
				req.AddCookie(c)
			}
			res := httptest.NewRecorder()
			e.srv.ServeHTTP(res, req)
			return res
		}
		clicks := func() (n int) {
			t.Helper()
			require.NoError(t, db.R.QueryRow(`SELECT COUNT(*) FROM onfire_clicks`).Scan(&n))
			return n
		}

		for range 50 {
			res := click("/go/onfire/chem", "198.51.100.7:4242", nil)
			require.Equal(t, http.StatusFound, res.Code)
			require.Equal(t, "https://onfire.test/courses/chem", res.Header().Get("Location"))
		}
		require.Equal(t, 1, clicks(), "fifty requests from one address: one click")
		require.Equal(t, http.StatusFound, click("/go/onfire/bio", "198.51.100.7:4243", nil).Code)
		require.Equal(t, 2, clicks(), "another course counts")
		require.Equal(t, http.StatusFound, click("/go/onfire/chem", "203.0.113.9:1", nil).Code)
		require.Equal(t, 3, clicks(), "another address counts")
		cookie := e.sessionCookie(e.student)
		for range 5 {
			require.Equal(t, http.StatusFound, click("/go/onfire/chem", "198.51.100.7:4242", cookie).Code)
		}
		require.Equal(t, 4, clicks(), "a signed-in student counts once, from any address")
		for range 3 {
			require.Equal(t, http.StatusNotFound, click("/go/onfire/not-a-badge-course", "198.51.100.7:4242", nil).Code)
		}
		require.Equal(t, 4, clicks())

		e.clock.Advance(61 * time.Minute)
		require.Equal(t, http.StatusFound, click("/go/onfire/chem", "198.51.100.7:4242", nil).Code)
		require.Equal(t, 5, clicks(), "the address counts again an hour later")
		require.Equal(t, http.StatusFound, click("/go/onfire/chem", "198.51.100.7:4242", nil).Code)
		require.Equal(t, 5, clicks())
	})
}
