package store

import (
	"time"

	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/optio-edu/optio"
)

// CompleteTask finishes a task for a user with evidence, in one transaction:
// the completion, its evidence document and blocks, the enrolment and the XP
// award. Completing a task twice answers ECONFLICT and changes nothing.
func (db *DB) CompleteTask(ctx context.Context, in optio.CompletionInput) (*optio.CompletionView, error) {
	if err := optio.ValidateBlocks(in.Blocks); err != nil {
		return nil, err
	}
	task, err := db.TaskByID(ctx, in.TaskID)
	if err != nil {
		return nil, err
	}
	if in.Source == "" {
		in.Source = "optio"
	}
	var completionID string
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var q optio.Quest
		if err := tx.QueryRowContext(ctx, `SELECT active FROM quests WHERE id = $1`, task.QuestID).Scan(&q.Active); err != nil {
			return err
		}
		if !q.Active && in.Source == "optio" {
			return &optio.Error{Code: optio.ECONFLICT, Message: "This quest is no longer open."}
		}
		var existing string
		err := tx.QueryRowContext(ctx, `SELECT id FROM quest_task_completions WHERE user_id = $1 AND task_id = $2`, in.UserID, task.ID).Scan(&existing)
		if err == nil {
			return &optio.Error{Code: optio.ECONFLICT, Message: "You have already completed this task."}
		} else if err != sql.ErrNoRows {
			return err
		}
		completionID, err = db.completeTx(ctx, tx, in.UserID, task, in.Source, in.Grade, in.Blocks)
		return err
	})
	if err != nil {
		if optio.ErrorCode(err) == optio.ECONFLICT {
			return nil, err
		}
		return nil, fmt.Errorf("complete task %s: %w", in.TaskID, err)
	}
	return db.CompletionByID(ctx, completionID)
}

// completeTx writes a new completion with its evidence and awards XP. The
// caller has checked there is no completion yet; the unique keys still guard
// against a concurrent one.
func (db *DB) completeTx(ctx context.Context, tx *sql.Tx, userID string, task *optio.Task, source string, grade *string, blocks []optio.BlockInput) (string, error) {
	now := db.now()
	if _, err := db.enrollIfMissingTx(ctx, tx, userID, task.QuestID); err != nil {
		return "", err
	}
	cid := newID()
	if _, err := tx.ExecContext(ctx, `INSERT INTO quest_task_completions (id, user_id, task_id, quest_id, source, grade, completed_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$7)`, cid, userID, task.ID, task.QuestID, source, grade, now); err != nil {
		return "", translate(err)
	}
	docID := newID()
	if _, err := tx.ExecContext(ctx, `INSERT INTO evidence_documents (id, user_id, task_id, completion_id, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$5)`, docID, userID, task.ID, cid, now); err != nil {
		return "", translate(err)
	}
	if err := db.insertBlocksTx(ctx, tx, docID, blocks); err != nil {
		return "", err
	}
	if err := db.awardXPTx(ctx, tx, userID, task); err != nil {
		return "", err
	}
	if err := db.ltiScoreTx(ctx, tx, cid); err != nil {
		return "", err
	}
	if grade != nil {
		if err := db.passGradeBackTx(ctx, tx, cid, *grade); err != nil {
			return "", err
		}
	}
	return cid, nil
}

// awardXPTx records the task's XP for the user once; a second call for the
// same (user, task) is a no-op thanks to the ledger's unique key.
func (db *DB) awardXPTx(ctx context.Context, tx *sql.Tx, userID string, task *optio.Task) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO xp_ledger (id, user_id, task_id, pillar, amount, created_at) VALUES ($1,$2,$3,$4,$5,$6)
		ON CONFLICT (user_id, task_id) DO NOTHING`, newID(), userID, task.ID, task.Pillar, task.XPValue, db.now())
	return translate(err)
}

func (db *DB) enrollIfMissingTx(ctx context.Context, tx *sql.Tx, userID, questID string) (bool, error) {
	now := db.now()
	res, err := tx.ExecContext(ctx, `INSERT INTO user_quests (user_id, quest_id, status, started_at, updated_at) VALUES ($1,$2,'active',$3,$3)
		ON CONFLICT (user_id, quest_id) DO NOTHING`, userID, questID, now)
	if err != nil {
		return false, translate(err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

func (db *DB) insertBlocksTx(ctx context.Context, tx *sql.Tx, docID string, blocks []optio.BlockInput) error {
	now := db.now()
	for i, b := range blocks {
		if b.File != nil {
			if err := db.createFileTx(ctx, tx, b.File); err != nil {
				return err
			}
			b.Content.FileID = b.File.ID
		}
		if b.Preview != nil {
			if err := db.createFileTx(ctx, tx, b.Preview); err != nil {
				return err
			}
			b.Content.PreviewFileID = b.Preview.ID
		}
		var fileID, previewID any
		if b.Content.FileID != "" {
			fileID = b.Content.FileID
		}
		if b.Content.PreviewFileID != "" {
			previewID = b.Content.PreviewFileID
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO evidence_document_blocks (id, document_id, block_type, content, order_index, file_id, preview_file_id, is_private, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`, newID(), docID, b.BlockType, b.Content.JSON(), i, fileID, previewID, b.Private, now); err != nil {
			return translate(err)
		}
	}
	return nil
}

