package store

import (
	"context"
	"database/sql/driver"
	"fmt"
)

// migrationLockKey names the advisory lock per schema, so deployments (and
// tests) in different schemas of one database do not wait for each other.
const migrationLockKey = `hashtext('optio.migrate.' || COALESCE(current_schema(), ''))`

// WithMigrationLock runs fn while no other process migrates the same
// database, so processes starting together (several `optio serve`, or
// `serve` beside `worker`) migrate one at a time: the first applies the
// migrations, the others wait and then find nothing to do. Store and River
// migrations both run under it.
//
// On PostgreSQL it is a session advisory lock held on a dedicated
// connection. On SQLite one writer at a time is not enough — each process
// would still find the tables missing and try to create them — so it is an
// exclusive lock on a file beside the database ("<db>.migrate-lock"; a no-op
// where the platform has no flock).
func (db *DB) WithMigrationLock(ctx context.Context, fn func() error) error {
	if db.Dialect != Postgres {
		unlock, err := lockFile(ctx, db.sqlitePath+".migrate-lock")
		if err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		defer unlock()
		return fn()
	}
	conn, err := db.W.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migration lock: %w", translate(err))
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(`+migrationLockKey+`)`); err != nil {
		return fmt.Errorf("migration lock: %w", translate(err))
	}
	defer func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+migrationLockKey+`)`); err != nil {
			// Never return a connection still holding the lock to the pool.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	return fn()
}
