package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/optio-edu/optio"
)

const signingKeyCols = `kid, purpose, alg, private_key, created_at, retired_at`

func scanSigningKey(s scanner) (optio.SigningKey, error) {
	var k optio.SigningKey
	var retired sql.NullTime
	if err := s.Scan(&k.KID, &k.Purpose, &k.Alg, &k.PrivateKey, &k.CreatedAt, &retired); err != nil {
		return k, err
	}
	k.CreatedAt = k.CreatedAt.UTC()
	if retired.Valid {
		t := retired.Time.UTC()
		k.RetiredAt = &t
	}
	return k, nil
}

// signingKeys lists purpose's keys: the active one first, then retired ones
// newest first.
func (db *DB) signingKeys(ctx context.Context, q querier, purpose string) ([]optio.SigningKey, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+signingKeyCols+` FROM signing_keys WHERE purpose = $1
		ORDER BY retired_at IS NOT NULL, created_at DESC, kid DESC`, purpose)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []optio.SigningKey
	for rows.Next() {
		k, err := scanSigningKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// SigningKeys implements optio.BadgeStore. Retiring a key of another
// algorithm and inserting the new one happen in one transaction; the
// partial unique index on active keys makes a racing process's insert fail,
// and that process then reads the winner's key.
func (db *DB) SigningKeys(ctx context.Context, purpose, alg string, generate func() (string, error)) ([]optio.SigningKey, error) {
	keys, err := db.signingKeys(ctx, db.R, purpose)
	if err != nil {
		return nil, fmt.Errorf("signing keys %s: %w", purpose, err)
	}
	if len(keys) > 0 && keys[0].RetiredAt == nil && keys[0].Alg == alg {
		return keys, nil
	}
	if _, err := db.rotate(ctx, purpose, alg, generate, true); err != nil && !isConflict(err) {
		return nil, err
	}
	keys, err = db.signingKeys(ctx, db.W, purpose)
	if err != nil {
		return nil, fmt.Errorf("signing keys %s: %w", purpose, err)
	}
	return keys, nil
}

// RotateSigningKey implements optio.BadgeStore.
func (db *DB) RotateSigningKey(ctx context.Context, purpose, alg string, generate func() (string, error)) (*optio.SigningKey, error) {
	return db.rotate(ctx, purpose, alg, generate, false)
}

// rotate retires the active key and stores a new one. onlyIfStale leaves an
// active key of alg alone (another process got there first).
func (db *DB) rotate(ctx context.Context, purpose, alg string, generate func() (string, error), onlyIfStale bool) (*optio.SigningKey, error) {
	key, err := generate()
	if err != nil {
		return nil, fmt.Errorf("signing key %s: generate: %w", purpose, err)
	}
	k := optio.SigningKey{KID: newID(), Purpose: purpose, Alg: alg, PrivateKey: key, CreatedAt: db.now()}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		// One rotation of a purpose at a time: two first callers on
		// PostgreSQL both counted no key, and the later one's update then
		// retired the key the other had just stored and handed out.
		// SQLite's single writer already serializes them.
		if db.Dialect == Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('signing_key'), hashtext($1))`, purpose); err != nil {
				return err
			}
		}
		if onlyIfStale {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM signing_keys WHERE purpose = $1 AND retired_at IS NULL AND alg = $2`,
				purpose, alg).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return optio.Errorf(optio.ECONFLICT, "An active signing key exists.")
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET retired_at = $1 WHERE purpose = $2 AND retired_at IS NULL`,
			k.CreatedAt, purpose); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (kid, purpose, alg, private_key, created_at) VALUES ($1,$2,$3,$4,$5)`,
			k.KID, purpose, alg, key, k.CreatedAt)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", purpose, err)
	}
	return &k, nil
}
