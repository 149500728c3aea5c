package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/optio-edu/optio"
)

const userColsT = `{a}id, COALESCE({a}email,''), {a}given_name, {a}family_name, {a}role, COALESCE({a}portfolio_slug,''),
	{a}portfolio_visibility, {a}birth_date, {a}parent_consent, {a}provisional, {a}created_at, {a}updated_at`

var userCols = prefixed("", userColsT)

type scanner interface{ Scan(dest ...any) error }

func scanUser(s scanner) (*optio.User, error) {
	var u optio.User
	var birth sql.NullTime
	if err := s.Scan(&u.ID, &u.Email, &u.GivenName, &u.FamilyName, &u.Role, &u.PortfolioSlug,
		&u.Visibility, &birth, &u.ParentConsent, &u.Provisional, &u.CreatedAt, &u.UpdatedAt); err != nil {
		return nil, err
	}
	if birth.Valid {
		b := birth.Time.UTC()
		u.BirthDate = &b
	}
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return &u, nil
}

// CreateUser inserts a user with a fresh portfolio slug (students only). The
// email must be unique (ECONFLICT otherwise).
func (db *DB) CreateUser(ctx context.Context, in optio.NewUser) (*optio.User, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var u *optio.User
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		u, err = db.createUserTx(ctx, tx, in)
		return err
	})
	if err != nil {
		if optio.ErrorCode(err) == optio.ECONFLICT {
			return nil, &optio.Error{Code: optio.ECONFLICT, Message: "An account with this email already exists."}
		}
		return nil, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

func (db *DB) createUserTx(ctx context.Context, tx *sql.Tx, in optio.NewUser) (*optio.User, error) {
	now := db.now()
	id := newID()
	var email any
	if in.Email != "" {
		email = strings.ToLower(strings.TrimSpace(in.Email))
	}
	var hash any
	if in.PasswordHash != "" {
		hash = in.PasswordHash
	}
	insert := func(slug any) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, password_hash, given_name, family_name, role,
			portfolio_slug, provisional, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$9)`,
			id, email, hash, strings.TrimSpace(in.GivenName), strings.TrimSpace(in.FamilyName), in.Role, slug, in.Provisional, now)
		return err
	}
	if in.Role == optio.RoleStudent && strings.TrimSpace(in.GivenName+in.FamilyName) != "" {
		if _, err := db.withFreshSlug(ctx, tx, in.GivenName, in.FamilyName, func(slug string) error { return insert(slug) }); err != nil {
			return nil, err
		}
	} else if err := insert(nil); err != nil {
		return nil, translate(err)
	}
	return scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
}

// slugAttempts bounds how often a write is retried after concurrent
// transactions took the slug it was about to use; each lost round means
// another transaction won one, so this covers that many simultaneous
// sign-ups with the same name.
const slugAttempts = 50

// withFreshSlug allocates the first free slug for a name and runs write with
// it. On PostgreSQL two transactions can pick the same free slug at once; the
// UNIQUE index makes the later one fail, and instead of failing the sign-up
// (or reporting the violation as a taken email) the write is rolled back to a
// savepoint and retried with the next free slug, which by then sees the
// winner's committed row. Other errors, including an email conflict, are
// returned translated. SQLite serializes writers, so there it never retries.
func (db *DB) withFreshSlug(ctx context.Context, tx *sql.Tx, given, family string, write func(slug string) error) (string, error) {
	for range slugAttempts {
		slug, err := db.allocateSlug(ctx, tx, given, family)
		if err != nil {
			return "", err
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT portfolio_slug`); err != nil {
			return "", translate(err)
		}
		err = write(slug)
		if err == nil {
			if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT portfolio_slug`); err != nil {
				return "", translate(err)
			}
			return slug, nil
		}
		if !isSlugConflict(err) {
			return "", translate(err)
		}
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT portfolio_slug`); err != nil {
			return "", translate(err)
		}
	}
	return "", fmt.Errorf("allocate a portfolio slug for %q: still taken after %d attempts", optio.SlugBase(given, family), slugAttempts)
}

// allocateSlug finds the first free slug for a name: base, base-2, base-3…
// Slugs are never reused or changed once given. Both lookups are index
// range scans, not a scan of every user: base is [a-z0-9]+ (SlugBase), and
// the prefix match is GLOB on SQLite (its LIKE ignores case, which no index
// serves) and LIKE on PostgreSQL (served by users_portfolio_slug_prefix).
func (db *DB) allocateSlug(ctx context.Context, tx *sql.Tx, given, family string) (string, error) {
	base := optio.SlugBase(given, family)
	prefix := `portfolio_slug LIKE $2`
	pattern := base + "-%"
	if db.Dialect == SQLite {
		prefix, pattern = `portfolio_slug GLOB $2`, base+"-*"
	}
	rows, err := tx.QueryContext(ctx, `SELECT portfolio_slug FROM users WHERE portfolio_slug = $1 OR `+prefix, base, pattern)
	if err != nil {
		return "", translate(err)
	}
	defer rows.Close()
	taken := map[string]bool{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return "", err
		}
		taken[s] = true
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	if !taken[base] {
		return base, nil
	}
	for i := 2; ; i++ {
		if s := fmt.Sprintf("%s-%d", base, i); !taken[s] {
			return s, nil
		}
	}
}

