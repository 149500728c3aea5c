package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// The admin page's list: every quest, retired ones too, each with its tasks
// in order, in one call.
func TestQuestsWithTasks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := storetest.MustCreateQuest(t, db, "Rivers", 50, optio.PillarSTEM, optio.PillarArt)
		b := storetest.MustCreateQuest(t, db, "Empty", 10)
		off := false
		_, err := db.UpdateQuest(ctx, b.ID, optio.QuestInput{Title: b.Title, Active: &off})
		require.NoError(t, err)

		qs, err := db.QuestsWithTasks(ctx)
		require.NoError(t, err)
		require.Len(t, qs, 2)
		byID := map[string]optio.Quest{}
		for _, q := range qs {
			byID[q.ID] = q
		}
		require.Equal(t, []string{"Rivers stem", "Rivers art"}, titles(byID[a.ID].Tasks))
		require.Equal(t, 2, byID[a.ID].TaskCount)
		require.Empty(t, byID[b.ID].Tasks)
		require.False(t, byID[b.ID].Active, "retired quests are listed too")
	})
}

// A student's standing in one quest counts every task they completed in it,
// however many they completed since elsewhere (the quest page once read only
// the last 1,000 completions), and a dropped enrolment is not enrolled.
func TestQuestStanding(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := storetest.MustCreateUser(t, db, optio.RoleStudent, "Ada", "Lovelace")
		a := storetest.MustCreateQuest(t, db, "Rivers", 50, optio.PillarSTEM, optio.PillarArt)

		st, err := db.QuestStanding(ctx, u.ID, a.ID)
		require.NoError(t, err)
		require.Equal(t, &optio.QuestStanding{Done: map[string]bool{}}, st, "a stranger to the quest")

		_, err = db.CompleteTask(ctx, optio.CompletionInput{UserID: u.ID, TaskID: a.Tasks[0].ID, Source: "optio",
			Blocks: []optio.BlockInput{{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "Measured the flow."}}}})
		require.NoError(t, err)

		// 1,000 later completions in five other quests of 200 tasks.
		var busy []*optio.Quest
		newID := "'c-' || id"
		if db.Dialect == store.Postgres {
			newID = "gen_random_uuid()"
		}
		for q := range 5 {
			in := optio.QuestInput{Title: fmt.Sprintf("Busy %d", q)}
			for i := range 200 {
				xp := 1
				in.Tasks = append(in.Tasks, optio.TaskInput{Title: fmt.Sprintf("Busy %d.%d", q, i), Pillar: optio.PillarCivics, XPValue: &xp})
			}
			b, err := db.CreateQuest(ctx, in)
			require.NoError(t, err)
			busy = append(busy, b)
			_, err = db.W.ExecContext(ctx, `INSERT INTO quest_task_completions (id, user_id, task_id, quest_id, source, completed_at, updated_at)
				SELECT `+newID+`, $1, id, quest_id, 'optio', $2, $2 FROM tasks WHERE quest_id = $3`,
				u.ID, time.Now().Add(time.Hour).UTC(), b.ID)
			require.NoError(t, err)
		}

		st, err = db.QuestStanding(ctx, u.ID, a.ID)
		require.NoError(t, err)
		require.True(t, st.Enrolled, "completing a task enrols")
		require.Equal(t, map[string]bool{a.Tasks[0].ID: true}, st.Done)

		st, err = db.QuestStanding(ctx, u.ID, busy[4].ID)
		require.NoError(t, err)
		require.Len(t, st.Done, 200)

		_, err = db.W.ExecContext(ctx, `UPDATE user_quests SET status = 'dropped' WHERE user_id = $1 AND quest_id = $2`, u.ID, a.ID)
		require.NoError(t, err)
		st, err = db.QuestStanding(ctx, u.ID, a.ID)
		require.NoError(t, err)
		require.False(t, st.Enrolled, "a dropped quest is not enrolled")
		require.True(t, st.Done[a.Tasks[0].ID], "what was done stays done")
	})
}

func titles(ts []optio.Task) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Title)
	}
	return out
}
