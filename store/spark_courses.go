package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/optio-edu/optio"
)

// Spark courses seen anywhere — a course webhook, Spark's API, an SSO
// token's spark_course_ids, a roster event, a submission or a poll — are
// recorded at first sight (spark_course_mappings), so an admin can always
// see and map them. With AutoMap (SPARK_AUTO_MAP) an unmapped course also
// gets a quest at once, named from what is known until Spark's data
// arrives; a known course's unknown assignment gets a task the same way.
// Better data — a course webhook, or the SparkCourseFetchJob reading
// Spark's API — goes through one function, applySparkCourseTx.

// placeholderCourseTitle names a course's quest until Spark's title arrives.
func placeholderCourseTitle(courseID string) string { return "Spark course " + courseID }

// placeholderAssignmentTitle names a task until Spark's title arrives.
func placeholderAssignmentTitle(assignmentID string) string {
	return "Spark assignment " + assignmentID
}

// sparkCourseRow is one spark_course_mappings row.
type sparkCourseRow struct {
	ID, CourseID, Title, Description, Mode string
	QuestID                                sql.NullString
	SyncEnabled, AutoEnroll                bool
	Pillar, PillarSource                   sql.NullString
}

const sparkCourseCols = `id, spark_course_id, course_title, course_description, mapping_mode, optio_quest_id,
	sync_enabled, auto_enroll_students, pillar, pillar_source`

func scanSparkCourse(row interface{ Scan(...any) error }) (*sparkCourseRow, error) {
	var r sparkCourseRow
	err := row.Scan(&r.ID, &r.CourseID, &r.Title, &r.Description, &r.Mode, &r.QuestID, &r.SyncEnabled, &r.AutoEnroll, &r.Pillar, &r.PillarSource)
	return &r, err
}

// pillar is the course's effective pillar and who chose it.
func (r *sparkCourseRow) pillar() (optio.Pillar, string) {
	return coursePillar(r.Pillar, r.PillarSource, r.Title)
}

func coursePillar(p, source sql.NullString, title string) (optio.Pillar, string) {
	if p.Valid && optio.Pillar(p.String).Valid() {
		return optio.Pillar(p.String), source.String
	}
	return optio.SparkCoursePillar(title), optio.PillarFromTitle
}

// sparkCourseTx reads a course's row, or nil when Optio has not seen it.
func (db *DB) sparkCourseTx(ctx context.Context, tx *sql.Tx, courseID string) (*sparkCourseRow, error) {
	r, err := scanSparkCourse(tx.QueryRowContext(ctx, `SELECT `+sparkCourseCols+` FROM spark_course_mappings WHERE spark_course_id = $1`, courseID))
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, translate(err)
	}
	return r, nil
}

// ensureSparkCourseTx records a course at first sight — asking Spark's API
// for it (SparkCourseFetchJob) — and, with AutoMap, maps a course without a
// quest to one (the one named for it, or a new one named from what is
// known), in auto mode, enrolling the students Spark reported in it.
//
// A course seen before (every sign-in after the first in it) costs one read.
func (db *DB) ensureSparkCourseTx(ctx context.Context, tx *sql.Tx, courseID string) (*sparkCourseRow, error) {
	now := db.now()
	r, err := db.sparkCourseTx(ctx, tx, courseID)
	if err != nil {
		return nil, err
	}
	if r == nil {
		res, err := tx.ExecContext(ctx, `INSERT INTO spark_course_mappings (id, spark_course_id, created_at, updated_at)
			VALUES ($1,$2,$3,$3) ON CONFLICT (spark_course_id) DO NOTHING`, newID(), courseID, now)
		if err != nil {
			return nil, translate(err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			if err := db.enqueueTx(ctx, tx, optio.SparkCourseFetchJob{SparkCourseID: courseID}); err != nil {
				return nil, err
			}
		}
		if r, err = db.sparkCourseTx(ctx, tx, courseID); err != nil || r == nil {
			return r, err
		}
	}
	if r.QuestID.Valid || !db.autoMap {
		return r, nil
	}
	title := strings.TrimSpace(r.Title)
	if title == "" {
		title = placeholderCourseTitle(courseID)
	}
	qid, err := db.ensureCourseQuestTx(ctx, tx, courseID, title, r.Description)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE spark_course_mappings SET optio_quest_id = $1, mapping_mode = 'auto', updated_at = $2 WHERE id = $3`,
		qid, now, r.ID); err != nil {
		return nil, translate(err)
	}
	r.QuestID, r.Mode = sql.NullString{String: qid, Valid: true}, "auto"
	if _, err := db.enrollRosterTx(ctx, tx, courseID, qid); err != nil {
		return nil, err
	}
	return r, nil
}

// ensureCourseQuestTx returns the quest named for a Spark course, creating
// it with title and desc when there is none (an existing one is left as it
// is: an admin may have renamed it).
func (db *DB) ensureCourseQuestTx(ctx context.Context, tx *sql.Tx, courseID, title, desc string) (string, error) {
	now := db.now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO quests (id, title, description, source, lms_platform, lms_course_id, active, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,TRUE,$7,$7) ON CONFLICT (lms_platform, lms_course_id) DO NOTHING`,
		newID(), cutRunes(title, maxQuestTitleRunes), cutRunes(desc, maxQuestDescRunes), optio.SourceLMS, optio.PlatformSpark, courseID, now); err != nil {
		return "", translate(err)
	}
	var id string
	err := tx.QueryRowContext(ctx, `SELECT id FROM quests WHERE lms_platform = $1 AND lms_course_id = $2`, optio.PlatformSpark, courseID).Scan(&id)
	return id, translate(err)
}

