package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/optio-edu/optio"
)

// ssoLoginAttempts bounds retries of a login that lost a race (two first
// logins of the same Spark user, or two new students taking the same slug,
// on PostgreSQL) or was aborted to break a deadlock; the retry then finds
// what the winner created.
const ssoLoginAttempts = 3

// SparkSSOLogin implements optio.SSOStore: nonce, identity, role rule,
// course enrolment and parent links commit together or not at all.
func (db *DB) SparkSSOLogin(ctx context.Context, in optio.SSOLogin) (*optio.SSOResult, error) {
	if strings.TrimSpace(in.Nonce) == "" {
		return nil, &optio.Error{Code: optio.EINVALID, Message: "An SSO login needs a nonce."}
	}
	// The one-statement logins on PostgreSQL, the likeliest first; each
	// answers nil, nil when the login is not one it can serve.
	for _, oneStatement := range []func(context.Context, optio.SSOLogin) (*optio.SSOResult, error){
		db.returningStudentLogin, db.firstStudentLogin, db.newStudentLogin,
	} {
		if res, err := oneStatement(ctx, in); err != nil || res != nil {
			if err != nil {
				return nil, fmt.Errorf("sso login %s: %w", in.Identity.SparkUserID, err)
			}
			return res, nil
		}
	}
	var res *optio.SSOResult
	var err error
	for attempt := 1; attempt <= ssoLoginAttempts; attempt++ {
		err = db.inTx(ctx, func(tx *sql.Tx) error {
			var err error
			res, err = db.ssoLoginTx(ctx, tx, in)
			return err
		})
		if optio.ErrorCode(err) != optio.ECONFLICT && !isDeadlock(err) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("sso login %s: %w", in.Identity.SparkUserID, err)
	}
	return res, nil
}

// returningStudentLogin is the usual login of a student Optio knows, in one
// statement on PostgreSQL (one round trip instead of begin, nonce, user,
// session, enrolment check, commit): the nonce and the session are written
// only when ssoLoginTx would change nothing else — the Spark link exists,
// the account is a student with the token's email (verified), names and a
// portfolio slug, no Spark facts came with the token, and every course in
// it is settled (sparkCoursesSettledTx). Otherwise nothing is written and
// it returns nil, nil: the full transaction runs. The nonce rule is
// acceptNonceTx's, in the same statement as the session, so a replay opens
// no session.
func (db *DB) returningStudentLogin(ctx context.Context, in optio.SSOLogin) (*optio.SSOResult, error) {
	id := in.Identity
	if db.Dialect != Postgres || id.Role != optio.RoleStudent || in.BirthDate != nil || in.PublishConsent != nil ||
		in.SessionTokenHash == "" || id.SparkUserID == "" || strings.TrimSpace(id.SparkUserID) != id.SparkUserID {
		return nil, nil
	}
	email, err := optio.NormalizeEmail("email", id.Email)
	if err != nil || email == "" {
		return nil, nil
	}
	now := db.now()
	sessionID := newID()
	args := []any{optio.PlatformSpark, id.SparkUserID, email, id.GivenName, id.FamilyName,
		in.Nonce, in.NonceExpiry.UTC(), now, sessionID, in.SessionTokenHash, now.Add(in.SessionTTL), in.SessionDevice}
	settled, args := db.coursesSettledSQL("u.id", dedupe(in.SparkCourseIDs), args)
	query := `WITH u AS (
			SELECT ` + prefixed("u.", userColsT) + ` FROM lms_integrations l JOIN users u ON u.id = l.user_id
			WHERE l.platform = $1 AND l.external_user_id = $2 AND u.role = 'student'
				AND u.email = $3::text AND u.email_verified AND NOT u.provisional AND COALESCE(u.portfolio_slug, '') <> ''
				AND ($4::text = '' OR u.given_name = $4) AND ($5::text = '' OR u.family_name = $5)
				AND ` + settled + `
		), ` + acceptNonceSQL("u") + `, s AS (
			INSERT INTO sessions (id, token_hash, user_id, expires_at, created_at, last_seen_at, user_agent)
			SELECT $9::uuid, $10::text, u.id, $11::timestamptz, $8, $8, $12::text FROM u, n
		)
		SELECT u.*, EXISTS (SELECT 1 FROM n) FROM u`
	var fresh bool
	var u *optio.User
	err = db.group.queryRow(ctx, query, args, func(row scanner) error {
		var err error
		u, err = scanUser(extraScanner{row, []any{&fresh}})
		return err
	})
	switch {
	case errors.Is(err, sql.ErrNoRows), isDeadlock(err):
		return nil, nil // the transaction decides (see isDeadlock)
	case err != nil:
		return nil, translate(err)
	case !fresh:
		return nil, optio.Errorf(optio.ETokenReplayed, "This sign-in link was already used.")
	}
	return &optio.SSOResult{User: u}, nil
}

