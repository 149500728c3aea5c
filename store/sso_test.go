package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

func TestSSONoncesAreKeptUntilExpiryThenPurged(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		clock := optio.NewFakeClock(start)
		db := storetest.Open(t, d, clock)
		ctx := context.Background()
		login := func(sub, nonce string) error {
			_, err := db.SparkSSOLogin(ctx, optio.SSOLogin{
				Identity: optio.SparkIdentity{SparkUserID: sub, Email: sub + "@school.test", Role: optio.RoleStudent},
				Nonce:    nonce, NonceExpiry: clock.Now().Add(6 * time.Minute),
			})
			return err
		}
		require.NoError(t, login("s-1", "n-1"))
		require.Equal(t, optio.ETokenReplayed, optio.ErrorCode(login("s-1", "n-1")))
		require.Equal(t, optio.ETokenReplayed, optio.ErrorCode(login("s-2", "n-1")), "a nonce is global, not per user")
		n, err := db.PurgeExpiredSSONonces(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "a live nonce is kept")

		clock.Advance(5 * time.Minute)
		require.Equal(t, optio.ETokenReplayed, optio.ErrorCode(login("s-1", "n-1")))
		clock.Advance(2 * time.Minute) // past the expiry: the token itself can no longer verify
		require.NoError(t, login("s-1", "n-2"))
		n, err = db.PurgeExpiredSSONonces(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		// An expired row not purged yet does not block its nonce forever.
		clock.Advance(7 * time.Minute)
		require.NoError(t, login("s-1", "n-2"))
	})
}

func TestSSOLoginRefusedLeavesNothing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, err := db.SparkSSOLogin(ctx, optio.SSOLogin{Identity: optio.SparkIdentity{SparkUserID: "s-1", Role: optio.RoleStudent},
			Nonce: "a", NonceExpiry: time.Now().Add(time.Minute)})
		require.NoError(t, err)
		_, err = db.SparkSSOLogin(ctx, optio.SSOLogin{Identity: optio.SparkIdentity{SparkUserID: "s-1", Role: optio.RoleParent},
			Nonce: "b", NonceExpiry: time.Now().Add(time.Minute), SparkStudentIDs: []string{"other"}})
		require.Equal(t, optio.ESSORoleMismatch, optio.ErrorCode(err))
		_, err = db.UserBySparkID(ctx, "other")
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err))
		// The refused login's nonce was not consumed.
		_, err = db.SparkSSOLogin(ctx, optio.SSOLogin{Identity: optio.SparkIdentity{SparkUserID: "s-1", Role: optio.RoleStudent},
			Nonce: "b", NonceExpiry: time.Now().Add(time.Minute)})
		require.NoError(t, err)
	})
}

func TestSSOLoginOpensSessionInItsTransaction(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		login := func(role optio.Role, nonce, hash string) (*optio.SSOResult, error) {
			return db.SparkSSOLogin(ctx, optio.SSOLogin{Identity: optio.SparkIdentity{SparkUserID: "s-1", Role: role},
				Nonce: nonce, NonceExpiry: time.Now().Add(time.Minute), SessionTokenHash: hash, SessionTTL: time.Hour})
		}
		res, err := login(optio.RoleStudent, "a", "hash-a")
		require.NoError(t, err)
		u, err := db.SessionUser(ctx, "hash-a")
		require.NoError(t, err)
		require.Equal(t, res.User.ID, u.ID)
		// A refused login (replayed nonce, role mismatch) opens no session.
		_, err = login(optio.RoleStudent, "a", "hash-b")
		require.Equal(t, optio.ETokenReplayed, optio.ErrorCode(err))
		_, err = login(optio.RoleParent, "c", "hash-c")
		require.Equal(t, optio.ESSORoleMismatch, optio.ErrorCode(err))
		for _, h := range []string{"hash-b", "hash-c"} {
			_, err = db.SessionUser(ctx, h)
			require.Equal(t, optio.EUNAUTHORIZED, optio.ErrorCode(err), h)
		}
	})
}

