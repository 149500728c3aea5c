package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

func exec(t *testing.T, db *store.DB, q string, args ...any) {
	t.Helper()
	_, err := db.W.Exec(q, args...)
	require.NoError(t, err)
}

func TestTutorConversationsAndDailyLimit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := storetest.MustCreateUser(t, db, optio.RoleStudent, "Ivy", "Chen")
		other := storetest.MustCreateUser(t, db, optio.RoleStudent, "Olu", "Ade")
		q := storetest.MustCreateQuest(t, db, "Rockets", 10, optio.PillarSTEM)

		c, err := db.CreateTutorConversation(ctx, optio.NewTutorConversation{UserID: s.ID, Mode: "teacher", QuestID: q.ID, TaskID: q.Tasks[0].ID, Title: "Rockets"})
		require.NoError(t, err)
		require.Equal(t, "teacher", c.Mode)
		require.Equal(t, q.Tasks[0].ID, c.TaskID)
		_, err = db.CreateTutorConversation(ctx, optio.NewTutorConversation{UserID: s.ID, Mode: "gossip"})
		require.Error(t, err, "the schema refuses unknown modes")
		_, err = db.CreateTutorConversation(ctx, optio.NewTutorConversation{UserID: s.ID, Mode: "teacher", TaskID: "nope"})
		require.Equal(t, optio.EINVALID, optio.ErrorCode(err))

		day0, day1 := time.Now().UTC().Add(-time.Hour), time.Now().UTC().Add(time.Hour)
		ask := func(user, text string, limit int) (*optio.TutorMessage, error) {
			return db.AddTutorQuestion(ctx, optio.TutorQuestion{ConversationID: c.ID, UserID: user, Text: text, Limit: limit, DayStart: day0, DayEnd: day1})
		}
		_, err = ask(other.ID, "hi", -1)
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err), "another student's conversation")

		q1, err := ask(s.ID, "What is thrust?", 2)
		require.NoError(t, err)
		a1, err := db.AnswerTutorQuestion(ctx, optio.TutorAnswer{QuestionID: q1.ID, Text: "A push.", Title: "What is thrust?"})
		require.NoError(t, err)
		require.Equal(t, q1.ID, a1.ReplyTo)
		q2, err := ask(s.ID, "My phone is 555 123 4567", 2)
		require.NoError(t, err)
		_, err = db.AnswerTutorQuestion(ctx, optio.TutorAnswer{QuestionID: q2.ID, Text: "Let's keep that private.", Flagged: true, Category: "personal_info", Refused: true})
		require.NoError(t, err)
		_, err = ask(s.ID, "third", 2)
		require.Equal(t, optio.ERATELIMIT, optio.ErrorCode(err))
		n, err := db.TutorMessagesSent(ctx, s.ID, day0, day1)
		require.NoError(t, err)
		require.Equal(t, 2, n)

		// A question the AI never answered is removed and no longer counts.
		q3, err := ask(s.ID, "unanswered", -1)
		require.NoError(t, err)
		require.NoError(t, db.DeleteTutorQuestion(ctx, q3.ID))
		require.NoError(t, db.DeleteTutorQuestion(ctx, q1.ID), "answered questions stay")
		n, err = db.TutorMessagesSent(ctx, s.ID, day0, day1)
		require.NoError(t, err)
		require.Equal(t, 2, n)

		got, err := db.TutorConversation(ctx, s.ID, c.ID)
		require.NoError(t, err)
		require.Equal(t, "What is thrust?", got.Title)
		var texts []string
		for _, m := range got.Messages {
			texts = append(texts, m.Role+": "+m.Text)
		}
		require.Equal(t, []string{"user: What is thrust?", "model: A push.", "user: My phone is 555 123 4567", "model: Let's keep that private."}, texts)
		require.True(t, got.Messages[2].Refused && got.Messages[2].Flagged)
		_, err = db.TutorConversation(ctx, other.ID, c.ID)
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err))
		list, err := db.TutorConversations(ctx, other.ID)
		require.NoError(t, err)
		require.Empty(t, list)
		list, err = db.TutorConversations(ctx, s.ID)
		require.NoError(t, err)
		require.Len(t, list, 1)
	})
}

func TestTutorLimitHoldsUnderConcurrency(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := storetest.MustCreateUser(t, db, optio.RoleStudent, "Bo", "Li")
		c, err := db.CreateTutorConversation(ctx, optio.NewTutorConversation{UserID: s.ID, Mode: "study_buddy"})
		require.NoError(t, err)
		day0, day1 := time.Now().UTC().Add(-time.Hour), time.Now().UTC().Add(time.Hour)
		var wg sync.WaitGroup
		errs := make([]error, 10)
		for i := range errs {
			wg.Go(func() {
				_, errs[i] = db.AddTutorQuestion(ctx, optio.TutorQuestion{ConversationID: c.ID, UserID: s.ID, Text: "hi", Limit: 3, DayStart: day0, DayEnd: day1})
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				require.Equal(t, optio.ERATELIMIT, optio.ErrorCode(err), "%v", err)
			}
		}
		require.Equal(t, 3, ok)
	})
}