// ensureSparkAssignmentTx finds the task a submission syncs into. An
// assignment seen for the first time is recorded (and Spark's API asked
// for its course); when its course is mapped — at once, with AutoMap — it
// gets a task named from what is known. It returns "" while the course is
// unmapped, and the other syncs that were waiting for the new task, for
// the caller to queue after the commit.
func (db *DB) ensureSparkAssignmentTx(ctx context.Context, tx *sql.Tx, courseID, assignmentID string) (string, []string, error) {
	var course, title, desc string
	var task sql.NullString
	var maxp sql.NullFloat64
	var due sql.NullTime
	err := tx.QueryRowContext(ctx, `SELECT spark_course_id, title, description, due_at, max_points, optio_task_id
		FROM spark_assignments WHERE spark_assignment_id = $1`, assignmentID).Scan(&course, &title, &desc, &due, &maxp, &task)
	switch {
	case err == sql.ErrNoRows:
		course = courseID
		if _, err := tx.ExecContext(ctx, `INSERT INTO spark_assignments (spark_assignment_id, spark_course_id, created_at, updated_at)
			VALUES ($1,$2,$3,$3) ON CONFLICT (spark_assignment_id) DO NOTHING`, assignmentID, courseID, db.now()); err != nil {
			return "", nil, translate(err)
		}
		if err := db.enqueueTx(ctx, tx, optio.SparkCourseFetchJob{SparkCourseID: courseID}); err != nil {
			return "", nil, err
		}
	case err != nil:
		return "", nil, translate(err)
	case task.Valid:
		return task.String, nil, nil
	}
	c, err := db.ensureSparkCourseTx(ctx, tx, course)
	if err != nil || c == nil || !c.QuestID.Valid {
		return "", nil, err
	}
	if strings.TrimSpace(title) == "" {
		title = placeholderAssignmentTitle(assignmentID)
	}
	pillar, _ := c.pillar()
	var pos int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tasks WHERE quest_id = $1`, c.QuestID.String).Scan(&pos); err != nil {
		return "", nil, translate(err)
	}
	var maxPoints *float64
	if maxp.Valid {
		maxPoints = &maxp.Float64
	}
	var dueAt any
	if due.Valid {
		dueAt = due.Time.UTC()
	}
	now := db.now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO tasks (id, quest_id, title, description, pillar, xp_value, position, lms_assignment_id,
		due_at, max_points, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$11)
		ON CONFLICT (quest_id, lms_assignment_id) DO NOTHING`,
		newID(), c.QuestID.String, cutRunes(title, maxQuestTitleRunes), cutRunes(desc, maxQuestDescRunes), pillar,
		optio.SparkTaskXP(maxPoints), pos, assignmentID, dueAt, deref(maxPoints), now); err != nil {
		return "", nil, translate(err)
	}
	var tid string
	if err := tx.QueryRowContext(ctx, `SELECT id FROM tasks WHERE quest_id = $1 AND lms_assignment_id = $2`, c.QuestID.String, assignmentID).Scan(&tid); err != nil {
		return "", nil, translate(err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE spark_assignments SET optio_task_id = $1, updated_at = $2 WHERE spark_assignment_id = $3`,
		tid, now, assignmentID); err != nil {
		return "", nil, translate(err)
	}
	requeued, err := db.requeueAssignmentsTx(ctx, tx, []string{assignmentID})
	return tid, requeued, err
}

// ApplySparkCourse records what Spark says about a course — from Spark's
// API (the SparkCourseFetchJob) or any source other than a webhook
// delivery — exactly as the course webhook does, in one transaction.
func (db *DB) ApplySparkCourse(ctx context.Context, ev optio.SparkCourseEvent) (*optio.CourseReceipt, error) {
	var rc *optio.CourseReceipt
	var requeued []string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		rc, _, requeued, err = db.applySparkCourseTx(ctx, tx, ev)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("apply spark course %s: %w", ev.SparkCourseID, err)
	}
	db.syncSoon(requeued...)
	return rc, nil
}

// applySparkCourseTx is the one path by which Spark's data about a course
// reaches Optio (course webhook, Spark's API): the course and assignments
// are recorded; a course mapped in auto mode — or, with ev.AutoMap, not yet
// mapped — gets its quest and one task per assignment, matched on
// tasks.lms_assignment_id so task ids stay stable, and renamed to Spark's
// latest titles. Assignments missing from ev keep their tasks (work done
// against them must not vanish). Title, description, due date, max points
// and order follow Spark; pillar follows the course's (admin > Spark >
// title guess) for tasks still on the course's previous pillar, and XP
// follows max_points only for tasks made before Spark's max_points was
// known. When the course becomes mapped its roster is enrolled; syncs
// waiting for a newly made task are returned for queueing.
func (db *DB) applySparkCourseTx(ctx context.Context, tx *sql.Tx, ev optio.SparkCourseEvent) (*optio.CourseReceipt, string, []string, error) {
	rc := &optio.CourseReceipt{}
	now := db.now()
	before, err := db.sparkCourseTx(ctx, tx, ev.SparkCourseID)
	if err != nil {
		return nil, "", nil, err
	}
	r, err := scanSparkCourse(tx.QueryRowContext(ctx, `INSERT INTO spark_course_mappings (id, spark_course_id, course_title, course_description, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$5)
		ON CONFLICT (spark_course_id) DO UPDATE SET course_title = excluded.course_title,
			course_description = excluded.course_description, updated_at = excluded.updated_at
		RETURNING `+sparkCourseCols, newID(), ev.SparkCourseID, ev.Title, ev.Description, now))
	if err != nil {
		return nil, "", nil, translate(err)
	}
	if ev.Pillar != "" && ev.Pillar.Valid() && r.PillarSource.String != optio.PillarFromAdmin {
		if _, err := tx.ExecContext(ctx, `UPDATE spark_course_mappings SET pillar = $1, pillar_source = $2 WHERE id = $3`,
			ev.Pillar, optio.PillarFromSpark, r.ID); err != nil {
			return nil, "", nil, translate(err)
		}
		r.Pillar, r.PillarSource = sql.NullString{String: string(ev.Pillar), Valid: true}, sql.NullString{String: optio.PillarFromSpark, Valid: true}
	}
	// Assignment id → whether it already had a task.
	hadTask := make(map[string]bool, len(ev.Assignments))
	for _, a := range ev.Assignments {
		var task sql.NullString
		err := tx.QueryRowContext(ctx, `INSERT INTO spark_assignments (spark_assignment_id, spark_course_id, title, description,
			due_at, max_points, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$7)
			ON CONFLICT (spark_assignment_id) DO UPDATE SET spark_course_id = excluded.spark_course_id, title = excluded.title,
				description = excluded.description, due_at = excluded.due_at, max_points = excluded.max_points,
				updated_at = excluded.updated_at
			RETURNING optio_task_id`,
			a.SparkAssignmentID, ev.SparkCourseID, a.Title, a.Description, nullTime(a.DueAt), deref(a.MaxPoints), now).Scan(&task)
		if err != nil {
			return nil, "", nil, translate(err)
		}
		hadTask[a.SparkAssignmentID] = task.Valid
	}
	if (r.QuestID.Valid && r.Mode != "auto") || (!r.QuestID.Valid && !ev.AutoMap) {
		rc.QuestID = r.QuestID.String
		return rc, r.ID, nil, nil
	}

	newlyMapped := !r.QuestID.Valid
	qid, err := db.upsertCourseQuestTx(ctx, tx, ev)
	if err != nil {
		return nil, "", nil, err
	}
	rc.QuestID = qid
	if _, err := tx.ExecContext(ctx, `UPDATE spark_course_mappings SET optio_quest_id = $1, mapping_mode = 'auto', updated_at = $2 WHERE id = $3`,
		qid, now, r.ID); err != nil {
		return nil, "", nil, translate(err)
	}
	pillar, _ := r.pillar()
	if before != nil && before.QuestID.Valid && before.QuestID.String == qid {
		if old, _ := before.pillar(); old != pillar {
			// Awards made while the course had only a placeholder title
			// were in a guessed pillar: they move with the tasks.
			provisional := strings.TrimSpace(before.Title) == ""
			if err := db.moveCoursePillarTx(ctx, tx, qid, old, pillar, provisional); err != nil {
				return nil, "", nil, err
			}
		}
	}
	placeholders, err := db.placeholderTasksTx(ctx, tx, qid)
	if err != nil {
		return nil, "", nil, err
	}
	rc.TaskIDs = make(map[string]string, len(ev.Assignments))
	var newlyTasked []string
	for i, a := range ev.Assignments {
		tid, err := db.upsertAssignmentTaskTx(ctx, tx, qid, i, a, pillar)
		if err != nil {
			return nil, "", nil, err
		}
		if placeholders[tid] && a.MaxPoints != nil {
			// XP awarded before Spark's max_points was known was a placeholder.
			if _, err := tx.ExecContext(ctx, `UPDATE xp_ledger SET amount = $1 WHERE task_id = $2 AND amount = $3`,
				optio.SparkTaskXP(a.MaxPoints), tid, optio.SparkTaskXP(nil)); err != nil {
				return nil, "", nil, translate(err)
			}
		}
		rc.TaskIDs[a.SparkAssignmentID] = tid
		if _, err := tx.ExecContext(ctx, `UPDATE spark_assignments SET optio_task_id = $1, updated_at = $2 WHERE spark_assignment_id = $3`,
			tid, now, a.SparkAssignmentID); err != nil {
			return nil, "", nil, translate(err)
		}
		if !hadTask[a.SparkAssignmentID] {
			newlyTasked = append(newlyTasked, a.SparkAssignmentID)
		}
	}
	if newlyMapped {
		if rc.Enrolled, err = db.enrollRosterTx(ctx, tx, ev.SparkCourseID, qid); err != nil {
			return nil, "", nil, err
		}
	}
	requeued, err := db.requeueAssignmentsTx(ctx, tx, newlyTasked)
	if err != nil {
		return nil, "", nil, err
	}
	rc.Requeued = len(requeued)
	return rc, r.ID, requeued, nil
}

// moveCoursePillarTx moves a course quest's Spark tasks that are still on
// the course's old pillar to its new one; a task an admin gave another
// pillar keeps it. XP already awarded keeps the pillar it was awarded in,
// unless ledgerToo (the old pillar was only a guess from a placeholder).
func (db *DB) moveCoursePillarTx(ctx context.Context, tx *sql.Tx, questID string, from, to optio.Pillar, ledgerToo bool) error {
	if ledgerToo {
		if _, err := tx.ExecContext(ctx, `UPDATE xp_ledger SET pillar = $1 WHERE pillar = $2 AND task_id IN
			(SELECT id FROM tasks WHERE quest_id = $3 AND pillar = $2 AND lms_assignment_id IS NOT NULL)`, to, from, questID); err != nil {
			return translate(err)
		}
	}
	_, err := tx.ExecContext(ctx, `UPDATE tasks SET pillar = $1, updated_at = $2
		WHERE quest_id = $3 AND pillar = $4 AND lms_assignment_id IS NOT NULL`, to, db.now(), questID, from)
	return translate(err)
}

// placeholderTasksTx lists a quest's Spark tasks made before Spark's
// max_points was known and still at the default XP.
func (db *DB) placeholderTasksTx(ctx context.Context, tx *sql.Tx, questID string) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM tasks WHERE quest_id = $1 AND lms_assignment_id IS NOT NULL
		AND max_points IS NULL AND xp_value = $2`, questID, optio.SparkTaskXP(nil))
	if err != nil {
		return nil, translate(err)
	}
	ids, err := collectIDs(rows)
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, err
}

