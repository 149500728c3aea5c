package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// firstLoginFixture is a PostgreSQL store where courses c-1 (mapped to a
// quest its students join) and c-2 (recorded, unmapped) are known, and
// students met only in a submission webhook in c-1 are provisional.
func firstLoginFixture(t *testing.T, students ...string) *store.DB {
	t.Helper()
	db := storetest.Open(t, store.Postgres, nil)
	ctx := context.Background()
	_, err := db.SparkSSOLogin(ctx, optio.SSOLogin{Identity: optio.SparkIdentity{SparkUserID: "seed", Email: "seed@school.test",
		GivenName: "Sid", FamilyName: "Seed", Role: optio.RoleStudent}, Nonce: "seed", NonceExpiry: time.Now().Add(time.Hour),
		SparkCourseIDs: []string{"c-1", "c-2"}, SessionTokenHash: "seed", SessionTTL: time.Hour})
	require.NoError(t, err)
	_, err = db.MapSparkCourse(ctx, "c-1", optio.CourseMapInput{CreateNew: true, Title: "Biology"})
	require.NoError(t, err)
	for _, s := range students {
		_, err := db.AcceptSparkSubmission(ctx, "wh-"+s, optio.SparkSubmissionEvent{SparkUserID: s, SparkAssignmentID: "a-1",
			SparkCourseID: "c-1", Text: "essay", FilesJSON: []byte(`[]`), SubmittedAt: time.Now()})
		require.NoError(t, err)
		u, err := db.UserBySparkID(ctx, s)
		require.NoError(t, err)
		require.True(t, u.Provisional)
	}
	return db
}

// firstLogin is a student's login link from Spark. Each test gives its
// students a family name of its own: the slug claims are advisory locks,
// which the tests' schemas in one database share.
func firstLogin(sub, nonce, family string) optio.SSOLogin {
	return optio.SSOLogin{Identity: optio.SparkIdentity{SparkUserID: sub, Email: sub + "@school.test", GivenName: " Mia ",
		FamilyName: family, Role: optio.RoleStudent}, Nonce: nonce, NonceExpiry: time.Now().Add(time.Hour),
		SparkCourseIDs: []string{"c-1", "c-2", "c-1"}, SessionTokenHash: "hash-" + nonce, SessionTTL: time.Hour, SessionDevice: "Firefox"}
}

// withoutIdentity is u without what differs between two students created
// alike: id, email, slug and times.
func withoutIdentity(u *optio.User) optio.User {
	c := *u
	c.ID, c.Email, c.PortfolioSlug, c.CreatedAt, c.UpdatedAt = "", "", "", time.Time{}, time.Time{}
	return c
}

// loginState is what a login left for userID: enrolments, quests joined and
// sessions (by device).
func loginState(t *testing.T, db *store.DB, userID string) string {
	t.Helper()
	var s string
	require.NoError(t, db.R.QueryRowContext(context.Background(), `SELECT
		(SELECT string_agg(spark_course_id || ':' || status, ',' ORDER BY spark_course_id) FROM spark_enrollments WHERE user_id = $1)
		|| ' quests:' || (SELECT string_agg(q.title || ':' || uq.status, ',') FROM user_quests uq JOIN quests q ON q.id = uq.quest_id WHERE uq.user_id = $1)
		|| ' sessions:' || (SELECT string_agg(user_agent, ',') FROM sessions WHERE user_id = $1)`, userID).Scan(&s))
	return s
}

// loginsAtOnce signs sub in n times at once (n tabs, n links) and requires
// every login to succeed.
func loginsAtOnce(t *testing.T, db *store.DB, n int, sub, family string) []*optio.SSOResult {
	t.Helper()
	results := make([]*optio.SSOResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = db.SparkSSOLogin(context.Background(), firstLogin(sub, fmt.Sprint("n-", i), family))
		})
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i], "login %d", i)
	}
	return results
}

