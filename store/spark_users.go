package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/optio-edu/optio"
)

// ResolveSparkUser implements optio.SparkIdentityStore in its own transaction.
func (db *DB) ResolveSparkUser(ctx context.Context, id optio.SparkIdentity, via string) (*optio.User, error) {
	var u *optio.User
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		u, err = db.resolveSparkUserTx(ctx, tx, id, via)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("resolve spark user %s: %w", id.SparkUserID, err)
	}
	return u, nil
}

// resolveSparkUserTx is ResolveSparkUser inside a caller's transaction, so a
// webhook can create its provisional student together with the data it
// brings.
func (db *DB) resolveSparkUserTx(ctx context.Context, tx *sql.Tx, id optio.SparkIdentity, via string) (*optio.User, error) {
	u, _, err := db.resolveSparkIdentityTx(ctx, tx, id, via, false)
	return u, err
}

// resolveSparkIdentityTx is the one implementation of Spark identity
// resolution; it also reports whether it created the user. createAdmin lets
// a new user take role admin (an SSO login with SPARK_SSO_ALLOW_ADMIN);
// otherwise an admin role creates a student.
func (db *DB) resolveSparkIdentityTx(ctx context.Context, tx *sql.Tx, id optio.SparkIdentity, via string, createAdmin bool) (*optio.User, bool, error) {
	id.SparkUserID = strings.TrimSpace(id.SparkUserID)
	if id.SparkUserID == "" {
		return nil, false, &optio.Error{Code: optio.EINVALID, Message: "A Spark user id is required."}
	}
	if e, err := optio.NormalizeEmail("email", id.Email); err == nil {
		id.Email = e
	} else {
		// No email, or one Optio's rule refuses (a look-alike): the user is
		// known by their Spark id alone.
		id.Email = ""
	}
	// 1. By Spark link.
	u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+prefixed("u.", userColsT)+` FROM lms_integrations l JOIN users u ON u.id = l.user_id
		WHERE l.platform = $1 AND l.external_user_id = $2`, optio.PlatformSpark, id.SparkUserID))
	switch {
	case err == nil:
		u, err := db.refreshSparkUserTx(ctx, tx, u, id)
		return u, false, err
	case !errors.Is(err, sql.ErrNoRows):
		return nil, false, translate(err)
	}
	// 2. By email: only an account whose ownership of the email was proven
	// (email_verified) and that has no Spark link yet. Anyone can register a
	// password account with any email, so an unverified account is never
	// linked: it loses its claim to the email instead (see displaceEmailTx)
	// and Spark's user gets an account of their own.
	if id.Email != "" {
		u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE email = $1`, id.Email))
		switch {
		case err == nil && !u.EmailVerified:
			if err := db.displaceEmailTx(ctx, tx, u.ID, id.Email, id.SparkUserID, via); err != nil {
				return nil, false, err
			}
		case err == nil:
			var linked int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM lms_integrations WHERE user_id = $1 AND platform = $2`,
				u.ID, optio.PlatformSpark).Scan(&linked); err != nil {
				return nil, false, translate(err)
			}
			if linked == 0 {
				if err := db.linkSparkTx(ctx, tx, u.ID, id.SparkUserID, optio.LinkedViaEmail); err != nil {
					return nil, false, err
				}
				if err := db.auditTx(ctx, tx, "", "spark.linked_by_email", u.ID, map[string]any{"spark_user_id": id.SparkUserID, "via": via}); err != nil {
					return nil, false, err
				}
				u, err := db.refreshSparkUserTx(ctx, tx, u, id)
				return u, false, err
			}
			// The email belongs to an account linked to another Spark user:
			// create this one without the email rather than merge two people.
			id.Email = ""
		case !errors.Is(err, sql.ErrNoRows):
			return nil, false, translate(err)
		}
	}
	// 3. Create. A user first seen in a webhook without an email is provisional.
	role := id.Role
	if role == "" || (role == optio.RoleAdmin && !createAdmin) {
		role = optio.RoleStudent
	}
	created, err := db.createUserTx(ctx, tx, optio.NewUser{Email: id.Email, GivenName: id.GivenName, FamilyName: id.FamilyName,
		Role: role, Provisional: via == optio.LinkedViaWebhook && id.Email == "", EmailVerified: true})
	if err != nil {
		return nil, false, err
	}
	linkVia := optio.LinkedViaSSO
	if via == optio.LinkedViaWebhook {
		linkVia = optio.LinkedViaWebhook
	}
	if err := db.linkSparkTx(ctx, tx, created.ID, id.SparkUserID, linkVia); err != nil {
		return nil, false, err
	}
	if created.Role == optio.RoleStudent {
		if err := db.applySparkDefaultVisibilityTx(ctx, tx, created); err != nil {
			return nil, false, err
		}
	}
	return created, true, nil
}

