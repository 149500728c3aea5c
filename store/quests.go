package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/optio-edu/optio"
)

func validID(id string) bool {
	_, err := uuid.Parse(id)
	return err == nil && len(id) == 36
}

const questColsT = `{a}id, {a}title, {a}description, {a}source, COALESCE({a}lms_platform,''), COALESCE({a}lms_course_id,''), {a}active, {a}created_at, {a}updated_at`

var questCols = prefixed("", questColsT)

func scanQuest(s scanner) (*optio.Quest, error) {
	var q optio.Quest
	if err := s.Scan(&q.ID, &q.Title, &q.Description, &q.Source, &q.LMSPlatform, &q.LMSCourseID, &q.Active, &q.CreatedAt, &q.UpdatedAt); err != nil {
		return nil, err
	}
	q.CreatedAt, q.UpdatedAt = q.CreatedAt.UTC(), q.UpdatedAt.UTC()
	return &q, nil
}

const taskColsT = `{a}id, {a}quest_id, {a}title, {a}description, {a}pillar, {a}xp_value, {a}position, COALESCE({a}lms_assignment_id,''), {a}due_at, {a}max_points, {a}created_at, {a}updated_at`

var taskCols = prefixed("", taskColsT)

func scanTask(s scanner) (*optio.Task, error) {
	var t optio.Task
	var due sql.NullTime
	var maxp sql.NullFloat64
	if err := s.Scan(&t.ID, &t.QuestID, &t.Title, &t.Description, &t.Pillar, &t.XPValue, &t.Position,
		&t.LMSAssignmentID, &due, &maxp, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return nil, err
	}
	if due.Valid {
		d := due.Time.UTC()
		t.DueAt = &d
	}
	if maxp.Valid {
		t.MaxPoints = &maxp.Float64
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return &t, nil
}

// CreateQuest creates a real-world (source optio) quest with its tasks.
func (db *DB) CreateQuest(ctx context.Context, in optio.QuestInput) (*optio.Quest, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	id := newID()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		now := db.now()
		active := in.Active == nil || *in.Active
		if _, err := tx.ExecContext(ctx, `INSERT INTO quests (id, title, description, source, active, created_at, updated_at)
			VALUES ($1,$2,$3,'optio',$4,$5,$5)`, id, strings.TrimSpace(in.Title), in.Description, active, now); err != nil {
			return err
		}
		for i, t := range in.Tasks {
			if t.Position == nil {
				p := i
				t.Position = &p
			}
			if _, err := db.insertTaskTx(ctx, tx, id, t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create quest: %w", err)
	}
	return db.QuestByID(ctx, id)
}

func (db *DB) insertTaskTx(ctx context.Context, tx *sql.Tx, questID string, t optio.TaskInput) (string, error) {
	id := newID()
	pos := 0
	if t.Position != nil {
		pos = *t.Position
	}
	now := db.now()
	_, err := tx.ExecContext(ctx, `INSERT INTO tasks (id, quest_id, title, description, pillar, xp_value, position, due_at, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$9)`, id, questID, strings.TrimSpace(t.Title), t.Description, t.Pillar, *t.XPValue, pos, nullTime(t.DueAt), now)
	return id, translate(err)
}

// UpdateQuest edits a quest's title, description and active flag.
func (db *DB) UpdateQuest(ctx context.Context, id string, in optio.QuestInput) (*optio.Quest, error) {
	in.Tasks = nil
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if !validID(id) {
		return nil, notFound("Quest")
	}
	q, err := db.QuestByID(ctx, id)
	if err != nil {
		return nil, err
	}
	active := q.Active
	if in.Active != nil {
		active = *in.Active
	}
	res, err := db.exec(ctx, `UPDATE quests SET title = $1, description = $2, active = $3, updated_at = $4 WHERE id = $5`,
		strings.TrimSpace(in.Title), in.Description, active, db.now(), id)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, notFound("Quest")
	}
	return db.QuestByID(ctx, id)
}

// QuestByID returns a quest with its tasks in order.
func (db *DB) QuestByID(ctx context.Context, id string) (*optio.Quest, error) {
	if !validID(id) {
		return nil, notFound("Quest")
	}
	q, err := scanQuest(db.R.QueryRowContext(ctx, `SELECT `+questCols+` FROM quests WHERE id = $1`, id))
	if err != nil {
		return nil, translateNotFound(err, "Quest")
	}
	tasks, err := db.tasksOf(ctx, db.R, id)
	if err != nil {
		return nil, err
	}
	q.Tasks = tasks
	return q, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (db *DB) tasksOf(ctx context.Context, q querier, questID string) ([]optio.Task, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE quest_id = $1 ORDER BY position, created_at`, questID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []optio.Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

// ListQuests lists quests, newest first; activeOnly hides retired ones.
func (db *DB) ListQuests(ctx context.Context, activeOnly bool) ([]optio.Quest, error) {
	q := `SELECT ` + questCols + ` FROM quests`
	if activeOnly {
		q += ` WHERE active = TRUE`
	}
	rows, err := db.query(ctx, q+` ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []optio.Quest
	for rows.Next() {
		q, err := scanQuest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *q)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	counts, err := db.taskCounts(ctx)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].TaskCount = counts[out[i].ID]
	}
	return out, nil
}

