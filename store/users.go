package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/optio-edu/optio"
)

const userColsT = `{a}id, COALESCE({a}email,''), {a}given_name, {a}family_name, {a}role, COALESCE({a}portfolio_slug,''),
	{a}portfolio_visibility, {a}birth_date, {a}parent_consent, {a}provisional, {a}created_at, {a}updated_at,
	{a}email_verified, ({a}password_hash IS NOT NULL), COALESCE({a}birth_date_source,''), {a}birth_date_set_at,
	COALESCE({a}parent_consent_source,''), {a}parent_consent_set_at`

var userCols = prefixed("", userColsT)

type scanner interface{ Scan(dest ...any) error }

func scanUser(s scanner) (*optio.User, error) {
	var u optio.User
	var birth, birthAt, consentAt sql.NullTime
	var birthSrc, consentSrc string
	if err := s.Scan(&u.ID, &u.Email, &u.GivenName, &u.FamilyName, &u.Role, &u.PortfolioSlug,
		&u.Visibility, &birth, &u.ParentConsent, &u.Provisional, &u.CreatedAt, &u.UpdatedAt,
		&u.EmailVerified, &u.HasPassword, &birthSrc, &birthAt, &consentSrc, &consentAt); err != nil {
		return nil, err
	}
	if birth.Valid {
		b := birth.Time.UTC()
		u.BirthDate = &b
	}
	u.BirthDateFact = factSource(birthSrc, birthAt)
	u.ConsentFact = factSource(consentSrc, consentAt)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return &u, nil
}

func factSource(src string, at sql.NullTime) *optio.FactSource {
	if src == "" {
		return nil
	}
	f := &optio.FactSource{Source: src}
	if at.Valid {
		f.At = at.Time.UTC()
	}
	return f
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
		e, err := optio.NormalizeEmail("email", in.Email)
		if err != nil {
			return nil, err
		}
		// For a self-registration, an address still used to sign in to an
		// account it was displaced from (displaced_email) is taken too. A
		// proven owner (Spark, an administrator) takes it regardless.
		if !in.EmailVerified {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE displaced_email = $1`, e).Scan(&n); err != nil {
				return nil, translate(err)
			}
			if n > 0 {
				return nil, &optio.Error{Code: optio.ECONFLICT, Message: "An account with this email already exists."}
			}
		}
		email = e
	}
	var hash any
	if in.PasswordHash != "" {
		hash = in.PasswordHash
	}
	insert := func(slug any) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, password_hash, given_name, family_name, role,
			portfolio_slug, provisional, email_verified, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$10)`,
			id, email, hash, strings.TrimSpace(in.GivenName), strings.TrimSpace(in.FamilyName), in.Role, slug, in.Provisional,
			in.EmailVerified && email != nil, now)
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
// it. On PostgreSQL open transactions claim different slugs
// (claimSlugPostgres), but one committed after the allocation's snapshot can
// still hold the slug; the UNIQUE index makes the write fail, and instead of
// failing the sign-up (or reporting the violation as a taken email) the
// write is rolled back to a savepoint and retried with the next free slug,
// which by then sees the winner's committed row. Other errors, including an email conflict, are
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
	if db.Dialect == Postgres {
		return db.claimSlugPostgres(ctx, tx, base)
	}
	rows, err := tx.QueryContext(ctx, `SELECT portfolio_slug FROM users WHERE portfolio_slug = $1 OR portfolio_slug GLOB $2`, base, base+"-*")
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

// slugLockClass is the first key of the transaction advisory locks that
// claimSlugPostgres takes on candidate slugs ('slug' in ASCII); the second
// is the slug's hashtext. The two-key form cannot collide with the
// migration lock's one-key form.
const slugLockClass = 0x736c7567

// claimSlugPostgres is allocateSlug on PostgreSQL, in one statement that
// also claims the slug for this transaction: the first candidate that no
// committed user holds and no open transaction has claimed (a transaction
// advisory lock on the slug, held until commit or rollback). Without the
// claim, concurrent first logins of students with one name all picked the
// same free slug, and each waited on the unique index for the previous
// one's whole transaction to commit before retrying with the next: a queue
// of sign-ins, each as long as all the ones before it (docs/PERFORMANCE.md).
// Now each takes a different slug at once. A slug committed after this
// statement's snapshot, by a claim that held the lock until then, is seen by
// portfolio_slug_committed (a fresh snapshot; migration 00032) once the lock
// is taken, so the unique index does not refuse the update (under load that
// rolled back a whole group-commit batch; withFreshSlug still retries if it
// does). The candidates are scanned in order and the scan stops at the first
// claimed (LIMIT 1 with no ORDER BY, which would evaluate the lock for every
// candidate); a taken slug is never locked (the CASE).
func (db *DB) claimSlugPostgres(ctx context.Context, tx *sql.Tx, base string) (string, error) {
	var slug string
	err := tx.QueryRowContext(ctx, `WITH `+claimSlugSQL("$1", "$2", "$3", "$4", "TRUE")+` SELECT slug FROM claimed_slug`,
		base, base+"-%", slugAttempts, slugLockClass).Scan(&slug)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("allocate a portfolio slug for %q: %d sign-ins with this name at once", base, slugAttempts)
	}
	return slug, translate(err)
}

