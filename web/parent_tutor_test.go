package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
)

// TestParentPageShowsTutorFlagsAndLimit: a linked parent's /parent page
// lists the child's flagged tutor exchanges (escaped) and sets the daily
// limit from a form; another parent sees none of it and cannot set it.
func TestParentPageShowsTutorFlagsAndLimit(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, d store.Dialect) {
		e := setupTutor(t, d, true, nil)
		kid := e.signUp(optio.RoleStudent, "Kim", nil)
		mum := e.signUp(optio.RoleParent, "Mum", nil)
		stranger := e.signUp(optio.RoleParent, "Stranger", nil)
		e.linkParent(mum.user, kid.user)
		c := kid.newConversation("study_buddy")
		status, tr, _ := kid.ask(c.ID, "I want to hurt myself <b>now</b>")
		require.Equal(t, 200, status)
		require.True(t, tr.Flagged)

		status, page := mum.page("/parent")
		require.Equal(t, 200, status)
		require.Contains(t, page, `data-testid="tutor-section"`)
		require.Contains(t, page, "Flagged exchanges (1)")
		require.Contains(t, page, "I want to hurt myself &lt;b&gt;now&lt;/b&gt;")
		require.NotContains(t, page, "<b>now</b>")
		require.Contains(t, page, "trusted adult", "the tutor's reply is shown too")
		require.Contains(t, page, `name="daily_limit" type="number" min="0" max="200" required value="50"`, "the default limit")

		status, other := stranger.page("/parent")
		require.Equal(t, 200, status)
		require.NotContains(t, other, "hurt myself")
		require.NotContains(t, other, `data-testid="tutor-section"`)

		status, loc, _ := mum.form("/parent/students/"+kid.user.ID+"/tutor/limit", url.Values{"daily_limit": {"5"}})
		require.Equal(t, 303, status)
		require.True(t, strings.HasSuffix(loc, "#child-"+kid.user.ID), loc)
		status, page = mum.page("/parent")
		require.Equal(t, 200, status)
		require.Contains(t, page, `required value="5"`)
		var lim struct {
			DailyLimit int  `json:"daily_limit"`
			Custom     bool `json:"custom"`
		}
		require.Equal(t, 200, mum.JSON("GET", "/api/parent/students/"+kid.user.ID+"/tutor/limit", nil, &lim))
		require.Equal(t, 5, lim.DailyLimit)
		require.True(t, lim.Custom)

		status, _, _ = stranger.form("/parent/students/"+kid.user.ID+"/tutor/limit", url.Values{"daily_limit": {"20"}})
		require.Equal(t, 404, status, "another family's child")
		status, _, _ = mum.form("/parent/students/"+kid.user.ID+"/tutor/limit", url.Values{"daily_limit": {"lots"}})
		require.Equal(t, 400, status)
		status, _, _ = kid.form("/parent/students/"+kid.user.ID+"/tutor/limit", url.Values{"daily_limit": {"200"}})
		require.Equal(t, 403, status, "students cannot set their own limit")
	})
}
