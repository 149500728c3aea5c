package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	"github.com/optio-edu/optio"
)

const awardCols = `id, user_id, badge_id, earned_at, evidence, status_index, identity_salt, revoked_at, revoked_reason`

// scanAward reads an award row (without its badge) and returns its badge id.
func scanAward(s scanner) (*optio.BadgeAward, string, error) {
	var a optio.BadgeAward
	var badgeID, ev string
	var idx sql.NullInt64
	var salt, reason sql.NullString
	var revoked sql.NullTime
	if err := s.Scan(&a.ID, &a.UserID, &badgeID, &a.EarnedAt, &ev, &idx, &salt, &revoked, &reason); err != nil {
		return nil, "", err
	}
	a.EarnedAt = a.EarnedAt.UTC()
	a.Evidence = json.RawMessage(ev)
	if idx.Valid {
		a.StatusIndex = &idx.Int64
	}
	a.Salt = salt.String
	if revoked.Valid {
		t := revoked.Time.UTC()
		a.RevokedAt = &t
		a.RevokedReason = reason.String
	}
	return &a, badgeID, nil
}

// awardWhere reads one award and its badge.
func (db *DB) awardWhere(ctx context.Context, q querier, where string, args ...any) (*optio.BadgeAward, error) {
	a, badgeID, err := scanAward(q.QueryRowContext(ctx, `SELECT `+awardCols+` FROM user_badges WHERE `+where, args...))
	if err != nil {
		return nil, translateNotFound(err, "Earned badge")
	}
	b, err := db.BadgeByID(ctx, badgeID)
	if err != nil {
		return nil, err
	}
	a.Badge = *b
	return a, nil
}

// BadgeAwardByID implements optio.BadgeStore.
func (db *DB) BadgeAwardByID(ctx context.Context, id string) (*optio.BadgeAward, error) {
	if !validID(id) {
		return nil, notFound("Earned badge")
	}
	return db.awardWhere(ctx, db.R, `id = $1`, id)
}

// IssueBadgeCredential implements optio.BadgeStore. The index is drawn at
// random (the status list specification asks for random indexes, so a
// position says nothing about when a badge was earned); the unique index on
// status_index turns a collision into a conflict, and the draw is retried.
// The UPDATE only fills empty columns, so concurrent first issues agree.
func (db *DB) IssueBadgeCredential(ctx context.Context, awardID string, listSize int64, newSalt func() string) (*optio.BadgeAward, error) {
	a, err := db.BadgeAwardByID(ctx, awardID)
	if err != nil {
		return nil, err
	}
	if a.StatusIndex != nil && a.Salt != "" {
		return a, nil
	}
	for range 20 {
		n, err := rand.Int(rand.Reader, big.NewInt(listSize))
		if err != nil {
			return nil, err
		}
		_, err = db.W.ExecContext(ctx, `UPDATE user_badges SET status_index = COALESCE(status_index, $1),
			identity_salt = COALESCE(identity_salt, $2) WHERE id = $3`, n.Int64(), newSalt(), awardID)
		if err == nil {
			return db.awardWhere(ctx, db.W, `id = $1`, awardID)
		}
		if !isConflict(err) {
			return nil, fmt.Errorf("issue credential %s: %w", awardID, translate(err))
		}
	}
	return nil, optio.Errorf(optio.EINTERNAL, "The revocation status list is full.")
}

// RevokeBadgeAward implements optio.BadgeStore. Only an unrevoked award is
// updated, so a retried or concurrent revocation keeps the first reason.
func (db *DB) RevokeBadgeAward(ctx context.Context, awardID, reason, byUserID string) (*optio.BadgeAward, error) {
	reason = strings.TrimSpace(reason)
	switch n := len([]rune(reason)); {
	case n == 0:
		return nil, &optio.Error{Code: optio.EINVALID, Message: "Say why the badge is revoked.", Fields: map[string]string{"reason": "is required"}}
	case n > optio.MaxRevokeReason:
		return nil, &optio.Error{Code: optio.EINVALID, Message: "The reason is too long.",
			Fields: map[string]string{"reason": fmt.Sprintf("at most %d characters", optio.MaxRevokeReason)}}
	}
	if _, err := db.BadgeAwardByID(ctx, awardID); err != nil {
		return nil, err
	}
	var by any
	if validID(byUserID) {
		by = byUserID
	}
	if _, err := db.W.ExecContext(ctx, `UPDATE user_badges SET revoked_at = $1, revoked_reason = $2, revoked_by = $3
		WHERE id = $4 AND revoked_at IS NULL`, db.now(), reason, by, awardID); err != nil {
		return nil, fmt.Errorf("revoke award %s: %w", awardID, translate(err))
	}
	return db.awardWhere(ctx, db.W, `id = $1`, awardID)
}

// RevokedStatusIndexes implements optio.BadgeStore.
func (db *DB) RevokedStatusIndexes(ctx context.Context) ([]int64, error) {
	rows, err := db.query(ctx, `SELECT status_index FROM user_badges WHERE revoked_at IS NOT NULL AND status_index IS NOT NULL ORDER BY status_index`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []int64{}
	for rows.Next() {
		var i int64
		if err := rows.Scan(&i); err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, rows.Err()
}
