package store

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// TouchBlob records that the blob under key was just stored or found
// already stored by an upload or a sync, before its file row exists: the
// blob collector keeps a blob used after its cutoff even while no file row
// refers to it yet (filestore.Options.Touch).
func (db *DB) TouchBlob(ctx context.Context, key string) error {
	_, err := db.W.ExecContext(ctx, `INSERT INTO blob_uses (blob_key, used_at) VALUES ($1, $2)
		ON CONFLICT (blob_key) DO UPDATE SET used_at = excluded.used_at`, key, db.now())
	return translate(err)
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
		rows, err := db.R.QueryContext(ctx, q.sql, q.args...)
		if err != nil {
			return nil, translate(err)
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

// ForgetBlobs deletes the use records of collected blobs, unless one was
// used again since before.
func (db *DB) ForgetBlobs(ctx context.Context, keys []string, before time.Time) error {
	if len(keys) == 0 {
		return nil
	}
	in, args := keyList(keys, 1)
	_, err := db.W.ExecContext(ctx, `DELETE FROM blob_uses WHERE blob_key IN (`+in+`) AND used_at < $`+strconv.Itoa(len(keys)+1),
		append(args, before.UTC())...)
	return translate(err)
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
