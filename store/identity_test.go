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

// TestSparkNeverLinksAnUnverifiedAccountByEmail is the pre-hijacking attack
// at the store: a self-registered (unverified) account holding a student's
// email is not linked when Spark vouches for that email; Spark's user gets
// their own account with the email, and the squatter keeps only a sign-in
// name that matches nothing else.
func TestSparkNeverLinksAnUnverifiedAccountByEmail(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		squatter, err := db.CreateUser(ctx, optio.NewUser{Email: "Lia@School.test", PasswordHash: "x", GivenName: "Not", FamilyName: "Lia", Role: optio.RoleStudent})
		require.NoError(t, err)
		require.False(t, squatter.EmailVerified)

		for _, via := range []string{optio.LinkedViaWebhook, optio.LinkedViaSSO} {
			sub := "stu-" + via
			email := via + "@school.test"
			sq, err := db.CreateUser(ctx, optio.NewUser{Email: email, PasswordHash: "x", GivenName: "Sq", Role: optio.RoleStudent})
			require.NoError(t, err)
			u, err := db.ResolveSparkUser(ctx, optio.SparkIdentity{SparkUserID: sub, Email: email, GivenName: "Lia", FamilyName: "Chen", Role: optio.RoleStudent}, via)
			require.NoError(t, err, via)
			require.NotEqual(t, sq.ID, u.ID, "%s: never linked to the unverified account", via)
			require.Equal(t, email, u.Email, via)
			require.True(t, u.EmailVerified, via)
			again, err := db.UserByID(ctx, sq.ID)
			require.NoError(t, err)
			require.Empty(t, again.Email, "%s: the squatter lost its claim to the email", via)
			// It still signs in with it (its own account), nothing else.
			cu, hash, err := db.UserCredentials(ctx, email)
			require.NoError(t, err)
			require.Equal(t, sq.ID, cu.ID, "the password sign-in reaches only the squatter's own account")
			require.Equal(t, "x", hash)
		}
		var displaced int
		require.NoError(t, db.R.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action = 'spark.email_displaced'`).Scan(&displaced))
		require.Equal(t, 2, displaced)
		var byEmail int
		require.NoError(t, db.R.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action = 'spark.linked_by_email'`).Scan(&byEmail))
		require.Zero(t, byEmail)

		// Registering the address again is refused while the displaced
		// account signs in with it.
		_, err = db.CreateUser(ctx, optio.NewUser{Email: "sso@school.test", PasswordHash: "y", GivenName: "Again", Role: optio.RoleStudent})
		require.Equal(t, optio.ECONFLICT, optio.ErrorCode(err))

		// Look-alike addresses are not folded onto existing ones.
		k, err := db.ResolveSparkUser(ctx, optio.SparkIdentity{SparkUserID: "kelvin", Email: "\u212Aate@home.example", Role: optio.RoleStudent}, optio.LinkedViaSSO)
		require.NoError(t, err)
		require.Empty(t, k.Email, "a refused address is not stored")
		_, err = db.CreateUser(ctx, optio.NewUser{Email: "\u0130nci@home.example", GivenName: "I", Role: optio.RoleStudent})
		require.Equal(t, optio.EINVALID, optio.ErrorCode(err))
	})
}

