package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/optio-edu/optio"
)

// syncHistoryHours is how far back SyncQueueStats reports history.
const syncHistoryHours = 12

// SyncQueueStats implements optio.SparkSyncStore.
func (db *DB) SyncQueueStats(ctx context.Context, failures int) (*optio.SyncQueueStats, error) {
	now := db.now()
	st := &optio.SyncQueueStats{Counts: map[string]int{}, RecentFailures: []optio.SyncFailure{}}
	for _, s := range []string{optio.SyncPending, optio.SyncProcessing, optio.SyncCompleted, optio.SyncFailed, optio.SyncWaiting} {
		st.Counts[s] = 0
	}
	rows, err := db.query(ctx, `SELECT status, COUNT(*) FROM spark_evidence_sync_queue GROUP BY status`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			rows.Close()
			return nil, err
		}
		st.Counts[s] = n
	}
	rows.Close()
	var oldest sql.NullTime
	if err := db.R.QueryRowContext(ctx, `SELECT MIN(created_at) FROM spark_evidence_sync_queue WHERE status = 'pending'`).Scan(&oldest); err != nil {
		// SQLite returns MIN() as text; retry as a string.
		var s sql.NullString
		if err2 := db.R.QueryRowContext(ctx, `SELECT MIN(created_at) FROM spark_evidence_sync_queue WHERE status = 'pending'`).Scan(&s); err2 != nil {
			return nil, translate(err)
		}
		if s.Valid {
			if t, perr := parseSQLiteTime(s.String); perr == nil {
				oldest = sql.NullTime{Time: t, Valid: true}
			}
		}
	}
	if oldest.Valid {
		st.OldestPendingSeconds = max(0, now.Sub(oldest.Time.UTC()).Seconds())
	}
	frows, err := db.query(ctx, `SELECT q.id, q.submission_id, s.user_id, s.spark_assignment_id, q.status, q.attempts,
		COALESCE(q.error_message,''), q.updated_at, q.next_attempt_at, q.file_problems
		FROM spark_evidence_sync_queue q JOIN spark_assignment_submissions s ON s.id = q.submission_id
		WHERE q.status = 'failed' OR (q.status IN ('pending','processing') AND q.error_message IS NOT NULL)
			OR (q.status = 'completed' AND q.file_problems IS NOT NULL)
		ORDER BY q.updated_at DESC LIMIT $1`, failures)
	if err != nil {
		return nil, err
	}
	for frows.Next() {
		var f optio.SyncFailure
		var next sql.NullTime
		var problems sql.NullString
		if err := frows.Scan(&f.QueueID, &f.SubmissionID, &f.UserID, &f.SparkAssignmentID, &f.Status, &f.Attempts, &f.ErrorMessage, &f.UpdatedAt,
			&next, &problems); err != nil {
			frows.Close()
			return nil, err
		}
		f.UpdatedAt = f.UpdatedAt.UTC()
		f.NextAttemptAt = nullTimePtr(next)
		f.FileProblems = parseFileProblems(problems)
		st.RecentFailures = append(st.RecentFailures, f)
	}
	frows.Close()
	if err := db.syncHistory(ctx, now, st); err != nil {
		return nil, err
	}
	if st.Poll, err = db.SparkPollStatus(ctx); err != nil {
		return nil, err
	}
	if st.APIKeyProblem, err = db.SparkAPIKeyProblem(ctx); err != nil {
		return nil, err
	}
	return st, nil
}

// syncHistory buckets the last hours of queue rows by hour.
func (db *DB) syncHistory(ctx context.Context, now time.Time, st *optio.SyncQueueStats) error {
	start := now.Truncate(time.Hour).Add(-(syncHistoryHours - 1) * time.Hour)
	hours := make([]optio.SyncHour, syncHistoryHours)
	sums := make([]float64, syncHistoryHours)
	for i := range hours {
		hours[i].Hour = start.Add(time.Duration(i) * time.Hour)
	}
	rows, err := db.query(ctx, `SELECT created_at, completed_at FROM spark_evidence_sync_queue
		WHERE created_at >= $1 OR completed_at >= $1 LIMIT 100000`, start)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var created time.Time
		var done sql.NullTime
		if err := rows.Scan(&created, &done); err != nil {
			return err
		}
		if i := int(created.UTC().Sub(start) / time.Hour); i >= 0 && i < syncHistoryHours {
			hours[i].Created++
		}
		if done.Valid {
			if i := int(done.Time.UTC().Sub(start) / time.Hour); i >= 0 && i < syncHistoryHours {
				hours[i].Completed++
				sums[i] += done.Time.Sub(created).Seconds()
			}
		}
	}
	for i := range hours {
		if hours[i].Completed > 0 {
			hours[i].AvgLatencySecs = sums[i] / float64(hours[i].Completed)
		}
	}
	st.History = hours
	return rows.Err()
}

func parseSQLiteTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised time %q", s)
}

// RetrySyncs implements optio.SparkSyncStore: failed rows (when asked) go
// back to pending, and every pending row gets a job unless it has a live one.
func (db *DB) RetrySyncs(ctx context.Context, retryFailed bool) (int, error) {
	var n int
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		now := db.now()
		if retryFailed {
			rows, err := tx.QueryContext(ctx, `UPDATE spark_evidence_sync_queue SET status = 'pending', updated_at = $1,
				next_attempt_at = NULL, retry_until = NULL WHERE status = 'failed' RETURNING id`, now)
			if err != nil {
				return err
			}
			var retries []optio.SyncRetryJob
			for rows.Next() {
				j := optio.SyncRetryJob{Retry: now.UnixNano()}
				if err := rows.Scan(&j.QueueID); err != nil {
					rows.Close()
					return err
				}
				retries = append(retries, j)
			}
			rows.Close()
			for _, j := range retries {
				if err := db.enqueueTx(ctx, tx, j); err != nil {
					return err
				}
			}
			n += len(retries)
		}
		rows, err := tx.QueryContext(ctx, `SELECT id FROM spark_evidence_sync_queue WHERE status = 'pending' AND updated_at < $1
			ORDER BY created_at LIMIT 10000`, now)
		if err != nil {
			return err
		}
		ids, err := collectIDs(rows)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := db.enqueueTx(ctx, tx, optio.SyncSubmissionJob{QueueID: id}); err != nil {
				return err
			}
		}
		n += len(ids)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("retry syncs: %w", err)
	}
	return n, nil
}

// SparkCourses implements optio.SparkSyncStore.
func (db *DB) SparkCourses(ctx context.Context) ([]optio.SparkCourseStatus, error) {
	return db.sparkCourses(ctx, "")
}

