package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/optio-edu/optio"
)

// SyncWork is a queued submission a worker has claimed: everything it needs
// to fetch the files and write the evidence.
type SyncWork struct {
	QueueID           string
	SubmissionID      string
	Revision          int
	Attempts          int
	QueueCreatedAt    time.Time
	UserID            string
	SparkUserID       string
	SparkAssignmentID string
	SparkCourseID     string
	Text              string
	// FilesJSON is submission_files exactly as Spark sent it.
	FilesJSON string
	Grade     *string
	Task      *optio.Task
	// Done: the row was already completed (a duplicate run); nothing to do.
	Done bool
	// Waiting: the assignment has no task yet (its course is not mapped),
	// or the course's sync is off; the row is now 'waiting'.
	Waiting bool
	// requeued are other syncs the new task let out of waiting.
	requeued []string
}

// SyncResult is how FinishSync ended.
type SyncResult struct {
	CompletionID string
	// Superseded: a newer revision of the submission exists; nothing was written.
	Superseded bool
	// Created: the completion (and its XP award) is new.
	Created bool
}

// BeginSync claims a queue row for a worker: it counts the attempt and marks
// the row processing. An assignment without a task gets one when its course
// is mapped — at once with AutoMap (ensureSparkAssignmentTx) — else the row
// is 'waiting' for an admin to map the course; so is a row whose course has
// sync turned off. A completed row comes back with Done set and is left alone.
func (db *DB) BeginSync(ctx context.Context, queueID string) (*SyncWork, error) {
	if !validID(queueID) {
		return nil, notFound("Sync queue row")
	}
	w := &SyncWork{QueueID: queueID}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var status string
		var grade sql.NullString
		var taskID sql.NullString
		var enabled bool
		err := tx.QueryRowContext(ctx, `SELECT q.status, q.revision, q.attempts, q.created_at, s.id, s.user_id, s.spark_user_id,
			s.spark_assignment_id, s.spark_course_id, s.submission_text, s.submission_files, s.grade, a.optio_task_id,
			COALESCE(m.sync_enabled, TRUE)
			FROM spark_evidence_sync_queue q
			JOIN spark_assignment_submissions s ON s.id = q.submission_id
			LEFT JOIN spark_assignments a ON a.spark_assignment_id = s.spark_assignment_id
			LEFT JOIN spark_course_mappings m ON m.spark_course_id = COALESCE(a.spark_course_id, s.spark_course_id)
			WHERE q.id = $1`, queueID).Scan(&status, &w.Revision, &w.Attempts, &w.QueueCreatedAt, &w.SubmissionID, &w.UserID,
			&w.SparkUserID, &w.SparkAssignmentID, &w.SparkCourseID, &w.Text, &w.FilesJSON, &grade, &taskID, &enabled)
		if err != nil {
			return translateNotFound(err, "Sync queue row")
		}
		w.QueueCreatedAt = w.QueueCreatedAt.UTC()
		if grade.Valid {
			w.Grade = &grade.String
		}
		if status == optio.SyncCompleted {
			w.Done = true
			return nil
		}
		if !taskID.Valid {
			// Fall back to a task that names the assignment directly.
			err := tx.QueryRowContext(ctx, `SELECT t.id FROM tasks t JOIN quests q ON q.id = t.quest_id
				WHERE t.lms_assignment_id = $1 AND q.lms_platform = $2 ORDER BY t.created_at LIMIT 1`,
				w.SparkAssignmentID, optio.PlatformSpark).Scan(&taskID)
			if err != nil && err != sql.ErrNoRows {
				return err
			}
		}
		if !taskID.Valid {
			// First sight of the assignment (or its course): record it, and
			// give it a task when its course is mapped (at once with AutoMap).
			tid, requeued, err := db.ensureSparkAssignmentTx(ctx, tx, w.SparkCourseID, w.SparkAssignmentID)
			if err != nil {
				return err
			}
			w.requeued = requeued
			taskID = sql.NullString{String: tid, Valid: tid != ""}
		}
		now := db.now()
		if !taskID.Valid {
			w.Waiting = true
			_, err := tx.ExecContext(ctx, `UPDATE spark_evidence_sync_queue SET status = 'waiting',
				error_message = $2, updated_at = $3 WHERE id = $1`, queueID,
				fmt.Sprintf("waiting for an admin to map Spark course %s (/admin/spark)", w.SparkCourseID), now)
			return err
		}
		if !enabled {
			w.Waiting = true
			_, err := tx.ExecContext(ctx, `UPDATE spark_evidence_sync_queue SET status = 'waiting',
				error_message = $2, updated_at = $3 WHERE id = $1`, queueID,
				fmt.Sprintf("sync is off for Spark course %s; it syncs when an admin turns it on", w.SparkCourseID), now)
			return err
		}
		t, err := scanTask(tx.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE id = $1`, taskID.String))
		if err != nil {
			return translateNotFound(err, "Task")
		}
		w.Task = t
		w.Attempts++
		_, err = tx.ExecContext(ctx, `UPDATE spark_evidence_sync_queue SET status = 'processing', attempts = attempts + 1,
			started_at = $2, updated_at = $2 WHERE id = $1`, queueID, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("begin sync %s: %w", queueID, err)
	}
	db.syncSoon(w.requeued...)
	w.requeued = nil
	return w, nil
}

// FinishSync writes the evidence of a claimed sync in one transaction: the
// completion (with its XP award, once per user and task) or, when one exists,
// its blocks replaced and its grade updated (a new or changed grade enqueues
// its passback); the submission marked synced; the queue row completed. When
// the row's revision is no longer the submission's latest, nothing is written
// and the row completes as superseded.
func (db *DB) FinishSync(ctx context.Context, w *SyncWork, blocks []optio.BlockInput) (*SyncResult, error) {
	res := &SyncResult{}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		now := db.now()
		var latest int
		if err := tx.QueryRowContext(ctx, `SELECT revision FROM spark_assignment_submissions WHERE id = $1`, w.SubmissionID).Scan(&latest); err != nil {
			return translateNotFound(err, "Submission")
		}
		if latest != w.Revision {
			res.Superseded = true
			_, err := tx.ExecContext(ctx, `UPDATE spark_evidence_sync_queue SET status = 'completed', completed_at = $2, updated_at = $2,
				error_message = $3 WHERE id = $1`, w.QueueID, now, fmt.Sprintf("superseded by revision %d", latest))
			return err
		}
		// The task as it is now, share-locked: Spark's data may have
		// replaced a placeholder's XP or pillar since BeginSync read it, and
		// a course update correcting placeholder awards waits for this award
		// (syncs of one task do not wait for each other). SQLite's single
		// writer needs no lock.
		lock := ""
		if db.Dialect == Postgres {
			lock = ` FOR SHARE`
		}
		t, err := scanTask(tx.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE id = $1`+lock, w.Task.ID))
		if err != nil {
			return translateNotFound(err, "Task")
		}
		w.Task = t
		var cid string
		err = tx.QueryRowContext(ctx, `SELECT id FROM quest_task_completions WHERE user_id = $1 AND task_id = $2`, w.UserID, w.Task.ID).Scan(&cid)
		switch {
		case err == sql.ErrNoRows:
			cid, err = db.completeTx(ctx, tx, w.UserID, w.Task, optio.PlatformSpark, w.Grade, blocks)
			if err != nil {
				return err
			}
			res.Created = true
		case err != nil:
			return err
		default:
			if err := db.replaceEvidenceTx(ctx, tx, w.UserID, w.Task.ID, cid, w.Grade, blocks); err != nil {
				return err
			}
			// The ledger's unique key makes this a no-op unless an award is missing.
			if err := db.awardXPTx(ctx, tx, w.UserID, w.Task); err != nil {
				return err
			}
		}
		res.CompletionID = cid
		if _, err := tx.ExecContext(ctx, `UPDATE spark_assignment_submissions SET synced_to_optio = TRUE, optio_task_completion_id = $2,
			updated_at = $3 WHERE id = $1`, w.SubmissionID, cid, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE spark_evidence_sync_queue SET status = 'completed', completed_at = $2, updated_at = $2,
			error_message = NULL, next_attempt_at = NULL, retry_until = NULL, file_problems = $3 WHERE id = $1`,
			w.QueueID, now, fileProblemsJSON(blocks)); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("finish sync %s: %w", w.QueueID, err)
	}
	return res, nil
}

// replaceEvidenceTx swaps a completion's blocks for new ones and updates its
// grade, passing a changed grade back; the document is created when it is
// missing.
func (db *DB) replaceEvidenceTx(ctx context.Context, tx *sql.Tx, userID, taskID, cid string, grade *string, blocks []optio.BlockInput) error {
	now := db.now()
	var before sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT grade FROM quest_task_completions WHERE id = $1`, cid).Scan(&before); err != nil {
		return translateNotFound(err, "Completion")
	}
	var docID string
	err := tx.QueryRowContext(ctx, `SELECT id FROM evidence_documents WHERE completion_id = $1`, cid).Scan(&docID)
	switch {
	case err == sql.ErrNoRows:
		docID = newID()
		if _, err := tx.ExecContext(ctx, `INSERT INTO evidence_documents (id, user_id, task_id, completion_id, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$5)`, docID, userID, taskID, cid, now); err != nil {
			return translate(err)
		}
	case err != nil:
		return translate(err)
	default:
		if err := db.deleteBlocksTx(ctx, tx, docID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE evidence_documents SET updated_at = $2 WHERE id = $1`, docID, now); err != nil {
			return translate(err)
		}
	}
	if err := db.insertBlocksTx(ctx, tx, docID, blocks); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE quest_task_completions SET grade = $2, updated_at = $3 WHERE id = $1`, cid, grade, now); err != nil {
		return translate(err)
	}
	if grade != nil && (!before.Valid || before.String != *grade) {
		return db.passGradeBackTx(ctx, tx, cid, *grade)
	}
	return nil
}