// knownSparkCourseTx records a course Optio has met only in submissions or
// enrolments (before it recorded every course at first sight), so it can
// be mapped; ENOTFOUND when Optio has never heard of it.
func (db *DB) knownSparkCourseTx(ctx context.Context, tx *sql.Tx, courseID string) (*sparkCourseRow, error) {
	r, err := db.sparkCourseTx(ctx, tx, courseID)
	if err != nil || r != nil {
		return r, err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM spark_assignment_submissions WHERE spark_course_id = $1)
		+ (SELECT COUNT(*) FROM spark_enrollments WHERE spark_course_id = $1)
		+ (SELECT COUNT(*) FROM spark_assignments WHERE spark_course_id = $1)`, courseID).Scan(&n); err != nil {
		return nil, translate(err)
	}
	if n == 0 {
		return nil, notFound("Spark course")
	}
	now := db.now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO spark_course_mappings (id, spark_course_id, created_at, updated_at)
		VALUES ($1,$2,$3,$3) ON CONFLICT (spark_course_id) DO NOTHING`, newID(), courseID, now); err != nil {
		return nil, translate(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO spark_assignments (spark_assignment_id, spark_course_id, created_at, updated_at)
		SELECT DISTINCT spark_assignment_id, spark_course_id, $2, $2 FROM spark_assignment_submissions WHERE spark_course_id = $1
		ON CONFLICT (spark_assignment_id) DO NOTHING`, courseID, now); err != nil {
		return nil, translate(err)
	}
	return db.sparkCourseTx(ctx, tx, courseID)
}

// SparkCourse implements optio.SparkSyncStore.
func (db *DB) SparkCourse(ctx context.Context, courseID string) (*optio.SparkCourseStatus, error) {
	cs, err := db.sparkCourses(ctx, courseID)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, notFound("Spark course")
	}
	return &cs[0], nil
}

// UpdateSparkCourse implements optio.SparkSyncStore.
func (db *DB) UpdateSparkCourse(ctx context.Context, courseID string, in optio.SparkCourseSettings) (*optio.SparkCourseStatus, error) {
	if in.Pillar != nil && *in.Pillar != "" && !in.Pillar.Valid() {
		return nil, optio.FieldErrors{"pillar": "must be stem, wellness, communication, civics, art or empty (guess from the title)"}.
			Err(optio.EINVALID, "The course settings are not valid.")
	}
	var requeued []string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		r, err := db.knownSparkCourseTx(ctx, tx, courseID)
		if err != nil {
			return err
		}
		now := db.now()
		if in.SyncEnabled != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE spark_course_mappings SET sync_enabled = $1, updated_at = $2 WHERE id = $3`,
				*in.SyncEnabled, now, r.ID); err != nil {
				return err
			}
			if *in.SyncEnabled && !r.SyncEnabled {
				if requeued, err = db.requeueCourseTx(ctx, tx, courseID); err != nil {
					return err
				}
			}
		}
		if in.AutoEnrollStudents != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE spark_course_mappings SET auto_enroll_students = $1, updated_at = $2 WHERE id = $3`,
				*in.AutoEnrollStudents, now, r.ID); err != nil {
				return err
			}
			if *in.AutoEnrollStudents && !r.AutoEnroll && r.QuestID.Valid {
				r.AutoEnroll = true
				if _, err := db.enrollRosterTx(ctx, tx, courseID, r.QuestID.String); err != nil {
					return err
				}
			}
		}
		if in.Pillar != nil {
			return db.setCoursePillarTx(ctx, tx, r, *in.Pillar, optio.PillarFromAdmin)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update spark course %s: %w", courseID, err)
	}
	db.syncSoon(requeued...)
	return db.SparkCourse(ctx, courseID)
}

// setCoursePillarTx sets (or, with "", clears) a course's chosen pillar and
// moves its tasks still on the old effective pillar.
func (db *DB) setCoursePillarTx(ctx context.Context, tx *sql.Tx, r *sparkCourseRow, p optio.Pillar, source string) error {
	old, _ := r.pillar()
	val, src := sql.NullString{String: string(p), Valid: p != ""}, sql.NullString{String: source, Valid: p != ""}
	if _, err := tx.ExecContext(ctx, `UPDATE spark_course_mappings SET pillar = $1, pillar_source = $2, updated_at = $3 WHERE id = $4`,
		val, src, db.now(), r.ID); err != nil {
		return translate(err)
	}
	r.Pillar, r.PillarSource = val, src
	if now, _ := r.pillar(); now != old && r.QuestID.Valid {
		return db.moveCoursePillarTx(ctx, tx, r.QuestID.String, old, now, strings.TrimSpace(r.Title) == "")
	}
	return nil
}

// requeueCourseTx puts the course's waiting syncs back in line and returns
// their ids, for the caller to queue after the commit.
func (db *DB) requeueCourseTx(ctx context.Context, tx *sql.Tx, courseID string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `UPDATE spark_evidence_sync_queue SET status = 'pending', error_message = NULL, updated_at = $1,
		next_attempt_at = NULL, retry_until = NULL
		WHERE status = 'waiting' AND submission_id IN (SELECT s.id FROM spark_assignment_submissions s
			LEFT JOIN spark_assignments a ON a.spark_assignment_id = s.spark_assignment_id
			WHERE COALESCE(a.spark_course_id, s.spark_course_id) = $2) RETURNING id`, db.now(), courseID)
	if err != nil {
		return nil, translate(err)
	}
	return collectIDs(rows)
}

// sparkCourses lists courses with their mapping and sync state (one course
// when courseID is set).
func (db *DB) sparkCourses(ctx context.Context, courseID string) ([]optio.SparkCourseStatus, error) {
	q := `SELECT m.spark_course_id, m.course_title, m.course_description, m.optio_quest_id,
		COALESCE(q.title,''), m.mapping_mode, m.sync_enabled, m.auto_enroll_students, m.pillar, m.pillar_source,
		(SELECT COUNT(*) FROM spark_assignments a WHERE a.spark_course_id = m.spark_course_id),
		(SELECT COUNT(*) FROM spark_assignments a WHERE a.spark_course_id = m.spark_course_id AND a.optio_task_id IS NOT NULL),
		(SELECT COUNT(*) FROM spark_evidence_sync_queue sq JOIN spark_assignment_submissions s ON s.id = sq.submission_id
			WHERE s.spark_course_id = m.spark_course_id AND sq.status = 'waiting'),
		(SELECT COUNT(*) FROM spark_evidence_sync_queue sq JOIN spark_assignment_submissions s ON s.id = sq.submission_id
			WHERE s.spark_course_id = m.spark_course_id AND sq.status = 'pending'),
		(SELECT COUNT(*) FROM spark_evidence_sync_queue sq JOIN spark_assignment_submissions s ON s.id = sq.submission_id
			WHERE s.spark_course_id = m.spark_course_id AND sq.status = 'failed')
		FROM spark_course_mappings m LEFT JOIN quests q ON q.id = m.optio_quest_id`
	var args []any
	if courseID != "" {
		q += ` WHERE m.spark_course_id = $1`
		args = append(args, courseID)
	}
	rows, err := db.query(ctx, q+` ORDER BY m.course_title, m.spark_course_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []optio.SparkCourseStatus{}
	for rows.Next() {
		var c optio.SparkCourseStatus
		var qid, pillar, source sql.NullString
		if err := rows.Scan(&c.SparkCourseID, &c.Title, &c.Description, &qid, &c.QuestTitle, &c.MappingMode, &c.SyncEnabled,
			&c.AutoEnrollStudents, &pillar, &source, &c.Assignments, &c.MappedTasks, &c.Waiting, &c.Pending, &c.Failed); err != nil {
			return nil, err
		}
		if qid.Valid {
			c.OptioQuestID = &qid.String
			c.Mapped = true
		}
		c.Pillar, c.PillarSource = coursePillar(pillar, source, c.Title)
		out = append(out, c)
	}
	return out, rows.Err()
}
