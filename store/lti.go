package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/optio-edu/optio"
)

// LTI 1.3 platforms, login states and what launches bring (issue 23). A
// platform's users are linked in lms_integrations under "lti:<platform id>"
// and its courses' quests carry that as lms_platform, so the rest of the
// pipeline (quests, completions, XP, badges, family) is the one Spark uses.

var _ optio.LTIStore = (*DB)(nil)

const ltiPlatformCols = `id, issuer, client_id, deployment_ids, auth_url, token_url, jwks_url, frame_origin, created_at`

func scanLTIPlatform(s scanner) (*optio.LTIPlatform, error) {
	var p optio.LTIPlatform
	var deps string
	if err := s.Scan(&p.ID, &p.Issuer, &p.ClientID, &deps, &p.AuthURL, &p.TokenURL, &p.JWKSURL, &p.FrameOrigin, &p.CreatedAt); err != nil {
		return nil, err
	}
	p.DeploymentIDs = strings.Split(deps, "\n")
	p.CreatedAt = p.CreatedAt.UTC()
	return &p, nil
}

// CreateLTIPlatform implements optio.LTIStore. The caller normalized p
// (optio.LTIPlatform.Normalize); a second registration of the same issuer
// and client id is ECONFLICT.
func (db *DB) CreateLTIPlatform(ctx context.Context, p optio.LTIPlatform) (*optio.LTIPlatform, error) {
	p.ID, p.CreatedAt = newID(), db.now()
	_, err := db.W.ExecContext(ctx, `INSERT INTO lti_platforms (`+ltiPlatformCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
		p.ID, p.Issuer, p.ClientID, strings.Join(p.DeploymentIDs, "\n"), p.AuthURL, p.TokenURL, p.JWKSURL, p.FrameOrigin, p.CreatedAt)
	if err != nil {
		if err = translate(err); optio.ErrorCode(err) == optio.ECONFLICT {
			return nil, &optio.Error{Code: optio.ECONFLICT, Message: "This issuer and client id are already registered.",
				Fields: map[string]string{"client_id": "already registered for this issuer"}}
		}
		return nil, fmt.Errorf("create lti platform: %w", err)
	}
	return &p, nil
}

func (db *DB) ltiPlatforms(ctx context.Context, where string, args ...any) ([]optio.LTIPlatform, error) {
	rows, err := db.R.QueryContext(ctx, `SELECT `+ltiPlatformCols+` FROM lti_platforms `+where+` ORDER BY issuer, client_id`, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []optio.LTIPlatform
	for rows.Next() {
		p, err := scanLTIPlatform(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, rows.Err()
}

// LTIPlatforms implements optio.LTIStore.
func (db *DB) LTIPlatforms(ctx context.Context) ([]optio.LTIPlatform, error) {
	return db.ltiPlatforms(ctx, "")
}

// LTIPlatformsByIssuer implements optio.LTIStore.
func (db *DB) LTIPlatformsByIssuer(ctx context.Context, issuer string) ([]optio.LTIPlatform, error) {
	return db.ltiPlatforms(ctx, "WHERE issuer = $1", issuer)
}

// LTIPlatformByID implements optio.LTIStore.
func (db *DB) LTIPlatformByID(ctx context.Context, id string) (*optio.LTIPlatform, error) {
	if !validID(id) {
		return nil, optio.Errorf(optio.ENOTFOUND, "LTI platform not found.")
	}
	p, err := scanLTIPlatform(db.R.QueryRowContext(ctx, `SELECT `+ltiPlatformCols+` FROM lti_platforms WHERE id = $1`, id))
	if err != nil {
		return nil, translateNotFound(err, "LTI platform")
	}
	return p, nil
}

// DeleteLTIPlatform implements optio.LTIStore. Its courses and memberships
// go (cascade); the quests, users and their work stay, and the users'
// links to the platform are removed so a new registration starts clean.
func (db *DB) DeleteLTIPlatform(ctx context.Context, id string) error {
	if !validID(id) {
		return optio.Errorf(optio.ENOTFOUND, "LTI platform not found.")
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM lti_platforms WHERE id = $1`, id)
		if err != nil {
			return translate(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return optio.Errorf(optio.ENOTFOUND, "LTI platform not found.")
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM lms_integrations WHERE platform = $1`, "lti:"+id)
		return translate(err)
	})
}

// SaveLTIState implements optio.LTIStore; expired states are dropped on the
// way, so the table holds only logins in flight.
func (db *DB) SaveLTIState(ctx context.Context, s optio.LTIState) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM lti_states WHERE expires_at < $1`, db.now()); err != nil {
			return translate(err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO lti_states (state_hash, nonce, platform_id, expires_at) VALUES ($1,$2,$3,$4)`,
			s.StateHash, s.Nonce, s.PlatformID, s.ExpiresAt.UTC())
		return translate(err)
	})
}

