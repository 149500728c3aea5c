package app_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// TestSSOTrustConsent checks the birthdate and publish_consent claims: ignored
// unless SPARK_TRUST_CONSENT=true; then recorded as from Spark, opening the
// public portfolio; and a parent's later "no" wins over Spark's next "yes".
func TestSSOTrustConsent(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		yes := true
		born := time.Date(2012, 5, 1, 0, 0, 0, 0, time.UTC)
		claims := func(sub string) func() string {
			return func() string {
				c := studentClaims(sub)
				c.BirthDate, c.PublishConsent = &born, &yes
				return signSSO(t, ssoSecret, c)
			}
		}
		public := func(a interface{ URL() string }, slug string) int {
			resp, _ := newSSOBrowser(t, a.URL()).get("/api/public/portfolio/"+slug, "json")
			return resp.StatusCode
		}

		// Not trusted: the facts are ignored, the minor stays hidden.
		a := newSSOEnv(t, d).start(t)
		b := newSSOBrowser(t, a.URL())
		status, _ := b.sso(claims("s-1")())
		require.Equal(t, http.StatusSeeOther, status)
		me := b.me()
		require.False(t, me.ParentConsent)
		require.Nil(t, me.BirthDateFact)
		require.Nil(t, me.ConsentFact)
		require.Equal(t, http.StatusNotFound, public(a, me.PortfolioSlug))

		// Trusted: recorded as from Spark, with the time, and the page is public.
		a = newSSOEnv(t, d).set("SPARK_TRUST_CONSENT", "true").start(t)
		b = newSSOBrowser(t, a.URL())
		status, _ = b.sso(claims("s-2")())
		require.Equal(t, http.StatusSeeOther, status)
		me = b.me()
		require.True(t, me.ParentConsent)
		require.Equal(t, optio.SourceSpark, me.ConsentFact.Source)
		require.False(t, me.ConsentFact.At.IsZero())
		require.Equal(t, optio.SourceSpark, me.BirthDateFact.Source)
		require.Equal(t, "2012-05-01", me.BirthDate.Format(time.DateOnly))
		require.Equal(t, http.StatusOK, public(a, me.PortfolioSlug))

		// A linked parent says no: that wins, now and at Spark's next "yes".
		pb := newSSOBrowser(t, a.URL())
		pc := studentClaims("p-2")
		pc.Role, pc.SparkStudentIDs = optio.RoleParent, []string{"s-2"}
		status, _ = pb.sso(signSSO(t, ssoSecret, pc))
		require.Equal(t, http.StatusSeeOther, status)
		parent := pb.me()
		_, err := a.Store.SetParentConsent(context.Background(), parent.ID, me.ID, false, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusNotFound, public(a, me.PortfolioSlug))
		b = newSSOBrowser(t, a.URL())
		status, _ = b.sso(claims("s-2")())
		require.Equal(t, http.StatusSeeOther, status)
		me = b.me()
		require.False(t, me.ParentConsent)
		require.Equal(t, optio.SourceParent, me.ConsentFact.Source)
		require.Equal(t, http.StatusNotFound, public(a, me.PortfolioSlug))
	})
}
