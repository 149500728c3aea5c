package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// TestThrottleLocksAndGrows walks one key through a run: Limit attempts are
// answered, the Limit-th locks for Lock, attempts during a lock are refused
// and not counted, each attempt after a lock doubles it up to MaxLock, and a
// run is forgotten a Window after its last lock ended.
func TestThrottleLocksAndGrows(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		clock := optio.NewFakeClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
		db := storetest.Open(t, d, clock)
		rule := optio.ThrottleRule{Scope: "test", Limit: 3, Window: 15 * time.Minute, Lock: time.Minute, MaxLock: 5 * time.Minute}
		hit := func() optio.ThrottleResult {
			t.Helper()
			r, err := db.ThrottleHit(ctx, "k", rule)
			require.NoError(t, err)
			return r
		}
		require.Equal(t, optio.ThrottleResult{Allowed: true, Count: 1}, hit())
		require.Equal(t, optio.ThrottleResult{Allowed: true, Count: 2}, hit())
		require.Equal(t, optio.ThrottleResult{Allowed: true, Count: 3, RetryAfter: time.Minute}, hit(), "the third is answered and locks")
		clock.Advance(20 * time.Second)
		require.Equal(t, optio.ThrottleResult{Allowed: false, Count: 3, RetryAfter: 40 * time.Second}, hit(), "locked: refused, not counted")
		clock.Advance(40 * time.Second)
		require.Equal(t, optio.ThrottleResult{Allowed: true, Count: 4, RetryAfter: 2 * time.Minute}, hit(), "after the lock one attempt, then twice as long")
		clock.Advance(2 * time.Minute)
		require.Equal(t, optio.ThrottleResult{Allowed: true, Count: 5, RetryAfter: 4 * time.Minute}, hit())
		clock.Advance(4 * time.Minute)
		require.Equal(t, optio.ThrottleResult{Allowed: true, Count: 6, RetryAfter: 5 * time.Minute}, hit(), "capped at MaxLock")
		clock.Advance(5*time.Minute + 14*time.Minute)
		require.Equal(t, optio.ThrottleResult{Allowed: true, Count: 7, RetryAfter: 5 * time.Minute}, hit(), "within a window of the lock's end the run goes on")
		clock.Advance(5*time.Minute + 15*time.Minute)
		require.Equal(t, optio.ThrottleResult{Allowed: true, Count: 1}, hit(), "a window after the lock ended the run is forgotten")

		// Forgive takes back an attempt and the lock only it set; Reset forgets.
		hit()
		require.Equal(t, optio.ThrottleResult{Allowed: true, Count: 3, RetryAfter: time.Minute}, hit())
		require.NoError(t, db.ThrottleForgive(ctx, "k"))
		require.Equal(t, optio.ThrottleResult{Allowed: true, Count: 3, RetryAfter: time.Minute}, hit())
		clock.Advance(time.Minute)
		require.Equal(t, optio.ThrottleResult{Allowed: true, Count: 4, RetryAfter: 2 * time.Minute}, hit())
		require.NoError(t, db.ThrottleForgive(ctx, "k"))
		require.Equal(t, optio.ThrottleResult{Allowed: true, Count: 4, RetryAfter: 2 * time.Minute}, hit(), "forgiven: the lock it set is gone")
		require.NoError(t, db.ThrottleReset(ctx, "k"))
		require.Equal(t, optio.ThrottleResult{Allowed: true, Count: 1}, hit())

		// Keys are independent; forgotten rows are pruned.
		r, err := db.ThrottleHit(ctx, "other", rule)
		require.NoError(t, err)
		require.Equal(t, 1, r.Count)
		clock.Advance(16 * time.Minute)
		n, err := db.PruneThrottle(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 2, n)
	})
}

// TestThrottleUnderConcurrency fires 60 attempts at one key at once: exactly
// Limit are counted and answered, the rest refused, on both engines,
// because the count is one statement in the database.
func TestThrottleUnderConcurrency(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rule := optio.ThrottleRule{Scope: "test", Limit: 10, Window: time.Hour, Lock: time.Hour, MaxLock: time.Hour}
		var wg sync.WaitGroup
		var mu sync.Mutex
		allowed := 0
		for range 60 {
			wg.Go(func() {
				r, err := db.ThrottleHit(context.Background(), "burst", rule)
				require.NoError(t, err)
				if r.Allowed {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		require.Equal(t, 10, allowed)
	})
}

// TestStoredBytes sums the sizes of a user's files, and only theirs.
func TestStoredBytes(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := storetest.MustCreateUser(t, db, optio.RoleStudent, "Ann", "Lee")
		b := storetest.MustCreateUser(t, db, optio.RoleStudent, "Ben", "Lee")
		n, err := db.StoredBytes(ctx, a.ID)
		require.NoError(t, err)
		require.Zero(t, n)
		for _, f := range []optio.File{{OwnerID: a.ID, Size: 1000}, {OwnerID: a.ID, Size: 234}, {OwnerID: b.ID, Size: 99}} {
			f.BlobKey, f.SHA256, f.Filename, f.ContentType = "k", "s", "f.txt", "text/plain"
			require.NoError(t, db.CreateFile(ctx, &f))
		}
		n, err = db.StoredBytes(ctx, a.ID)
		require.NoError(t, err)
		require.EqualValues(t, 1234, n)
	})
}
