package web_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
)

// TestParentLinksList: GET /api/parent/links lists the signed-in parent's
// own children and nobody else's; every other role is refused.
func TestParentLinksList(t *testing.T) {
	t.Parallel()
	eachFamily(t, func(t *testing.T, f *familyFixture) {
		status, body := f.call("parent", "GET", "/api/parent/links", nil)
		require.Equal(t, 200, status, body)
		var got struct{ Links []optio.LinkedChild }
		require.NoError(t, json.Unmarshal([]byte(body), &got))
		require.Len(t, got.Links, 1)
		l := got.Links[0]
		require.Equal(t, []string{f.S.ID, "Sam", "Lee", f.S.PortfolioSlug, optio.LinkedViaAdmin},
			[]string{l.StudentID, l.GivenName, l.FamilyName, l.PortfolioSlug, l.LinkedVia})
		require.False(t, l.LinkedAt.IsZero())
		require.NotContains(t, body, f.S2.ID, "another family's child is not listed")

		status, body = f.call("other parent", "GET", "/api/parent/links", nil)
		require.Equal(t, 200, status, body)
		require.NotContains(t, body, f.S.ID)
		require.Contains(t, body, f.S2.ID)

		for role, want := range map[string]int{"student": 403, "observer (comments)": 403, "observer (view only)": 403,
			"admin": 403, "anonymous": 401} {
			status, body := f.call(role, "GET", "/api/parent/links", nil)
			require.Equal(t, want, status, "%s: %s", role, body)
			require.NotContains(t, body, f.S.ID, role)
		}
	})
}
