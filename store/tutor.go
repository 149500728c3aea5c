package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/optio-edu/optio"
)

const tutorConvCols = `id, user_id, mode, COALESCE(CAST(quest_id AS TEXT),''), COALESCE(CAST(task_id AS TEXT),''), title, created_at, updated_at`

func scanTutorConversation(s scanner) (*optio.TutorConversation, error) {
	var c optio.TutorConversation
	if err := s.Scan(&c.ID, &c.UserID, &c.Mode, &c.QuestID, &c.TaskID, &c.Title, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return nil, err
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return &c, nil
}

const tutorMsgCols = `id, conversation_id, role, text, flagged, category, refused, withheld, COALESCE(CAST(reply_to AS TEXT),''), created_at`

func scanTutorMessage(s scanner) (*optio.TutorMessage, error) {
	var m optio.TutorMessage
	if err := s.Scan(&m.ID, &m.ConversationID, &m.Role, &m.Text, &m.Flagged, &m.Category, &m.Refused, &m.Withheld,
		&m.ReplyTo, &m.CreatedAt); err != nil {
		return nil, err
	}
	m.CreatedAt = m.CreatedAt.UTC()
	return &m, nil
}

// CreateTutorConversation starts a conversation for a student. Quest and
// task, when given, must exist (EINVALID otherwise); the mode is validated
// by the caller (the tutor package) and again by the schema.
func (db *DB) CreateTutorConversation(ctx context.Context, in optio.NewTutorConversation) (*optio.TutorConversation, error) {
	f := optio.FieldErrors{}
	if in.QuestID != "" && !validID(in.QuestID) {
		f.Add("quest_id", "is not a quest id")
	}
	if in.TaskID != "" && !validID(in.TaskID) {
		f.Add("task_id", "is not a task id")
	}
	if err := f.Err(optio.EINVALID, "The conversation is not valid."); err != nil {
		return nil, err
	}
	now := db.now()
	id := newID()
	var c *optio.TutorConversation
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO tutor_conversations (id, user_id, mode, quest_id, task_id, title, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$7)`, id, in.UserID, in.Mode, tutorNullStr(in.QuestID), tutorNullStr(in.TaskID), in.Title, now); err != nil {
			return err
		}
		var err error
		c, err = scanTutorConversation(tx.QueryRowContext(ctx, `SELECT `+tutorConvCols+` FROM tutor_conversations WHERE id = $1`, id))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create tutor conversation: %w", err)
	}
	return c, nil
}

// TutorConversations lists a student's own conversations, most recent first,
// without messages.
func (db *DB) TutorConversations(ctx context.Context, userID string) ([]optio.TutorConversation, error) {
	rows, err := db.query(ctx, `SELECT `+tutorConvCols+` FROM tutor_conversations WHERE user_id = $1
		ORDER BY updated_at DESC, id DESC LIMIT 200`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []optio.TutorConversation{}
	for rows.Next() {
		c, err := scanTutorConversation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

// TutorConversation returns one of userID's conversations with its messages,
// oldest first. Someone else's conversation is ENOTFOUND.
func (db *DB) TutorConversation(ctx context.Context, userID, id string) (*optio.TutorConversation, error) {
	if !validID(id) || !validID(userID) {
		return nil, notFound("Conversation")
	}
	c, err := scanTutorConversation(db.R.QueryRowContext(ctx, `SELECT `+tutorConvCols+` FROM tutor_conversations
		WHERE id = $1 AND user_id = $2`, id, userID))
	if err != nil {
		return nil, translateNotFound(err, "Conversation")
	}
	rows, err := db.query(ctx, `SELECT `+tutorMsgCols+` FROM tutor_messages WHERE conversation_id = $1
		ORDER BY created_at, id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	c.Messages = []optio.TutorMessage{}
	for rows.Next() {
		m, err := scanTutorMessage(rows)
		if err != nil {
			return nil, err
		}
		c.Messages = append(c.Messages, *m)
	}
	return c, rows.Err()
}

// AddTutorQuestion records a student's message, with the input check's
// verdict, in their conversation if the daily limit allows: it counts the
// student's messages in the day window and inserts in one transaction,
// serialised per student, so the limit holds across processes. Over the limit is ERATELIMIT; someone else's
// conversation is ENOTFOUND.
func (db *DB) AddTutorQuestion(ctx context.Context, in optio.TutorQuestion) (*optio.TutorMessage, error) {
	if !validID(in.ConversationID) || !validID(in.UserID) {
		return nil, notFound("Conversation")
	}
	var m *optio.TutorMessage
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if db.Dialect == Postgres {
			// One student's questions queue here; SQLite's single writer
			// already serialises them.
			if _, err := tx.ExecContext(ctx, `SELECT id FROM users WHERE id = $1 FOR UPDATE`, in.UserID); err != nil {
				return err
			}
		}
		var owner string
		if err := tx.QueryRowContext(ctx, `SELECT user_id FROM tutor_conversations WHERE id = $1`, in.ConversationID).Scan(&owner); err != nil {
			return translateNotFound(err, "Conversation")
		}
		if owner != in.UserID {
			return notFound("Conversation")
		}
		if in.Limit >= 0 {
			var sent int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tutor_messages WHERE user_id = $1 AND role = 'user'
				AND created_at >= $2 AND created_at < $3`, in.UserID, in.DayStart.UTC(), in.DayEnd.UTC()).Scan(&sent); err != nil {
				return err
			}
			if sent >= in.Limit {
				return optio.Errorf(optio.ERATELIMIT, "The daily tutor message limit of %d is reached.", in.Limit)
			}
		}
		id := newID()
		now := db.now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO tutor_messages (id, conversation_id, user_id, role, text, flagged, category,
			refused, created_at) VALUES ($1,$2,$3,'user',$4,$5,$6,$7,$8)`,
			id, in.ConversationID, in.UserID, in.Text, in.Flagged, in.Category, in.Refused, now); err != nil {
			return err
		}
		var err error
		m, err = scanTutorMessage(tx.QueryRowContext(ctx, `SELECT `+tutorMsgCols+` FROM tutor_messages WHERE id = $1`, id))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("add tutor question: %w", err)
	}
	return m, nil
}

