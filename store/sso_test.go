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
