package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/optio-edu/optio"
)

// settingSparkDefaultVisibility is the app_settings key of the portfolio
// visibility a new Spark student gets (migration 00018).
const settingSparkDefaultVisibility = "spark_default_visibility"

// SparkDefaultVisibility implements optio.PortfolioStore: public (the
// column's default) until an admin chose another.
func (db *DB) SparkDefaultVisibility(ctx context.Context) (optio.Visibility, error) {
	return db.sparkDefaultVisibilityTx(ctx, db.R)
}

func (db *DB) sparkDefaultVisibilityTx(ctx context.Context, q querier) (optio.Visibility, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM app_settings WHERE key = $1`, settingSparkDefaultVisibility).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return optio.VisibilityPublic, nil
	case err != nil:
		return "", fmt.Errorf("spark default visibility: %w", translate(err))
	}
	return optio.Visibility(v), nil
}

// SetSparkDefaultVisibility implements optio.PortfolioStore, audited.
func (db *DB) SetSparkDefaultVisibility(ctx context.Context, actorID string, v optio.Visibility) error {
	if !v.Valid() {
		return &optio.Error{Code: optio.EINVALID, Message: "The default visibility is not valid.",
			Fields: map[string]string{"visibility": "must be public, unlisted, school or private"}}
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		now := db.now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO app_settings (key, value, updated_at, updated_by) VALUES ($1, $2, $3, $4)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			settingSparkDefaultVisibility, string(v), now, nullString(actorID)); err != nil {
			return err
		}
		return db.auditTx(ctx, tx, actorID, "settings.spark_default_visibility", "", map[string]any{"visibility": v})
	})
}

// applySparkDefaultVisibilityTx gives a student Spark just created the
// admin's default visibility.
func (db *DB) applySparkDefaultVisibilityTx(ctx context.Context, tx *sql.Tx, u *optio.User) error {
	v, err := db.sparkDefaultVisibilityTx(ctx, tx)
	if err != nil || v == u.Visibility {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET portfolio_visibility = $1 WHERE id = $2`, string(v), u.ID); err != nil {
		return translate(err)
	}
	u.Visibility = v
	return nil
}
