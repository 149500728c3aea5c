package app_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// With SPARK_AUTO_MAP (the default) a course first seen in an SSO token is
// mapped at once: the student signs in already enrolled in its quest.
func TestSSOMapsAnUnseenCourse(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		a := newSSOEnv(t, d).start(t)
		b := newSSOBrowser(t, a.URL())
		status, _ := b.sso(signSSO(t, ssoSecret, studentClaims("s-geo", "geo-1")))
		require.Equal(t, http.StatusSeeOther, status)
		progress, err := a.Store.QuestProgressFor(context.Background(), b.me().ID)
		require.NoError(t, err)
		require.Len(t, progress, 1)
		require.Equal(t, "Spark course geo-1", progress[0].Quest.Title, "named from what is known until Spark's API says more")
		c, err := a.Store.SparkCourse(context.Background(), "geo-1")
		require.NoError(t, err)
		require.True(t, c.Mapped)
	})
}
