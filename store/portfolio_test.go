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
			name string
			fn   func(context.Context, string, string) (bool, error)
			a, b string
			want bool
		}{
			{"observer", db.IsObserverOf, gran.ID, student.ID, true},
			{"revoked observer", db.IsObserverOf, exObs.ID, student.ID, false},
			{"reversed", db.IsObserverOf, student.ID, gran.ID, false},
			{"parent as observer", db.IsObserverOf, parent.ID, student.ID, false},
			{"bad id", db.IsObserverOf, "nope", student.ID, false},
			{"linked parent", db.IsLinkedParent, parent.ID, student.ID, true},
			{"observer as parent", db.IsLinkedParent, gran.ID, student.ID, false},
			{"bad parent id", db.IsLinkedParent, parent.ID, "x'; DROP TABLE users; --", false},
		} {
			got, err := c.fn(ctx, c.a, c.b)
			require.NoError(t, err, c.name)
			require.Equal(t, c.want, got, c.name)
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
