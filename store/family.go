package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/optio-edu/optio"
)

// hashCode is how link and invitation codes are stored: a leaked table
// does not leak usable codes.
func hashCode(code string) string {
	sum := sha256.Sum256([]byte(optio.NormalizeCode(code)))
	return hex.EncodeToString(sum[:])
}

// auditTx records who did what to whose data, inside the caller's transaction.
func (db *DB) auditTx(ctx context.Context, tx querier, actorID, action, subjectID string, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	raw, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_log (id, actor_id, action, subject_id, detail, created_at) VALUES ($1,$2,$3,$4,$5,$6)`,
		newID(), nullString(actorID), action, nullString(subjectID), string(raw), db.now())
	return translate(err)
}

// Audit records an event (a view of a child's data, a change) in audit_log.
func (db *DB) Audit(ctx context.Context, actorID, action, subjectID string, detail map[string]any) error {
	if err := db.auditTx(ctx, db.W, actorID, action, subjectID, detail); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// roleOfTx returns a user's role, or ENOTFOUND.
func roleOfTx(ctx context.Context, q querier, userID string) (optio.Role, error) {
	if !validID(userID) {
		return "", notFound("User")
	}
	var r optio.Role
	if err := q.QueryRowContext(ctx, `SELECT role FROM users WHERE id = $1`, userID).Scan(&r); err != nil {
		return "", translateNotFound(err, "User")
	}
	return r, nil
}

// CreateLinkCode makes a single-use code, valid for a week, with which a
// parent links to the student.
func (db *DB) CreateLinkCode(ctx context.Context, studentID string) (*optio.LinkCode, error) {
	now := db.now()
	lc := &optio.LinkCode{Code: optio.NewCode(), StudentID: studentID, CreatedAt: now, ExpiresAt: now.Add(optio.LinkCodeTTL)}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if r, err := roleOfTx(ctx, tx, studentID); err != nil {
			return err
		} else if r != optio.RoleStudent {
			return optio.Errorf(optio.EFORBIDDEN, "Only students can make link codes.")
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO parent_link_codes (id, code_hash, student_id, expires_at, created_at) VALUES ($1,$2,$3,$4,$5)`,
			newID(), hashCode(lc.Code), studentID, lc.ExpiresAt, now)
		if err != nil {
			return err
		}
		return db.auditTx(ctx, tx, studentID, "parent_link_code.create", studentID, map[string]any{"expires_at": lc.ExpiresAt})
	})
	if err != nil {
		return nil, fmt.Errorf("create link code: %w", err)
	}
	return lc, nil
}