// completionCols are a completion's columns (alias c) and its XP. The XP is
// a lookup by the ledger's (user_id, task_id) key for each row rather than a
// join: before PostgreSQL has statistics for a student's ledger (a new
// database, or new rows since the last analyze) it joined the two by
// comparing every pair — 31,000 comparisons for a 250-item portfolio page.
const completionCols = `c.id, c.user_id, c.task_id, c.quest_id, c.completed_at, c.grade,
	COALESCE((SELECT x.amount FROM xp_ledger x WHERE x.user_id = c.user_id AND x.task_id = c.task_id), 0)`

func scanCompletionView(s scanner) (*optio.CompletionView, error) {
	var v optio.CompletionView
	c := &v.Completion
	var grade sql.NullString
	t := &v.Task
	var due sql.NullTime
	var maxp sql.NullFloat64
	if err := s.Scan(&c.ID, &c.UserID, &c.TaskID, &c.QuestID, &c.CompletedAt, &grade, &c.XPAwarded,
		&t.ID, &t.QuestID, &t.Title, &t.Description, &t.Pillar, &t.XPValue, &t.Position, &t.LMSAssignmentID, &due, &maxp, &t.CreatedAt, &t.UpdatedAt,
		&v.QuestTitle); err != nil {
		return nil, err
	}
	if grade.Valid {
		c.Grade = &grade.String
	}
	if due.Valid {
		d := due.Time.UTC()
		t.DueAt = &d
	}
	if maxp.Valid {
		t.MaxPoints = &maxp.Float64
	}
	c.CompletedAt = c.CompletedAt.UTC()
	return &v, nil
}

// completionViewOf selects the completions in from (a table or a subquery,
// aliased c) with their tasks and quest titles, for scanCompletionView.
func completionViewOf(from string) string {
	return `SELECT ` + completionCols + `, t.id, t.quest_id, t.title, t.description, t.pillar, t.xp_value, t.position,
	COALESCE(t.lms_assignment_id,''), t.due_at, t.max_points, t.created_at, t.updated_at, q.title
	FROM ` + from + ` c
	JOIN tasks t ON t.id = c.task_id
	JOIN quests q ON q.id = c.quest_id`
}

var completionViewQuery = completionViewOf("quest_task_completions")

// completionPage is a page of student $1's completions, newest first ($2
// rows after $3), taken from the (user_id, completed_at) index before
// anything is joined to it, so a page costs its own rows whatever the
// planner knows of the tables.
const completionPage = `(SELECT * FROM quest_task_completions WHERE user_id = $1 ORDER BY completed_at DESC, id DESC LIMIT $2 OFFSET $3)`