// claimSlugSQL is claimSlugPostgres's statement as two common table
// expressions, taken_slug and claimed_slug (one row: the slug claimed, or
// none), for use inside a larger statement: base, like (base-%), attempts
// and lockClass are its parameters' placeholders, and the claim is made
// only when the SQL condition when holds.
func claimSlugSQL(base, like, attempts, lockClass, when string) string {
	return `taken_slug AS MATERIALIZED (
			SELECT portfolio_slug AS slug FROM users WHERE portfolio_slug = ` + base + ` OR portfolio_slug LIKE ` + like + `
		), claimed_slug AS MATERIALIZED (
			SELECT c.slug FROM generate_series(1, (SELECT COUNT(*) FROM taken_slug)::int + ` + attempts + `) AS n,
				LATERAL (SELECT CASE WHEN n = 1 THEN ` + base + `::text ELSE ` + base + `::text || '-' || n END AS slug) c
			WHERE (` + when + `) AND CASE WHEN EXISTS (SELECT 1 FROM taken_slug t WHERE t.slug = c.slug) THEN FALSE
				WHEN NOT pg_try_advisory_xact_lock(` + lockClass + `, hashtext(c.slug)) THEN FALSE
				ELSE NOT portfolio_slug_committed(c.slug) END
			LIMIT 1
		)`
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

// UserCredentials returns a user by sign-in email with their password hash
// ("" when they have none, e.g. Spark-only accounts). The email is
// normalized (optio.NormalizeEmail); an unverified account whose email a
// Spark account has since claimed still signs in with it (displaced_email),
// and an account that holds the email with a password comes first.
func (db *DB) UserCredentials(ctx context.Context, email string) (*optio.User, string, error) {
	email, err := optio.NormalizeEmail("email", email)
	if err != nil {
		return nil, "", notFound("User")
	}
	var hash sql.NullString
	u, err := scanUser(extraScanner{db.R.QueryRowContext(ctx, `SELECT `+userCols+`, password_hash FROM users
		WHERE email = $1 OR displaced_email = $1
		ORDER BY CASE WHEN password_hash IS NULL THEN 1 ELSE 0 END, CASE WHEN email = $1 THEN 0 ELSE 1 END LIMIT 1`, email), []any{&hash}})
	if err != nil {
		return nil, "", translateNotFound(err, "User")
	}
	return u, hash.String, nil
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
				return err
			}
		}
		if p.BirthDate != nil {
			if err := db.selfBirthDateTx(ctx, tx, userID, *p.BirthDate, now); err != nil {
				return err
			}
		}
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, userID))
		return translateNotFound(err, "User")
	})
	return u, err
}

