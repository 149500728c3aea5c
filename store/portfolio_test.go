package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

func TestPortfolioRelationsAndWork(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC()
		student := storetest.MustCreateUser(t, db, optio.RoleStudent, "Ana", "Lee")
		parent := storetest.MustCreateUser(t, db, optio.RoleParent, "Pat", "Lee")
		gran := storetest.MustCreateUser(t, db, optio.RoleObserver, "Gran", "Lee")
		exObs := storetest.MustCreateUser(t, db, optio.RoleObserver, "Ex", "Obs")
		_, err := db.W.Exec(`INSERT INTO parent_links (parent_id, student_id, linked_via, created_at) VALUES ($1,$2,'test',$3)`, parent.ID, student.ID, now)
		require.NoError(t, err)
		_, err = db.W.Exec(`INSERT INTO observer_links (id, observer_id, student_id, can_comment, created_at) VALUES ($1,$2,$3,TRUE,$4)`, uuid.NewString(), gran.ID, student.ID, now)
		require.NoError(t, err)
		_, err = db.W.Exec(`INSERT INTO observer_links (id, observer_id, student_id, can_comment, created_at, revoked_at) VALUES ($1,$2,$3,FALSE,$4,$4)`, uuid.NewString(), exObs.ID, student.ID, now)
		require.NoError(t, err)
		_, err = db.W.Exec(`INSERT INTO observer_links (id, observer_id, student_id, can_comment, created_at) VALUES ($1,$2,$3,TRUE,$4)`, uuid.NewString(), gran.ID, student.ID, now)
		require.Error(t, err, "one link per observer and student")
		require.Equal(t, 2, count(t, db, "observer_links"))
		_, err = db.W.Exec(`INSERT INTO observer_links (id, observer_id, student_id, can_comment, created_at) VALUES ($1,$2,$2,TRUE,$3)`, uuid.NewString(), student.ID, now)
		require.Error(t, err, "nobody observes themselves")

		for _, c := range []struct {
			name             string
			user, student    string
			parent, observer bool
		}{
			{"observer", gran.ID, student.ID, false, true},
			{"revoked observer", exObs.ID, student.ID, false, false},
			{"reversed", student.ID, gran.ID, false, false},
			{"parent is not an observer", parent.ID, student.ID, true, false},
			{"bad id", "nope", student.ID, false, false},
			{"bad student id", parent.ID, "x'; DROP TABLE users; --", false, false},
		} {
			rel, err := db.RelationshipOf(ctx, c.user, c.student)
			require.NoError(t, err, c.name)
			require.Equal(t, c.parent, rel.Parent, c.name)
			require.Equal(t, c.observer, rel.Observer != nil, c.name)
		}

		// Work: empty, then grouped data with the Spark course title.
		w, err := db.PortfolioWork(ctx, student.ID, 50, 0)
		require.NoError(t, err)
		require.Equal(t, 0, w.Total)
		require.Empty(t, w.Items)
		qid := uuid.NewString()
		_, err = db.W.Exec(`INSERT INTO quests (id, title, source, lms_platform, lms_course_id, active, created_at, updated_at) VALUES ($1,'Quest for s-1','lms','spark','s-1',TRUE,$2,$2)`, qid, now)
		require.NoError(t, err)
		xp := 10
		task, err := db.CreateTask(ctx, qid, optio.TaskInput{Title: "Essay", Pillar: optio.PillarArt, XPValue: &xp})
		require.NoError(t, err)
		f := &optio.File{OwnerID: student.ID, BlobKey: "sha256/ab/ab", SHA256: "ab", Filename: "a.png", ContentType: "image/png", Size: 3}
		v, err := db.CompleteTask(ctx, optio.CompletionInput{UserID: student.ID, TaskID: task.ID, Source: "spark", Blocks: []optio.BlockInput{
			{BlockType: optio.BlockImage, File: f, Private: true}, {BlockType: optio.BlockText, Content: optio.BlockContent{Text: "hi"}}}})
		require.NoError(t, err)
		w, err = db.PortfolioWork(ctx, student.ID, 50, 0)
		require.NoError(t, err)
		require.Equal(t, 1, w.Total)
		require.Equal(t, "Quest for s-1", w.Items[0].CourseTitle, "no mapping yet: the quest title")
		require.Equal(t, "s-1", w.Items[0].LMSCourseID)
		require.Equal(t, optio.SourceLMS, w.Items[0].QuestSource)
		require.Len(t, w.Items[0].Evidence.Blocks, 2)
		_, err = db.W.Exec(`INSERT INTO spark_course_mappings (id, spark_course_id, course_title, created_at, updated_at) VALUES ($1,'s-1','OnFire Art',$2,$2)`, uuid.NewString(), now)
		require.NoError(t, err)
		w, err = db.PortfolioWork(ctx, student.ID, 50, 0)
		require.NoError(t, err)
		require.Equal(t, "OnFire Art", w.Items[0].CourseTitle)
		w, err = db.PortfolioWork(ctx, student.ID, 50, 50)
		require.NoError(t, err)
		require.Equal(t, 1, w.Total)
		require.Empty(t, w.Items, "past the end")

		// Block → file references.
		img := v.Evidence.Blocks[0]
		ref, err := db.EvidenceBlockFile(ctx, img.ID, img.Content.FileID)
		require.NoError(t, err)
		require.Equal(t, student.ID, ref.StudentID)
		require.True(t, ref.Private)
		_, err = db.EvidenceBlockFile(ctx, v.Evidence.Blocks[1].ID, img.Content.FileID)
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err), "the text block does not reference the file")
		_, err = db.EvidenceBlockFile(ctx, "nope", img.Content.FileID)
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err))
	})
}