// AnswerTutorQuestion completes an exchange in one transaction: the question
// gets the safety outcome, the answer is stored as its reply, and the
// conversation moves to the top (and is renamed when in.Title is set).
func (db *DB) AnswerTutorQuestion(ctx context.Context, in optio.TutorAnswer) (*optio.TutorMessage, error) {
	if !validID(in.QuestionID) {
		return nil, notFound("Question")
	}
	var m *optio.TutorMessage
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var convID, userID string
		if err := tx.QueryRowContext(ctx, `SELECT conversation_id, user_id FROM tutor_messages WHERE id = $1 AND role = 'user'`,
			in.QuestionID).Scan(&convID, &userID); err != nil {
			return translateNotFound(err, "Question")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tutor_messages SET flagged = $1, category = $2, refused = $3 WHERE id = $4`,
			in.Flagged, in.Category, in.Refused, in.QuestionID); err != nil {
			return err
		}
		id := newID()
		now := db.now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO tutor_messages (id, conversation_id, user_id, role, text, flagged, category,
			withheld, reply_to, created_at) VALUES ($1,$2,$3,'model',$4,$5,$6,$7,$8,$9)`,
			id, convID, userID, in.Text, in.Flagged, in.Category, in.Withheld, in.QuestionID, now); err != nil {
			return err
		}
		q := `UPDATE tutor_conversations SET updated_at = $1 WHERE id = $2`
		args := []any{now, convID}
		if t := strings.TrimSpace(in.Title); t != "" {
			q = `UPDATE tutor_conversations SET updated_at = $1, title = $3 WHERE id = $2`
			args = append(args, t)
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
		var err error
		m, err = scanTutorMessage(tx.QueryRowContext(ctx, `SELECT `+tutorMsgCols+` FROM tutor_messages WHERE id = $1`, id))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("answer tutor question: %w", err)
	}
	return m, nil
}

// DeleteTutorQuestion removes a question that got no answer (the AI failed),
// so it neither stays in the history nor counts against the daily limit. A
// flagged question is never removed: its parents must see it.
func (db *DB) DeleteTutorQuestion(ctx context.Context, questionID string) error {
	if !validID(questionID) {
		return nil
	}
	_, err := db.exec(ctx, `DELETE FROM tutor_messages WHERE id = $1 AND role = 'user' AND NOT flagged
		AND NOT EXISTS (SELECT 1 FROM tutor_messages a WHERE a.reply_to = $1)`, questionID)
	return err
}

// TutorMessagesSent counts a student's messages in [start, end).
func (db *DB) TutorMessagesSent(ctx context.Context, userID string, start, end time.Time) (int, error) {
	var n int
	err := db.queryRow(ctx, `SELECT COUNT(*) FROM tutor_messages WHERE user_id = $1 AND role = 'user'
		AND created_at >= $2 AND created_at < $3`, userID, start.UTC(), end.UTC()).Scan(&n)
	return n, err
}