// MapSparkCourse implements optio.SparkSyncStore in one transaction: the
// quest (new or existing), a task per assignment not yet mapped into it, the
// mapping, the course's roster enrolled, and the re-queueing of syncs that
// were waiting for those tasks. A course Optio met only in submissions,
// polls or enrolments can be mapped too. A pillar given here is the
// course's (an admin's choice); without one the course's pillar is used.
// XP 0 gives each task its assignment's max_points (optio.SparkTaskXP). A
// new quest made without a title keeps following Spark's title (auto mode).
func (db *DB) MapSparkCourse(ctx context.Context, courseID string, in optio.CourseMapInput) (*optio.SparkCourseStatus, error) {
	f := optio.FieldErrors{}
	if !in.CreateNew && !validID(in.QuestID) {
		f.Add("optio_quest_id", `must be a quest id or "create_new"`)
	}
	if in.Pillar != "" && !in.Pillar.Valid() {
		f.Add("quest_data.pillar", "must be stem, wellness, communication, civics or art")
	}
	if in.XPValue < 0 || in.XPValue > 100000 {
		f.Add("quest_data.xp_value", "must be between 0 and 100000")
	}
	if len([]rune(in.Title)) > 200 {
		f.Add("quest_data.title", "must be at most 200 characters")
	}
	if err := f.Err(optio.EINVALID, "The mapping is not valid."); err != nil {
		return nil, err
	}
	var requeued []string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		now := db.now()
		c, err := db.knownSparkCourseTx(ctx, tx, courseID)
		if err != nil {
			return err
		}
		if in.Pillar != "" {
			if err := db.setCoursePillarTx(ctx, tx, c, in.Pillar, optio.PillarFromAdmin); err != nil {
				return err
			}
		}
		in.Pillar, _ = c.pillar()
		title, desc, mode := c.Title, c.Description, "manual"
		questID := in.QuestID
		if in.CreateNew {
			questID = newID()
			if t := strings.TrimSpace(in.Title); t != "" {
				title = t
			} else {
				mode = "auto" // named by Spark: later course data renames it
			}
			if strings.TrimSpace(title) == "" {
				title = placeholderCourseTitle(courseID)
			}
			if in.Description != "" {
				desc = in.Description
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO quests (id, title, description, source, lms_platform, lms_course_id, active, created_at, updated_at)
				VALUES ($1,$2,$3,'lms',$4,$5,TRUE,$6,$6)`, questID, cutRunes(title, maxQuestTitleRunes), cutRunes(desc, maxQuestDescRunes),
				optio.PlatformSpark, courseID, now); err != nil {
				if isConflict(err) {
					return &optio.Error{Code: optio.ECONFLICT, Message: "A quest already exists for this Spark course; map to it instead."}
				}
				return err
			}
		} else {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM quests WHERE id = $1`, questID).Scan(&one); err != nil {
				if err == sql.ErrNoRows {
					return optio.FieldErrors{"optio_quest_id": "no such quest"}.Err(optio.EINVALID, "The mapping is not valid.")
				}
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE spark_course_mappings SET optio_quest_id = $2, mapping_mode = $3, updated_at = $4
			WHERE spark_course_id = $1`, courseID, questID, mode, now); err != nil {
			return err
		}
		ids, err := db.mapAssignmentsTx(ctx, tx, courseID, questID, in)
		if err != nil {
			return err
		}
		if _, err := db.enrollRosterTx(ctx, tx, courseID, questID); err != nil {
			return err
		}
		requeued, err = db.requeueAssignmentsTx(ctx, tx, ids)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("map spark course %s: %w", courseID, err)
	}
	db.syncSoon(requeued...)
	return db.SparkCourse(ctx, courseID)
}

// mapAssignmentsTx gives every assignment of the course a task in the quest
// (reusing one that already names the assignment) and returns their ids.
func (db *DB) mapAssignmentsTx(ctx context.Context, tx *sql.Tx, courseID, questID string, in optio.CourseMapInput) ([]string, error) {
	type asg struct {
		id, title, desc string
		due             sql.NullTime
		maxp            sql.NullFloat64
	}
	rows, err := tx.QueryContext(ctx, `SELECT spark_assignment_id, title, description, due_at, max_points FROM spark_assignments
		WHERE spark_course_id = $1 ORDER BY created_at, spark_assignment_id`, courseID)
	if err != nil {
		return nil, translate(err)
	}
	var as []asg
	for rows.Next() {
		var a asg
		if err := rows.Scan(&a.id, &a.title, &a.desc, &a.due, &a.maxp); err != nil {
			rows.Close()
			return nil, err
		}
		as = append(as, a)
	}
	rows.Close()
	now := db.now()
	var ids []string
	for i, a := range as {
		var taskID string
		err := tx.QueryRowContext(ctx, `SELECT id FROM tasks WHERE quest_id = $1 AND lms_assignment_id = $2`, questID, a.id).Scan(&taskID)
		if err == sql.ErrNoRows {
			taskID = newID()
			title := a.title
			if strings.TrimSpace(title) == "" {
				title = placeholderAssignmentTitle(a.id)
			}
			var due, maxp any
			if a.due.Valid {
				due = a.due.Time.UTC()
			}
			if a.maxp.Valid {
				maxp = a.maxp.Float64
			}
			xp := in.XPValue
			if xp == 0 {
				var mp *float64
				if a.maxp.Valid {
					mp = &a.maxp.Float64
				}
				xp = optio.SparkTaskXP(mp)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO tasks (id, quest_id, title, description, pillar, xp_value, position, lms_assignment_id,
				due_at, max_points, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$11)`,
				taskID, questID, cutRunes(title, maxQuestTitleRunes), cutRunes(a.desc, maxQuestDescRunes), in.Pillar, xp, i, a.id, due, maxp, now); err != nil {
				return nil, translate(err)
			}
		} else if err != nil {
			return nil, translate(err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE spark_assignments SET optio_task_id = $2, updated_at = $3 WHERE spark_assignment_id = $1`,
			a.id, taskID, now); err != nil {
			return nil, translate(err)
		}
		ids = append(ids, a.id)
	}
	return ids, nil
}
