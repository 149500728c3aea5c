package store

import (
	"context"
	"fmt"

	"github.com/optio-edu/optio"
)

// SigningKey implements optio.BadgeStore. The insert is ON CONFLICT DO
// NOTHING on purpose, so when several processes start at once exactly one
// key is kept and every process reads that one back.
func (db *DB) SigningKey(ctx context.Context, purpose string, generate func() (kid, alg, key string, err error)) (string, string, string, error) {
	var kid, alg, key string
	err := db.R.QueryRowContext(ctx, `SELECT kid, alg, private_key FROM signing_keys WHERE purpose = $1`, purpose).Scan(&kid, &alg, &key)
	if err == nil {
		return kid, alg, key, nil
	}
	if optio.ErrorCode(translate(err)) != optio.ENOTFOUND {
		return "", "", "", fmt.Errorf("signing key %s: %w", purpose, translate(err))
	}
	nkid, nalg, nkey, err := generate()
	if err != nil {
		return "", "", "", fmt.Errorf("signing key %s: generate: %w", purpose, err)
	}
	if _, err := db.W.ExecContext(ctx, `INSERT INTO signing_keys (kid, purpose, alg, private_key, created_at) VALUES ($1,$2,$3,$4,$5)
		ON CONFLICT DO NOTHING`, nkid, purpose, nalg, nkey, db.now()); err != nil {
		return "", "", "", fmt.Errorf("signing key %s: %w", purpose, translate(err))
	}
	if err := db.W.QueryRowContext(ctx, `SELECT kid, alg, private_key FROM signing_keys WHERE purpose = $1`, purpose).Scan(&kid, &alg, &key); err != nil {
		return "", "", "", fmt.Errorf("signing key %s: %w", purpose, translate(err))
	}
	return kid, alg, key, nil
}