// TestLinkAccounts folds the account without work into the other, either
// way round, and refuses when both hold work.
func TestLinkAccounts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// A parent: the Spark account (with its Spark children) folds into
		// the password account, which becomes Spark-linked and verified.
		pw, err := db.CreateUser(ctx, optio.NewUser{Email: "mum@family.test", PasswordHash: "hash-1", GivenName: "Ana", Role: optio.RoleParent})
		require.NoError(t, err)
		res, err := db.SparkSSOLogin(ctx, optio.SSOLogin{Identity: optio.SparkIdentity{SparkUserID: "mum-1", Email: "mum@family.test", Role: optio.RoleParent},
			Nonce: "n-1", NonceExpiry: time.Now().Add(time.Hour), SparkStudentIDs: []string{"kid-1"}})
		require.NoError(t, err)
		sp := res.User
		require.NotEqual(t, pw.ID, sp.ID)

		_, err = db.LinkAccounts(ctx, pw.ID, sp.ID)
		require.Equal(t, optio.EFORBIDDEN, optio.ErrorCode(err), "the signed-in side must be the Spark account")
		u, err := db.LinkAccounts(ctx, sp.ID, pw.ID)
		require.NoError(t, err)
		require.Equal(t, pw.ID, u.ID)
		require.Equal(t, "mum@family.test", u.Email)
		require.True(t, u.EmailVerified)
		require.True(t, u.HasPassword)
		got, err := db.UserBySparkID(ctx, "mum-1")
		require.NoError(t, err)
		require.Equal(t, pw.ID, got.ID)
		kids, err := db.ChildrenOf(ctx, pw.ID)
		require.NoError(t, err)
		require.Len(t, kids, 1, "the Spark child moved with the link")
		_, err = db.UserByID(ctx, sp.ID)
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err))

		// A student whose Spark account holds work: the empty password
		// account folds into it and hands over its password.
		st, err := db.CreateUser(ctx, optio.NewUser{Email: "leo@home.test", PasswordHash: "hash-2", GivenName: "Leo", FamilyName: "Park", Role: optio.RoleStudent})
		require.NoError(t, err)
		sres, err := db.SparkSSOLogin(ctx, optio.SSOLogin{Identity: optio.SparkIdentity{SparkUserID: "leo-1", Email: "leo@school.test", GivenName: "Leo", FamilyName: "Park", Role: optio.RoleStudent},
			Nonce: "n-2", NonceExpiry: time.Now().Add(time.Hour)})
		require.NoError(t, err)
		q := storetest.MustCreateQuest(t, db, "Garden", 10, optio.PillarSTEM)
		_, err = db.CompleteTask(ctx, optio.CompletionInput{UserID: sres.User.ID, TaskID: q.Tasks[0].ID, Source: "optio",
			Blocks: []optio.BlockInput{{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "done"}}}})
		require.NoError(t, err)
		u, err = db.LinkAccounts(ctx, sres.User.ID, st.ID)
		require.NoError(t, err)
		require.Equal(t, sres.User.ID, u.ID, "the account with work survives")
		require.True(t, u.HasPassword)
		require.Equal(t, "leo@school.test", u.Email)
		_, hash, err := db.UserCredentials(ctx, "leo@school.test")
		require.NoError(t, err)
		require.Equal(t, "hash-2", hash)
		_, err = db.UserByID(ctx, st.ID)
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err))

		// Both with work: nothing changes.
		other, err := db.CreateUser(ctx, optio.NewUser{Email: "zoe@home.test", PasswordHash: "hash-3", GivenName: "Zoe", FamilyName: "Ng", Role: optio.RoleStudent})
		require.NoError(t, err)
		_, err = db.CompleteTask(ctx, optio.CompletionInput{UserID: other.ID, TaskID: q.Tasks[0].ID, Source: "optio",
			Blocks: []optio.BlockInput{{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "mine"}}}})
		require.NoError(t, err)
		// (Leo's survivor already has a password now; link Zoe's to a fresh Spark account with work.)
		zres, err := db.SparkSSOLogin(ctx, optio.SSOLogin{Identity: optio.SparkIdentity{SparkUserID: "zoe-1", Email: "zoe@school.test", GivenName: "Zoe", FamilyName: "Ng", Role: optio.RoleStudent},
			Nonce: "n-3", NonceExpiry: time.Now().Add(time.Hour)})
		require.NoError(t, err)
		_, err = db.CompleteTask(ctx, optio.CompletionInput{UserID: zres.User.ID, TaskID: q.Tasks[0].ID, Source: "optio",
			Blocks: []optio.BlockInput{{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "spark"}}}})
		require.NoError(t, err)
		_, err = db.LinkAccounts(ctx, zres.User.ID, other.ID)
		require.Equal(t, optio.ECONFLICT, optio.ErrorCode(err))
		_, err = db.UserByID(ctx, other.ID)
		require.NoError(t, err, "a refused link changes nothing")
		_, err = db.LinkAccounts(ctx, zres.User.ID, kids[0].ID)
		require.Equal(t, optio.ECONFLICT, optio.ErrorCode(err), "an account without a password, or of another kind, is refused")
	})
}

