package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/optio-edu/optio"
)

// DeleteStudent implements optio.PrivacyStore. One transaction: either every
// row about the student goes, or none does.
//
// What goes: the users row and, by its foreign keys, everything that names
// the student — sessions, Spark links (lms_integrations, so a later SSO or
// webhook for the same Spark id makes a new account that knows nothing of
// the old one), parent and observer links, codes and invitations, quests
// started, completions, evidence documents and blocks, file rows, the XP
// ledger, comments received and written, tutor conversations, messages and
// limits, badges, Spark enrolments, Spark submissions with their sync
// history, data requests and the portfolio version. Spark's own data (its
// courses and assignments, mapped to quests and tasks) stays: it describes
// no student. Audit rows that name the student lose the name: actor and
// subject become NULL and the detail {}.
//
// A sync job running at the same time finds its queue row or submission gone
// and stops (jobs: ENOTFOUND cancels the job); its completion cannot be
// written for a user that no longer exists (foreign keys), and on SQLite the
// single writer orders the two transactions.
func (db *DB) DeleteStudent(ctx context.Context, studentID, actorID string) (*optio.DeletedStudent, error) {
	if !validID(studentID) {
		return nil, notFound("Student")
	}
	out := &optio.DeletedStudent{}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		role, err := roleOfTx(ctx, tx, studentID)
		if err != nil {
			return err
		}
		if role != optio.RoleStudent {
			return notFound("Student")
		}
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT blob_key FROM files WHERE owner_id = $1
			UNION SELECT blob_key FROM data_requests WHERE student_id = $1 AND blob_key IS NOT NULL`, studentID)
		if err != nil {
			return err
		}
		keys, err := collectIDs(rows)
		if err != nil {
			return err
		}
		// Evidence first: blocks refer to files without a cascade.
		for _, q := range []string{
			`DELETE FROM evidence_documents WHERE user_id = $1`,
			`DELETE FROM evidence_document_blocks WHERE file_id IN (SELECT id FROM files WHERE owner_id = $1)`,
			`UPDATE audit_log SET subject_id = NULL, actor_id = NULL, detail = '{}' WHERE subject_id = $1 OR actor_id = $1`,
			`UPDATE audit_log SET detail = '{}' WHERE CAST(detail AS TEXT) LIKE '%' || CAST($1 AS TEXT) || '%'`,
			`DELETE FROM users WHERE id = $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, studentID); err != nil {
				return fmt.Errorf("delete student: %w", translate(err))
			}
		}
		by := actorID
		if by == studentID {
			by = ""
		}
		if err := db.auditTx(ctx, tx, by, "privacy.student_deleted", "", nil); err != nil {
			return err
		}
		// Content-addressed blobs are shared by identical files: keep those
		// another row still refers to.
		for _, k := range keys {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM files WHERE blob_key = $1`, k).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				out.BlobKeys = append(out.BlobKeys, k)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("delete student %s: %w", studentID, err)
	}
	return out, nil
}

// PurgeExpired implements optio.PrivacyStore: each kind with a non-zero
// period loses what is older than it, and health_hourly what is older than
// optio.HealthHistory. Expired exports' rows go too, and
// their blob keys are returned for the caller to delete.
func (db *DB) PurgeExpired(ctx context.Context, r optio.Retention, now time.Time) (*optio.Purged, []string, error) {
	now = now.UTC().Truncate(time.Microsecond)
	p := &optio.Purged{}
	var keys []string
	steps := []struct {
		keep  time.Duration
		query string
		n     *int64
	}{
		{r.TutorConversations, `DELETE FROM tutor_conversations WHERE updated_at < $1`, &p.TutorConversations},
		{r.SSONonces, `DELETE FROM sso_nonces WHERE expires_at < $1`, &p.SSONonces},
		{r.WebhookDeliveries, `DELETE FROM webhook_deliveries WHERE received_at < $1`, &p.WebhookDeliveries},
		{r.Sessions, `DELETE FROM sessions WHERE expires_at < $1`, &p.Sessions},
		{r.SyncErrors, `UPDATE spark_evidence_sync_queue SET error_message = NULL, file_problems = NULL
			WHERE status IN ('completed','failed') AND updated_at < $1 AND (error_message IS NOT NULL OR file_problems IS NOT NULL)`, &p.SyncErrors},
		// Not configurable: counts the health report can no longer show.
		{optio.HealthHistory, `DELETE FROM health_hourly WHERE hour < $1`, &p.HealthHourly},
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, s := range steps {
			if s.keep <= 0 {
				continue
			}
			res, err := tx.ExecContext(ctx, s.query, now.Add(-s.keep))
			if err != nil {
				return fmt.Errorf("purge: %w", translate(err))
			}
			*s.n, _ = res.RowsAffected()
		}
		rows, err := tx.QueryContext(ctx, `SELECT blob_key FROM data_requests WHERE kind = $1 AND expires_at < $2 AND blob_key IS NOT NULL`,
			optio.RequestExport, now)
		if err != nil {
			return err
		}
		if keys, err = collectIDs(rows); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM data_requests WHERE kind = $1 AND expires_at < $2`, optio.RequestExport, now)
		if err != nil {
			return err
		}
		p.Exports, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return p, keys, nil
}
