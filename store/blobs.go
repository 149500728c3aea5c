package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"
)

// TouchBlob records that the blob under key was just stored or found
// already stored by an upload or a sync, before its file row exists: the
// blob collector keeps a blob used after its cutoff even while no file row
// refers to it yet (filestore.Options.Touch).
func (db *DB) TouchBlob(ctx context.Context, key string) error {
	_, err := db.exec(ctx, `INSERT INTO blob_uses (blob_key, used_at) VALUES ($1, $2)
		ON CONFLICT (blob_key) DO UPDATE SET used_at = excluded.used_at`, key, db.now())
	return err
}

// UnreferencedBlobs returns those of keys that no file row refers to (as a
// file or a preview of one) and that were not stored or reused since
// before: the blobs the collector may delete.
func (db *DB) UnreferencedBlobs(ctx context.Context, keys []string, before time.Time) ([]string, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	keep := map[string]bool{}
	in, args := keyList(keys, 1)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`SELECT DISTINCT blob_key FROM files WHERE blob_key IN (` + in + `)`, args},
		{`SELECT blob_key FROM blob_uses WHERE blob_key IN (` + in + `) AND used_at >= $` + strconv.Itoa(len(keys)+1), append(args[:len(args):len(args)], before.UTC())},
	} {
		rows, err := db.query(ctx, q.sql, q.args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return nil, translate(err)
			}
			keep[k] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, translate(err)
		}
	}
	var out []string
	for _, k := range keys {
		if !keep[k] {
			out = append(out, k)
		}
	}
	return out, nil
}

// CollectBlob deletes the blob under key through del if, checked again now,
// no file row names it and nothing stored or reused it since cutoff; it
// reports whether it did. The check and del run while the blob's use row is
// locked, and TouchBlob writes that row, so a Put that touches the blob
// waits until the deletion is done — and then finds the blob gone and
// uploads it again — or touches it first and the blob is kept.
func (db *DB) CollectBlob(ctx context.Context, key string, cutoff time.Time, del func(ctx context.Context) error) (bool, error) {
	deleted := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		// A blob stored before use rows existed gets one, so there is a row to lock.
		if _, err := tx.ExecContext(ctx, `INSERT INTO blob_uses (blob_key, used_at) VALUES ($1, $2) ON CONFLICT (blob_key) DO NOTHING`,
			key, time.Unix(0, 0).UTC()); err != nil {
			return err
		}
		lock := ""
		if db.Dialect == Postgres {
			lock = " FOR UPDATE" // SQLite's write transaction (_txlock=immediate) already excludes TouchBlob
		}
		var usedAt time.Time
		if err := tx.QueryRowContext(ctx, `SELECT used_at FROM blob_uses WHERE blob_key = $1`+lock, key).Scan(&usedAt); err != nil {
			return err
		}
		var referenced bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM files WHERE blob_key = $1)`, key).Scan(&referenced); err != nil {
			return err
		}
		if referenced || !usedAt.Before(cutoff) {
			return nil
		}
		if err := del(ctx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM blob_uses WHERE blob_key = $1`, key); err != nil {
			return err
		}
		deleted = true
		return nil
	})
	return deleted, err
}

// keyList is "$first, $first+1, …" for keys, and keys as arguments.
func keyList(keys []string, first int) (string, []any) {
	var b strings.Builder
	args := make([]any, len(keys))
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(first+i))
		args[i] = k
	}
	return b.String(), args
}