// ensureSlugTx gives a student who has none (a provisional user promoted, or
// a role change) a slug.
func (db *DB) ensureSlugTx(ctx context.Context, tx *sql.Tx, u *optio.User) error {
	if u.Role != optio.RoleStudent || u.PortfolioSlug != "" {
		return nil
	}
	s, err := db.withFreshSlug(ctx, tx, u.GivenName, u.FamilyName, func(slug string) error {
		_, err := tx.ExecContext(ctx, `UPDATE users SET portfolio_slug = $1 WHERE id = $2`, slug, u.ID)
		return err
	})
	if err != nil {
		return err
	}
	u.PortfolioSlug = s
	return nil
}

// UserByID returns a user or ENOTFOUND.
func (db *DB) UserByID(ctx context.Context, id string) (*optio.User, error) {
	if !validID(id) {
		return nil, notFound("User")
	}
	u, err := scanUser(db.R.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	if err != nil {
		return nil, translateNotFound(err, "User")
	}
	return u, nil
}

// UserCredentials returns a user by email with their password hash ("" when
// they have none, e.g. Spark-only accounts).
func (db *DB) UserCredentials(ctx context.Context, email string) (*optio.User, string, error) {
	var hash sql.NullString
	row := db.R.QueryRowContext(ctx, `SELECT `+userCols+`, password_hash FROM users WHERE email = $1`,
		strings.ToLower(strings.TrimSpace(email)))
	var u optio.User
	var birth sql.NullTime
	err := row.Scan(&u.ID, &u.Email, &u.GivenName, &u.FamilyName, &u.Role, &u.PortfolioSlug,
		&u.Visibility, &birth, &u.ParentConsent, &u.Provisional, &u.CreatedAt, &u.UpdatedAt, &hash)
	if err != nil {
		return nil, "", translateNotFound(err, "User")
	}
	if birth.Valid {
		b := birth.Time.UTC()
		u.BirthDate = &b
	}
	return &u, hash.String, nil
}

// UpdateProfile changes the fields a user controls about their portfolio.
func (db *DB) UpdateProfile(ctx context.Context, userID string, p optio.ProfileUpdate) (*optio.User, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var u *optio.User
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		now := db.now()
		if p.Visibility != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET portfolio_visibility = $1, updated_at = $2 WHERE id = $3`, *p.Visibility, now, userID); err != nil {
				return translate(err)
			}
		}
		if p.BirthDate != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET birth_date = $1, updated_at = $2 WHERE id = $3`, *p.BirthDate, now, userID); err != nil {
				return translate(err)
			}
		}
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, userID))
		return translateNotFound(err, "User")
	})
	return u, err
}

// CreateSession stores a session for a token hash.
func (db *DB) CreateSession(ctx context.Context, userID, tokenHash string, ttl time.Duration) (*optio.Session, error) {
	s, err := db.createSessionTx(ctx, db.W, userID, tokenHash, ttl)
	if err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	return s, nil
}

// execer is a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// createSessionTx inserts a session through ex (the pool, or the caller's
// transaction, as an SSO login does).
func (db *DB) createSessionTx(ctx context.Context, ex execer, userID, tokenHash string, ttl time.Duration) (*optio.Session, error) {
	now := db.now()
	s := &optio.Session{ID: newID(), UserID: userID, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	_, err := ex.ExecContext(ctx, `INSERT INTO sessions (id, token_hash, user_id, expires_at, created_at) VALUES ($1,$2,$3,$4,$5)`,
		s.ID, tokenHash, userID, s.ExpiresAt, now)
	if err != nil {
		return nil, translate(err)
	}
	return s, nil
}

// SessionUser returns the user of an unexpired session, or EUNAUTHORIZED.
func (db *DB) SessionUser(ctx context.Context, tokenHash string) (*optio.User, error) {
	u, err := scanUser(db.R.QueryRowContext(ctx, `SELECT `+prefixed("u.", userColsT)+` FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND s.expires_at > $2`, tokenHash, db.now()))
	if err != nil {
		if optio.ErrorCode(translate(err)) == optio.ENOTFOUND {
			return nil, &optio.Error{Code: optio.EUNAUTHORIZED, Message: "Please sign in."}
		}
		return nil, translate(err)
	}
	return u, nil
}

// DeleteSession revokes a session (logout).
func (db *DB) DeleteSession(ctx context.Context, tokenHash string) error {
	_, err := db.W.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash)
	return translate(err)
}

// prefixed fills a column-list template's {a} markers with a table alias.
func prefixed(alias, template string) string { return strings.ReplaceAll(template, "{a}", alias) }

func translateNotFound(err error, what string) error {
	if err == nil {
		return nil
	}
	if optio.ErrorCode(translate(err)) == optio.ENOTFOUND {
		return notFound(what)
	}
	return translate(err)
}
