package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/optio-edu/optio"
)

// IncomingSubmission is a Spark submission to store and queue for sync, as
// the submission webhook or the polling fallback received it.
type IncomingSubmission struct {
	SparkUserID       string
	SparkAssignmentID string
	SparkCourseID     string
	Text              string
	// FilesJSON is the files array exactly as Spark sent it.
	FilesJSON   string
	SubmittedAt time.Time
	Grade       *string
}

// ImportSubmission stores a submission and a queue row in one transaction,
// then asks for its sync job, as a webhook does. It is idempotent: a submission already
// known for (user, assignment) with the same or a later submitted_at is
// skipped (queued false); a later one is a resubmission (revision + 1). A
// submission without submitted_at is new only when none is known, and is
// stamped with the time it arrived.
func (db *DB) ImportSubmission(ctx context.Context, in IncomingSubmission) (queueID string, queued bool, err error) {
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		u, err := db.resolveSparkUserTx(ctx, tx, optio.SparkIdentity{SparkUserID: in.SparkUserID}, optio.LinkedViaWebhook)
		if err != nil {
			return err
		}
		now := db.now()
		submitted := in.SubmittedAt.UTC().Truncate(time.Microsecond)
		if in.SubmittedAt.IsZero() {
			submitted = now
		}
		var subID string
		var prev time.Time
		var rev int
		err = tx.QueryRowContext(ctx, `SELECT id, submitted_at, revision FROM spark_assignment_submissions
			WHERE user_id = $1 AND spark_assignment_id = $2`, u.ID, in.SparkAssignmentID).Scan(&subID, &prev, &rev)
		switch {
		case err == sql.ErrNoRows:
			subID, rev = newID(), 1
			if _, err := tx.ExecContext(ctx, `INSERT INTO spark_assignment_submissions (id, user_id, spark_user_id, spark_assignment_id,
				spark_course_id, submission_text, submission_files, submitted_at, grade, revision, created_at, updated_at)
				VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,1,$10,$10)`, subID, u.ID, in.SparkUserID, in.SparkAssignmentID, in.SparkCourseID,
				in.Text, in.FilesJSON, submitted, in.Grade, now); err != nil {
				return err
			}
		case err != nil:
			return err
		case in.SubmittedAt.IsZero() || !submitted.After(prev.UTC()):
			return nil // already known
		default:
			rev++
			if _, err := tx.ExecContext(ctx, `UPDATE spark_assignment_submissions SET submission_text = $2, submission_files = $3,
				submitted_at = $4, grade = $5, revision = $6, synced_to_optio = FALSE, updated_at = $7 WHERE id = $1`,
				subID, in.Text, in.FilesJSON, submitted, in.Grade, rev, now); err != nil {
				return err
			}
		}
		queueID = newID()
		if _, err := tx.ExecContext(ctx, `INSERT INTO spark_evidence_sync_queue (id, submission_id, revision, status, attempts, created_at, updated_at)
			VALUES ($1,$2,$3,'pending',0,$4,$4)`, queueID, subID, rev, now); err != nil {
			return err
		}
		queued = true
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("import submission %s/%s: %w", in.SparkUserID, in.SparkAssignmentID, err)
	}
	if queued {
		db.syncSoon(queueID)
	}
	return queueID, queued, nil
}

// JobState reads a small piece of durable job state ("" when unset).
func (db *DB) JobState(ctx context.Context, key string) (string, error) {
	var v string
	err := db.R.QueryRowContext(ctx, `SELECT value FROM job_state WHERE key = $1`, key).Scan(&v)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return v, translate(err)
}

// SetJobState writes a piece of durable job state.
func (db *DB) SetJobState(ctx context.Context, key, value string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO job_state (key, value, updated_at) VALUES ($1,$2,$3)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, value, db.now())
		return err
	})
}

// sparkCompletionFrom selects completion $1 only when it is of a Spark task
// by a user linked to Spark ($2 is the platform): what can be passed back.
const sparkCompletionFrom = ` FROM quest_task_completions c
	JOIN tasks t ON t.id = c.task_id
	JOIN lms_integrations l ON l.user_id = c.user_id AND l.platform = $2
	LEFT JOIN spark_assignments sa ON sa.optio_task_id = c.task_id
	WHERE c.id = $1 AND COALESCE(sa.spark_assignment_id, t.lms_assignment_id) IS NOT NULL`

// passGradeBackTx enqueues the passback of a completion's new grade, in the
// transaction that gave it, when the completion is of a Spark task by a
// Spark-linked user (what GradeForPassback can send). Every path that
// completes or grades a task comes through here — sync, and Optio's own
// completions — so each (completion, grade) is enqueued once; whether
// passback is on (SPARK_GRADE_PASSBACK) is the Enqueuer's decision.
func (db *DB) passGradeBackTx(ctx context.Context, tx *sql.Tx, completionID, grade string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*)`+sparkCompletionFrom, completionID, optio.PlatformSpark).Scan(&n); err != nil {
		return translate(err)
	}
	if n == 0 {
		return nil
	}
	return db.enqueueTx(ctx, tx, optio.GradePassbackJob{CompletionID: completionID, Grade: grade, GradedAt: db.now()})
}

// GradeToPass is what grade passback sends for one completion.
type GradeToPass struct {
	SparkUserID       string
	SparkAssignmentID string
	Grade             *string
	GradedAt          time.Time
}

// GradeForPassback reads a completion's grade with the Spark ids it belongs
// to; ENOTFOUND when the completion is not of a Spark task or user.
func (db *DB) GradeForPassback(ctx context.Context, completionID string) (*GradeToPass, error) {
	if !validID(completionID) {
		return nil, notFound("Completion")
	}
	var g GradeToPass
	var grade sql.NullString
	err := db.R.QueryRowContext(ctx, `SELECT l.external_user_id, COALESCE(sa.spark_assignment_id, t.lms_assignment_id), c.grade, c.updated_at`+sparkCompletionFrom, completionID, optio.PlatformSpark).
		Scan(&g.SparkUserID, &g.SparkAssignmentID, &grade, &g.GradedAt)
	if err != nil {
		return nil, translateNotFound(err, "Spark completion")
	}
	if grade.Valid {
		g.Grade = &grade.String
	}
	g.GradedAt = g.GradedAt.UTC()
	return &g, nil
}