// The first sign-in of a student a webhook created is one statement on
// PostgreSQL, and leaves what the full transaction leaves: the same user
// (names trimmed, email verified, no longer provisional, a slug of their
// own), a session, both enrolments, the mapped quest joined, and a nonce
// that a replay cannot use.
func TestFirstSSOLoginInOneStatementLeavesWhatTheTransactionLeaves(t *testing.T) {
	t.Parallel()
	db := firstLoginFixture(t, "stu-one", "stu-tx")
	ctx := context.Background()

	one, err := db.FirstStudentLogin(ctx, firstLogin("stu-one", "n-one", "Lopez"))
	require.NoError(t, err)
	require.NotNil(t, one, "the one-statement login applies to a webhook-created student")
	tx, err := db.SSOLoginInTransaction(ctx, firstLogin("stu-tx", "n-tx", "Lopez"))
	require.NoError(t, err)

	require.Equal(t, "mialopez", one.User.PortfolioSlug)
	require.Equal(t, "mialopez-2", tx.User.PortfolioSlug)
	require.Equal(t, "Mia", one.User.GivenName)
	require.False(t, one.User.Provisional)
	require.True(t, one.User.EmailVerified)
	require.Equal(t, "stu-one@school.test", one.User.Email)
	require.Equal(t, 1, one.QuestsEnrolled)
	require.Equal(t, tx.QuestsEnrolled, one.QuestsEnrolled)
	require.Equal(t, tx.Created, one.Created)

	require.Equal(t, withoutIdentity(tx.User), withoutIdentity(one.User))
	for _, r := range []*optio.SSOResult{one, tx} {
		stored, err := db.UserByID(ctx, r.User.ID)
		require.NoError(t, err)
		require.Equal(t, withoutIdentity(r.User), withoutIdentity(stored), "the result is the stored user")
		require.Equal(t, r.User.PortfolioSlug, stored.PortfolioSlug)
	}

	require.Equal(t, "c-1:enrolled,c-2:enrolled quests:Biology:active sessions:Firefox", loginState(t, db, one.User.ID))
	require.Equal(t, loginState(t, db, tx.User.ID), loginState(t, db, one.User.ID))
	u, err := db.SessionUser(ctx, "hash-n-one")
	require.NoError(t, err)
	require.Equal(t, one.User.ID, u.ID)

	// A replay of the link is refused through the usual entry point, and
	// opens no session.
	replay := firstLogin("stu-one", "n-one", "Lopez")
	replay.SessionTokenHash = "hash-replay"
	_, err = db.SparkSSOLogin(ctx, replay)
	require.Equal(t, optio.ETokenReplayed, optio.ErrorCode(err))
	_, err = db.SessionUser(ctx, "hash-replay")
	require.Equal(t, optio.EUNAUTHORIZED, optio.ErrorCode(err))

	// A second login (a new link) changes nothing and joins nothing.
	again, err := db.SparkSSOLogin(ctx, firstLogin("stu-one", "n-again", "Lopez"))
	require.NoError(t, err)
	require.Equal(t, "mialopez", again.User.PortfolioSlug)
	require.Zero(t, again.QuestsEnrolled)
}

// When the full transaction has more to do than the one statement can, the
// statement writes nothing, not even the nonce, and leaves the login to it:
// here another account proved it owns the email, so the student stays
// provisional without it.
func TestFirstSSOLoginLeavesTheUnusualCasesToTheTransaction(t *testing.T) {
	t.Parallel()
	db := firstLoginFixture(t, "stu-a")
	ctx := context.Background()
	_, err := db.CreateUser(ctx, optio.NewUser{Email: "stu-a@school.test", GivenName: "Other", FamilyName: "Person",
		Role: optio.RoleStudent, EmailVerified: true})
	require.NoError(t, err)

	in := firstLogin("stu-a", "n-1", "Ortiz")
	res, err := db.FirstStudentLogin(ctx, in)
	require.NoError(t, err)
	require.Nil(t, res)
	_, err = db.SessionUser(ctx, in.SessionTokenHash)
	require.Equal(t, optio.EUNAUTHORIZED, optio.ErrorCode(err))

	res, err = db.SparkSSOLogin(ctx, in)
	require.NoError(t, err, "the nonce was not consumed")
	require.True(t, res.User.Provisional)
	require.Empty(t, res.User.Email)
	require.Equal(t, "miaortiz", res.User.PortfolioSlug)

	// A course Optio has not recorded needs the transaction too.
	in = firstLogin("stu-b", "n-2", "Ortiz")
	in.SparkCourseIDs = []string{"c-new"}
	_, err = db.ResolveSparkUser(ctx, optio.SparkIdentity{SparkUserID: "stu-b"}, optio.LinkedViaWebhook)
	require.NoError(t, err)
	res, err = db.FirstStudentLogin(ctx, in)
	require.NoError(t, err)
	require.Nil(t, res)
}