// A returning student's login skips the enrolment writes only when they
// would change nothing (on PostgreSQL the whole login is then one
// statement), and a replay of any of its nonces is refused with no session: a dropped enrolment is re-opened, a course new in
// the token is recorded, and a course left unmapped is mapped once AutoMap
// is on.
func TestReturningSSOLoginEnrolsOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		n := 0
		login := func(courses ...string) *optio.SSOResult {
			t.Helper()
			n++
			res, err := db.SparkSSOLogin(ctx, optio.SSOLogin{
				Identity: optio.SparkIdentity{SparkUserID: "s-1", Email: "s-1@school.test", GivenName: "Ana", Role: optio.RoleStudent},
				Nonce:    fmt.Sprint("n-", n), NonceExpiry: time.Now().Add(time.Minute), SparkCourseIDs: courses,
				SessionTokenHash: fmt.Sprint("h-", n), SessionTTL: time.Hour,
			})
			require.NoError(t, err)
			u, err := db.SessionUser(ctx, fmt.Sprint("h-", n))
			require.NoError(t, err, "the login opened its session")
			require.Equal(t, res.User.ID, u.ID)
			require.Equal(t, "Ana", res.User.GivenName)
			_, err = db.SparkSSOLogin(ctx, optio.SSOLogin{
				Identity: optio.SparkIdentity{SparkUserID: "s-1", Email: "s-1@school.test", GivenName: "Ana", Role: optio.RoleStudent},
				Nonce:    fmt.Sprint("n-", n), NonceExpiry: time.Now().Add(time.Minute), SparkCourseIDs: courses,
				SessionTokenHash: fmt.Sprint("replay-", n), SessionTTL: time.Hour,
			})
			require.Equal(t, optio.ETokenReplayed, optio.ErrorCode(err))
			_, err = db.SessionUser(ctx, fmt.Sprint("replay-", n))
			require.Equal(t, optio.EUNAUTHORIZED, optio.ErrorCode(err), "a replay opens no session")
			return res
		}
		count := func(q string, args ...any) int {
			t.Helper()
			var c int
			require.NoError(t, db.R.QueryRowContext(ctx, q, args...).Scan(&c))
			return c
		}
		first := login("c-1", "c-2")
		require.True(t, first.Created)
		uid := first.User.ID
		enrolled := `SELECT COUNT(*) FROM spark_enrollments WHERE user_id = $1 AND status = 'enrolled'`
		require.Equal(t, 2, count(enrolled, uid))
		require.Zero(t, login("c-1", "c-2").QuestsEnrolled)
		require.Equal(t, 2, count(enrolled, uid))

		_, err := db.AcceptSparkRoster(ctx, "wh-drop", optio.SparkRosterEvent{SparkUserID: "s-1", SparkCourseID: "c-1",
			Action: optio.RosterDrop, OccurredAt: time.Now()})
		require.NoError(t, err)
		require.Equal(t, 1, count(enrolled, uid))
		login("c-1", "c-2")
		require.Equal(t, 2, count(enrolled, uid), "a returning login re-opens a dropped enrolment")

		login("c-1", "c-2", "c-3")
		require.Equal(t, 3, count(enrolled, uid), "a course new in the token is recorded")
		require.Equal(t, 1, count(`SELECT COUNT(*) FROM spark_course_mappings WHERE spark_course_id = 'c-3'`))

		require.Zero(t, count(`SELECT COUNT(*) FROM user_quests WHERE user_id = $1`, uid))
		db = db.WithAutoMap(true)
		login("c-1")
		require.Equal(t, 1, count(`SELECT COUNT(*) FROM user_quests WHERE user_id = $1`, uid),
			"with AutoMap on, the unmapped course is mapped and the student enrolled in its quest")
		require.Zero(t, login("c-1").QuestsEnrolled)
	})
}