// studentLogin is what the one-statement logins of a student
// (firstStudentLogin, newStudentLogin) share: their parameters and the SQL
// of what they write once the student is known. They apply only when a
// login needs nothing but these writes; otherwise they write nothing, not
// even the nonce, and the full transaction runs (ssoLoginTx).
type studentLogin struct {
	// args are the parameters: $1 platform, $2 Spark id, $3 email, $4/$5
	// the given and family names trimmed, $6/$7 nonce and its expiry, $8
	// now, $9–$12 the session, $13–$16 the slug claim (claimSlugSQL), then
	// the caller's own from $17, then the courses.
	args []any
	// courses are the token's courses, deduplicated.
	courses []string
}

// studentLoginArgs returns nil when in is not a student's login that one
// statement can serve on this store: PostgreSQL, a student's token with an
// email, both names, a session and no Spark facts.
func (db *DB) studentLoginArgs(in optio.SSOLogin) *studentLogin {
	id := in.Identity
	given, family := strings.TrimSpace(id.GivenName), strings.TrimSpace(id.FamilyName)
	if db.Dialect != Postgres || id.Role != optio.RoleStudent || in.BirthDate != nil || in.PublishConsent != nil ||
		in.SessionTokenHash == "" || id.SparkUserID == "" || strings.TrimSpace(id.SparkUserID) != id.SparkUserID ||
		given == "" || family == "" {
		return nil
	}
	email, err := optio.NormalizeEmail("email", id.Email)
	if err != nil || email == "" {
		return nil
	}
	now := db.now()
	base := optio.SlugBase(given, family)
	return &studentLogin{courses: dedupe(in.SparkCourseIDs), args: []any{optio.PlatformSpark, id.SparkUserID, email,
		given, family, in.Nonce, in.NonceExpiry.UTC(), now,
		newID(), in.SessionTokenHash, now.Add(in.SessionTTL), in.SessionDevice,
		base, base + "-%", slugAttempts, slugLockClass}}
}

// coursesSQL appends the courses to the parameters and returns the SQL
// condition that every one is recorded and needs no mapping (the
// transaction would record or map it), and the courses as a text[].
func (db *DB) coursesSQL(l *studentLogin) (ready, list string) {
	if len(l.courses) == 0 {
		return "TRUE", "NULL::text[]"
	}
	var in string
	in, l.args = inList(l.courses, l.args)
	return fmt.Sprintf(`(SELECT COUNT(*) FROM spark_course_mappings WHERE spark_course_id IN (%s)
		AND (optio_quest_id IS NOT NULL OR %s)) = %d`, in, db.unmappedStays(), len(l.courses)), "ARRAY[" + in + "]::text[]"
}