// RedeemLinkCode links a parent to the student who made code, using it up.
// An unknown code is ENOTFOUND, an expired one EINVITATIONEXPIRED, a used
// one EINVITATIONUSED.
func (db *DB) RedeemLinkCode(ctx context.Context, parentID, code string) (*optio.ParentLink, error) {
	var link *optio.ParentLink
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var id, studentID string
		var expires time.Time
		var used sql.NullTime
		err := tx.QueryRowContext(ctx, `SELECT id, student_id, expires_at, used_at FROM parent_link_codes WHERE code_hash = $1`+db.forUpdate(),
			hashCode(code)).Scan(&id, &studentID, &expires, &used)
		if err != nil {
			if optio.ErrorCode(translate(err)) == optio.ENOTFOUND {
				return &optio.Error{Code: optio.ENOTFOUND, Message: "This link code is not valid. Check it and try again.",
					Fields: map[string]string{"code": "is not a valid link code"}}
			}
			return err
		}
		now := db.now()
		switch {
		case used.Valid:
			return optio.Errorf(optio.EINVITATIONUSED, "This link code has already been used. Ask your child for a new one.")
		case !expires.After(now):
			return optio.Errorf(optio.EINVITATIONEXPIRED, "This link code has expired. Ask your child for a new one.")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE parent_link_codes SET used_at = $1, used_by = $2 WHERE id = $3`, now, parentID, id); err != nil {
			return err
		}
		link, err = db.linkParentTx(ctx, tx, parentID, parentID, studentID, optio.LinkedViaCode)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("redeem link code: %w", err)
	}
	return link, nil
}

// forUpdate locks the selected row on PostgreSQL; SQLite transactions
// already hold the single write lock.
func (db *DB) forUpdate() string {
	if db.Dialect == Postgres {
		return ` FOR UPDATE`
	}
	return ""
}

// LinkParent links a parent to a student (an admin's action, or SSO). Both
// must exist with the right roles; linking twice changes nothing.
func (db *DB) LinkParent(ctx context.Context, actorID, parentID, studentID, via string) (*optio.ParentLink, error) {
	var link *optio.ParentLink
	err := db.inTx(ctx, func(tx *sql.Tx) (err error) {
		link, err = db.linkParentTx(ctx, tx, actorID, parentID, studentID, via)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("link parent: %w", err)
	}
	return link, nil
}

func (db *DB) linkParentTx(ctx context.Context, tx *sql.Tx, actorID, parentID, studentID, via string) (*optio.ParentLink, error) {
	f := optio.FieldErrors{}
	if r, err := roleOfTx(ctx, tx, parentID); err != nil || r != optio.RoleParent {
		f.Add("parent_id", "must be a parent's id")
	}
	if r, err := roleOfTx(ctx, tx, studentID); err != nil || r != optio.RoleStudent {
		f.Add("student_id", "must be a student's id")
	}
	if err := f.Err(optio.EINVALID, "The link is not valid."); err != nil {
		return nil, err
	}
	now := db.now()
	res, err := tx.ExecContext(ctx, `INSERT INTO parent_links (parent_id, student_id, linked_via, created_at) VALUES ($1,$2,$3,$4)
		ON CONFLICT (parent_id, student_id) DO NOTHING`, parentID, studentID, via, now)
	if err != nil {
		return nil, translate(err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		if err := db.auditTx(ctx, tx, actorID, "parent_link.create", studentID, map[string]any{"parent_id": parentID, "linked_via": via}); err != nil {
			return nil, err
		}
	}
	var l optio.ParentLink
	err = tx.QueryRowContext(ctx, `SELECT parent_id, student_id, linked_via, created_at FROM parent_links WHERE parent_id = $1 AND student_id = $2`,
		parentID, studentID).Scan(&l.ParentID, &l.StudentID, &l.LinkedVia, &l.CreatedAt)
	l.CreatedAt = l.CreatedAt.UTC()
	return &l, translate(err)
}

// UnlinkParent removes a parent link (ENOTFOUND when there is none).
func (db *DB) UnlinkParent(ctx context.Context, actorID, parentID, studentID string) error {
	if !validID(parentID) || !validID(studentID) {
		return notFound("Parent link")
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM parent_links WHERE parent_id = $1 AND student_id = $2`, parentID, studentID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("Parent link")
		}
		return db.auditTx(ctx, tx, actorID, "parent_link.delete", studentID, map[string]any{"parent_id": parentID})
	})
	if err != nil {
		return fmt.Errorf("unlink parent: %w", err)
	}
	return nil
}

// ChildrenOf lists the students linked to a parent, by name.
func (db *DB) ChildrenOf(ctx context.Context, parentID string) ([]optio.User, error) {
	if !validID(parentID) {
		return nil, nil
	}
	rows, err := db.query(ctx, `SELECT `+prefixed("u.", userColsT)+` FROM parent_links l JOIN users u ON u.id = l.student_id
		WHERE l.parent_id = $1 ORDER BY u.given_name, u.family_name, u.id`, parentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []optio.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *u)
	}
	return out, rows.Err()
}