// TestAgeFactsKeepTheirSource: a student cannot change a birth date a
// parent recorded, cannot make themselves an adult, and a self-recorded
// birth date never opens the consent gate.
func TestAgeFactsKeepTheirSource(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC()
		st := storetest.MustCreateUser(t, db, optio.RoleStudent, "Mia", "Lund")
		parent := storetest.MustCreateUser(t, db, optio.RoleParent, "Per", "Lund")
		_, err := db.LinkParent(ctx, "", parent.ID, st.ID, optio.LinkedViaAdmin)
		require.NoError(t, err)

		// Self-recorded, as a minor: accepted, source student, gate stays shut.
		b := now.AddDate(-15, 0, 0)
		u, err := db.UpdateProfile(ctx, st.ID, optio.ProfileUpdate{BirthDate: &b})
		require.NoError(t, err)
		require.Equal(t, optio.SourceStudent, u.BirthDateFact.Source)
		require.False(t, u.PublicAllowed(now))
		// Self-recorded as an adult: refused.
		adult := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
		_, err = db.UpdateProfile(ctx, st.ID, optio.ProfileUpdate{BirthDate: &adult})
		require.Equal(t, optio.EFORBIDDEN, optio.ErrorCode(err))
		// Even a self-recorded date that turns 18 tomorrow never opens the gate.
		nearly := now.AddDate(-18, 0, 1)
		u, err = db.UpdateProfile(ctx, st.ID, optio.ProfileUpdate{BirthDate: &nearly})
		require.NoError(t, err)
		require.False(t, u.PublicAllowed(now.AddDate(0, 0, 3)), "a student's own date never makes them an adult for the gate")

		// The parent records "no consent" with a birth date: theirs stands.
		pb := now.AddDate(-12, 0, 0)
		u, err = db.SetParentConsent(ctx, parent.ID, st.ID, false, &pb)
		require.NoError(t, err)
		require.Equal(t, optio.SourceParent, u.BirthDateFact.Source)
		require.Equal(t, optio.SourceParent, u.ConsentFact.Source)
		require.WithinDuration(t, now, u.ConsentFact.At, time.Minute)
		young := now.AddDate(-10, 0, 0)
		for _, d := range []time.Time{adult, young} {
			_, err = db.UpdateProfile(ctx, st.ID, optio.ProfileUpdate{BirthDate: &d})
			require.Equal(t, optio.EFORBIDDEN, optio.ErrorCode(err))
			require.Contains(t, err.(interface{ Error() string }).Error(), "birth_date")
		}
		u, err = db.UserByID(ctx, st.ID)
		require.NoError(t, err)
		require.Equal(t, pb.Format(time.DateOnly), u.BirthDate.Format(time.DateOnly), "unchanged")

		// An administrator records an adult's birth date: the gate opens.
		u, err = db.RecordBirthDate(ctx, "", st.ID, adult, optio.SourceAdmin)
		require.NoError(t, err)
		require.True(t, u.PublicAllowed(now))
		_, err = db.RecordBirthDate(ctx, st.ID, st.ID, adult, optio.SourceStudent)
		require.Equal(t, optio.EINVALID, optio.ErrorCode(err))
	})
}

// TestSessionsListEndAndPasswordChange: sessions are listed without their
// tokens, end one at a time or all at once, and a password change ends the
// others.
func TestSessionsListEndAndPasswordChange(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := storetest.MustCreateUser(t, db, optio.RoleParent, "Ada", "Ray")
		other := storetest.MustCreateUser(t, db, optio.RoleParent, "Bo", "Ray")
		for _, h := range []string{"h1", "h2", "h3"} {
			_, err := db.CreateSession(ctx, u.ID, h, time.Hour)
			require.NoError(t, err)
		}
		_, err := db.CreateSession(ctx, other.ID, "h-other", time.Hour)
		require.NoError(t, err)
		require.NoError(t, db.TouchSession(ctx, "h2", "Firefox on Linux"))
		list, err := db.ListSessions(ctx, u.ID, "h2")
		require.NoError(t, err)
		require.Len(t, list, 3)
		var current []optio.SessionInfo
		for _, s := range list {
			if s.Current {
				current = append(current, s)
			}
		}
		require.Len(t, current, 1)
		require.Equal(t, "Firefox on Linux", current[0].Device)

		others, err := db.ListSessions(ctx, other.ID, "")
		require.NoError(t, err)
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(db.DeleteUserSession(ctx, u.ID, others[0].ID)), "not someone else's")
		require.NoError(t, db.DeleteUserSession(ctx, u.ID, list[len(list)-1].ID))

		require.NoError(t, db.SetPassword(ctx, u.ID, "new-hash", "h2"))
		list, err = db.ListSessions(ctx, u.ID, "h2")
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.True(t, list[0].Current)
		h, err := db.PasswordHash(ctx, u.ID)
		require.NoError(t, err)
		require.Equal(t, "new-hash", h)

		n, err := db.DeleteOtherSessions(ctx, u.ID, "")
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		_, err = db.SessionUser(ctx, "h2")
		require.Equal(t, optio.EUNAUTHORIZED, optio.ErrorCode(err))
		_, err = db.SessionUser(ctx, "h-other")
		require.NoError(t, err, "another user's sessions stay")
	})
}
