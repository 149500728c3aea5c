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

// The group committer (PostgreSQL) sends the statements waiting together as
// one transaction, yet answers each as if it had run alone: a batch whose
// statements all succeed commits them all once; a statement that fails
// rolls its batch back and every other statement of it runs again on its
// own, so one request's error is never another's and nothing is written
// twice. A statement with no row is an answer, not a failure.
func TestGroupCommitAnswersEachStatementAsItsOwnTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.Open(t, store.Postgres, nil)
	_, err := db.W.ExecContext(ctx, `CREATE TABLE gc_t (id INTEGER PRIMARY KEY, note TEXT NOT NULL)`)
	require.NoError(t, err)
	g := store.GroupCommitOf(db, 1)

	// batch holds the only committer on an advisory lock until all of
	// stmts are queued behind it, so they go as one batch; it returns each
	// statement's answer (the inserted id, or the error).
	batch := func(t *testing.T, stmts ...string) []string {
		lock, err := db.W.Conn(ctx)
		require.NoError(t, err)
		defer lock.Close()
		_, err = lock.ExecContext(ctx, `SELECT pg_advisory_lock(4242)`)
		require.NoError(t, err)
		var wg sync.WaitGroup
		wg.Go(func() {
			var ok bool
			require.NoError(t, g.QueryRow(ctx, `SELECT pg_advisory_lock(4242) IS NULL OR pg_advisory_unlock(4242)`, nil, &ok))
		})
		require.Eventually(t, func() bool {
			var waiting int
			require.NoError(t, db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_stat_activity
				WHERE wait_event = 'advisory' AND query LIKE 'SELECT pg_advisory_lock(4242) IS NULL%'`).Scan(&waiting))
			return waiting == 1
		}, 10*time.Second, 5*time.Millisecond, "the committer takes the lock statement")
		got := make([]string, len(stmts))
		for i, s := range stmts {
			wg.Go(func() {
				var id int
				if err := g.QueryRow(ctx, s, nil, &id); err != nil {
					got[i] = string(optio.ErrorCode(err))
					return
				}
				got[i] = fmt.Sprint(id)
			})
			// queued in order, so later statements see earlier ones
			require.Eventually(t, func() bool { return g.Queued() == i+1 }, 10*time.Second, time.Millisecond)
		}
		_, err = lock.ExecContext(ctx, `SELECT pg_advisory_unlock(4242)`)
		require.NoError(t, err)
		wg.Wait()
		return got
	}
	rows := func() []string {
		r, err := db.R.QueryContext(ctx, `SELECT id, note FROM gc_t ORDER BY id`)
		require.NoError(t, err)
		defer r.Close()
		var out []string
		for r.Next() {
			var id int
			var note string
			require.NoError(t, r.Scan(&id, &note))
			out = append(out, fmt.Sprint(id, note))
		}
		return out
	}

	t.Run("statements that all succeed commit together", func(t *testing.T) {
		before := g.Batches()
		got := batch(t,
			`INSERT INTO gc_t VALUES (1, 'a') RETURNING id`,
			`INSERT INTO gc_t VALUES (2, 'b') RETURNING id`,
			`SELECT id FROM gc_t WHERE id = 2`, // sees the statement before it
			`SELECT id FROM gc_t WHERE id = 99`)
		require.Equal(t, []string{"1", "2", "2", string(optio.ENOTFOUND)}, got)
		require.Equal(t, before+1, g.Batches(), "one batch")
		require.Equal(t, int64(0), g.Rerun())
		require.Equal(t, []string{"1a", "2b"}, rows())
	})

	t.Run("a failing statement fails alone", func(t *testing.T) {
		got := batch(t,
			`INSERT INTO gc_t VALUES (3, 'c') RETURNING id`,
			`INSERT INTO gc_t VALUES (1, 'again') RETURNING id`, // taken
			`INSERT INTO gc_t VALUES (4, 'd') RETURNING id`,
			`SELECT 1 / (id - id) FROM gc_t WHERE id = 1`)
		require.Equal(t, []string{"3", string(optio.ECONFLICT), "4", string(optio.EINTERNAL)}, got)
		require.Equal(t, int64(1), g.Rerun(), "the batch was rolled back and run again one by one")
		require.Equal(t, []string{"1a", "2b", "3c", "4d"}, rows(), "each row once")
	})
}

// A batch that cannot reach the database (no connection to be had, or one
// that broke) answers each of its statements with that error and runs none
// again: it may have committed.
func TestGroupCommitWithoutADatabaseAnswersWithTheError(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.Open(t, store.Postgres, nil)
	g := store.GroupCommitOf(db, 1)
	var one int
	require.NoError(t, g.QueryRow(ctx, `SELECT 1`, nil, &one))
	require.NoError(t, db.W.Close()) // the pool, not the store: the committer keeps running
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			var n int
			require.ErrorContains(t, g.QueryRow(ctx, `SELECT 1`, nil, &n), "database is closed")
		})
	}
	wg.Wait()
	require.Equal(t, int64(0), g.Rerun())
}