// LinkedChildren lists the links of parentID only, children by name.
func (db *DB) LinkedChildren(ctx context.Context, parentID string) ([]optio.LinkedChild, error) {
	out := []optio.LinkedChild{}
	if !validID(parentID) {
		return out, nil
	}
	rows, err := db.query(ctx, `SELECT u.id, u.given_name, u.family_name, COALESCE(u.portfolio_slug,''), l.linked_via, l.created_at
		FROM parent_links l JOIN users u ON u.id = l.student_id
		WHERE l.parent_id = $1 ORDER BY u.given_name, u.family_name, u.id`, parentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var c optio.LinkedChild
		if err := rows.Scan(&c.StudentID, &c.GivenName, &c.FamilyName, &c.PortfolioSlug, &c.LinkedVia, &c.LinkedAt); err != nil {
			return nil, err
		}
		c.LinkedAt = c.LinkedAt.UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// RelationshipOf says what userID is to studentID: a linked parent, an
// active observer, or nothing.
func (db *DB) RelationshipOf(ctx context.Context, userID, studentID string) (*optio.Relationship, error) {
	rel := &optio.Relationship{}
	if !validID(userID) || !validID(studentID) {
		return rel, nil
	}
	var n int
	if err := db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM parent_links WHERE parent_id = $1 AND student_id = $2`, userID, studentID).Scan(&n); err != nil {
		return nil, translate(err)
	}
	rel.Parent = n > 0
	l, err := scanObserverLink(db.R.QueryRowContext(ctx, observerLinkQuery+` WHERE l.observer_id = $1 AND l.student_id = $2 AND l.revoked_at IS NULL`, userID, studentID))
	switch {
	case err == nil:
		rel.Observer = l
	case optio.ErrorCode(translate(err)) != optio.ENOTFOUND:
		return nil, translate(err)
	}
	return rel, nil
}

// SetParentConsent records a linked parent's consent (or its withdrawal)
// to the student's public portfolio, and optionally the birth date.
func (db *DB) SetParentConsent(ctx context.Context, parentID, studentID string, consent bool, birthDate *time.Time) (*optio.User, error) {
	var u *optio.User
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM parent_links WHERE parent_id = $1 AND student_id = $2`, parentID, studentID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return notFound("Student")
		}
		now := db.now()
		if _, err := tx.ExecContext(ctx, `UPDATE users SET parent_consent = $1, parent_consent_source = $2, parent_consent_set_at = $3,
			parent_consent_set_by = $4, updated_at = $3 WHERE id = $5`, consent, optio.SourceParent, now, parentID, studentID); err != nil {
			return err
		}
		detail := map[string]any{"consent": consent}
		if birthDate != nil {
			if err := db.recordBirthDateTx(ctx, tx, parentID, studentID, *birthDate, optio.SourceParent); err != nil {
				return err
			}
			detail["birth_date"] = birthDate.Format(time.DateOnly)
		}
		if err := db.auditTx(ctx, tx, parentID, "parent_consent.set", studentID, detail); err != nil {
			return err
		}
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, studentID))
		return translateNotFound(err, "Student")
	})
	if err != nil {
		return nil, fmt.Errorf("parent consent: %w", err)
	}
	return u, nil
}

