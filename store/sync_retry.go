package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/optio-edu/optio"
)

// ScheduleRetry records a transient failure of a sync and schedules its next
// attempt after delay, by the store's clock: the row goes back to pending
// with next_attempt_at, and the sweeper gives it a job when that time has
// come. delay gets the row's attempt count. The first failure opens a retry window of length window; an attempt
// that would fall after the window's end is not scheduled and the row is
// failed instead (admins retry it). It returns the scheduled time, or nil
// when the row failed.
func (db *DB) ScheduleRetry(ctx context.Context, queueID, message string, delay func(attempts int) time.Duration, window time.Duration) (*time.Time, error) {
	if len(message) > 2000 {
		message = message[:2000]
	}
	var next *time.Time
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		now := db.now()
		var until sql.NullTime
		var attempts int
		if err := tx.QueryRowContext(ctx, `SELECT retry_until, attempts FROM spark_evidence_sync_queue WHERE id = $1`, queueID).Scan(&until, &attempts); err != nil {
			return translateNotFound(err, "Sync queue row")
		}
		end := now.Add(window).Truncate(time.Microsecond)
		if until.Valid {
			end = until.Time.UTC()
		}
		at := now.Add(delay(attempts)).Truncate(time.Microsecond)
		if at.After(end) {
			_, err := tx.ExecContext(ctx, `UPDATE spark_evidence_sync_queue SET status = 'failed', error_message = $2, updated_at = $3,
				next_attempt_at = NULL, retry_until = $4 WHERE id = $1 AND status <> 'completed'`, queueID, message, now, end)
			return err
		}
		next = &at
		_, err := tx.ExecContext(ctx, `UPDATE spark_evidence_sync_queue SET status = 'pending', error_message = $2, updated_at = $3,
			next_attempt_at = $4, retry_until = $5 WHERE id = $1 AND status <> 'completed'`, queueID, message, now, at, end)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("schedule retry of %s: %w", queueID, err)
	}
	return next, nil
}

// fileProblemsJSON lists the blocks that record a file not imported, as
// stored in spark_evidence_sync_queue.file_problems (NULL: none).
func fileProblemsJSON(blocks []optio.BlockInput) any {
	var out []optio.FileProblem
	for _, b := range blocks {
		if b.Content.NotImported != "" {
			out = append(out, optio.FileProblem{Filename: b.Content.Filename, Reason: b.Content.NotImported})
		}
	}
	if len(out) == 0 {
		return nil
	}
	j, _ := json.Marshal(out)
	return string(j)
}

// parseFileProblems reads file_problems; a NULL or unreadable value is none.
func parseFileProblems(s sql.NullString) []optio.FileProblem {
	out := []optio.FileProblem{}
	if s.Valid {
		_ = json.Unmarshal([]byte(s.String), &out)
	}
	return out
}

func nullTimePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}
