package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// The SQLite statement cache must be invisible: the same answers as
// unprepared statements when a statement runs again while its rows are
// open, after it is evicted (even while busy), after a failure, and after
// the schema changes under it.
func TestSQLiteStatementCache(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "cache.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = db.W.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)`)
	require.NoError(t, err)
	const insert = `INSERT INTO t (id, name) VALUES ($1, $2)`
	for i := 1; i <= 3; i++ {
		_, err := db.W.ExecContext(ctx, insert, i, fmt.Sprint("n", i))
		require.NoError(t, err)
	}

	t.Run("the same text while its rows are open", func(t *testing.T) {
		tx, err := db.W.BeginTx(ctx, nil)
		require.NoError(t, err)
		defer tx.Rollback()
		const q = `SELECT id, name FROM t WHERE id >= $1 ORDER BY id`
		outer, err := tx.QueryContext(ctx, q, 1)
		require.NoError(t, err)
		var got []string
		for outer.Next() {
			var id int
			var name string
			require.NoError(t, outer.Scan(&id, &name))
			inner, err := tx.QueryContext(ctx, q, id)
			require.NoError(t, err)
			n := 0
			for inner.Next() {
				n++
			}
			require.NoError(t, inner.Close())
			got = append(got, fmt.Sprint(name, ":", n))
		}
		require.NoError(t, outer.Err())
		require.NoError(t, outer.Close())
		require.Equal(t, []string{"n1:3", "n2:2", "n3:1"}, got)
	})

	t.Run("a failure leaves the statement usable", func(t *testing.T) {
		_, err := db.W.ExecContext(ctx, insert, 9, "n1")
		require.ErrorContains(t, err, "UNIQUE")
		_, err = db.W.ExecContext(ctx, insert, 9, "n9")
		require.NoError(t, err)
	})

	t.Run("eviction, also of a statement whose rows are open", func(t *testing.T) {
		// W has one connection: a transaction keeps the rows open on it
		// while other statements run.
		tx, err := db.W.BeginTx(ctx, nil)
		require.NoError(t, err)
		defer tx.Rollback()
		const q = `SELECT name FROM t ORDER BY id`
		open, err := tx.QueryContext(ctx, q)
		require.NoError(t, err)
		require.True(t, open.Next())
		for i := range 2 * stmtCacheSize {
			var n int
			require.NoError(t, tx.QueryRowContext(ctx, fmt.Sprintf(`SELECT COUNT(*) + %d FROM t`, i)).Scan(&n))
			require.Equal(t, 4+i, n)
		}
		var names []string
		for ok := true; ok; ok = open.Next() {
			var name string
			require.NoError(t, open.Scan(&name))
			names = append(names, name)
		}
		require.NoError(t, open.Close())
		require.Equal(t, []string{"n1", "n2", "n3", "n9"}, names)
		var first string
		require.NoError(t, tx.QueryRowContext(ctx, q).Scan(&first))
		require.Equal(t, "n1", first)
	})

	t.Run("a schema change", func(t *testing.T) {
		const q = `SELECT * FROM t WHERE id = $1`
		cols := func() []string {
			rows, err := db.W.QueryContext(ctx, q, 1)
			require.NoError(t, err)
			defer rows.Close()
			c, err := rows.Columns()
			require.NoError(t, err)
			return c
		}
		require.Equal(t, []string{"id", "name"}, cols())
		_, err := db.W.ExecContext(ctx, `ALTER TABLE t ADD COLUMN note TEXT`)
		require.NoError(t, err)
		require.Equal(t, []string{"id", "name", "note"}, cols())
	})
}