// TakeLTIState implements optio.LTIStore: DELETE … RETURNING, so of two
// launches racing with one state exactly one gets it, on either engine.
func (db *DB) TakeLTIState(ctx context.Context, stateHash string) (*optio.LTIState, error) {
	var s optio.LTIState
	err := db.W.QueryRowContext(ctx, `DELETE FROM lti_states WHERE state_hash = $1 RETURNING state_hash, nonce, platform_id, expires_at`,
		stateHash).Scan(&s.StateHash, &s.Nonce, &s.PlatformID, &s.ExpiresAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, optio.Errorf(optio.ELTIStateInvalid, "This launch's state is unknown or was already used.")
	case err != nil:
		return nil, translate(err)
	}
	if !db.now().Before(s.ExpiresAt) {
		return nil, optio.Errorf(optio.ELTIStateInvalid, "This launch's state expired: the login started more than %s ago.", optio.LTIStateTTL)
	}
	s.ExpiresAt = s.ExpiresAt.UTC()
	return &s, nil
}

// LTILaunch implements optio.LTIStore: the nonce, the user, the course and
// its quest, the membership, a learner's enrolment, a mentor's parent links
// and the session commit together or not at all.
func (db *DB) LTILaunch(ctx context.Context, in optio.LTILaunch) (*optio.LTILaunchResult, error) {
	if in.Platform == nil || strings.TrimSpace(in.Subject) == "" || strings.TrimSpace(in.Nonce) == "" {
		return nil, &optio.Error{Code: optio.EINVALID, Message: "An LTI launch needs a platform, a subject and a nonce."}
	}
	var res *optio.LTILaunchResult
	var err error
	for attempt := 1; attempt <= ssoLoginAttempts; attempt++ {
		err = db.inTx(ctx, func(tx *sql.Tx) error {
			var err error
			res, err = db.ltiLaunchTx(ctx, tx, in)
			return err
		})
		if optio.ErrorCode(err) != optio.ECONFLICT {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("lti launch %s: %w", in.Subject, err)
	}
	return res, nil
}

func (db *DB) ltiLaunchTx(ctx context.Context, tx *sql.Tx, in optio.LTILaunch) (*optio.LTILaunchResult, error) {
	nonceKey := in.Platform.LMSPlatform() + ":" + in.Nonce
	if err := db.acceptNonceTx(ctx, tx, optio.SSOLogin{Nonce: nonceKey, NonceExpiry: in.NonceExpiry}); err != nil {
		if optio.ErrorCode(err) == optio.ETokenReplayed {
			return nil, optio.Errorf(optio.ELTINonceInvalid, "This launch's nonce was already used.")
		}
		return nil, err
	}
	u, created, err := db.resolveLTIIdentityTx(ctx, tx, in)
	if err != nil {
		return nil, err
	}
	res := &optio.LTILaunchResult{User: u, Created: created}
	if in.SessionTokenHash != "" {
		if _, err := db.createSessionTx(ctx, tx, u.ID, in.SessionTokenHash, in.SessionTTL, in.SessionDevice); err != nil {
			return nil, err
		}
	}
	if strings.TrimSpace(in.ContextID) != "" {
		if res.Course, err = db.ensureLTICourseTx(ctx, tx, in.Platform, strings.TrimSpace(in.ContextID), strings.TrimSpace(in.ContextTitle)); err != nil {
			return nil, err
		}
		if err := db.ltiServicesTx(ctx, tx, res.Course, in); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO lti_memberships (course_id, user_id, role, updated_at) VALUES ($1,$2,$3,$4)
			ON CONFLICT (course_id, user_id) DO UPDATE SET role = excluded.role, updated_at = excluded.updated_at
			WHERE lti_memberships.role <> excluded.role`, res.Course.ID, u.ID, in.Role, db.now()); err != nil {
			return nil, translate(err)
		}
		if in.Role == optio.LTICourseLearner && u.Role == optio.RoleStudent {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM user_quests WHERE user_id = $1 AND quest_id = $2`, u.ID, res.Course.QuestID).Scan(&n); err != nil {
				return nil, translate(err)
			}
			if n == 0 {
				if _, err := db.enrollTx(ctx, tx, u.ID, res.Course.QuestID, optio.EnrollmentActive); err != nil {
					return nil, err
				}
			}
		}
	}
	if in.Role == optio.LTICourseMentor && u.Role == optio.RoleParent {
		for _, sub := range dedupe(in.MentorOf) {
			var child string
			err := tx.QueryRowContext(ctx, `SELECT u.id FROM lms_integrations l JOIN users u ON u.id = l.user_id
				WHERE l.platform = $1 AND l.external_user_id = $2 AND u.role = 'student'`, in.Platform.LMSPlatform(), sub).Scan(&child)
			if errors.Is(err, sql.ErrNoRows) {
				continue // a student who never launched Optio: linked on a later launch
			} else if err != nil {
				return nil, translate(err)
			}
			r, err := tx.ExecContext(ctx, `INSERT INTO parent_links (parent_id, student_id, linked_via, created_at) VALUES ($1,$2,$3,$4)
				ON CONFLICT (parent_id, student_id) DO NOTHING`, u.ID, child, optio.LinkedViaLTI, db.now())
			if err != nil {
				return nil, translate(err)
			}
			if n, _ := r.RowsAffected(); n == 1 {
				if err := db.auditTx(ctx, tx, u.ID, "lti.parent_linked", child, map[string]any{"platform_id": in.Platform.ID, "sub": sub}); err != nil {
					return nil, err
				}
				res.LinkedChildren = append(res.LinkedChildren, child)
			}
		}
	}
	return res, nil
}