// QuestsWithTasks lists every quest, retired ones too, newest first, each
// with its tasks in order: two queries, however many quests there are.
func (db *DB) QuestsWithTasks(ctx context.Context) ([]optio.Quest, error) {
	qs, err := db.ListQuests(ctx, false)
	if err != nil {
		return nil, err
	}
	rows, err := db.query(ctx, `SELECT `+taskCols+` FROM tasks ORDER BY quest_id, position, created_at`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byQuest := map[string][]optio.Task{}
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, err
		}
		byQuest[t.QuestID] = append(byQuest[t.QuestID], *t)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	for i := range qs {
		qs[i].Tasks = byQuest[qs[i].ID]
	}
	return qs, nil
}

// QuestStanding reports whether userID is enrolled in questID (and has not
// dropped it) and every task of it they completed, however many.
func (db *DB) QuestStanding(ctx context.Context, userID, questID string) (*optio.QuestStanding, error) {
	st := &optio.QuestStanding{Done: map[string]bool{}}
	var status string
	err := db.R.QueryRowContext(ctx, `SELECT status FROM user_quests WHERE user_id = $1 AND quest_id = $2`, userID, questID).Scan(&status)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, translate(err)
	default:
		st.Enrolled = status != optio.EnrollmentDropped
	}
	rows, err := db.query(ctx, `SELECT task_id FROM quest_task_completions WHERE user_id = $1 AND quest_id = $2`, userID, questID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, translate(err)
		}
		st.Done[id] = true
	}
	return st, translate(rows.Err())
}

func (db *DB) taskCounts(ctx context.Context) (map[string]int, error) {
	rows, err := db.query(ctx, `SELECT quest_id, COUNT(*) FROM tasks GROUP BY quest_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		m[id] = n
	}
	return m, rows.Err()
}

// CreateTask adds a task to a quest.
func (db *DB) CreateTask(ctx context.Context, questID string, in optio.TaskInput) (*optio.Task, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if _, err := db.QuestByID(ctx, questID); err != nil {
		return nil, err
	}
	var id string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if in.Position == nil {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tasks WHERE quest_id = $1`, questID).Scan(&n); err != nil {
				return err
			}
			in.Position = &n
		}
		var err error
		id, err = db.insertTaskTx(ctx, tx, questID, in)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create task: %w", err)
	}
	return db.TaskByID(ctx, id)
}

// UpdateTask edits a task. Changing xp_value affects future awards only;
// awards already made are history.
func (db *DB) UpdateTask(ctx context.Context, id string, in optio.TaskInput) (*optio.Task, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	t, err := db.TaskByID(ctx, id)
	if err != nil {
		return nil, err
	}
	pos := t.Position
	if in.Position != nil {
		pos = *in.Position
	}
	_, err = db.exec(ctx, `UPDATE tasks SET title=$1, description=$2, pillar=$3, xp_value=$4, position=$5, due_at=$6, updated_at=$7 WHERE id=$8`,
		strings.TrimSpace(in.Title), in.Description, in.Pillar, *in.XPValue, pos, nullTime(in.DueAt), db.now(), id)
	if err != nil {
		return nil, err
	}
	return db.TaskByID(ctx, id)
}