// studentLoginWrites is the SQL of a one-statement login once the student
// is known, as the CTE who (one row, id), and the nonce accepted: the
// session, the enrolments (a dropped one re-opened) and the mapped quests
// joined, counted by q (enrollSparkCoursesTx's rules).
func studentLoginWrites(list string) string {
	return `s AS (
			INSERT INTO sessions (id, token_hash, user_id, expires_at, created_at, last_seen_at, user_agent)
			SELECT $9::uuid, $10::text, who.id, $11::timestamptz, $8, $8, $12::text FROM who
		), e AS (
			INSERT INTO spark_enrollments (user_id, spark_course_id, status, occurred_at, updated_at)
			SELECT who.id, c.id, 'enrolled', $8, $8 FROM who, unnest(` + list + `) AS c(id)
			ON CONFLICT (user_id, spark_course_id) DO UPDATE SET status = 'enrolled', updated_at = excluded.updated_at
			WHERE spark_enrollments.status = 'dropped'
		), q AS (
			INSERT INTO user_quests (user_id, quest_id, status, started_at, updated_at)
			SELECT who.id, m.optio_quest_id, 'active', $8, $8
			FROM who, spark_course_mappings m
				LEFT JOIN spark_enrollments pe ON pe.user_id = (SELECT id FROM who) AND pe.spark_course_id = m.spark_course_id
			WHERE m.spark_course_id = ANY (` + list + `) AND m.optio_quest_id IS NOT NULL AND m.auto_enroll_students
				AND COALESCE(pe.status, 'enrolled') <> 'completed'
			ON CONFLICT (user_id, quest_id) DO NOTHING
			RETURNING 1
		)`
}

// acceptNonceSQL is acceptNonceTx's rule as a CTE n over the rows of from.
func acceptNonceSQL(from string) string {
	return `n AS (
			INSERT INTO sso_nonces (nonce, expires_at) SELECT $6::text, $7::timestamptz FROM ` + from + `
			ON CONFLICT (nonce) DO UPDATE SET expires_at = excluded.expires_at WHERE sso_nonces.expires_at < $8
			RETURNING nonce
		)`
}

// runStudentLogin runs a one-statement login whose row is the user's
// columns, the columns scanned into extra, then whether it applies, whether
// the nonce was fresh and how many quests it joined. It answers nil, nil when the login is the transaction's
// to do, including when a unique index refused it (a slug, the email or the
// Spark link committed by another login meanwhile).
func (db *DB) runStudentLogin(ctx context.Context, query string, args []any, created bool, extra ...any) (*optio.SSOResult, error) {
	var applies, fresh bool
	var enrolled int
	var u *optio.User
	err := db.group.queryRow(ctx, query, args, func(row scanner) error {
		var err error
		u, err = scanUser(extraScanner{row, append(extra, &applies, &fresh, &enrolled)})
		return err
	})
	switch {
	case errors.Is(err, sql.ErrNoRows), optio.ErrorCode(translate(err)) == optio.ECONFLICT, isDeadlock(err):
		return nil, nil
	case err != nil:
		return nil, translate(err)
	case !applies:
		return nil, nil // e.g. every candidate slug is held by an open login: the transaction says so
	case !fresh:
		return nil, optio.Errorf(optio.ETokenReplayed, "This sign-in link was already used.")
	}
	return &optio.SSOResult{User: u, Created: created, QuestsEnrolled: enrolled}, nil
}