// TutorDailyLimit is the limit a parent set for a student; set is false when
// no parent has (the server default applies).
func (db *DB) TutorDailyLimit(ctx context.Context, studentID string) (limit int, set bool, err error) {
	if !validID(studentID) {
		return 0, false, nil
	}
	err = db.R.QueryRowContext(ctx, `SELECT daily_limit FROM tutor_limits WHERE student_id = $1`, studentID).Scan(&limit)
	if optio.ErrorCode(translate(err)) == optio.ENOTFOUND {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, translate(err)
	}
	return limit, true, nil
}

// SetTutorDailyLimit sets a linked child's daily message limit
// (0..MaxTutorDailyLimit; 0 pauses the tutor). A student the parent is not
// linked to is ENOTFOUND.
func (db *DB) SetTutorDailyLimit(ctx context.Context, parentID, studentID string, limit int) error {
	if limit < 0 || limit > optio.MaxTutorDailyLimit {
		return &optio.Error{Code: optio.EINVALID, Message: "The daily limit is not valid.",
			Fields: map[string]string{"daily_limit": fmt.Sprintf("must be between 0 and %d", optio.MaxTutorDailyLimit)}}
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := tutorParentLinked(ctx, tx, parentID, studentID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO tutor_limits (student_id, daily_limit, set_by, updated_at) VALUES ($1,$2,$3,$4)
			ON CONFLICT (student_id) DO UPDATE SET daily_limit = excluded.daily_limit, set_by = excluded.set_by, updated_at = excluded.updated_at`,
			studentID, limit, parentID, db.now())
		return err
	})
}

// ParentTutorDailyLimit is TutorDailyLimit for a parent: a student the
// parent is not linked to is ENOTFOUND.
func (db *DB) ParentTutorDailyLimit(ctx context.Context, parentID, studentID string) (int, bool, error) {
	if err := tutorParentLinked(ctx, db.R, parentID, studentID); err != nil {
		return 0, false, err
	}
	return db.TutorDailyLimit(ctx, studentID)
}

type tutorQueryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// tutorParentLinked is nil when parentID is linked to studentID and ENOTFOUND
// otherwise, so another family's child looks like no child at all.
func tutorParentLinked(ctx context.Context, q tutorQueryer, parentID, studentID string) error {
	if !validID(parentID) || !validID(studentID) {
		return notFound("Student")
	}
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM parent_links WHERE parent_id = $1 AND student_id = $2`, parentID, studentID).Scan(&one)
	return translateNotFound(err, "Student")
}

// TutorFlaggedExchanges lists a linked child's flagged exchanges, newest
// first. A student the parent is not linked to is ENOTFOUND.
func (db *DB) TutorFlaggedExchanges(ctx context.Context, parentID, studentID string) ([]optio.TutorFlaggedExchange, error) {
	if err := tutorParentLinked(ctx, db.R, parentID, studentID); err != nil {
		return nil, err
	}
	rows, err := db.query(ctx, `SELECT c.id, c.mode,
		q.id, q.text, q.flagged, q.category, q.refused, q.created_at,
		a.id, a.text, a.flagged, a.category, a.withheld, a.created_at
		FROM tutor_messages q
		JOIN tutor_conversations c ON c.id = q.conversation_id
		LEFT JOIN tutor_messages a ON a.reply_to = q.id
		WHERE c.user_id = $1 AND q.role = 'user' AND (q.flagged OR a.flagged)
		ORDER BY q.created_at DESC, q.id DESC LIMIT 200`, studentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []optio.TutorFlaggedExchange{}
	for rows.Next() {
		var x optio.TutorFlaggedExchange
		q := &x.Question
		var aID, aText, aCat sql.NullString
		var aFlag, aWith sql.NullBool
		var aAt sql.NullTime
		if err := rows.Scan(&x.ConversationID, &x.Mode, &q.ID, &q.Text, &q.Flagged, &q.Category, &q.Refused, &q.CreatedAt,
			&aID, &aText, &aFlag, &aCat, &aWith, &aAt); err != nil {
			return nil, err
		}
		q.ConversationID, q.Role, q.CreatedAt = x.ConversationID, optio.TutorRoleUser, q.CreatedAt.UTC()
		if aID.Valid {
			x.Answer = &optio.TutorMessage{ID: aID.String, ConversationID: x.ConversationID, Role: optio.TutorRoleModel,
				Text: aText.String, Flagged: aFlag.Bool, Category: aCat.String, Withheld: aWith.Bool, ReplyTo: q.ID,
				CreatedAt: aAt.Time.UTC()}
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// TutorFacts reads what the tutor may know about one student: active Spark
// courses, upcoming and overdue assignments of those courses (overdue: due
// before now with no submission by this student), the five newest
// submissions, and active quests with their pillars. Every query is keyed by
// userID, so no other student's data can appear.
func (db *DB) TutorFacts(ctx context.Context, userID string, now time.Time) (*optio.TutorFacts, error) {
	f := &optio.TutorFacts{}
	if !validID(userID) {
		return f, nil
	}
	now = now.UTC()
	err := db.tutorEach(ctx, `SELECT e.spark_course_id, COALESCE(m.course_title,'') FROM spark_enrollments e
		LEFT JOIN spark_course_mappings m ON m.spark_course_id = e.spark_course_id
		WHERE e.user_id = $1 AND e.status = 'enrolled' ORDER BY e.occurred_at DESC, e.spark_course_id LIMIT 20`,
		[]any{userID}, func(s scanner) error {
			var c optio.TutorCourse
			if err := s.Scan(&c.ID, &c.Title); err != nil {
				return err
			}
			f.Courses = append(f.Courses, c)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("tutor courses: %w", err)
	}

	const assignments = `SELECT a.title, COALESCE(m.course_title,''), a.due_at FROM spark_assignments a
		JOIN spark_enrollments e ON e.spark_course_id = a.spark_course_id AND e.user_id = $1 AND e.status = 'enrolled'
		LEFT JOIN spark_course_mappings m ON m.spark_course_id = a.spark_course_id
		WHERE a.due_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM spark_assignment_submissions s
			WHERE s.user_id = $1 AND s.spark_assignment_id = a.spark_assignment_id) `
	scanAssignment := func(into *[]optio.TutorAssignment) func(scanner) error {
		return func(s scanner) error {
			var a optio.TutorAssignment
			if err := s.Scan(&a.Title, &a.Course, &a.DueAt); err != nil {
				return err
			}
			a.DueAt = a.DueAt.UTC()
			*into = append(*into, a)
			return nil
		}
	}
	if err := db.tutorEach(ctx, assignments+`AND a.due_at >= $2 ORDER BY a.due_at, a.spark_assignment_id LIMIT 5`,
		[]any{userID, now}, scanAssignment(&f.Upcoming)); err != nil {
		return nil, fmt.Errorf("tutor upcoming: %w", err)
	}
	if err := db.tutorEach(ctx, assignments+`AND a.due_at < $2 ORDER BY a.due_at DESC, a.spark_assignment_id LIMIT 5`,
		[]any{userID, now}, scanAssignment(&f.Overdue)); err != nil {
		return nil, fmt.Errorf("tutor overdue: %w", err)
	}

	err = db.tutorEach(ctx, `SELECT COALESCE(a.title,''), COALESCE(m.course_title,''), s.submitted_at FROM spark_assignment_submissions s
		LEFT JOIN spark_assignments a ON a.spark_assignment_id = s.spark_assignment_id
		LEFT JOIN spark_course_mappings m ON m.spark_course_id = s.spark_course_id
		WHERE s.user_id = $1 ORDER BY s.submitted_at DESC, s.id LIMIT 5`, []any{userID}, func(s scanner) error {
		var x optio.TutorSubmission
		if err := s.Scan(&x.Title, &x.Course, &x.SubmittedAt); err != nil {
			return err
		}
		x.SubmittedAt = x.SubmittedAt.UTC()
		f.Submissions = append(f.Submissions, x)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tutor submissions: %w", err)
	}

	type questRow struct{ id, title string }
	var quests []questRow
	err = db.tutorEach(ctx, `SELECT q.id, q.title FROM user_quests uq JOIN quests q ON q.id = uq.quest_id
		WHERE uq.user_id = $1 AND uq.status = 'active' AND q.active ORDER BY uq.started_at DESC, q.id LIMIT 5`,
		[]any{userID}, func(s scanner) error {
			var r questRow
			if err := s.Scan(&r.id, &r.title); err != nil {
				return err
			}
			quests = append(quests, r)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("tutor quests: %w", err)
	}
	for _, q := range quests {
		have := map[optio.Pillar]bool{}
		err := db.tutorEach(ctx, `SELECT DISTINCT pillar FROM tasks WHERE quest_id = $1`, []any{q.id}, func(s scanner) error {
			var p optio.Pillar
			if err := s.Scan(&p); err != nil {
				return err
			}
			have[p] = true
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("tutor quest pillars: %w", err)
		}
		tq := optio.TutorQuest{Title: q.title}
		for _, p := range optio.Pillars {
			if have[p] {
				tq.Pillars = append(tq.Pillars, p)
			}
		}
		f.Quests = append(f.Quests, tq)
	}
	return f, nil
}

// tutorEach runs a read query and calls fn for every row.
func (db *DB) tutorEach(ctx context.Context, query string, args []any, fn func(scanner) error) error {
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return translate(rows.Err())
}

func tutorNullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}
