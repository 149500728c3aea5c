package store_test

import (
	"context"
	"testing"
	"time"

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

// A student first met in a submission webhook (on PostgreSQL created by the
// one-statement accept) is the same as one the full path creates: a
// provisional student linked via webhook, with the admin's default
// visibility, and the submission queued once.
func TestSubmissionWebhookCreatesTheSameStudentAsTheFullPath(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		admin := storetest.MustCreateUser(t, db, optio.RoleAdmin, "Ada", "Admin")
		require.NoError(t, db.SetSparkDefaultVisibility(ctx, admin.ID, optio.VisibilityPrivate))
		full, err := db.ResolveSparkUser(ctx, optio.SparkIdentity{SparkUserID: "stu-full"}, optio.LinkedViaWebhook)
		require.NoError(t, err)
		rc, err := db.AcceptSparkSubmission(ctx, "wh-1", optio.SparkSubmissionEvent{SparkUserID: "stu-hook", SparkAssignmentID: "a-1",
			SparkCourseID: "c-1", Text: "essay", FilesJSON: []byte(`[]`), SubmittedAt: time.Now()})
		require.NoError(t, err)
		require.False(t, rc.Duplicate)
		hook, err := db.UserBySparkID(ctx, "stu-hook")
		require.NoError(t, err)
		require.Equal(t, hook.ID, rc.UserID)
		require.Equal(t, 1, rc.Revision)

		same := func(u *optio.User) optio.User {
			c := *u
			c.ID, c.CreatedAt, c.UpdatedAt = "", time.Time{}, time.Time{}
			return c
		}
		require.Equal(t, same(full), same(hook))
		require.Equal(t, optio.VisibilityPrivate, hook.Visibility)
		require.True(t, hook.Provisional)
		var via string
		require.NoError(t, db.R.QueryRowContext(ctx, `SELECT linked_via FROM lms_integrations WHERE external_user_id = 'stu-hook'`).Scan(&via))
		require.Equal(t, optio.LinkedViaWebhook, via)

		// The same delivery again is a duplicate and writes nothing.
		again, err := db.AcceptSparkSubmission(ctx, "wh-1", optio.SparkSubmissionEvent{SparkUserID: "stu-other", SparkAssignmentID: "a-1",
			SparkCourseID: "c-1", Text: "changed", FilesJSON: []byte(`[]`), SubmittedAt: time.Now()})
		require.NoError(t, err)
		require.True(t, again.Duplicate)
		_, err = db.UserBySparkID(ctx, "stu-other")
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err), "a duplicate creates no student")
		var n int
		require.NoError(t, db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM spark_evidence_sync_queue`).Scan(&n))
		require.Equal(t, 1, n)
	})
}