// FailSync records a failed attempt: the row goes back to pending with the
// error (River retries it), or to failed when final.
func (db *DB) FailSync(ctx context.Context, queueID, message string, final bool) error {
	status := optio.SyncPending
	if final {
		status = optio.SyncFailed
	}
	if len(message) > 2000 {
		message = message[:2000]
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE spark_evidence_sync_queue SET status = $2, error_message = $3, updated_at = $4,
			next_attempt_at = NULL WHERE id = $1 AND status <> 'completed'`, queueID, status, message, db.now())
		return err
	})
}

// PendingSyncsOlderThan lists the pending rows that should have a job: those
// created before cutoff with no retry scheduled, and those whose scheduled
// retry (ScheduleRetry) is due by the store's clock. The sweeper gives each a job.
func (db *DB) PendingSyncsOlderThan(ctx context.Context, cutoff time.Time, limit int) ([]string, error) {
	rows, err := db.query(ctx, `SELECT id FROM spark_evidence_sync_queue WHERE status = 'pending'
		AND ((next_attempt_at IS NULL AND created_at < $1) OR next_attempt_at <= $3)
		ORDER BY created_at LIMIT $2`, cutoff.UTC(), limit, db.now())
	if err != nil {
		return nil, err
	}
	return collectIDs(rows)
}

// SyncQueueRow is one queue row as stored, for tests and tools.
type SyncQueueRow struct {
	ID, SubmissionID, Status, ErrorMessage string
	Revision, Attempts                     int
	CreatedAt                              time.Time
	CompletedAt                            *time.Time
	// NextAttemptAt and RetryUntil: a scheduled retry and the end of its window.
	NextAttemptAt, RetryUntil *time.Time
	FileProblems              []optio.FileProblem
}

// SyncQueueRowByID reads one queue row.
func (db *DB) SyncQueueRowByID(ctx context.Context, id string) (*SyncQueueRow, error) {
	var r SyncQueueRow
	var msg sql.NullString
	var done sql.NullTime
	var next, until sql.NullTime
	var problems sql.NullString
	err := db.R.QueryRowContext(ctx, `SELECT id, submission_id, status, error_message, revision, attempts, created_at, completed_at,
		next_attempt_at, retry_until, file_problems
		FROM spark_evidence_sync_queue WHERE id = $1`, id).Scan(&r.ID, &r.SubmissionID, &r.Status, &msg, &r.Revision, &r.Attempts, &r.CreatedAt, &done,
		&next, &until, &problems)
	if err != nil {
		return nil, translateNotFound(err, "Sync queue row")
	}
	r.NextAttemptAt, r.RetryUntil, r.FileProblems = nullTimePtr(next), nullTimePtr(until), parseFileProblems(problems)
	r.ErrorMessage = msg.String
	if done.Valid {
		t := done.Time.UTC()
		r.CompletedAt = &t
	}
	return &r, nil
}

// enqueueTx inserts a job in tx when an Enqueuer is set; without one the
// sweeper picks the row up later.
func (db *DB) enqueueTx(ctx context.Context, tx *sql.Tx, job optio.Job) error {
	if db.enqueue == nil {
		return nil
	}
	if err := db.enqueue.EnqueueTx(ctx, tx, job); err != nil {
		return fmt.Errorf("enqueue %s: %w", job.Kind(), err)
	}
	return nil
}

func collectIDs(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// deleteBlocksTx deletes a document's blocks and then the file rows only
// they referenced. Rows still used by another block stay, and so does a row
// no block has used yet (an upload waiting to be attached), because only the
// deleted blocks' files are considered.
//
// Blobs are left in place: they are content-addressed and shared — by other
// students' identical files, and by a resubmission that sends the same file
// again (its new row has the same key). Deleting one safely would need a
// collector with a grace period, since a concurrent Put that found the blob
// already stored has not yet written the row that will reference it.
func (db *DB) deleteBlocksTx(ctx context.Context, tx *sql.Tx, docID string) error {
	rows, err := tx.QueryContext(ctx, `SELECT file_id FROM evidence_document_blocks WHERE document_id = $1 AND file_id IS NOT NULL
		UNION SELECT preview_file_id FROM evidence_document_blocks WHERE document_id = $1 AND preview_file_id IS NOT NULL`, docID)
	if err != nil {
		return translate(err)
	}
	var fileIDs []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return translate(err)
		}
		fileIDs = append(fileIDs, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return translate(err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM evidence_document_blocks WHERE document_id = $1`, docID); err != nil {
		return translate(err)
	}
	for _, id := range fileIDs {
		if _, err := tx.ExecContext(ctx, `DELETE FROM files WHERE id = $1
			AND NOT EXISTS (SELECT 1 FROM evidence_document_blocks WHERE file_id = $1 OR preview_file_id = $1)`, id); err != nil {
			return translate(err)
		}
	}
	return nil
}
