package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/optio-edu/optio"
)

// pollStatusKey is the job_state key of the last poll's outcome.
const pollStatusKey = "spark_poll_status"

// PollWalk is where polling Spark's API stands for one assignment: the
// watermark of the last complete walk and, while a walk is unfinished (a
// poll stopped by an error or a limit), the cursor of its next page.
type PollWalk struct {
	AssignmentID string
	CourseID     string
	// Watermark is when the last complete walk started (zero: never).
	Watermark time.Time
	// ReconciledAt is when the last complete full walk (no since) started.
	ReconciledAt time.Time
	// Started is when the unfinished walk started (zero: none).
	Started time.Time
	// Full: the unfinished walk reads everything (no since).
	Full bool
	// Since is the since the unfinished walk asks with (zero: none).
	Since time.Time
	// Cursor is the next page of the unfinished walk ("" : its first).
	Cursor string
}

// InProgress reports whether a walk was started and not finished.
func (w *PollWalk) InProgress() bool { return !w.Started.IsZero() }

// PollWalk reads an assignment's polling position; an assignment never
// polled has a zero PollWalk.
func (db *DB) PollWalk(ctx context.Context, assignmentID string) (*PollWalk, error) {
	w := &PollWalk{AssignmentID: assignmentID}
	var wm, rec, started, since sql.NullTime
	var cursor sql.NullString
	err := db.R.QueryRowContext(ctx, `SELECT spark_course_id, watermark, reconciled_at, walk_started, walk_full, walk_since, walk_cursor
		FROM spark_poll_assignments WHERE spark_assignment_id = $1`, assignmentID).
		Scan(&w.CourseID, &wm, &rec, &started, &w.Full, &since, &cursor)
	if err == sql.ErrNoRows {
		return w, nil
	}
	if err != nil {
		return nil, fmt.Errorf("poll walk %s: %w", assignmentID, translate(err))
	}
	w.Watermark, w.ReconciledAt, w.Started, w.Since = utcOf(wm), utcOf(rec), utcOf(started), utcOf(since)
	w.Cursor = cursor.String
	return w, nil
}

// SavePollWalk stores an assignment's polling position (one row per
// assignment, written after every page so a stopped poll resumes there).
func (db *DB) SavePollWalk(ctx context.Context, w *PollWalk) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO spark_poll_assignments (spark_assignment_id, spark_course_id, watermark, reconciled_at,
			walk_started, walk_full, walk_since, walk_cursor, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
			ON CONFLICT (spark_assignment_id) DO UPDATE SET spark_course_id = excluded.spark_course_id, watermark = excluded.watermark,
				reconciled_at = excluded.reconciled_at, walk_started = excluded.walk_started, walk_full = excluded.walk_full,
				walk_since = excluded.walk_since, walk_cursor = excluded.walk_cursor, updated_at = excluded.updated_at`,
			w.AssignmentID, w.CourseID, nullTimeOf(w.Watermark), nullTimeOf(w.ReconciledAt), nullTimeOf(w.Started), w.Full,
			nullTimeOf(w.Since), nullString(w.Cursor), db.now())
		return err
	})
	if err != nil {
		return fmt.Errorf("save poll walk %s: %w", w.AssignmentID, err)
	}
	return nil
}

// RequeueFailedSubmission puts a submission whose latest sync failed back in
// line, for polling that finds Spark still listing it (the file host may be
// back). The failed row becomes pending and gets a retry job in the same
// transaction; the sync's idempotent write makes a second run harmless. It
// reports the row and whether anything was requeued.
func (db *DB) RequeueFailedSubmission(ctx context.Context, sparkUserID, sparkAssignmentID string) (string, bool, error) {
	var queueID string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		queueID = ""
		now := db.now()
		err := tx.QueryRowContext(ctx, `SELECT q.id FROM spark_evidence_sync_queue q
			JOIN spark_assignment_submissions s ON s.id = q.submission_id AND s.revision = q.revision
			WHERE s.spark_user_id = $1 AND s.spark_assignment_id = $2 AND q.status = $3
			ORDER BY q.created_at DESC, q.id DESC LIMIT 1`, sparkUserID, sparkAssignmentID, optio.SyncFailed).Scan(&queueID)
		if err == sql.ErrNoRows {
			queueID = ""
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE spark_evidence_sync_queue SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4`,
			optio.SyncPending, now, queueID, optio.SyncFailed); err != nil {
			return err
		}
		return db.enqueueTx(ctx, tx, optio.SyncRetryJob{QueueID: queueID, Retry: now.UnixNano()})
	})
	if err != nil {
		return "", false, fmt.Errorf("requeue failed submission %s/%s: %w", sparkUserID, sparkAssignmentID, err)
	}
	return queueID, queueID != "", nil
}

// SetSparkPollStatus records how a poll went, for admins; LastOKAt carries
// over from the previous status when this poll failed.
func (db *DB) SetSparkPollStatus(ctx context.Context, st optio.SparkPollStatus) error {
	if st.OK {
		st.LastOKAt = st.FinishedAt
	} else if prev, err := db.SparkPollStatus(ctx); err != nil {
		return err
	} else if prev != nil {
		st.LastOKAt = prev.LastOKAt
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return db.SetJobState(ctx, pollStatusKey, string(b))
}

// SparkPollStatus reads how the last poll went (nil before the first).
func (db *DB) SparkPollStatus(ctx context.Context) (*optio.SparkPollStatus, error) {
	v, err := db.JobState(ctx, pollStatusKey)
	if err != nil || v == "" {
		return nil, err
	}
	var st optio.SparkPollStatus
	if err := json.Unmarshal([]byte(v), &st); err != nil {
		return nil, fmt.Errorf("spark poll status: %w", err)
	}
	return &st, nil
}

func utcOf(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

func nullTimeOf(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Truncate(time.Microsecond)
}
