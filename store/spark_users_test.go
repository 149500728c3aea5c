package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

func TestResolveSparkUser(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// First seen in a webhook: provisional, no email, no slug yet.
		p, err := db.ResolveSparkUser(ctx, optio.SparkIdentity{SparkUserID: "stu-1"}, optio.LinkedViaWebhook)
		require.NoError(t, err)
		require.True(t, p.Provisional)
		require.Empty(t, p.PortfolioSlug)
		again, err := db.ResolveSparkUser(ctx, optio.SparkIdentity{SparkUserID: "stu-1"}, optio.LinkedViaWebhook)
		require.NoError(t, err)
		require.Equal(t, p.ID, again.ID, "the same Spark user is never duplicated")

		// SSO completes that same user.
		u, err := db.ResolveSparkUser(ctx, optio.SparkIdentity{SparkUserID: "stu-1", Email: "Lia@School.test", GivenName: "Lia", FamilyName: "Chen", Role: optio.RoleStudent}, optio.LinkedViaSSO)
		require.NoError(t, err)
		require.Equal(t, p.ID, u.ID)
		require.False(t, u.Provisional)
		require.Equal(t, "lia@school.test", u.Email)
		require.Equal(t, "liachen", u.PortfolioSlug)

		// Names change in Spark: updated; the slug stays.
		u, err = db.ResolveSparkUser(ctx, optio.SparkIdentity{SparkUserID: "stu-1", Email: "lia@school.test", GivenName: "Lia", FamilyName: "Chen-Park"}, optio.LinkedViaSSO)
		require.NoError(t, err)
		require.Equal(t, "Chen-Park", u.FamilyName)
		require.Equal(t, "liachen", u.PortfolioSlug)

		// An existing Optio account is linked by email once, and the link is audited.
		existing := storetest.MustCreateUser(t, db, optio.RoleStudent, "Omar", "Haddad")
		linked, err := db.ResolveSparkUser(ctx, optio.SparkIdentity{SparkUserID: "stu-2", Email: existing.Email}, optio.LinkedViaSSO)
		require.NoError(t, err)
		require.Equal(t, existing.ID, linked.ID)
		var audits int
		require.NoError(t, db.R.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action = 'spark.linked_by_email'`).Scan(&audits))
		require.Equal(t, 1, audits)

		// A second Spark user with the same email does not take over that account.
		other, err := db.ResolveSparkUser(ctx, optio.SparkIdentity{SparkUserID: "stu-3", Email: existing.Email, GivenName: "Imposter"}, optio.LinkedViaWebhook)
		require.NoError(t, err)
		require.NotEqual(t, existing.ID, other.ID)

		got, err := db.UserBySparkID(ctx, "stu-2")
		require.NoError(t, err)
		require.Equal(t, existing.ID, got.ID)
		_, err = db.UserBySparkID(ctx, "nobody")
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err))
	})
}