// refreshSparkUserTx brings names and email up to date from Spark and
// completes a provisional user once SSO vouches for them.
func (db *DB) refreshSparkUserTx(ctx context.Context, tx *sql.Tx, u *optio.User, id optio.SparkIdentity) (*optio.User, error) {
	changed := false
	if id.GivenName != "" && id.GivenName != u.GivenName {
		u.GivenName, changed = strings.TrimSpace(id.GivenName), true
	}
	if id.FamilyName != "" && id.FamilyName != u.FamilyName {
		u.FamilyName, changed = strings.TrimSpace(id.FamilyName), true
	}
	if id.Email != "" && id.Email != u.Email {
		// Spark's new email for its user: taken from an account that never
		// proved it (that account keeps it only as a sign-in name), never
		// from one that did.
		var holder string
		var holderVerified bool
		err := tx.QueryRowContext(ctx, `SELECT id, email_verified FROM users WHERE email = $1 AND id <> $2`, id.Email, u.ID).Scan(&holder, &holderVerified)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			u.Email, u.EmailVerified, changed = id.Email, true, true
		case err != nil:
			return nil, translate(err)
		case !holderVerified:
			if err := db.displaceEmailTx(ctx, tx, holder, id.Email, id.SparkUserID, optio.LinkedViaSSO); err != nil {
				return nil, err
			}
			u.Email, u.EmailVerified, changed = id.Email, true, true
		}
	} else if id.Email != "" && !u.EmailVerified {
		u.EmailVerified, changed = true, true // Spark vouches for the email the account has
	}
	if u.Provisional && u.Email != "" {
		u.Provisional, changed = false, true
	}
	needSlug := u.Role == optio.RoleStudent && u.PortfolioSlug == "" && (u.GivenName != "" || u.FamilyName != "")
	if !changed && !needSlug {
		return u, nil
	}
	var email any
	if u.Email != "" {
		email = u.Email
	}
	set := []any{u.GivenName, u.FamilyName, email, u.Provisional, u.EmailVerified && email != nil, db.now(), u.ID}
	const update = `UPDATE users SET given_name = $1, family_name = $2, email = $3, provisional = $4, email_verified = $5,
		updated_at = $6`
	if !needSlug {
		if _, err := tx.ExecContext(ctx, update+` WHERE id = $7`, set...); err != nil {
			return nil, translate(err)
		}
		return u, nil
	}
	// A student without a slug (a provisional user promoted) gets one in the
	// same update: the update writes nothing if a user holds the slug by
	// then, and the slug is allocated again. On PostgreSQL no open
	// transaction can be writing it (allocateSlug claimed it), so the
	// unique index never waits or fails here.
	for range slugAttempts {
		slug, err := db.allocateSlug(ctx, tx, u.GivenName, u.FamilyName)
		if err != nil {
			return nil, err
		}
		res, err := tx.ExecContext(ctx, update+`, portfolio_slug = $8 WHERE id = $7
			AND NOT EXISTS (SELECT 1 FROM users o WHERE o.portfolio_slug = $8)`, append(set, slug)...)
		if err != nil {
			return nil, translate(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, err
		} else if n == 1 {
			u.PortfolioSlug = slug
			return u, nil
		}
	}
	return nil, fmt.Errorf("allocate a portfolio slug for %q: still taken after %d attempts", optio.SlugBase(u.GivenName, u.FamilyName), slugAttempts)
}

// displaceEmailTx takes email away from an account that never proved it
// owned it (email_verified is false: a self-registered password account),
// because Spark has just vouched that it belongs to one of its users. The
// account keeps it only as its sign-in name (displaced_email) — matched to
// nothing else — unless another displaced account already signs in with
// it. Nothing of the account is given to anyone: if its owner is the Spark
// user, they link the two accounts themselves (LinkAccounts, password
// proven).
func (db *DB) displaceEmailTx(ctx context.Context, tx *sql.Tx, userID, email, sparkUserID, via string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE displaced_email = $1`, email).Scan(&n); err != nil {
		return translate(err)
	}
	var displaced any
	if n == 0 {
		displaced = email
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET email = NULL, displaced_email = $1, updated_at = $2 WHERE id = $3`,
		displaced, db.now(), userID); err != nil {
		return translate(err)
	}
	return db.auditTx(ctx, tx, "", "spark.email_displaced", userID, map[string]any{"spark_user_id": sparkUserID, "via": via})
}

func (db *DB) linkSparkTx(ctx context.Context, tx *sql.Tx, userID, sparkUserID, via string) error {
	now := db.now()
	_, err := tx.ExecContext(ctx, `INSERT INTO lms_integrations (id, user_id, platform, external_user_id, linked_via, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$6)`, newID(), userID, optio.PlatformSpark, sparkUserID, via, now)
	return translate(err)
}

// UserBySparkID returns the user linked to a Spark user id.
func (db *DB) UserBySparkID(ctx context.Context, sparkUserID string) (*optio.User, error) {
	u, err := scanUser(db.R.QueryRowContext(ctx, `SELECT `+prefixed("u.", userColsT)+` FROM lms_integrations l JOIN users u ON u.id = l.user_id
		WHERE l.platform = $1 AND l.external_user_id = $2`, optio.PlatformSpark, sparkUserID))
	if err != nil {
		return nil, translateNotFound(err, "Spark user")
	}
	return u, nil
}