// TaskByID returns a task or ENOTFOUND.
func (db *DB) TaskByID(ctx context.Context, id string) (*optio.Task, error) {
	if !validID(id) {
		return nil, notFound("Task")
	}
	t, err := scanTask(db.R.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE id = $1`, id))
	if err != nil {
		return nil, translateNotFound(err, "Task")
	}
	return t, nil
}

// StartQuest enrols a student in a quest; starting again is a no-op that
// returns the existing enrolment (and re-activates a dropped one).
func (db *DB) StartQuest(ctx context.Context, userID, questID string) (*optio.Enrollment, error) {
	q, err := db.QuestByID(ctx, questID)
	if err != nil {
		return nil, err
	}
	if !q.Active {
		return nil, &optio.Error{Code: optio.ECONFLICT, Message: "This quest is no longer open."}
	}
	var e *optio.Enrollment
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		e, err = db.enrollTx(ctx, tx, userID, questID, optio.EnrollmentActive)
		return err
	})
	return e, err
}

// enrollTx sets a user's enrolment in a quest to status, creating it if need be.
func (db *DB) enrollTx(ctx context.Context, tx *sql.Tx, userID, questID, status string) (*optio.Enrollment, error) {
	now := db.now()
	_, err := tx.ExecContext(ctx, `INSERT INTO user_quests (user_id, quest_id, status, started_at, updated_at) VALUES ($1,$2,$3,$4,$4)
		ON CONFLICT (user_id, quest_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at
		WHERE user_quests.status <> excluded.status`, userID, questID, status, now)
	if err != nil {
		return nil, translate(err)
	}
	var e optio.Enrollment
	err = tx.QueryRowContext(ctx, `SELECT user_id, quest_id, status, started_at, updated_at FROM user_quests WHERE user_id=$1 AND quest_id=$2`,
		userID, questID).Scan(&e.UserID, &e.QuestID, &e.Status, &e.StartedAt, &e.UpdatedAt)
	return &e, translate(err)
}

// QuestProgressFor lists the quests a user is enrolled in with progress.
// The XP earned in a quest is looked up by the ledger's key for each of its
// tasks (see completionCols: a join planned without statistics compared
// every pair, 1 ms per quest).
func (db *DB) QuestProgressFor(ctx context.Context, userID string) ([]optio.QuestProgress, error) {
	rows, err := db.query(ctx, `SELECT `+prefixed("q.", questColsT)+`, uq.status, uq.started_at,
		(SELECT COUNT(*) FROM tasks t WHERE t.quest_id = q.id),
		(SELECT COUNT(*) FROM quest_task_completions c WHERE c.quest_id = q.id AND c.user_id = uq.user_id),
		(SELECT COALESCE(SUM((SELECT x.amount FROM xp_ledger x WHERE x.user_id = uq.user_id AND x.task_id = t.id)),0) FROM tasks t WHERE t.quest_id = q.id)
		FROM user_quests uq JOIN quests q ON q.id = uq.quest_id WHERE uq.user_id = $1 ORDER BY uq.started_at DESC`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []optio.QuestProgress
	for rows.Next() {
		var p optio.QuestProgress
		q := &p.Quest
		if err := rows.Scan(&q.ID, &q.Title, &q.Description, &q.Source, &q.LMSPlatform, &q.LMSCourseID, &q.Active, &q.CreatedAt, &q.UpdatedAt,
			&p.Status, &p.StartedAt, &p.TasksTotal, &p.TasksDone, &p.XPEarned); err != nil {
			return nil, err
		}
		p.StartedAt = p.StartedAt.UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

func nullTime(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UTC().Truncate(time.Microsecond)
}