// TestPortfolioVersionCountsEveryChange drives each kind of write a portfolio
// page shows through the store's own methods (and raw SQL for the deletes no
// method makes) and checks that the student's version or the shared one rose
// in the writing transaction, while writes about another student, and
// upserts that change nothing shown, leave this student's version alone.
func TestPortfolioVersionCountsEveryChange(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		student := storetest.MustCreateUser(t, db, optio.RoleStudent, "Ana", "Lee")
		other := storetest.MustCreateUser(t, db, optio.RoleStudent, "Ben", "Ode")
		parent := storetest.MustCreateUser(t, db, optio.RoleParent, "Pat", "Lee")

		version := func() optio.PortfolioVersion {
			t.Helper()
			u, v, err := db.PortfolioOwner(ctx, student.PortfolioSlug)
			require.NoError(t, err)
			require.Equal(t, student.ID, u.ID)
			return v
		}
		exec := func(q string, args ...any) {
			t.Helper()
			_, err := db.W.ExecContext(ctx, q, args...)
			require.NoError(t, err)
		}
		// studentChange, globalChange and noChange run a write and check
		// which version moved.
		studentChange := func(name string, write func()) {
			t.Helper()
			before := version()
			write()
			after := version()
			require.Greater(t, after.Student, before.Student, name)
			require.Equal(t, before.Global, after.Global, name)
		}
		globalChange := func(name string, write func()) {
			t.Helper()
			before := version()
			write()
			after := version()
			require.Greater(t, after.Global, before.Global, name)
			require.Equal(t, before.Student, after.Student, name)
		}
		noChange := func(name string, write func()) {
			t.Helper()
			before := version()
			write()
			require.Equal(t, before, version(), name)
		}
		ok := func(_ any, err error) { t.Helper(); require.NoError(t, err) }

		_, _, err := db.PortfolioOwner(ctx, "nobody-here")
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err))
		require.Equal(t, int64(0), version().Student, "a new student starts at 0")

		// Profile: every field the page shows or decides visibility with.
		studentChange("visibility", func() {
			v := optio.VisibilityPrivate
			ok(db.UpdateProfile(ctx, student.ID, optio.ProfileUpdate{Visibility: &v}))
		})
		studentChange("birth date", func() {
			b := time.Date(2012, 5, 1, 0, 0, 0, 0, time.UTC)
			ok(db.UpdateProfile(ctx, student.ID, optio.ProfileUpdate{BirthDate: &b}))
		})
		exec(`INSERT INTO parent_links (parent_id, student_id, linked_via, created_at) VALUES ($1,$2,'test',$3)`, parent.ID, student.ID, time.Now().UTC())
		studentChange("parent consent", func() { ok(db.SetParentConsent(ctx, parent.ID, student.ID, true, nil)) })
		studentChange("name", func() { exec(`UPDATE users SET given_name = 'Anna' WHERE id = $1`, student.ID) })
		noChange("a column no page shows", func() { exec(`UPDATE users SET updated_at = $1 WHERE id = $2`, time.Now().UTC(), student.ID) })

		// Shared data: quests, tasks and their titles.
		var q *optio.Quest
		globalChange("new quest", func() { q = storetest.MustCreateQuest(t, db, "Garden", 50, optio.PillarSTEM, optio.PillarArt) })
		globalChange("quest title", func() { ok(db.UpdateQuest(ctx, q.ID, optio.QuestInput{Title: "Community garden"})) })
		xp := 50
		globalChange("task title", func() {
			ok(db.UpdateTask(ctx, q.Tasks[0].ID, optio.TaskInput{Title: "Raised beds", Pillar: optio.PillarSTEM, XPValue: &xp}))
		})

		// Work: completions with evidence and XP, edits and deletions.
		noChange("another student's work", func() {
			ok(db.CompleteTask(ctx, optio.CompletionInput{UserID: other.ID, TaskID: q.Tasks[0].ID, Source: "optio",
				Blocks: []optio.BlockInput{{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "Ben's beds"}}}}))
		})
		var done *optio.CompletionView
		studentChange("completion", func() {
			var err error
			done, err = db.CompleteTask(ctx, optio.CompletionInput{UserID: student.ID, TaskID: q.Tasks[0].ID, Source: "optio",
				Blocks: []optio.BlockInput{
					{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "Four beds"}},
					{BlockType: optio.BlockLink, Content: optio.BlockContent{URL: "https://example.org/beds"}},
				}})
			require.NoError(t, err)
		})
		studentChange("block made private", func() {
			exec(`UPDATE evidence_document_blocks SET is_private = TRUE WHERE id = $1`, done.Evidence.Blocks[1].ID)
		})
		studentChange("block deleted", func() { exec(`DELETE FROM evidence_document_blocks WHERE id = $1`, done.Evidence.Blocks[1].ID) })
		studentChange("XP adjusted", func() { exec(`UPDATE xp_ledger SET amount = 40 WHERE user_id = $1`, student.ID) })
		studentChange("completion deleted", func() { exec(`DELETE FROM quest_task_completions WHERE id = $1`, done.Completion.ID) })

		// Spark: a course (shared), the student's roster status, a badge
		// (shared) and its award, a synced submission and its resubmission.
		in := func(s string) *string { return &s }
		globalChange("Spark course", func() {
			ok(db.AcceptSparkCourse(ctx, "wh-course-1", optio.SparkCourseEvent{SparkCourseID: "c-1", Title: "OnFire Writing", AutoMap: true,
				Assignments: []optio.SparkAssignmentInput{{SparkAssignmentID: "a-1", Title: "Essay"}}}))
		})
		noChange("the same course again", func() {
			ok(db.AcceptSparkCourse(ctx, "wh-course-2", optio.SparkCourseEvent{SparkCourseID: "c-1", Title: "OnFire Writing", AutoMap: true,
				Assignments: []optio.SparkAssignmentInput{{SparkAssignmentID: "a-1", Title: "Essay"}}}))
		})
		globalChange("Spark course renamed", func() {
			ok(db.AcceptSparkCourse(ctx, "wh-course-3", optio.SparkCourseEvent{SparkCourseID: "c-1", Title: "OnFire Creative Writing", AutoMap: true,
				Assignments: []optio.SparkAssignmentInput{{SparkAssignmentID: "a-1", Title: "Essay"}}}))
		})
		roster := func(id, action string, at time.Time) {
			t.Helper()
			ok(db.AcceptSparkRoster(ctx, id, optio.SparkRosterEvent{SparkUserID: "spark-ana", SparkCourseID: "c-1", Action: action,
				Email: student.Email, GivenName: "Anna", FamilyName: "Lee", OccurredAt: at}))
		}
		t0 := time.Now().UTC().Add(-time.Hour)
		studentChange("enrolled", func() { roster("wh-roster-1", optio.RosterEnroll, t0) })
		noChange("enrolled again", func() { roster("wh-roster-2", optio.RosterEnroll, t0.Add(time.Minute)) })
		studentChange("course completed", func() { roster("wh-roster-3", optio.RosterComplete, t0.Add(2*time.Minute)) })
		courses := []string{"c-1"}
		var badge *optio.Badge
		globalChange("badge created", func() {
			var err error
			badge, err = db.CreateBadge(ctx, optio.BadgeInput{Name: in("Writer"), RequiredCourses: &courses})
			require.NoError(t, err)
		})
		globalChange("badge edited", func() { ok(db.UpdateBadge(ctx, badge.ID, optio.BadgeInput{Description: in("Writes well")})) })
		studentChange("badge awarded", func() {
			awarded, err := db.AwardBadges(ctx, student.ID)
			require.NoError(t, err)
			require.Len(t, awarded, 1)
		})

		submit := func(webhookID string) *optio.SubmissionReceipt {
			t.Helper()
			rc, err := db.AcceptSparkSubmission(ctx, webhookID, optio.SparkSubmissionEvent{SparkUserID: "spark-ana", SparkAssignmentID: "a-1",
				SparkCourseID: "c-1", Text: "My essay", SubmittedAt: time.Now().UTC()})
			require.NoError(t, err)
			return rc
		}
		sync := func(rc *optio.SubmissionReceipt) {
			t.Helper()
			w, err := db.BeginSync(ctx, rc.SyncID)
			require.NoError(t, err)
			require.NotNil(t, w.Task)
			ok(db.FinishSync(ctx, w, []optio.BlockInput{{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "My essay"}}}))
		}
		var rc *optio.SubmissionReceipt
		noChange("submission accepted, not yet synced", func() { rc = submit("wh-sub-1") })
		studentChange("submission synced", func() { sync(rc) })
		studentChange("resubmitted (no longer synced)", func() { rc = submit("wh-sub-2") })
		studentChange("resubmission synced (evidence replaced)", func() { sync(rc) })
		globalChange("Spark course title edited", func() {
			exec(`UPDATE spark_course_mappings SET course_title = 'Creative Writing' WHERE spark_course_id = 'c-1'`)
		})
		globalChange("assignment removed", func() { exec(`DELETE FROM spark_assignments WHERE spark_assignment_id = 'a-1'`) })
		studentChange("badge award removed", func() { exec(`DELETE FROM user_badges WHERE user_id = $1`, student.ID) })
		globalChange("badge course removed", func() { exec(`DELETE FROM badge_courses WHERE badge_id = $1`, badge.ID) })
	})
}