// StudentActivity gathers a student's Spark courses, assignments with their
// submissions, and the times of the latest submission, completion and quest
// start.
func (db *DB) StudentActivity(ctx context.Context, studentID string) (*optio.StudentActivity, error) {
	a := &optio.StudentActivity{Courses: []optio.StudentCourseStatus{}, Assignments: []optio.AssignmentStatus{}}
	if !validID(studentID) {
		return nil, notFound("Student")
	}
	rows, err := db.query(ctx, `SELECT e.spark_course_id, COALESCE(m.course_title, ''), e.status, COALESCE(CAST(m.optio_quest_id AS TEXT), ''), e.updated_at
		FROM spark_enrollments e LEFT JOIN spark_course_mappings m ON m.spark_course_id = e.spark_course_id
		WHERE e.user_id = $1 ORDER BY COALESCE(m.course_title, ''), e.spark_course_id`, studentID)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var c optio.StudentCourseStatus
		if err := rows.Scan(&c.SparkCourseID, &c.Title, &c.Status, &c.QuestID, &c.UpdatedAt); err != nil {
			rows.Close()
			return nil, err
		}
		if c.Title == "" {
			c.Title = c.SparkCourseID
		}
		c.UpdatedAt = c.UpdatedAt.UTC()
		a.Courses = append(a.Courses, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Assignments of the courses the student is (or was) enrolled in and
	// not dropped, plus any assignment they submitted.
	rows, err = db.query(ctx, `SELECT a.spark_assignment_id, a.spark_course_id, COALESCE(m.course_title, ''), a.title, a.due_at,
		s.submitted_at, s.grade, COALESCE(s.synced_to_optio, FALSE)
		FROM spark_assignments a
		LEFT JOIN spark_enrollments e ON e.spark_course_id = a.spark_course_id AND e.user_id = $1
		LEFT JOIN spark_assignment_submissions s ON s.spark_assignment_id = a.spark_assignment_id AND s.user_id = $1
		LEFT JOIN spark_course_mappings m ON m.spark_course_id = a.spark_course_id
		WHERE (e.user_id IS NOT NULL AND e.status <> 'dropped') OR s.id IS NOT NULL
		ORDER BY a.due_at, a.spark_assignment_id`, studentID)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var x optio.AssignmentStatus
		var due, sub sql.NullTime
		var grade sql.NullString
		if err := rows.Scan(&x.SparkAssignmentID, &x.SparkCourseID, &x.CourseTitle, &x.Title, &due, &sub, &grade, &x.Synced); err != nil {
			rows.Close()
			return nil, err
		}
		x.DueAt, x.SubmittedAt = timePtr(due), timePtr(sub)
		if grade.Valid {
			x.Grade = &grade.String
		}
		if x.CourseTitle == "" {
			x.CourseTitle = x.SparkCourseID
		}
		a.Assignments = append(a.Assignments, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, q := range []struct {
		dst   **time.Time
		query string
	}{
		{&a.LastSubmission, `SELECT submitted_at FROM spark_assignment_submissions WHERE user_id = $1 ORDER BY submitted_at DESC LIMIT 1`},
		{&a.LastCompletion, `SELECT completed_at FROM quest_task_completions WHERE user_id = $1 ORDER BY completed_at DESC LIMIT 1`},
		{&a.LastQuestStarted, `SELECT started_at FROM user_quests WHERE user_id = $1 ORDER BY started_at DESC LIMIT 1`},
	} {
		var t sql.NullTime
		err := db.R.QueryRowContext(ctx, q.query, studentID).Scan(&t)
		if err != nil && err != sql.ErrNoRows {
			return nil, translate(err)
		}
		*q.dst = timePtr(t)
	}
	return a, nil
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time.UTC()
	return &v
}

// CreateInvitation stores an observer invitation and returns it with its
// code (shown once).
func (db *DB) CreateInvitation(ctx context.Context, in optio.NewInvitation) (*optio.ObserverInvitation, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	now := db.now()
	inv := &optio.ObserverInvitation{ID: newID(), Code: optio.NewCode(), StudentID: in.StudentID, CreatedBy: in.CreatedBy,
		CanComment: in.CanComment, Note: in.Note, CreatedAt: now, ExpiresAt: now.Add(time.Duration(in.ExpiresInDays) * 24 * time.Hour)}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if r, err := roleOfTx(ctx, tx, in.StudentID); err != nil || r != optio.RoleStudent {
			return notFound("Student")
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO observer_invitations (id, code_hash, student_id, created_by, can_comment, note, expires_at, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`, inv.ID, hashCode(inv.Code), inv.StudentID, inv.CreatedBy, inv.CanComment, inv.Note, inv.ExpiresAt, now)
		if err != nil {
			return err
		}
		return db.auditTx(ctx, tx, in.CreatedBy, "observer_invitation.create", in.StudentID,
			map[string]any{"invitation_id": inv.ID, "can_comment": inv.CanComment, "expires_at": inv.ExpiresAt})
	})
	if err != nil {
		return nil, fmt.Errorf("create invitation: %w", err)
	}
	return inv, nil
}

// AcceptInvitation uses up an invitation and makes (or renews) the
// observer's link to the student. An unknown code is ENOTFOUND, an expired
// one EINVITATIONEXPIRED, a used one EINVITATIONUSED.
func (db *DB) AcceptInvitation(ctx context.Context, observerID, code string) (*optio.ObserverLink, error) {
	var linkID string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var inv optio.ObserverInvitation
		var accepted sql.NullTime
		err := tx.QueryRowContext(ctx, `SELECT id, student_id, can_comment, expires_at, accepted_at FROM observer_invitations WHERE code_hash = $1`+db.forUpdate(),
			hashCode(code)).Scan(&inv.ID, &inv.StudentID, &inv.CanComment, &inv.ExpiresAt, &accepted)
		if err != nil {
			if optio.ErrorCode(translate(err)) == optio.ENOTFOUND {
				return &optio.Error{Code: optio.ENOTFOUND, Message: "This invitation code is not valid. Check the link you were sent.",
					Fields: map[string]string{"code": "is not a valid invitation code"}}
			}
			return err
		}
		now := db.now()
		switch {
		case accepted.Valid:
			return optio.Errorf(optio.EINVITATIONUSED, "This invitation has already been used. Ask for a new one.")
		case !inv.ExpiresAt.After(now):
			return optio.Errorf(optio.EINVITATIONEXPIRED, "This invitation has expired. Ask for a new one.")
		}
		if r, err := roleOfTx(ctx, tx, observerID); err != nil {
			return err
		} else if r != optio.RoleObserver {
			return optio.Errorf(optio.EFORBIDDEN, "Invitations are accepted with a family-member (observer) account.")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE observer_invitations SET accepted_by = $1, accepted_at = $2 WHERE id = $3`, observerID, now, inv.ID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO observer_links (id, observer_id, student_id, can_comment, created_at) VALUES ($1,$2,$3,$4,$5)
			ON CONFLICT (observer_id, student_id) DO UPDATE SET can_comment = excluded.can_comment, revoked_at = NULL`,
			newID(), observerID, inv.StudentID, inv.CanComment, now)
		if err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT id FROM observer_links WHERE observer_id = $1 AND student_id = $2`, observerID, inv.StudentID).Scan(&linkID); err != nil {
			return err
		}
		return db.auditTx(ctx, tx, observerID, "observer_link.create", inv.StudentID,
			map[string]any{"invitation_id": inv.ID, "link_id": linkID, "can_comment": inv.CanComment})
	})
	if err != nil {
		return nil, fmt.Errorf("accept invitation: %w", err)
	}
	return db.ObserverLinkByID(ctx, linkID)
}

const observerLinkQuery = `SELECT l.id, l.observer_id, l.student_id, l.can_comment, l.created_at, l.revoked_at,
	o.given_name, o.family_name, s.given_name, s.family_name, COALESCE(s.portfolio_slug, '')
	FROM observer_links l JOIN users o ON o.id = l.observer_id JOIN users s ON s.id = l.student_id`

func scanObserverLink(sc scanner) (*optio.ObserverLink, error) {
	var l optio.ObserverLink
	var revoked sql.NullTime
	var og, of, sg, sf string
	if err := sc.Scan(&l.ID, &l.ObserverID, &l.StudentID, &l.CanComment, &l.CreatedAt, &revoked, &og, &of, &sg, &sf, &l.StudentSlug); err != nil {
		return nil, err
	}
	l.CreatedAt = l.CreatedAt.UTC()
	l.RevokedAt = timePtr(revoked)
	l.ObserverName = strings.TrimSpace(og + " " + of)
	l.StudentName = strings.TrimSpace(sg + " " + sf)
	return &l, nil
}

// ObserverLinkByID returns an observer link, revoked or not, or ENOTFOUND.
func (db *DB) ObserverLinkByID(ctx context.Context, id string) (*optio.ObserverLink, error) {
	if !validID(id) {
		return nil, notFound("Observer link")
	}
	l, err := scanObserverLink(db.W.QueryRowContext(ctx, observerLinkQuery+` WHERE l.id = $1`, id))
	if err != nil {
		return nil, translateNotFound(err, "Observer link")
	}
	return l, nil
}

// RevokeObserverLink ends an observer's access at once. Revoking a revoked
// link changes nothing.
func (db *DB) RevokeObserverLink(ctx context.Context, actorID, linkID string) error {
	if !validID(linkID) {
		return notFound("Observer link")
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var studentID string
		var revoked sql.NullTime
		if err := tx.QueryRowContext(ctx, `SELECT student_id, revoked_at FROM observer_links WHERE id = $1`, linkID).Scan(&studentID, &revoked); err != nil {
			return translateNotFound(err, "Observer link")
		}
		if revoked.Valid {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE observer_links SET revoked_at = $1 WHERE id = $2`, db.now(), linkID); err != nil {
			return err
		}
		return db.auditTx(ctx, tx, actorID, "observer_link.revoke", studentID, map[string]any{"link_id": linkID})
	})
	if err != nil {
		return fmt.Errorf("revoke observer link: %w", err)
	}
	return nil
}

func (db *DB) observerLinks(ctx context.Context, where string, arg string) ([]optio.ObserverLink, error) {
	if !validID(arg) {
		return []optio.ObserverLink{}, nil
	}
	rows, err := db.query(ctx, observerLinkQuery+` WHERE `+where+` ORDER BY l.created_at, l.id`, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []optio.ObserverLink{}
	for rows.Next() {
		l, err := scanObserverLink(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *l)
	}
	return out, rows.Err()
}

// ObserverLinksOf lists a student's observers, active ones first.
func (db *DB) ObserverLinksOf(ctx context.Context, studentID string) ([]optio.ObserverLink, error) {
	return db.observerLinks(ctx, `l.student_id = $1 AND l.revoked_at IS NULL`, studentID)
}

// FollowedBy lists the students an observer follows (active links only).
func (db *DB) FollowedBy(ctx context.Context, observerID string) ([]optio.ObserverLink, error) {
	return db.observerLinks(ctx, `l.observer_id = $1 AND l.revoked_at IS NULL`, observerID)
}

// AddComment stores an observer's comment on a completion. The caller has
// checked the observer may comment; the store enforces the hourly limit in
// the database (the observer's row is locked while counting), so it holds
// across processes.
func (db *DB) AddComment(ctx context.Context, completionID, authorID, body string) (*optio.Comment, error) {
	body, err := optio.ValidateCommentBody(body)
	if err != nil {
		return nil, err
	}
	if !validID(completionID) {
		return nil, notFound("Completion")
	}
	c := &optio.Comment{ID: newID(), CompletionID: completionID, AuthorID: authorID, Body: body}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = $1`+db.forUpdate(), authorID).Scan(&one); err != nil {
			return translateNotFound(err, "User")
		}
		if err := tx.QueryRowContext(ctx, `SELECT user_id FROM quest_task_completions WHERE id = $1`, completionID).Scan(&c.StudentID); err != nil {
			return translateNotFound(err, "Completion")
		}
		now := db.now()
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM completion_comments WHERE author_id = $1 AND created_at > $2`,
			authorID, now.Add(-time.Hour)).Scan(&n); err != nil {
			return err
		}
		if n >= optio.CommentsPerHour {
			return optio.Errorf(optio.ERATELIMIT, "You have posted %d comments in the last hour; please wait a little before posting more.", n)
		}
		c.CreatedAt = now
		_, err := tx.ExecContext(ctx, `INSERT INTO completion_comments (id, completion_id, student_id, author_id, body, created_at) VALUES ($1,$2,$3,$4,$5,$6)`,
			c.ID, completionID, c.StudentID, authorID, body, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("add comment: %w", err)
	}
	return db.CommentByID(ctx, c.ID)
}

const commentQuery = `SELECT c.id, c.completion_id, c.student_id, c.author_id, a.given_name, a.family_name, c.body, c.created_at, c.hidden_at, c.hidden_by
	FROM completion_comments c JOIN users a ON a.id = c.author_id`

func scanComment(sc scanner) (*optio.Comment, error) {
	var c optio.Comment
	var g, f string
	var hiddenAt sql.NullTime
	var hiddenBy sql.NullString
	if err := sc.Scan(&c.ID, &c.CompletionID, &c.StudentID, &c.AuthorID, &g, &f, &c.Body, &c.CreatedAt, &hiddenAt, &hiddenBy); err != nil {
		return nil, err
	}
	c.AuthorName = strings.TrimSpace(g + " " + f)
	c.CreatedAt = c.CreatedAt.UTC()
	c.HiddenAt = timePtr(hiddenAt)
	c.Hidden = hiddenAt.Valid
	if hiddenBy.Valid {
		c.HiddenBy = &hiddenBy.String
	}
	return &c, nil
}

// CommentByID returns a comment (hidden or not) or ENOTFOUND.
func (db *DB) CommentByID(ctx context.Context, id string) (*optio.Comment, error) {
	if !validID(id) {
		return nil, notFound("Comment")
	}
	c, err := scanComment(db.W.QueryRowContext(ctx, commentQuery+` WHERE c.id = $1`, id))
	if err != nil {
		return nil, translateNotFound(err, "Comment")
	}
	return c, nil
}

// CommentsOn lists the comments on completions, oldest first; hidden ones
// only when includeHidden.
func (db *DB) CommentsOn(ctx context.Context, completionIDs []string, includeHidden bool) ([]optio.Comment, error) {
	out := []optio.Comment{}
	var args []any
	var ph []string
	for _, id := range completionIDs {
		if validID(id) {
			args = append(args, id)
			ph = append(ph, fmt.Sprintf("$%d", len(args)))
		}
	}
	if len(args) == 0 {
		return out, nil
	}
	q := commentQuery + ` WHERE c.completion_id IN (` + strings.Join(ph, ",") + `)`
	if !includeHidden {
		q += ` AND c.hidden_at IS NULL`
	}
	rows, err := db.query(ctx, q+` ORDER BY c.created_at, c.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanComment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

// HideComment hides a comment from everyone but the family (the caller has
// checked actorID is the student or a linked parent).
func (db *DB) HideComment(ctx context.Context, actorID, commentID string) error {
	if !validID(commentID) {
		return notFound("Comment")
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var studentID string
		var hidden sql.NullTime
		if err := tx.QueryRowContext(ctx, `SELECT student_id, hidden_at FROM completion_comments WHERE id = $1`, commentID).Scan(&studentID, &hidden); err != nil {
			return translateNotFound(err, "Comment")
		}
		if hidden.Valid {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE completion_comments SET hidden_at = $1, hidden_by = $2 WHERE id = $3`, db.now(), actorID, commentID); err != nil {
			return err
		}
		return db.auditTx(ctx, tx, actorID, "comment.hide", studentID, map[string]any{"comment_id": commentID})
	})
	if err != nil {
		return fmt.Errorf("hide comment: %w", err)
	}
	return nil
}
