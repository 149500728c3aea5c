package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/optio-edu/optio"
)

// workTables are the rows that make an account hold work of its own: what a
// student did, what a family wrote, who follows whom. LinkAccounts folds an
// account into the other only when it holds none of them, so linking never
// has to merge two histories.
var workTables = []struct{ table, column string }{
	{"quest_task_completions", "user_id"},
	{"spark_assignment_submissions", "user_id"},
	{"files", "owner_id"},
	{"xp_ledger", "user_id"},
	{"user_badges", "user_id"},
	{"tutor_conversations", "user_id"},
	{"observer_links", "observer_id"},
	{"observer_links", "student_id"},
	{"observer_invitations", "created_by"},
	{"completion_comments", "author_id"},
}

func (db *DB) holdsWorkTx(ctx context.Context, tx *sql.Tx, userID string) (bool, error) {
	for _, w := range workTables {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM `+w.table+` WHERE `+w.column+` = $1 LIMIT 1) x`, userID).Scan(&n); err != nil {
			return false, translate(err)
		}
		if n > 0 {
			return true, nil
		}
	}
	return false, nil
}

// LinkAccounts implements optio.AccountStore: sparkUserID is the signed-in
// account Spark vouches for, passwordUserID the account whose password the
// caller just proved. The account without work of its own is folded into
// the other: its Spark link, family links and course enrolments move, it is
// deleted, and the survivor keeps the password, the Spark link and the
// Spark-verified email. When both hold work, nothing changes (ECONFLICT).
func (db *DB) LinkAccounts(ctx context.Context, sparkUserID, passwordUserID string) (*optio.User, error) {
	if !validID(sparkUserID) || !validID(passwordUserID) {
		return nil, notFound("User")
	}
	var survivor string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		load := func(id string) (*optio.User, string, bool, error) {
			var hash sql.NullString
			u, err := scanUser(extraScanner{tx.QueryRowContext(ctx, `SELECT `+userCols+`, password_hash FROM users WHERE id = $1`+db.forUpdate(), id), []any{&hash}})
			if err != nil {
				return nil, "", false, translateNotFound(err, "User")
			}
			var linked int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM lms_integrations WHERE user_id = $1 AND platform = $2`, id, optio.PlatformSpark).Scan(&linked); err != nil {
				return nil, "", false, translate(err)
			}
			return u, hash.String, linked > 0, nil
		}
		s, _, sLinked, err := load(sparkUserID)
		if err != nil {
			return err
		}
		p, pHash, pLinked, err := load(passwordUserID)
		if err != nil {
			return err
		}
		switch {
		case !sLinked:
			return optio.Errorf(optio.EFORBIDDEN, "Sign in through Spark first: linking joins your Spark account to your Optio password account.")
		case s.ID == p.ID:
			return optio.Errorf(optio.ECONFLICT, "These are the same account.")
		case pLinked:
			return optio.Errorf(optio.ECONFLICT, "That Optio account is already linked to a Spark account.")
		case pHash == "":
			return optio.Errorf(optio.ECONFLICT, "That Optio account has no password.")
		case s.Role != p.Role:
			return optio.Errorf(optio.ECONFLICT, "Your Spark account is a %s and that Optio account a %s; only accounts of the same kind can be linked.", s.Role, p.Role)
		}
		sWork, err := db.holdsWorkTx(ctx, tx, s.ID)
		if err != nil {
			return err
		}
		from, into := s, p
		if sWork {
			pWork, err := db.holdsWorkTx(ctx, tx, p.ID)
			if err != nil {
				return err
			}
			if pWork {
				return optio.Errorf(optio.ECONFLICT, "Both accounts already hold work of their own, so they cannot be joined here. Ask an Optio administrator to merge them.")
			}
			from, into = p, s
		}
		now := db.now()
		// Move what the folded account has that is not work: its Spark
		// link, family links and enrolments (rows the survivor already has
		// stay as they are).
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`UPDATE lms_integrations SET user_id = $2, linked_via = 'account_link', updated_at = $3 WHERE user_id = $1`, []any{from.ID, into.ID, now}},
			{`INSERT INTO parent_links (parent_id, student_id, linked_via, created_at) SELECT $2, student_id, linked_via, created_at
				FROM parent_links WHERE parent_id = $1 AND student_id <> $2 ON CONFLICT DO NOTHING`, []any{from.ID, into.ID}},
			{`INSERT INTO parent_links (parent_id, student_id, linked_via, created_at) SELECT parent_id, $2, linked_via, created_at
				FROM parent_links WHERE student_id = $1 AND parent_id <> $2 ON CONFLICT DO NOTHING`, []any{from.ID, into.ID}},
			{`INSERT INTO spark_enrollments (user_id, spark_course_id, status, occurred_at, updated_at) SELECT $2, spark_course_id, status, occurred_at, $3
				FROM spark_enrollments WHERE user_id = $1 ON CONFLICT DO NOTHING`, []any{from.ID, into.ID, now}},
			{`INSERT INTO user_quests (user_id, quest_id, status, started_at, updated_at) SELECT $2, quest_id, status, started_at, $3
				FROM user_quests WHERE user_id = $1 ON CONFLICT DO NOTHING`, []any{from.ID, into.ID, now}},
		} {
			if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, from.ID); err != nil {
			return err
		}
		// The survivor keeps the password and the email Spark vouches for
		// (the password account's own, unproven, when Spark gave none).
		email, verified := s.Email, s.EmailVerified
		if email == "" {
			email, verified = p.Email, p.EmailVerified
		}
		var e any
		if email != "" {
			e = email
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, email = $2, displaced_email = NULL, email_verified = $3, updated_at = $4 WHERE id = $5`,
			pHash, e, verified && email != "", now, into.ID); err != nil {
			return err
		}
		survivor = into.ID
		return db.auditTx(ctx, tx, into.ID, "account.linked", into.ID, map[string]any{"folded_user_id": from.ID,
			"spark_account": s.ID, "password_account": p.ID})
	})
	if err != nil {
		return nil, fmt.Errorf("link accounts: %w", err)
	}
	return db.UserByID(ctx, survivor)
}

// SetPassword implements optio.AccountStore: it replaces the password hash
// and ends every other session of the user in the same transaction, so a
// stolen session does not outlive the password change.
func (db *DB) SetPassword(ctx context.Context, userID, passwordHash, keepTokenHash string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3`, passwordHash, db.now(), userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("User")
		}
		ended, err := db.deleteSessionsTx(ctx, tx, userID, keepTokenHash)
		if err != nil {
			return err
		}
		return db.auditTx(ctx, tx, userID, "account.password_changed", userID, map[string]any{"sessions_ended": ended})
	})
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