// firstStudentLogin is the first login of a student Optio met before SSO
// (a webhook or a roster event created them, provisional, with no names,
// email or portfolio slug), in one statement on PostgreSQL instead of a
// transaction of a dozen round trips. It does what ssoLoginTx does for such
// a student when the Spark link exists, the account is a student, no other
// account holds the token's email, and every course in it is recorded and
// needs no mapping: if the nonce is fresh, the names, email (verified) and a
// slug (claimSlugSQL) are written if any differs, then studentLoginWrites.
// The user row is locked first, so a concurrent first login of the same
// student sees this one's slug and keeps it.
func (db *DB) firstStudentLogin(ctx context.Context, in optio.SSOLogin) (*optio.SSOResult, error) {
	l := db.studentLoginArgs(in)
	if l == nil {
		return nil, nil
	}
	// $17/$18: the names as sent, compared as refreshSparkUserTx does.
	l.args = append(l.args, in.Identity.GivenName, in.Identity.FamilyName)
	ready, list := db.coursesSQL(l)
	query := `WITH u AS (
			SELECT ` + prefixed("u.", userColsT) + `, COALESCE(u.portfolio_slug, '') AS cur_slug
			FROM lms_integrations l JOIN users u ON u.id = l.user_id
			WHERE l.platform = $1 AND l.external_user_id = $2 AND u.role = 'student'
				AND NOT EXISTS (SELECT 1 FROM users o WHERE o.email = $3::text AND o.id <> u.id)
				AND ` + ready + `
			FOR NO KEY UPDATE OF u
		), ` + claimSlugSQL("$13", "$14", "$15", "$16", `EXISTS (SELECT 1 FROM u WHERE u.cur_slug = '')`) + `, ok AS (
			SELECT u.id FROM u WHERE u.cur_slug <> '' OR EXISTS (SELECT 1 FROM claimed_slug)
		), ` + acceptNonceSQL("ok") + `, upd AS (
			UPDATE users SET
				given_name = CASE WHEN $17::text <> users.given_name THEN $4::text ELSE users.given_name END,
				family_name = CASE WHEN $18::text <> users.family_name THEN $5::text ELSE users.family_name END,
				email = $3, email_verified = TRUE, provisional = FALSE,
				portfolio_slug = CASE WHEN u.cur_slug = '' THEN (SELECT slug FROM claimed_slug) ELSE users.portfolio_slug END,
				updated_at = $8
			FROM u, n
			WHERE users.id = u.id AND (users.given_name <> $17 OR users.family_name <> $18 OR users.email IS DISTINCT FROM $3
				OR NOT users.email_verified OR users.provisional OR u.cur_slug = '')
			RETURNING ` + prefixed("users.", userColsT) + `, COALESCE(users.portfolio_slug, '')
		), who AS (
			SELECT u.id FROM u, n
		), ` + studentLoginWrites(list) + `
		SELECT r.*, EXISTS (SELECT 1 FROM ok), EXISTS (SELECT 1 FROM n), (SELECT COUNT(*) FROM q)
		FROM (SELECT * FROM upd UNION ALL SELECT * FROM u WHERE NOT EXISTS (SELECT 1 FROM upd)) r`
	var slug string // r's last column, the slug again
	return db.runStudentLogin(ctx, query, l.args, false, &slug)
}

// newStudentLogin is the first login of a student Optio has never met, in
// one statement on PostgreSQL: what ssoLoginTx does when it creates the
// student (resolveSparkIdentityTx's third case) and nothing else is needed:
// no Spark link for them and no account with their email yet, and every
// course recorded and needing no mapping. If the nonce is fresh it creates
// the student (names, verified email, a claimed slug, the admin's default
// visibility), links them to Spark as met by SSO, then studentLoginWrites.
// A concurrent first login of the same student loses on the link's or the
// email's unique index and takes the transaction, which finds this one; a
// replayed nonce, or no slug free, creates nothing and leaves the answer to
// the transaction too.
func (db *DB) newStudentLogin(ctx context.Context, in optio.SSOLogin) (*optio.SSOResult, error) {
	l := db.studentLoginArgs(in)
	if l == nil {
		return nil, nil
	}
	l.args = append(l.args, newID(), newID(), settingSparkDefaultVisibility, string(optio.VisibilityPublic), optio.LinkedViaSSO)
	ready, list := db.coursesSQL(l)
	query := `WITH fresh AS (
			SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM lms_integrations WHERE platform = $1 AND external_user_id = $2)
				AND NOT EXISTS (SELECT 1 FROM users WHERE email = $3::text) AND ` + ready + `
		), ` + claimSlugSQL("$13", "$14", "$15", "$16", `EXISTS (SELECT 1 FROM fresh)`) + `, ok AS (
			SELECT 1 FROM fresh WHERE EXISTS (SELECT 1 FROM claimed_slug)
		), ` + acceptNonceSQL("ok") + `, nu AS (
			INSERT INTO users (id, email, given_name, family_name, role, portfolio_slug, portfolio_visibility, provisional,
				email_verified, created_at, updated_at)
			SELECT $17::uuid, $3::text, $4::text, $5::text, 'student', (SELECT slug FROM claimed_slug),
				COALESCE((SELECT value FROM app_settings WHERE key = $19), $20), FALSE, TRUE, $8, $8
			FROM n
			RETURNING ` + userCols + `
		), link AS (
			INSERT INTO lms_integrations (id, user_id, platform, external_user_id, linked_via, created_at, updated_at)
			SELECT $18::uuid, nu.id, $1, $2, $21, $8, $8 FROM nu
		), who AS (
			SELECT nu.id FROM nu
		), ` + studentLoginWrites(list) + `
		SELECT nu.*, TRUE, TRUE, (SELECT COUNT(*) FROM q) FROM nu`
	return db.runStudentLogin(ctx, query, l.args, true)
}

