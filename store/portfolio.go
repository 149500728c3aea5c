package store

import (
	"context"
	"fmt"

	"github.com/optio-edu/optio"
)

var portfolioOwnerQuery = `SELECT ` + prefixed("u.", userColsT) + `,
	COALESCE(v.version, 0), (SELECT g.version FROM portfolio_global_version g WHERE g.id = 1)
	FROM users u LEFT JOIN portfolio_versions v ON v.user_id = u.id
	WHERE u.portfolio_slug = $1`

// PortfolioOwner implements optio.PortfolioStore. The versions are read in
// the same statement as the user, so the profile shown and the version it is
// cached under cannot disagree.
func (db *DB) PortfolioOwner(ctx context.Context, slug string) (*optio.User, optio.PortfolioVersion, error) {
	var v optio.PortfolioVersion
	u, err := scanUser(extraScanner{db.R.QueryRowContext(ctx, portfolioOwnerQuery, slug), []any{&v.Student, &v.Global}})
	if err != nil {
		return nil, v, translateNotFound(err, "Portfolio")
	}
	return u, v, nil
}

// extraScanner scans a row's leading columns with the wrapped scan and the
// remaining ones into extra, so portfolio rows reuse scanCompletionView.
type extraScanner struct {
	s     scanner
	extra []any
}

func (e extraScanner) Scan(dest ...any) error { return e.s.Scan(append(dest, e.extra...)...) }

// PortfolioWork returns a page of a student's completions, newest first,
// with evidence and the Spark course title (from spark_course_mappings,
// falling back to the quest title), how many completions there are, and
// how many of each quest's tasks are finished.
func (db *DB) PortfolioWork(ctx context.Context, userID string, limit, offset int) (*optio.PortfolioWork, error) {
	w := &optio.PortfolioWork{Items: []optio.PortfolioItem{}, Quests: map[string]optio.QuestCount{}}
	if !validID(userID) {
		return w, nil
	}
	// The finished work per quest, with each quest's task count, in one pass
	// over the student's completions; the total is their sum.
	counts, err := db.query(ctx, `SELECT d.quest_id, d.n, (SELECT COUNT(*) FROM tasks t WHERE t.quest_id = d.quest_id)
		FROM (SELECT quest_id, COUNT(*) AS n FROM quest_task_completions WHERE user_id = $1 GROUP BY quest_id) d`, userID)
	if err != nil {
		return nil, err
	}
	defer counts.Close()
	for counts.Next() {
		var id string
		var c optio.QuestCount
		if err := counts.Scan(&id, &c.Done, &c.Total); err != nil {
			return nil, err
		}
		w.Quests[id] = c
		w.Total += c.Done
	}
	if err := counts.Err(); err != nil {
		return nil, translate(err)
	}
	counts.Close()
	if w.Total == 0 || offset >= w.Total {
		return w, nil
	}
	rows, err := db.query(ctx, `SELECT `+completionCols+`, t.id, t.quest_id, t.title, t.description, t.pillar, t.xp_value, t.position,
		COALESCE(t.lms_assignment_id,''), t.due_at, t.max_points, t.created_at, t.updated_at, q.title,
		q.source, COALESCE(q.lms_platform,''), COALESCE(q.lms_course_id,''), COALESCE(NULLIF(m.course_title,''), q.title)
		FROM `+completionPage+` c
		JOIN tasks t ON t.id = c.task_id
		JOIN quests q ON q.id = c.quest_id
		LEFT JOIN spark_course_mappings m ON q.source = 'lms' AND q.lms_platform = 'spark' AND m.spark_course_id = q.lms_course_id
		ORDER BY c.completed_at DESC, c.id DESC`, userID, limit, offset)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var it optio.PortfolioItem
		v, err := scanCompletionView(extraScanner{rows, []any{&it.QuestSource, &it.LMSPlatform, &it.LMSCourseID, &it.CourseTitle}})
		if err != nil {
			return nil, fmt.Errorf("portfolio of %s: %w", userID, err)
		}
		it.CompletionView = *v
		w.Items = append(w.Items, it)
		ids = append(ids, v.Completion.ID)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	docs, err := db.evidenceFor(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range w.Items {
		w.Items[i].Evidence = docs[w.Items[i].Completion.ID]
	}
	return w, nil
}

// EvidenceBlockFile returns the block blockID if it references fileID (its
// file or its web rendition), with
// the student whose evidence it is.
func (db *DB) EvidenceBlockFile(ctx context.Context, blockID, fileID string) (*optio.BlockFileRef, error) {
	if !validID(blockID) || !validID(fileID) {
		return nil, notFound("File")
	}
	ref := optio.BlockFileRef{BlockID: blockID, FileID: fileID}
	err := db.R.QueryRowContext(ctx, `SELECT d.user_id, b.is_private FROM evidence_document_blocks b
		JOIN evidence_documents d ON d.id = b.document_id
		WHERE b.id = $1 AND (b.file_id = $2 OR b.preview_file_id = $2)`, blockID, fileID).Scan(&ref.StudentID, &ref.Private)
	if err != nil {
		return nil, translateNotFound(err, "File")
	}
	return &ref, nil
}
