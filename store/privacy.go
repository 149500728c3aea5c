package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/optio-edu/optio"
)

// Data requests: exports and deletions of a student's data (issue 25,
// docs/privacy.md).

const dataRequestCols = `id, kind, student_id, COALESCE(CAST(requested_by AS TEXT), ''), status, done, total, due_at, expires_at,
	COALESCE(blob_key, ''), COALESCE(error_message, ''), created_at, updated_at`

func scanDataRequest(row interface{ Scan(...any) error }) (*optio.DataRequest, error) {
	var r optio.DataRequest
	var due, exp sql.NullTime
	if err := row.Scan(&r.ID, &r.Kind, &r.StudentID, &r.RequestedBy, &r.Status, &r.Done, &r.Total, &due, &exp,
		&r.BlobKey, &r.Error, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return nil, err
	}
	if due.Valid {
		t := due.Time.UTC()
		r.DueAt = &t
	}
	if exp.Valid {
		t := exp.Time.UTC()
		r.ExpiresAt = &t
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return &r, nil
}

// liveRequestTx returns the student's live request of kind, or nil.
func liveRequestTx(ctx context.Context, q querier, studentID, kind string) (*optio.DataRequest, error) {
	r, err := scanDataRequest(q.QueryRowContext(ctx, `SELECT `+dataRequestCols+` FROM data_requests
		WHERE student_id = $1 AND kind = $2 AND status IN ('pending','running')`, studentID, kind))
	if err == sql.ErrNoRows {
		return nil, nil
	}
	return r, translate(err)
}

// newRequest inserts a pending request of kind (and its job, when job is not
// nil) unless a live one exists, which is returned instead. Two callers at
// once meet at the partial unique index: the loser reads the winner's row.
func (db *DB) newRequest(ctx context.Context, kind, studentID, requestedBy string, dueAt *time.Time, job func(id string) optio.Job) (*optio.DataRequest, error) {
	if !validID(studentID) {
		return nil, notFound("Student")
	}
	var out *optio.DataRequest
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		role, err := roleOfTx(ctx, tx, studentID)
		if err != nil {
			return err
		}
		if role != optio.RoleStudent {
			return notFound("Student")
		}
		if out, err = liveRequestTx(ctx, tx, studentID, kind); err != nil || out != nil {
			return err
		}
		id, now := newID(), db.now()
		var due any
		if dueAt != nil {
			due = dueAt.UTC().Truncate(time.Microsecond)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO data_requests (id, kind, student_id, requested_by, status, due_at, created_at, updated_at)
			VALUES ($1, $2, $3, $4, 'pending', $5, $6, $6)`, id, kind, studentID, nullString(requestedBy), due, now); err != nil {
			return err
		}
		if job != nil {
			if err := db.enqueueTx(ctx, tx, job(id)); err != nil {
				return err
			}
		}
		if err := db.auditTx(ctx, tx, requestedBy, "privacy."+kind+"_requested", studentID, map[string]any{"request_id": id}); err != nil {
			return err
		}
		out, err = scanDataRequest(tx.QueryRowContext(ctx, `SELECT `+dataRequestCols+` FROM data_requests WHERE id = $1`, id))
		return err
	})
	if isConflict(err) {
		r, lerr := liveRequestTx(ctx, db.R, studentID, kind)
		if lerr == nil && r != nil {
			return r, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("request %s of %s: %w", kind, studentID, err)
	}
	return out, nil
}

// RequestExport implements optio.PrivacyStore.
func (db *DB) RequestExport(ctx context.Context, studentID, requestedBy string) (*optio.DataRequest, error) {
	return db.newRequest(ctx, optio.RequestExport, studentID, requestedBy, nil,
		func(id string) optio.Job { return optio.ExportJob{RequestID: id} })
}

// RequestDeletion implements optio.PrivacyStore. The job is made when the
// request falls due (DueDeletions, by the retention job), so cancelling
// needs nothing but the row.
func (db *DB) RequestDeletion(ctx context.Context, studentID, requestedBy string, dueAt time.Time) (*optio.DataRequest, error) {
	return db.newRequest(ctx, optio.RequestDeletion, studentID, requestedBy, &dueAt, nil)
}

// CancelDeletion implements optio.PrivacyStore.
func (db *DB) CancelDeletion(ctx context.Context, studentID, by string) (*optio.DataRequest, error) {
	if !validID(studentID) {
		return nil, notFound("Pending deletion")
	}
	var out *optio.DataRequest
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		now := db.now()
		res, err := tx.ExecContext(ctx, `UPDATE data_requests SET status = 'cancelled', updated_at = $3
			WHERE student_id = $1 AND kind = $2 AND status = 'pending'`, studentID, optio.RequestDeletion, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("Pending deletion")
		}
		if err := db.auditTx(ctx, tx, by, "privacy.deletion_cancelled", studentID, nil); err != nil {
			return err
		}
		out, err = scanDataRequest(tx.QueryRowContext(ctx, `SELECT `+dataRequestCols+` FROM data_requests
			WHERE student_id = $1 AND kind = $2 ORDER BY created_at DESC, id DESC LIMIT 1`, studentID, optio.RequestDeletion))
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DataRequestByID implements optio.PrivacyStore.
func (db *DB) DataRequestByID(ctx context.Context, id string) (*optio.DataRequest, error) {
	if !validID(id) {
		return nil, notFound("Data request")
	}
	r, err := scanDataRequest(db.R.QueryRowContext(ctx, `SELECT `+dataRequestCols+` FROM data_requests WHERE id = $1`, id))
	if err != nil {
		return nil, translateNotFound(err, "Data request")
	}
	return r, nil
}

// LatestDataRequest implements optio.PrivacyStore.
func (db *DB) LatestDataRequest(ctx context.Context, studentID, kind string) (*optio.DataRequest, error) {
	if !validID(studentID) {
		return nil, notFound("Data request")
	}
	r, err := scanDataRequest(db.R.QueryRowContext(ctx, `SELECT `+dataRequestCols+` FROM data_requests
		WHERE student_id = $1 AND kind = $2 ORDER BY created_at DESC, id DESC LIMIT 1`, studentID, kind))
	if err != nil {
		return nil, translateNotFound(err, "Data request")
	}
	return r, nil
}

// ClaimDataRequest implements optio.PrivacyStore.
func (db *DB) ClaimDataRequest(ctx context.Context, id string) (*optio.DataRequest, error) {
	if !validID(id) {
		return nil, notFound("Data request")
	}
	var out *optio.DataRequest
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		// A job run again after a crash finds its request running: it is
		// still its own to finish.
		res, err := tx.ExecContext(ctx, `UPDATE data_requests SET status = 'running', updated_at = $2
			WHERE id = $1 AND status IN ('pending','running')`, id, db.now())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("Pending data request")
		}
		out, err = scanDataRequest(tx.QueryRowContext(ctx, `SELECT `+dataRequestCols+` FROM data_requests WHERE id = $1`, id))
		return err
	})
	return out, err
}

// ExportProgress implements optio.PrivacyStore.
func (db *DB) ExportProgress(ctx context.Context, id string, done, total int) error {
	_, err := db.exec(ctx, `UPDATE data_requests SET done = $2, total = $3, updated_at = $4 WHERE id = $1`, id, done, total, db.now())
	return err
}

// FinishExport implements optio.PrivacyStore.
func (db *DB) FinishExport(ctx context.Context, id, blobKey string, expiresAt time.Time) error {
	res, err := db.exec(ctx, `UPDATE data_requests SET status = 'ready', blob_key = $2, expires_at = $3,
		done = total, updated_at = $4 WHERE id = $1 AND status = 'running'`, id, blobKey, expiresAt.UTC().Truncate(time.Microsecond), db.now())
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("Running export")
	}
	return nil
}

// FailExport implements optio.PrivacyStore.
func (db *DB) FailExport(ctx context.Context, id, message string) error {
	_, err := db.exec(ctx, `UPDATE data_requests SET status = 'failed', error_message = $2, updated_at = $3
		WHERE id = $1 AND status IN ('pending','running')`, id, message, db.now())
	return err
}

// DueDeletions implements optio.PrivacyStore.
func (db *DB) DueDeletions(ctx context.Context, now time.Time) ([]optio.DataRequest, error) {
	rows, err := db.query(ctx, `SELECT `+dataRequestCols+` FROM data_requests
		WHERE kind = $1 AND status IN ('pending','running') AND due_at <= $2 ORDER BY due_at LIMIT 500`,
		optio.RequestDeletion, now.UTC())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []optio.DataRequest
	for rows.Next() {
		r, err := scanDataRequest(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, *r)
	}
	return out, translate(rows.Err())
}

// EarnedBadges implements optio.PrivacyStore.
func (db *DB) EarnedBadges(ctx context.Context, studentID string) ([]optio.BadgeAward, error) {
	if !validID(studentID) {
		return nil, nil
	}
	rows, err := db.query(ctx, `SELECT badge_id FROM user_badges WHERE user_id = $1 ORDER BY earned_at, id`, studentID)
	if err != nil {
		return nil, err
	}
	ids, err := collectIDs(rows)
	if err != nil {
		return nil, translate(err)
	}
	out := make([]optio.BadgeAward, 0, len(ids))
	for _, id := range ids {
		a, err := db.EarnedBadge(ctx, studentID, id)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, nil
}

// StudentFiles implements optio.PrivacyStore.
func (db *DB) StudentFiles(ctx context.Context, studentID string) ([]optio.ExportFile, error) {
	rows, err := db.query(ctx, `SELECT id, blob_key, filename, content_type, size, sha256 FROM files
		WHERE owner_id = $1 ORDER BY created_at, id`, studentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []optio.ExportFile
	for rows.Next() {
		var f optio.ExportFile
		if err := rows.Scan(&f.ID, &f.BlobKey, &f.Filename, &f.ContentType, &f.Size, &f.SHA256); err != nil {
			return nil, translate(err)
		}
		out = append(out, f)
	}
	return out, translate(rows.Err())
}

// studentSections are the queries behind records.json: every table with
// rows about a student, by the column that names them. Secrets (password
// and token hashes, invitation codes) are left out; everything else is the
// row as stored.
var studentSections = []struct{ name, query string }{
	{"sessions", `SELECT id, created_at, last_seen_at, expires_at, user_agent FROM sessions WHERE user_id = $1 ORDER BY created_at`},
	{"spark_links", `SELECT * FROM lms_integrations WHERE user_id = $1`},
	{"parent_links", `SELECT l.parent_id, u.given_name AS parent_given_name, u.family_name AS parent_family_name, u.email AS parent_email,
		l.linked_via, l.created_at FROM parent_links l JOIN users u ON u.id = l.parent_id WHERE l.student_id = $1 ORDER BY l.created_at`},
	{"parent_link_codes", `SELECT id, expires_at, used_at, used_by, created_at FROM parent_link_codes WHERE student_id = $1 ORDER BY created_at`},
	{"observer_links", `SELECT l.id, l.observer_id, u.given_name AS observer_given_name, u.family_name AS observer_family_name, l.can_comment,
		l.created_at, l.revoked_at FROM observer_links l JOIN users u ON u.id = l.observer_id WHERE l.student_id = $1 ORDER BY l.created_at`},
	{"observer_invitations", `SELECT id, created_by, can_comment, note, expires_at, accepted_by, accepted_at, created_at
		FROM observer_invitations WHERE student_id = $1 ORDER BY created_at`},
	{"quests", `SELECT q.id, q.title, q.description, q.source, q.lms_platform, q.lms_course_id, uq.status, uq.started_at, uq.updated_at
		FROM user_quests uq JOIN quests q ON q.id = uq.quest_id WHERE uq.user_id = $1 ORDER BY uq.started_at`},
	{"completions", `SELECT c.id, c.task_id, t.title AS task_title, t.pillar, t.xp_value, c.quest_id, q.title AS quest_title, c.source, c.grade,
		c.completed_at, c.updated_at FROM quest_task_completions c JOIN tasks t ON t.id = c.task_id JOIN quests q ON q.id = c.quest_id
		WHERE c.user_id = $1 ORDER BY c.completed_at, c.id`},
	{"evidence_blocks", `SELECT b.id, d.completion_id, b.block_type, b.content, b.order_index, b.file_id, b.is_private, b.created_at
		FROM evidence_document_blocks b JOIN evidence_documents d ON d.id = b.document_id WHERE d.user_id = $1
		ORDER BY d.created_at, b.order_index`},
	{"files", `SELECT id, filename, content_type, size, sha256, created_at FROM files WHERE owner_id = $1 ORDER BY created_at`},
	{"xp_ledger", `SELECT id, task_id, pillar, amount, created_at FROM xp_ledger WHERE user_id = $1 ORDER BY created_at, id`},
	{"comments_received", `SELECT c.id, c.completion_id, c.author_id, u.given_name AS author_given_name, u.family_name AS author_family_name,
		c.body, c.hidden_at, c.hidden_by, c.created_at FROM completion_comments c JOIN users u ON u.id = c.author_id
		WHERE c.student_id = $1 ORDER BY c.created_at`},
	{"comments_written", `SELECT id, completion_id, student_id, body, hidden_at, created_at FROM completion_comments
		WHERE author_id = $1 AND student_id <> $1 ORDER BY created_at`},
	{"tutor_conversations", `SELECT * FROM tutor_conversations WHERE user_id = $1 ORDER BY created_at`},
	{"tutor_messages", `SELECT * FROM tutor_messages WHERE user_id = $1 ORDER BY created_at, id`},
	{"tutor_limits", `SELECT * FROM tutor_limits WHERE student_id = $1`},
	{"badges", `SELECT ub.id, ub.badge_id, b.name, ub.earned_at, ub.evidence FROM user_badges ub JOIN badges b ON b.id = ub.badge_id
		WHERE ub.user_id = $1 ORDER BY ub.earned_at`},
	{"spark_enrollments", `SELECT * FROM spark_enrollments WHERE user_id = $1 ORDER BY occurred_at`},
	{"spark_submissions", `SELECT * FROM spark_assignment_submissions WHERE user_id = $1 ORDER BY submitted_at`},
	{"spark_sync_history", `SELECT q.id, q.submission_id, q.revision, q.status, q.attempts, q.error_message, q.created_at, q.completed_at
		FROM spark_evidence_sync_queue q JOIN spark_assignment_submissions s ON s.id = q.submission_id WHERE s.user_id = $1
		ORDER BY q.created_at`},
	// Consent history: who recorded the birth date and consent is on the
	// profile; each change, and each view of the child's data by a parent,
	// observer or admin, is in the audit log.
	{"audit_log", `SELECT id, actor_id, action, detail, created_at FROM audit_log WHERE subject_id = $1 ORDER BY created_at, id`},
	{"data_requests", `SELECT id, kind, requested_by, status, due_at, expires_at, created_at, updated_at FROM data_requests
		WHERE student_id = $1 ORDER BY created_at`},
}

// StudentRecords implements optio.PrivacyStore.
func (db *DB) StudentRecords(ctx context.Context, studentID string) (*optio.StudentRecords, error) {
	u, err := db.UserByID(ctx, studentID)
	if err != nil {
		return nil, err
	}
	out := &optio.StudentRecords{Profile: u, Sections: map[string][]json.RawMessage{}}
	for _, s := range studentSections {
		rows, err := db.R.QueryContext(ctx, s.query, studentID)
		if err != nil {
			return nil, fmt.Errorf("records %s: %w", s.name, translate(err))
		}
		list, err := rowsAsJSON(rows)
		if err != nil {
			return nil, fmt.Errorf("records %s: %w", s.name, err)
		}
		out.Sections[s.name] = list
	}
	return out, nil
}

// rowsAsJSON turns each row into a JSON object keyed by column name. JSON
// text columns (evidence content, payload files) stay text: the export shows
// what is stored.
func rowsAsJSON(rows *sql.Rows) ([]json.RawMessage, error) {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	out := []json.RawMessage{}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		m := make(map[string]any, len(cols))
		for i, c := range cols {
			switch v := vals[i].(type) {
			case []byte:
				m[c] = string(v)
			case time.Time:
				m[c] = v.UTC()
			default:
				m[c] = v
			}
		}
		raw, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		out = append(out, raw)
	}
	return out, rows.Err()
}