func (db *DB) ssoLoginTx(ctx context.Context, tx *sql.Tx, in optio.SSOLogin) (*optio.SSOResult, error) {
	if err := db.acceptNonceTx(ctx, tx, in); err != nil {
		return nil, err
	}
	u, created, err := db.resolveSparkIdentityTx(ctx, tx, in.Identity, optio.LinkedViaSSO, in.AllowAdmin)
	if err != nil {
		return nil, err
	}
	existing := u.Role
	if created {
		existing = ""
	}
	role, err := optio.SSORole(existing, in.Identity.Role, in.AllowAdmin)
	if err != nil {
		return nil, err
	}
	if role != u.Role {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET role = $1, updated_at = $2 WHERE id = $3`, role, db.now(), u.ID); err != nil {
			return nil, translate(err)
		}
		if err := db.auditTx(ctx, tx, "", "spark.sso_role_changed", u.ID, map[string]any{"from": u.Role, "to": role}); err != nil {
			return nil, err
		}
		u.Role = role
	}
	res := &optio.SSOResult{User: u, Created: created}
	if in.SessionTokenHash != "" {
		if _, err := db.createSessionTx(ctx, tx, u.ID, in.SessionTokenHash, in.SessionTTL, in.SessionDevice); err != nil {
			return nil, err
		}
	}
	switch u.Role {
	case optio.RoleStudent:
		if err := db.sparkFactsTx(ctx, tx, u.ID, in); err != nil {
			return nil, err
		}
		if in.BirthDate != nil || in.PublishConsent != nil {
			if res.User, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, u.ID)); err != nil {
				return nil, translate(err)
			}
		}
		courses := dedupe(in.SparkCourseIDs)
		if !created {
			settled, err := db.sparkCoursesSettledTx(ctx, tx, u.ID, courses)
			if err != nil {
				return nil, err
			}
			if settled {
				break // a returning student's usual login: nothing to enrol
			}
		}
		if res.QuestsEnrolled, err = db.enrollSparkCoursesTx(ctx, tx, u.ID, courses); err != nil {
			return nil, err
		}
	case optio.RoleParent:
		for _, sid := range dedupe(in.SparkStudentIDs) {
			if sid == strings.TrimSpace(in.Identity.SparkUserID) {
				continue
			}
			linked, err := db.linkSparkChildTx(ctx, tx, u.ID, sid)
			if err != nil {
				return nil, err
			}
			if linked != "" {
				res.LinkedChildren = append(res.LinkedChildren, linked)
			}
		}
	}
	return res, nil
}

// acceptNonceTx records the nonce, or answers ETokenReplayed when a live
// row already holds it. A row whose expiry has passed is taken over: the
// token that brought it can no longer verify. On PostgreSQL a concurrent
// login with the same nonce waits for this transaction and then sees it.
func (db *DB) acceptNonceTx(ctx context.Context, tx *sql.Tx, in optio.SSOLogin) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO sso_nonces (nonce, expires_at) VALUES ($1, $2)
		ON CONFLICT (nonce) DO UPDATE SET expires_at = excluded.expires_at WHERE sso_nonces.expires_at < $3`,
		in.Nonce, in.NonceExpiry.UTC(), db.now())
	if err != nil {
		return translate(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return optio.Errorf(optio.ETokenReplayed, "This sign-in link was already used.")
	}
	return nil
}

// AcceptEmbedNonce implements optio.PortfolioStore: embed tokens share the
// SSO nonce table (a nonce is single-use whatever kind of token carried it).
func (db *DB) AcceptEmbedNonce(ctx context.Context, nonce string, expiry time.Time) error {
	if strings.TrimSpace(nonce) == "" {
		return &optio.Error{Code: optio.EINVALID, Message: "An embed token needs a nonce."}
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		return db.acceptNonceTx(ctx, tx, optio.SSOLogin{Nonce: nonce, NonceExpiry: expiry})
	})
}