// CompletionByID returns a completion with its task and evidence.
func (db *DB) CompletionByID(ctx context.Context, id string) (*optio.CompletionView, error) {
	if !validID(id) {
		return nil, notFound("Completion")
	}
	v, err := scanCompletionView(db.R.QueryRowContext(ctx, completionViewQuery+` WHERE c.id = $1`, id))
	if err != nil {
		return nil, translateNotFound(err, "Completion")
	}
	docs, err := db.evidenceFor(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	v.Evidence = docs[id]
	return v, nil
}

// RecentCompletions lists a user's completions, newest first, with evidence.
func (db *DB) RecentCompletions(ctx context.Context, userID string, limit, offset int) ([]optio.CompletionView, error) {
	rows, err := db.query(ctx, completionViewOf(completionPage)+`
		ORDER BY c.completed_at DESC, c.id DESC`, userID, limit, offset)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []optio.CompletionView
	var ids []string
	for rows.Next() {
		v, err := scanCompletionView(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
		ids = append(ids, v.Completion.ID)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	docs, err := db.evidenceFor(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Evidence = docs[out[i].Completion.ID]
	}
	return out, nil
}

// evidenceFor loads the evidence documents (with blocks in order) of completions.
func (db *DB) evidenceFor(ctx context.Context, completionIDs []string) (map[string]*optio.EvidenceDocument, error) {
	out := map[string]*optio.EvidenceDocument{}
	if len(completionIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(completionIDs))
	ph := make([]byte, 0, 4*len(completionIDs))
	for i, id := range completionIDs {
		args[i] = id
		if i > 0 {
			ph = append(ph, ',')
		}
		ph = fmt.Appendf(ph, "$%d", i+1)
	}
	rows, err := db.query(ctx, `SELECT d.id, d.user_id, d.task_id, d.completion_id, d.created_at, d.updated_at,
		b.id, b.block_type, b.content, b.order_index, b.is_private, b.created_at
		FROM evidence_documents d LEFT JOIN evidence_document_blocks b ON b.document_id = d.id
		WHERE d.completion_id IN (`+string(ph)+`) ORDER BY d.id, b.order_index`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var d optio.EvidenceDocument
		var bid, btype, content sql.NullString
		var order sql.NullInt64
		var priv sql.NullBool
		var bcreated sql.NullTime
		if err := rows.Scan(&d.ID, &d.UserID, &d.TaskID, &d.CompletionID, &d.CreatedAt, &d.UpdatedAt,
			&bid, &btype, &content, &order, &priv, &bcreated); err != nil {
			return nil, err
		}
		doc := out[d.CompletionID]
		if doc == nil {
			d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
			doc = &d
			doc.Blocks = []optio.EvidenceBlock{}
			out[d.CompletionID] = doc
		}
		if bid.Valid {
			b := optio.EvidenceBlock{ID: bid.String, DocumentID: doc.ID, BlockType: optio.BlockType(btype.String),
				Position: int(order.Int64), Private: priv.Bool, CreatedAt: bcreated.Time.UTC()}
			if err := json.Unmarshal([]byte(content.String), &b.Content); err != nil {
				return nil, fmt.Errorf("block %s content: %w", b.ID, err)
			}
			doc.Blocks = append(doc.Blocks, b)
		}
	}
	return out, rows.Err()
}

// XPSummary returns a user's XP in total and by pillar (every pillar listed).
func (db *DB) XPSummary(ctx context.Context, userID string) (*optio.XPSummary, error) {
	s := &optio.XPSummary{ByPillar: map[optio.Pillar]int{}}
	for _, p := range optio.Pillars {
		s.ByPillar[p] = 0
	}
	rows, err := db.query(ctx, `SELECT pillar, SUM(amount) FROM xp_ledger WHERE user_id = $1 GROUP BY pillar`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var p optio.Pillar
		var n int
		if err := rows.Scan(&p, &n); err != nil {
			return nil, err
		}
		s.ByPillar[p] = n
		s.Total += n
	}
	return s, rows.Err()
}

// XPSince is the XP a user was awarded at or after since: the parent
// dashboard's "XP this week".
func (db *DB) XPSince(ctx context.Context, userID string, since time.Time) (int, error) {
	var n int
	err := db.queryRow(ctx, `SELECT COALESCE(SUM(amount), 0) FROM xp_ledger WHERE user_id = $1 AND created_at >= $2`,
		userID, since.UTC().Truncate(time.Microsecond)).Scan(&n)
	if err != nil {
		return 0, err
	}
	return n, nil
}

// CreateFile records a stored blob as a file owned by a user.
func (db *DB) CreateFile(ctx context.Context, f *optio.File) error {
	return db.inTx(ctx, func(tx *sql.Tx) error { return db.createFileTx(ctx, tx, f) })
}

func (db *DB) createFileTx(ctx context.Context, tx *sql.Tx, f *optio.File) error {
	f.ID = newID()
	f.CreatedAt = db.now()
	_, err := tx.ExecContext(ctx, `INSERT INTO files (id, owner_id, blob_key, sha256, filename, content_type, size, created_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`, f.ID, f.OwnerID, f.BlobKey, f.SHA256, f.Filename, f.ContentType, f.Size, f.CreatedAt)
	return translate(err)
}

// FileByID returns a file's record or ENOTFOUND.
func (db *DB) FileByID(ctx context.Context, id string) (*optio.File, error) {
	if !validID(id) {
		return nil, notFound("File")
	}
	var f optio.File
	err := db.R.QueryRowContext(ctx, `SELECT id, owner_id, blob_key, sha256, filename, content_type, size, created_at FROM files WHERE id = $1`, id).
		Scan(&f.ID, &f.OwnerID, &f.BlobKey, &f.SHA256, &f.Filename, &f.ContentType, &f.Size, &f.CreatedAt)
	if err != nil {
		return nil, translateNotFound(err, "File")
	}
	return &f, nil
}
