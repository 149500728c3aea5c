package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// Issue 17, item 8: a question carries its safety verdict from the moment
// it is recorded, so parents see it flagged before (or without) an answer,
// and removing an unanswered question never removes a flagged one.
func TestTutorQuestionFlaggedBeforeItsAnswer(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		kid := storetest.MustCreateUser(t, db, optio.RoleStudent, "Kim", "Lee")
		mum := storetest.MustCreateUser(t, db, optio.RoleParent, "Mum", "Lee")
		exec(t, db, `INSERT INTO parent_links (parent_id, student_id, linked_via, created_at) VALUES ($1,$2,'test',$3)`, mum.ID, kid.ID, time.Now().UTC())
		c, err := db.CreateTutorConversation(ctx, optio.NewTutorConversation{UserID: kid.ID, Mode: "study_buddy", Title: "Study buddy"})
		require.NoError(t, err)
		day0, day1 := time.Now().UTC().Add(-time.Hour), time.Now().UTC().Add(time.Hour)
		ask := func(text string, flagged bool) *optio.TutorMessage {
			q, err := db.AddTutorQuestion(ctx, optio.TutorQuestion{ConversationID: c.ID, UserID: kid.ID, Text: text, Limit: 10,
				DayStart: day0, DayEnd: day1, Flagged: flagged, Category: map[bool]string{true: "bullying"}[flagged]})
			require.NoError(t, err)
			return q
		}
		flagged := ask("I am being bullied", true)
		require.True(t, flagged.Flagged)
		require.Equal(t, "bullying", flagged.Category)
		plain := ask("What is a noun?", false)

		xs, err := db.TutorFlaggedExchanges(ctx, mum.ID, kid.ID)
		require.NoError(t, err)
		require.Len(t, xs, 1, "the parent sees the flagged question before any answer")
		require.Equal(t, "I am being bullied", xs[0].Question.Text)
		require.Nil(t, xs[0].Answer)

		require.NoError(t, db.DeleteTutorQuestion(ctx, flagged.ID))
		require.NoError(t, db.DeleteTutorQuestion(ctx, plain.ID))
		n, err := db.TutorMessagesSent(ctx, kid.ID, day0, day1)
		require.NoError(t, err)
		require.Equal(t, 1, n, "the flagged question stays and counts; the plain one is gone")
		xs, err = db.TutorFlaggedExchanges(ctx, mum.ID, kid.ID)
		require.NoError(t, err)
		require.Len(t, xs, 1)
	})
}