// Concurrent first sign-ins of one student (two tabs, two links) all
// succeed and agree on one slug, which does not change afterwards.
func TestConcurrentFirstSSOLoginsOfOneStudentKeepOneSlug(t *testing.T) {
	t.Parallel()
	db := firstLoginFixture(t, "stu-c")
	ctx := context.Background()
	const n = 8
	for _, res := range loginsAtOnce(t, db, n, "stu-c", "Nakamura") {
		require.Equal(t, "mianakamura", res.User.PortfolioSlug)
	}
	u, err := db.UserBySparkID(ctx, "stu-c")
	require.NoError(t, err)
	require.Equal(t, "mianakamura", u.PortfolioSlug)
	var sessions int
	require.NoError(t, db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE user_id = $1`, u.ID).Scan(&sessions))
	require.Equal(t, n, sessions)
}

// A slug committed after the login's statement began (here while it waited
// for the student's row) is not taken again: once the statement holds the
// slug's claim it asks for the committed state (portfolio_slug_committed),
// so it takes the next slug instead of failing on the unique index, which
// would roll back every login batched with it.
func TestFirstSSOLoginSkipsASlugCommittedWhileItWaited(t *testing.T) {
	t.Parallel()
	db := firstLoginFixture(t, "stu-w", "stu-other")
	ctx := context.Background()
	w, err := db.UserBySparkID(ctx, "stu-w")
	require.NoError(t, err)
	other, err := db.UserBySparkID(ctx, "stu-other")
	require.NoError(t, err)

	hold, err := db.W.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer hold.Rollback() //nolint:errcheck // committed below
	var holder int
	require.NoError(t, hold.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&holder))
	_, err = hold.ExecContext(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, w.ID)
	require.NoError(t, err)
	_, err = hold.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext('miawaite'))`, store.SlugLockClass)
	require.NoError(t, err)

	type result struct {
		res *optio.SSOResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := db.FirstStudentLogin(ctx, firstLogin("stu-w", "n-w", "Waite"))
		done <- result{res, err}
	}()
	require.Eventually(t, func() bool {
		var waiting bool
		require.NoError(t, db.R.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE $1::int = ANY (pg_blocking_pids(pid)))`, holder).Scan(&waiting))
		return waiting
	}, 30*time.Second, 10*time.Millisecond, "the login waits for the student's row")
	_, err = hold.ExecContext(ctx, `UPDATE users SET portfolio_slug = 'miawaite' WHERE id = $1`, other.ID)
	require.NoError(t, err)
	require.NoError(t, hold.Commit())

	r := <-done
	require.NoError(t, r.err)
	require.NotNil(t, r.res, "the one statement completed the login instead of failing on the unique index")
	require.Equal(t, "miawaite-2", r.res.User.PortfolioSlug)
}

// The first sign-in of a student Optio has never met is one statement on
// PostgreSQL too, and leaves what the transaction leaves: a student with the
// admin's default visibility, linked to Spark as met by SSO, signed in,
// enrolled, in the mapped quest; a replay is refused; and a student whose
// email an account already holds is left to the transaction, with nothing
// written.
func TestNewStudentSSOLoginInOneStatementLeavesWhatTheTransactionLeaves(t *testing.T) {
	t.Parallel()
	db := firstLoginFixture(t)
	ctx := context.Background()
	admin := storetest.MustCreateUser(t, db, optio.RoleAdmin, "Ada", "Admin")
	require.NoError(t, db.SetSparkDefaultVisibility(ctx, admin.ID, optio.VisibilityUnlisted))

	one, err := db.NewStudentLogin(ctx, firstLogin("new-one", "n-one", "Quinn"))
	require.NoError(t, err)
	require.NotNil(t, one, "the one-statement login applies to a student never met")
	tx, err := db.SSOLoginInTransaction(ctx, firstLogin("new-tx", "n-tx", "Quinn"))
	require.NoError(t, err)

	require.True(t, one.Created)
	require.Equal(t, tx.Created, one.Created)
	require.Equal(t, "miaquinn", one.User.PortfolioSlug)
	require.Equal(t, "miaquinn-2", tx.User.PortfolioSlug)
	require.Equal(t, optio.VisibilityUnlisted, one.User.Visibility)
	require.Equal(t, "Mia", one.User.GivenName)
	require.Equal(t, 1, one.QuestsEnrolled)
	require.Equal(t, tx.QuestsEnrolled, one.QuestsEnrolled)
	require.Equal(t, withoutIdentity(tx.User), withoutIdentity(one.User))
	var via []string
	rows, err := db.R.QueryContext(ctx, `SELECT linked_via FROM lms_integrations WHERE external_user_id IN ('new-one', 'new-tx') ORDER BY external_user_id`)
	require.NoError(t, err)
	for rows.Next() {
		var v string
		require.NoError(t, rows.Scan(&v))
		via = append(via, v)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{optio.LinkedViaSSO, optio.LinkedViaSSO}, via)
	for _, r := range []*optio.SSOResult{one, tx} {
		stored, err := db.UserBySparkID(ctx, map[*optio.SSOResult]string{one: "new-one", tx: "new-tx"}[r])
		require.NoError(t, err)
		require.Equal(t, r.User.ID, stored.ID)
		require.Equal(t, withoutIdentity(r.User), withoutIdentity(stored))
	}
	require.Equal(t, "c-1:enrolled,c-2:enrolled quests:Biology:active sessions:Firefox", loginState(t, db, one.User.ID))
	require.Equal(t, loginState(t, db, tx.User.ID), loginState(t, db, one.User.ID))

	replay := firstLogin("new-one", "n-one", "Quinn")
	replay.SessionTokenHash = "hash-replay"
	_, err = db.SparkSSOLogin(ctx, replay)
	require.Equal(t, optio.ETokenReplayed, optio.ErrorCode(err))

	// An account holds the email: nothing is written, the transaction decides.
	_, err = db.CreateUser(ctx, optio.NewUser{Email: "new-held@school.test", GivenName: "Held", FamilyName: "Email",
		Role: optio.RoleStudent, EmailVerified: false})
	require.NoError(t, err)
	in := firstLogin("new-held", "n-held", "Quinn")
	res, err := db.NewStudentLogin(ctx, in)
	require.NoError(t, err)
	require.Nil(t, res)
	_, err = db.UserBySparkID(ctx, "new-held")
	require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err))
	res, err = db.SparkSSOLogin(ctx, in)
	require.NoError(t, err, "the nonce was not consumed")
	require.True(t, res.Created, "the unverified account loses the email to a new student (the transaction's rule)")
}

// Concurrent first sign-ins of one student Optio has never met (two tabs)
// all succeed and make one student, with one slug.
func TestConcurrentNewStudentSSOLoginsMakeOneStudent(t *testing.T) {
	t.Parallel()
	db := firstLoginFixture(t)
	ctx := context.Background()
	results := loginsAtOnce(t, db, 8, "new-c", "Reyes")
	for _, res := range results {
		require.Equal(t, results[0].User.ID, res.User.ID)
	}
	var users, links int
	require.NoError(t, db.R.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM users WHERE portfolio_slug LIKE 'miareyes%'),
		(SELECT COUNT(*) FROM lms_integrations WHERE external_user_id = 'new-c')`).Scan(&users, &links))
	require.Equal(t, 1, users)
	require.Equal(t, 1, links)
}
