package web_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPortfolioViewsAudited: a parent's and an observer's views of a
// child's portfolio (page, embed, public JSON) are in audit_log, one row per
// view; the owner's own views and strangers' views of a public portfolio
// are not.
func TestPortfolioViewsAudited(t *testing.T) {
	t.Parallel()
	eachFamily(t, func(t *testing.T, f *familyFixture) {
		f.exec(`UPDATE users SET portfolio_visibility = 'public', parent_consent = TRUE WHERE id = $1`, f.S.ID)
		slug := f.S.PortfolioSlug
		for _, role := range []string{"student", "parent", "observer (view only)", "other student", "anonymous"} {
			for _, path := range []string{"/portfolio/" + slug, "/portfolio/" + slug + "/embed", "/api/public/portfolio/" + slug} {
				status, _ := f.call(role, "GET", path, nil)
				require.Equal(t, 200, status, "%s %s", role, path)
			}
		}
		status, _ := f.call("parent", "GET", "/portfolio/"+slug, nil)
		require.Equal(t, 200, status)

		type row struct{ Action, Actor, Via string }
		var got []row
		rows, err := f.db.R.Query(`SELECT action, actor_id, detail FROM audit_log
			WHERE action LIKE '%view_portfolio' AND subject_id = $1 ORDER BY created_at, id`, f.S.ID)
		require.NoError(t, err)
		defer rows.Close()
		for rows.Next() {
			var r row
			var detail string
			require.NoError(t, rows.Scan(&r.Action, &r.Actor, &detail))
			var d struct{ Via string }
			require.NoError(t, json.Unmarshal([]byte(detail), &d))
			r.Via = d.Via
			got = append(got, r)
		}
		require.NoError(t, rows.Err())
		require.ElementsMatch(t, []row{
			{"parent.view_portfolio", f.P.ID, "page"}, {"parent.view_portfolio", f.P.ID, "embed"}, {"parent.view_portfolio", f.P.ID, "json"},
			{"parent.view_portfolio", f.P.ID, "page"},
			{"observer.view_portfolio", f.ON.ID, "page"}, {"observer.view_portfolio", f.ON.ID, "embed"}, {"observer.view_portfolio", f.ON.ID, "json"},
		}, got)
	})
}