// ltiRoleFor is the Optio role a person a platform launches first gets:
// a learner is a student, a mentor a parent; an instructor an observer —
// the least an account can do — since what a teacher sees comes from their
// instructor membership of a course, not from their account's role.
func ltiRoleFor(courseRole string) optio.Role {
	switch courseRole {
	case optio.LTICourseMentor:
		return optio.RoleParent
	case optio.LTICourseInstructor:
		return optio.RoleObserver
	}
	return optio.RoleStudent
}

// resolveLTIIdentityTx finds or creates the user a platform launches. It is
// stricter than Spark's resolution: a platform's email never links to an
// existing account (several platforms may be registered, and one should
// not be able to reach another's users by claiming an address). An email
// held by an unverified (self-registered) account is taken from it as for
// Spark (displaceEmailTx), one held by a verified account leaves the new
// user without an email; joining accounts is for a person holding both.
func (db *DB) resolveLTIIdentityTx(ctx context.Context, tx *sql.Tx, in optio.LTILaunch) (*optio.User, bool, error) {
	platform, sub := in.Platform.LMSPlatform(), strings.TrimSpace(in.Subject)
	email := ""
	if e, err := optio.NormalizeEmail("email", in.Email); err == nil {
		email = e
	}
	id := optio.SparkIdentity{SparkUserID: platform + ":" + sub, Email: email, GivenName: in.GivenName, FamilyName: in.FamilyName}
	u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+prefixed("u.", userColsT)+` FROM lms_integrations l JOIN users u ON u.id = l.user_id
		WHERE l.platform = $1 AND l.external_user_id = $2`, platform, sub))
	switch {
	case err == nil:
		u, err := db.refreshSparkUserTx(ctx, tx, u, id)
		return u, false, err
	case !errors.Is(err, sql.ErrNoRows):
		return nil, false, translate(err)
	}
	if email != "" {
		var holder string
		var verified bool
		err := tx.QueryRowContext(ctx, `SELECT id, email_verified FROM users WHERE email = $1`, email).Scan(&holder, &verified)
		switch {
		case err == nil && !verified:
			if err := db.displaceEmailTx(ctx, tx, holder, email, id.SparkUserID, optio.LinkedViaLTI); err != nil {
				return nil, false, err
			}
		case err == nil:
			email = ""
		case !errors.Is(err, sql.ErrNoRows):
			return nil, false, translate(err)
		}
	}
	created, err := db.createUserTx(ctx, tx, optio.NewUser{Email: email, GivenName: in.GivenName, FamilyName: in.FamilyName,
		Role: ltiRoleFor(in.Role), EmailVerified: true})
	if err != nil {
		return nil, false, err
	}
	now := db.now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO lms_integrations (id, user_id, platform, external_user_id, linked_via, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$6)`, newID(), created.ID, platform, sub, optio.LinkedViaLTI, now); err != nil {
		return nil, false, translate(err)
	}
	if created.Role == optio.RoleStudent {
		if err := db.applySparkDefaultVisibilityTx(ctx, tx, created); err != nil {
			return nil, false, err
		}
	}
	return created, true, nil
}

// ensureLTICourseTx records a course at first sight and maps it to its own
// quest (source lms, lms_platform "lti:<platform id>", lms_course_id the
// context id), as Spark's auto-mapping does; a later launch with a new
// title renames the course row, never the quest (an admin may have).
func (db *DB) ensureLTICourseTx(ctx context.Context, tx *sql.Tx, p *optio.LTIPlatform, contextID, title string) (*optio.LTICourse, error) {
	now := db.now()
	questTitle := title
	if questTitle == "" {
		questTitle = "LMS course " + contextID
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO quests (id, title, description, source, lms_platform, lms_course_id, active, created_at, updated_at)
		VALUES ($1,$2,'',$3,$4,$5,TRUE,$6,$6) ON CONFLICT (lms_platform, lms_course_id) DO NOTHING`,
		newID(), cutRunes(questTitle, maxQuestTitleRunes), optio.SourceLMS, p.LMSPlatform(), contextID, now); err != nil {
		return nil, translate(err)
	}
	var questID string
	if err := tx.QueryRowContext(ctx, `SELECT id FROM quests WHERE lms_platform = $1 AND lms_course_id = $2`, p.LMSPlatform(), contextID).Scan(&questID); err != nil {
		return nil, translate(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO lti_courses (id, platform_id, context_id, title, quest_id, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$6) ON CONFLICT (platform_id, context_id) DO UPDATE SET title = excluded.title, updated_at = excluded.updated_at
		WHERE excluded.title <> '' AND lti_courses.title <> excluded.title`,
		newID(), p.ID, contextID, cutRunes(title, maxQuestTitleRunes), questID, now); err != nil {
		return nil, translate(err)
	}
	c, err := scanLTICourse(tx.QueryRowContext(ctx, `SELECT `+ltiCourseCols+` FROM lti_courses WHERE platform_id = $1 AND context_id = $2`, p.ID, contextID))
	return c, translate(err)
}

const ltiCourseCols = `id, platform_id, context_id, title, quest_id, nrps_url, ags_lineitems_url, line_item_url, roster_synced_at, roster_error`

func scanLTICourse(s scanner) (*optio.LTICourse, error) {
	var c optio.LTICourse
	var synced sql.NullTime
	if err := s.Scan(&c.ID, &c.PlatformID, &c.ContextID, &c.Title, &c.QuestID, &c.MembershipsURL, &c.LineItemsURL, &c.LineItemURL,
		&synced, &c.RosterError); err != nil {
		return nil, err
	}
	if synced.Valid {
		t := synced.Time.UTC()
		c.RosterSyncedAt = &t
	}
	return &c, nil
}

// LTICourses implements optio.LTIStore.
func (db *DB) LTICourses(ctx context.Context) ([]optio.LTICourse, error) {
	rows, err := db.R.QueryContext(ctx, `SELECT `+ltiCourseCols+` FROM lti_courses ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []optio.LTICourse
	for rows.Next() {
		c, err := scanLTICourse(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

// LTICourseByID implements optio.LTIStore.
func (db *DB) LTICourseByID(ctx context.Context, id string) (*optio.LTICourse, error) {
	if !validID(id) {
		return nil, optio.Errorf(optio.ENOTFOUND, "Course not found.")
	}
	c, err := scanLTICourse(db.R.QueryRowContext(ctx, `SELECT `+ltiCourseCols+` FROM lti_courses WHERE id = $1`, id))
	if err != nil {
		return nil, translateNotFound(err, "Course")
	}
	return c, nil
}

// LTICourseRole implements optio.LTIStore.
func (db *DB) LTICourseRole(ctx context.Context, courseID, userID string) (string, error) {
	if !validID(courseID) || !validID(userID) {
		return "", nil
	}
	var role string
	err := db.R.QueryRowContext(ctx, `SELECT role FROM lti_memberships WHERE course_id = $1 AND user_id = $2`, courseID, userID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return role, translate(err)
}

// LTICourseRoster implements optio.LTIStore: the learners by name, each
// with tasks finished of the course quest's tasks and the XP earned there.
func (db *DB) LTICourseRoster(ctx context.Context, courseID string) ([]optio.LTIRosterEntry, error) {
	rows, err := db.R.QueryContext(ctx, `SELECT u.id, u.given_name, u.family_name, COALESCE(u.portfolio_slug, ''),
		(SELECT COUNT(*) FROM quest_task_completions qc WHERE qc.quest_id = c.quest_id AND qc.user_id = u.id),
		(SELECT COUNT(*) FROM tasks t WHERE t.quest_id = c.quest_id),
		(SELECT COALESCE(SUM(x.amount), 0) FROM xp_ledger x JOIN tasks t ON t.id = x.task_id WHERE t.quest_id = c.quest_id AND x.user_id = u.id)
		FROM lti_courses c JOIN lti_memberships m ON m.course_id = c.id JOIN users u ON u.id = m.user_id
		WHERE c.id = $1 AND m.role = 'learner' ORDER BY u.family_name, u.given_name, u.id`, courseID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []optio.LTIRosterEntry
	for rows.Next() {
		var e optio.LTIRosterEntry
		var given, family string
		if err := rows.Scan(&e.UserID, &given, &family, &e.Slug, &e.TasksDone, &e.TasksTotal, &e.XP); err != nil {
			return nil, err
		}
		e.Name = strings.TrimSpace(given + " " + family)
		out = append(out, e)
	}
	return out, rows.Err()
}

// ltiServicesTx keeps the course's NRPS and AGS endpoints as the latest
// launch names them. A memberships URL seen for the first time (or a new
// one) queues a roster sync in this transaction.
func (db *DB) ltiServicesTx(ctx context.Context, tx *sql.Tx, c *optio.LTICourse, in optio.LTILaunch) error {
	nrps, ags := strings.TrimSpace(in.MembershipsURL), strings.TrimSpace(in.LineItemsURL)
	if (nrps == "" || nrps == c.MembershipsURL) && (ags == "" || ags == c.LineItemsURL) {
		return nil
	}
	newRoster := nrps != "" && nrps != c.MembershipsURL
	if nrps != "" {
		c.MembershipsURL = nrps
	}
	if ags != "" {
		c.LineItemsURL = ags
	}
	if _, err := tx.ExecContext(ctx, `UPDATE lti_courses SET nrps_url = $1, ags_lineitems_url = $2, updated_at = $3 WHERE id = $4`,
		c.MembershipsURL, c.LineItemsURL, db.now(), c.ID); err != nil {
		return translate(err)
	}
	if newRoster {
		return db.enqueueTx(ctx, tx, optio.LTIRosterSyncJob{CourseID: c.ID})
	}
	return nil
}

// ApplyLTIRoster implements optio.LTIStore, in one transaction.
func (db *DB) ApplyLTIRoster(ctx context.Context, courseID string, members []optio.LTIMember) (int, error) {
	var added int
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		added = 0
		c, err := scanLTICourse(tx.QueryRowContext(ctx, `SELECT `+ltiCourseCols+` FROM lti_courses WHERE id = $1`, courseID))
		if err != nil {
			return translateNotFound(err, "Course")
		}
		p, err := scanLTIPlatform(tx.QueryRowContext(ctx, `SELECT `+ltiPlatformCols+` FROM lti_platforms WHERE id = $1`, c.PlatformID))
		if err != nil {
			return translateNotFound(err, "LTI platform")
		}
		now := db.now()
		for _, m := range members {
			if strings.TrimSpace(m.Subject) == "" || m.Role == "" {
				continue
			}
			u, _, err := db.resolveLTIIdentityTx(ctx, tx, optio.LTILaunch{Platform: p, Subject: m.Subject, Email: m.Email,
				GivenName: m.GivenName, FamilyName: m.FamilyName, Role: m.Role})
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO lti_memberships (course_id, user_id, role, updated_at) VALUES ($1,$2,$3,$4)
				ON CONFLICT (course_id, user_id) DO NOTHING`, c.ID, u.ID, m.Role, now)
			if err != nil {
				return translate(err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				added++
			}
			if m.Role == optio.LTICourseLearner && u.Role == optio.RoleStudent {
				if _, err := db.enrollIfMissingTx(ctx, tx, u.ID, c.QuestID); err != nil {
					return err
				}
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE lti_courses SET roster_synced_at = $1, roster_error = '', updated_at = $1 WHERE id = $2`, now, c.ID)
		return translate(err)
	})
	if err != nil {
		return 0, fmt.Errorf("apply lti roster %s: %w", courseID, err)
	}
	return added, nil
}

// RecordLTIRosterProblem implements optio.LTIStore.
func (db *DB) RecordLTIRosterProblem(ctx context.Context, courseID, problem string) error {
	_, err := db.W.ExecContext(ctx, `UPDATE lti_courses SET roster_error = $1, updated_at = $2 WHERE id = $3`, cutRunes(problem, 1000), db.now(), courseID)
	return translate(err)
}

// SetLTILineItem implements optio.LTIStore.
func (db *DB) SetLTILineItem(ctx context.Context, courseID, lineItemURL string) error {
	_, err := db.W.ExecContext(ctx, `UPDATE lti_courses SET line_item_url = $1, updated_at = $2 WHERE id = $3`, lineItemURL, db.now(), courseID)
	return translate(err)
}

// ltiScoreFrom finds the LTI course with AGS whose quest a completion is
// in, and the completer's link to that course's platform.
const ltiScoreFrom = ` FROM quest_task_completions qc
	JOIN lti_courses c ON c.quest_id = qc.quest_id AND c.ags_lineitems_url <> ''
	JOIN lms_integrations l ON l.user_id = qc.user_id AND l.platform = 'lti:' || c.platform_id
	WHERE qc.id = $1`

// ltiScoreTx queues the AGS score post of a new completion, in the
// transaction that wrote it, when its quest is an LTI course with AGS and
// the student came from that platform.
func (db *DB) ltiScoreTx(ctx context.Context, tx *sql.Tx, completionID string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*)`+ltiScoreFrom, completionID).Scan(&n); err != nil {
		return translate(err)
	}
	if n == 0 {
		return nil
	}
	return db.enqueueTx(ctx, tx, optio.LTIScoreJob{CompletionID: completionID})
}

// LTIScoreFor implements optio.LTIStore.
func (db *DB) LTIScoreFor(ctx context.Context, completionID string) (*optio.LTIScoreContext, error) {
	if !validID(completionID) {
		return nil, optio.Errorf(optio.ENOTFOUND, "Completion not found.")
	}
	var courseID, questTitle string
	out := &optio.LTIScoreContext{}
	err := db.R.QueryRowContext(ctx, `SELECT c.id, l.external_user_id, q.title, qc.updated_at,
		(SELECT COUNT(*) FROM quest_task_completions x WHERE x.quest_id = qc.quest_id AND x.user_id = qc.user_id),
		(SELECT COUNT(*) FROM tasks t WHERE t.quest_id = qc.quest_id)
		`+strings.Replace(ltiScoreFrom, "WHERE", "JOIN quests q ON q.id = qc.quest_id WHERE", 1),
		completionID).Scan(&courseID, &out.Subject, &questTitle, &out.At, &out.TasksDone, &out.TasksTotal)
	if err != nil {
		return nil, translateNotFound(err, "LTI completion")
	}
	out.QuestTitle, out.At = questTitle, out.At.UTC()
	if out.Course, err = db.LTICourseByID(ctx, courseID); err != nil {
		return nil, err
	}
	if out.Platform, err = db.LTIPlatformByID(ctx, out.Course.PlatformID); err != nil {
		return nil, err
	}
	return out, nil
}