func TestTutorParentViews(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		kid := storetest.MustCreateUser(t, db, optio.RoleStudent, "Kid", "One")
		mum := storetest.MustCreateUser(t, db, optio.RoleParent, "Mum", "One")
		stranger := storetest.MustCreateUser(t, db, optio.RoleParent, "Not", "Mum")
		exec(t, db, `INSERT INTO parent_links (parent_id, student_id, linked_via, created_at) VALUES ($1,$2,'test',$3)`, mum.ID, kid.ID, time.Now().UTC())

		require.NoError(t, db.SetTutorDailyLimit(ctx, mum.ID, kid.ID, 5))
		require.NoError(t, db.SetTutorDailyLimit(ctx, mum.ID, kid.ID, 7))
		l, set, err := db.TutorDailyLimit(ctx, kid.ID)
		require.NoError(t, err)
		require.True(t, set)
		require.Equal(t, 7, l)
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(db.SetTutorDailyLimit(ctx, stranger.ID, kid.ID, 1)))
		require.Equal(t, optio.EINVALID, optio.ErrorCode(db.SetTutorDailyLimit(ctx, mum.ID, kid.ID, 201)))
		_, _, err = db.ParentTutorDailyLimit(ctx, stranger.ID, kid.ID)
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err))

		c, err := db.CreateTutorConversation(ctx, optio.NewTutorConversation{UserID: kid.ID, Mode: "study_buddy"})
		require.NoError(t, err)
		day0, day1 := time.Now().UTC().Add(-time.Hour), time.Now().UTC().Add(time.Hour)
		for _, flagged := range []bool{false, true} {
			q, err := db.AddTutorQuestion(ctx, optio.TutorQuestion{ConversationID: c.ID, UserID: kid.ID, Text: "q", Limit: -1, DayStart: day0, DayEnd: day1})
			require.NoError(t, err)
			_, err = db.AnswerTutorQuestion(ctx, optio.TutorAnswer{QuestionID: q.ID, Text: "a", Flagged: flagged, Withheld: flagged, Category: "violence"})
			require.NoError(t, err)
		}
		xs, err := db.TutorFlaggedExchanges(ctx, mum.ID, kid.ID)
		require.NoError(t, err)
		require.Len(t, xs, 1)
		require.Equal(t, "violence", xs[0].Question.Category)
		require.NotNil(t, xs[0].Answer)
		require.True(t, xs[0].Answer.Withheld)
		_, err = db.TutorFlaggedExchanges(ctx, stranger.ID, kid.ID)
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err))
	})
}

// TestTutorFactsAreTheStudentsOwn seeds a student's Spark course with
// assignments and a submission, and another student's course beside it.
func TestTutorFactsAreTheStudentsOwn(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
		s := storetest.MustCreateUser(t, db, optio.RoleStudent, "Ana", "Ruiz")
		o := storetest.MustCreateUser(t, db, optio.RoleStudent, "Oli", "Kay")
		course := func(id, title string) {
			exec(t, db, `INSERT INTO spark_course_mappings (id, spark_course_id, course_title, created_at, updated_at) VALUES ($1,$2,$3,$4,$4)`,
				uuid.NewString(), id, title, now)
		}
		enrol := func(user, courseID, status string) {
			exec(t, db, `INSERT INTO spark_enrollments (user_id, spark_course_id, status, occurred_at, updated_at) VALUES ($1,$2,$3,$4,$4)`,
				user, courseID, status, now)
		}
		assignment := func(id, courseID, title string, due time.Time) {
			exec(t, db, `INSERT INTO spark_assignments (spark_assignment_id, spark_course_id, title, due_at, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$5)`,
				id, courseID, title, due, now)
		}
		submit := func(user, assignmentID, courseID string, at time.Time) {
			exec(t, db, `INSERT INTO spark_assignment_submissions (id, user_id, spark_user_id, spark_assignment_id, spark_course_id, submission_files, submitted_at, created_at, updated_at)
				VALUES ($1,$2,'su',$3,$4,'[]',$5,$5,$5)`, uuid.NewString(), user, assignmentID, courseID, at)
		}
		course("bio", "Biology 101")
		course("art", "Drawing")
		course("secret", "Other Kid's Course")
		enrol(s.ID, "bio", "enrolled")
		enrol(s.ID, "art", "dropped")
		enrol(o.ID, "secret", "enrolled")
		assignment("a1", "bio", "Cell diagram", now.Add(48*time.Hour))
		assignment("a2", "bio", "Lab report", now.Add(-48*time.Hour))
		assignment("a3", "bio", "Reading quiz", now.Add(-24*time.Hour))
		assignment("a4", "art", "Still life", now.Add(24*time.Hour))
		assignment("s1", "secret", "Secret essay", now.Add(24*time.Hour))
		submit(s.ID, "a3", "bio", now.Add(-30*time.Hour))
		submit(o.ID, "s1", "secret", now.Add(-time.Hour))
		q := storetest.MustCreateQuest(t, db, "Garden", 10, optio.PillarWellness, optio.PillarSTEM, optio.PillarSTEM)
		_, err := db.StartQuest(ctx, s.ID, q.ID)
		require.NoError(t, err)

		f, err := db.TutorFacts(ctx, s.ID, now)
		require.NoError(t, err)
		require.Equal(t, []optio.TutorCourse{{ID: "bio", Title: "Biology 101"}}, f.Courses)
		require.Equal(t, []optio.TutorAssignment{{Title: "Cell diagram", Course: "Biology 101", DueAt: now.Add(48 * time.Hour)}}, f.Upcoming)
		require.Equal(t, []optio.TutorAssignment{{Title: "Lab report", Course: "Biology 101", DueAt: now.Add(-48 * time.Hour)}}, f.Overdue)
		require.Equal(t, []optio.TutorSubmission{{Title: "Reading quiz", Course: "Biology 101", SubmittedAt: now.Add(-30 * time.Hour)}}, f.Submissions)
		require.Equal(t, []optio.TutorQuest{{Title: "Garden", Pillars: []optio.Pillar{optio.PillarSTEM, optio.PillarWellness}}}, f.Quests)
	})
}