// selfBirthDateTx records a birth date a user gives for themselves. Age is
// what opens a minor's portfolio to strangers, so it is refused when a
// parent, an administrator or Spark recorded one (theirs stands), and when
// it would make the user 18 or older now: only those sources can say a
// student is an adult. Even a date accepted here never opens the consent
// gate by itself (optio.User.AdultForConsent), so waiting for a
// self-recorded 18th birthday does not either.
func (db *DB) selfBirthDateTx(ctx context.Context, tx *sql.Tx, userID string, birth, now time.Time) error {
	refuse := func(code, why string) error {
		return &optio.Error{Code: code, Message: "Your birth date cannot be changed here.", Fields: map[string]string{"birth_date": why}}
	}
	birth = time.Date(birth.Year(), birth.Month(), birth.Day(), 0, 0, 0, 0, time.UTC)
	if birth.After(now) || birth.Before(now.AddDate(-120, 0, 0)) {
		return &optio.Error{Code: optio.EINVALID, Message: "The profile change is not valid.", Fields: map[string]string{"birth_date": "must be a real birth date"}}
	}
	var src sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT birth_date_source FROM users WHERE id = $1`+db.forUpdate(), userID).Scan(&src); err != nil {
		return translateNotFound(err, "User")
	}
	if src.Valid && src.String != optio.SourceStudent {
		return refuse(optio.EFORBIDDEN, "was recorded by "+(&optio.FactSource{Source: src.String}).Label()+"; only they can change it")
	}
	if !birth.AddDate(18, 0, 0).After(now) {
		return refuse(optio.EFORBIDDEN, "would make you 18 or older; only a parent or your school can record that")
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET birth_date = $1, birth_date_source = $2, birth_date_set_at = $3, birth_date_set_by = $4,
		updated_at = $3 WHERE id = $4`, birth, optio.SourceStudent, now, userID); err != nil {
		return translate(err)
	}
	return db.auditTx(ctx, tx, userID, "birth_date.recorded", userID, map[string]any{"source": optio.SourceStudent, "birth_date": birth.Format(time.DateOnly)})
}

// RecordBirthDate implements optio.AccountStore: a birth date recorded by a
// parent, an administrator or Spark, which the student cannot change.
func (db *DB) RecordBirthDate(ctx context.Context, actorID, studentID string, birth time.Time, source string) (*optio.User, error) {
	switch source {
	case optio.SourceParent, optio.SourceAdmin, optio.SourceSpark:
	default:
		return nil, optio.Errorf(optio.EINVALID, "A birth date is recorded by a parent, an administrator or Spark, not %q.", source)
	}
	var u *optio.User
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.recordBirthDateTx(ctx, tx, actorID, studentID, birth, source); err != nil {
			return err
		}
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, studentID))
		return translateNotFound(err, "Student")
	})
	if err != nil {
		return nil, fmt.Errorf("record birth date: %w", err)
	}
	return u, nil
}

func (db *DB) recordBirthDateTx(ctx context.Context, tx *sql.Tx, actorID, studentID string, birth time.Time, source string) error {
	if r, err := roleOfTx(ctx, tx, studentID); err != nil || r != optio.RoleStudent {
		return notFound("Student")
	}
	now := db.now()
	birth = time.Date(birth.Year(), birth.Month(), birth.Day(), 0, 0, 0, 0, time.UTC)
	if _, err := tx.ExecContext(ctx, `UPDATE users SET birth_date = $1, birth_date_source = $2, birth_date_set_at = $3, birth_date_set_by = $4,
		updated_at = $3 WHERE id = $5`, birth, source, now, nullString(actorID), studentID); err != nil {
		return translate(err)
	}
	return db.auditTx(ctx, tx, actorID, "birth_date.recorded", studentID, map[string]any{"source": source, "birth_date": birth.Format(time.DateOnly)})
}

// CreateSession stores a session for a token hash.
func (db *DB) CreateSession(ctx context.Context, userID, tokenHash string, ttl time.Duration) (*optio.Session, error) {
	s, err := db.createSessionTx(ctx, db.W, userID, tokenHash, ttl, "")
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
func (db *DB) createSessionTx(ctx context.Context, ex execer, userID, tokenHash string, ttl time.Duration, device string) (*optio.Session, error) {
	now := db.now()
	s := &optio.Session{ID: newID(), UserID: userID, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	_, err := ex.ExecContext(ctx, `INSERT INTO sessions (id, token_hash, user_id, expires_at, created_at, last_seen_at, user_agent) VALUES ($1,$2,$3,$4,$5,$5,$6)`,
		s.ID, tokenHash, userID, s.ExpiresAt, now, device)
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
	_, err := db.exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash)
	return err
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