// PurgeExpiredSSONonces implements optio.SSOStore.
func (db *DB) PurgeExpiredSSONonces(ctx context.Context) (int64, error) {
	res, err := db.W.ExecContext(ctx, `DELETE FROM sso_nonces WHERE expires_at < $1`, db.now())
	if err != nil {
		return 0, fmt.Errorf("purge sso nonces: %w", translate(err))
	}
	return res.RowsAffected()
}

// enrollSparkCoursesTx records that Spark has the student in courses (kept
// for unmapped courses too; a course first seen here is recorded, and with
// AutoMap mapped) and enrols them in the mapped quests, if any, returning
// how many quests they joined. A dropped enrolment is re-opened; a completed
// one stays completed. Three statements for any number of courses that are
// recorded and need no mapping (every login after a course's first): which
// courses those are, the enrolments, the quests.
func (db *DB) enrollSparkCoursesTx(ctx context.Context, tx *sql.Tx, userID string, courses []string) (int, error) {
	if len(courses) == 0 {
		return 0, nil
	}
	in, args := inList(courses, nil)
	rows, err := tx.QueryContext(ctx, `SELECT spark_course_id FROM spark_course_mappings WHERE spark_course_id IN (`+in+`)
		AND (optio_quest_id IS NOT NULL OR `+db.unmappedStays()+`)`, args...)
	if err != nil {
		return 0, translate(err)
	}
	ready := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return 0, err
		}
		ready[c] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, c := range courses {
		if !ready[c] {
			if _, err := db.ensureSparkCourseTx(ctx, tx, c); err != nil {
				return 0, err
			}
		}
	}
	now := db.now()
	values := make([]string, len(courses))
	args = []any{userID, now}
	for i, c := range courses {
		args = append(args, c)
		values[i] = fmt.Sprintf("($1, $%d, 'enrolled', $2, $2)", len(args))
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO spark_enrollments (user_id, spark_course_id, status, occurred_at, updated_at)
		VALUES `+strings.Join(values, ", ")+`
		ON CONFLICT (user_id, spark_course_id) DO UPDATE SET status = 'enrolled', updated_at = excluded.updated_at
		WHERE spark_enrollments.status = 'dropped'`, args...); err != nil {
		return 0, translate(err)
	}
	return db.enrollMappedQuestsTx(ctx, tx, courses, userID)
}

// sparkCoursesSettledTx reports whether enrollSparkCoursesTx would change
// nothing for any of courses: each is recorded, mapped already (or AutoMap
// is off), the student's enrolment there is not dropped, and a mapped
// quest that enrols automatically has their user_quests row. One query
// instead of four statements per course on every returning login.
func (db *DB) sparkCoursesSettledTx(ctx context.Context, tx *sql.Tx, userID string, courses []string) (bool, error) {
	if len(courses) == 0 {
		return true, nil
	}
	cond, args := db.coursesSettledSQL("$1", courses, []any{userID})
	var settled bool
	err := tx.QueryRowContext(ctx, `SELECT `+cond, args...).Scan(&settled)
	if err != nil {
		return false, translate(err)
	}
	return settled, nil
}

// coursesSettledSQL is the one statement of "enrollSparkCoursesTx would change
// nothing for any of courses" for the student userExpr names: a boolean SQL
// expression, with the course ids appended to args as parameters.
func (db *DB) coursesSettledSQL(userExpr string, courses []string, args []any) (string, []any) {
	if len(courses) == 0 {
		return "TRUE", args
	}
	in, args := inList(courses, args)
	return fmt.Sprintf(`(SELECT COUNT(*) FROM spark_enrollments e
		JOIN spark_course_mappings m ON m.spark_course_id = e.spark_course_id
		WHERE e.user_id = %s AND e.spark_course_id IN (%s) AND e.status <> 'dropped'
			AND (m.optio_quest_id IS NOT NULL OR %s)
			AND (e.status <> 'enrolled' OR m.optio_quest_id IS NULL OR NOT m.auto_enroll_students
				OR EXISTS (SELECT 1 FROM user_quests uq WHERE uq.user_id = e.user_id AND uq.quest_id = m.optio_quest_id))) = %d`,
		userExpr, in, db.unmappedStays(), len(courses)), args
}

// unmappedStays is SQL for whether a course without a quest stays so when a
// student signs in (no AutoMap).
func (db *DB) unmappedStays() string {
	if db.autoMap {
		return "FALSE"
	}
	return "TRUE"
}

// inList appends values to args as parameters and returns their
// placeholders for an IN (…) list.
func inList(values []string, args []any) (string, []any) {
	ph := make([]string, len(values))
	for i, v := range values {
		args = append(args, v)
		ph[i] = fmt.Sprintf("$%d", len(args))
	}
	return strings.Join(ph, ", "), args
}

// EnrollMappedQuestsForCourse implements optio.SSOStore.
func (db *DB) EnrollMappedQuestsForCourse(ctx context.Context, sparkCourseID string) (int, error) {
	var n int
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = db.EnrollMappedQuestsForCourseTx(ctx, tx, sparkCourseID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("enrol course %s: %w", sparkCourseID, err)
	}
	return n, nil
}

// EnrollMappedQuestsForCourseTx is EnrollMappedQuestsForCourse inside the
// caller's transaction, so the code that maps a course to a quest enrols its
// remembered students in the same commit.
func (db *DB) EnrollMappedQuestsForCourseTx(ctx context.Context, tx *sql.Tx, sparkCourseID string) (int, error) {
	return db.enrollMappedQuestsTx(ctx, tx, []string{sparkCourseID}, "")
}

// enrollMappedQuestsTx adds active user_quests for students enrolled in
// Spark courses (one student when userID is set) in the quests they map to.
// Existing enrolments — including ones the student dropped or completed in
// Optio — are left alone.
func (db *DB) enrollMappedQuestsTx(ctx context.Context, tx *sql.Tx, sparkCourseIDs []string, userID string) (int, error) {
	args := []any{db.now()}
	in, args := inList(sparkCourseIDs, args)
	q := `INSERT INTO user_quests (user_id, quest_id, status, started_at, updated_at)
		SELECT e.user_id, m.optio_quest_id, 'active', $1, $1
		FROM spark_enrollments e JOIN spark_course_mappings m ON m.spark_course_id = e.spark_course_id
		WHERE e.spark_course_id IN (` + in + `) AND e.status = 'enrolled' AND m.optio_quest_id IS NOT NULL AND m.auto_enroll_students`
	if userID != "" {
		args = append(args, userID)
		q += fmt.Sprintf(` AND e.user_id = $%d`, len(args))
	}
	res, err := tx.ExecContext(ctx, q+` ON CONFLICT (user_id, quest_id) DO NOTHING`, args...)
	if err != nil {
		return 0, translate(err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// linkSparkChildTx links a parent to the student with Spark id sid, creating
// the student as a provisional user (as a webhook would) when Optio has not
// met them yet, so the link is there when they first sign in. It returns the
// student's id when a new link was made, "" when it existed or sid is not a
// student (a Spark id of a parent or admin is never linked as a child).
func (db *DB) linkSparkChildTx(ctx context.Context, tx *sql.Tx, parentID, sid string) (string, error) {
	child, err := db.resolveSparkUserTx(ctx, tx, optio.SparkIdentity{SparkUserID: sid, Role: optio.RoleStudent}, optio.LinkedViaWebhook)
	if err != nil {
		return "", err
	}
	if child.Role != optio.RoleStudent || child.ID == parentID {
		return "", nil
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO parent_links (parent_id, student_id, linked_via, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (parent_id, student_id) DO NOTHING`, parentID, child.ID, optio.LinkedViaSSO, db.now())
	if err != nil {
		return "", translate(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return "", nil
	}
	if err := db.auditTx(ctx, tx, parentID, "spark.parent_linked", child.ID, map[string]any{"spark_student_id": sid, "via": optio.LinkedViaSSO}); err != nil {
		return "", err
	}
	return child.ID, nil
}

// dedupe trims ids and drops empty and repeated ones, keeping order.
func dedupe(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id = strings.TrimSpace(id); id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}