func (db *DB) deleteSessionsTx(ctx context.Context, ex execer, userID, keepTokenHash string) (int64, error) {
	res, err := ex.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2`, userID, keepTokenHash)
	if err != nil {
		return 0, translate(err)
	}
	return res.RowsAffected()
}

// DeleteOtherSessions implements optio.AccountStore ("sign out
// everywhere"): every session of the user but keepTokenHash's ends (all of
// them when it is ""). It returns how many ended.
func (db *DB) DeleteOtherSessions(ctx context.Context, userID, keepTokenHash string) (int64, error) {
	n, err := db.deleteSessionsTx(ctx, db.W, userID, keepTokenHash)
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	return n, nil
}

// DeleteUserSession implements optio.AccountStore: it ends one of the
// user's own sessions by id (ENOTFOUND for anyone else's).
func (db *DB) DeleteUserSession(ctx context.Context, userID, sessionID string) error {
	if !validID(sessionID) {
		return notFound("Session")
	}
	res, err := db.exec(ctx, `DELETE FROM sessions WHERE id = $1 AND user_id = $2`, sessionID, userID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("Session")
	}
	return nil
}

// ListSessions implements optio.AccountStore: the user's unexpired
// sessions, most recently used first; currentTokenHash marks the caller's.
func (db *DB) ListSessions(ctx context.Context, userID, currentTokenHash string) ([]optio.SessionInfo, error) {
	rows, err := db.query(ctx, `SELECT id, created_at, last_seen_at, expires_at, user_agent, token_hash = $2
		FROM sessions WHERE user_id = $1 AND expires_at > $3 ORDER BY COALESCE(last_seen_at, created_at) DESC, id`, userID, currentTokenHash, db.now())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []optio.SessionInfo{}
	for rows.Next() {
		var s optio.SessionInfo
		var seen sql.NullTime
		if err := rows.Scan(&s.ID, &s.CreatedAt, &seen, &s.ExpiresAt, &s.Device, &s.Current); err != nil {
			return nil, err
		}
		s.LastSeenAt = s.CreatedAt
		if seen.Valid {
			s.LastSeenAt = seen.Time
		}
		s.CreatedAt, s.LastSeenAt, s.ExpiresAt = s.CreatedAt.UTC(), s.LastSeenAt.UTC(), s.ExpiresAt.UTC()
		out = append(out, s)
	}
	return out, rows.Err()
}

// sessionTouchEvery is how stale last_seen_at may get before a request
// writes it again: the list shows "last seen" to a few minutes, and a
// signed-in page view does not cost a write.
const sessionTouchEvery = 5 * time.Minute

// TouchSession implements optio.AccountStore: it records that the session
// was used now from device (a coarse description), writing only when the
// stored time is older than a few minutes or the device changed.
func (db *DB) TouchSession(ctx context.Context, tokenHash, device string) error {
	now := db.now()
	_, err := db.exec(ctx, `UPDATE sessions SET last_seen_at = $1, user_agent = $2
		WHERE token_hash = $3 AND (last_seen_at IS NULL OR last_seen_at < $4 OR user_agent <> $2)`, now, device, tokenHash, now.Add(-sessionTouchEvery))
	return err
}

// PasswordHash implements optio.AccountStore: the user's password hash, ""
// for an account without a password (Spark only).
func (db *DB) PasswordHash(ctx context.Context, userID string) (string, error) {
	if !validID(userID) {
		return "", notFound("User")
	}
	var h sql.NullString
	if err := db.R.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = $1`, userID).Scan(&h); err != nil {
		return "", translateNotFound(err, "User")
	}
	return h.String, nil
}

// SparkLinked implements optio.AccountStore: whether a Spark identity is
// linked to the user.
func (db *DB) SparkLinked(ctx context.Context, userID string) (bool, error) {
	if !validID(userID) {
		return false, nil
	}
	var n int
	if err := db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM lms_integrations WHERE user_id = $1 AND platform = $2`, userID, optio.PlatformSpark).Scan(&n); err != nil {
		return false, translate(err)
	}
	return n > 0, nil
}
