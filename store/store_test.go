package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

func count(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	require.NoError(t, db.R.QueryRow(`SELECT COUNT(*) FROM `+table).Scan(&n))
	return n
}

func TestUsersAndSlugs(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, err := db.CreateUser(ctx, optio.NewUser{Email: "Ana@Example.com", GivenName: "Ana", FamilyName: "García", Role: optio.RoleStudent})
		require.NoError(t, err)
		require.Equal(t, "anagarcia", a.PortfolioSlug)
		require.Equal(t, "ana@example.com", a.Email)
		b, err := db.CreateUser(ctx, optio.NewUser{Email: "ana2@example.com", GivenName: "Ana", FamilyName: "Garcia", Role: optio.RoleStudent})
		require.NoError(t, err)
		require.Equal(t, "anagarcia-2", b.PortfolioSlug)
		p, err := db.CreateUser(ctx, optio.NewUser{Email: "mum@example.com", GivenName: "Mum", Role: optio.RoleParent})
		require.NoError(t, err)
		require.Empty(t, p.PortfolioSlug, "only students have portfolios")

		_, err = db.CreateUser(ctx, optio.NewUser{Email: "ANA@example.com", GivenName: "X", Role: optio.RoleStudent})
		require.Equal(t, optio.ECONFLICT, optio.ErrorCode(err))
		_, err = db.CreateUser(ctx, optio.NewUser{Email: "bad", Role: "king"})
		require.Equal(t, optio.EINVALID, optio.ErrorCode(err))
		require.Equal(t, 3, count(t, db, "users"), "failed creates leave no rows")

		got, _, err := db.PortfolioOwner(ctx, "anagarcia-2")
		require.NoError(t, err)
		require.Equal(t, b.ID, got.ID)
		_, err = db.UserByID(ctx, "not-a-uuid")
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err))
	})
}

func TestSessions(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		clock := optio.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		db := storetest.Open(t, d, clock)
		ctx := context.Background()
		u := storetest.MustCreateUser(t, db, optio.RoleStudent, "Sam", "Lee")
		_, err := db.CreateSession(ctx, u.ID, "hash1", time.Hour)
		require.NoError(t, err)
		got, err := db.SessionUser(ctx, "hash1")
		require.NoError(t, err)
		require.Equal(t, u.ID, got.ID)
		clock.Advance(2 * time.Hour)
		_, err = db.SessionUser(ctx, "hash1")
		require.Equal(t, optio.EUNAUTHORIZED, optio.ErrorCode(err), "expired session")
		_, err = db.CreateSession(ctx, u.ID, "hash2", time.Hour)
		require.NoError(t, err)
		require.NoError(t, db.DeleteSession(ctx, "hash2"))
		_, err = db.SessionUser(ctx, "hash2")
		require.Equal(t, optio.EUNAUTHORIZED, optio.ErrorCode(err), "revoked session")
	})
}

func TestQuestLifecycleAndXP(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := storetest.MustCreateUser(t, db, optio.RoleStudent, "Kai", "Moana")
		q := storetest.MustCreateQuest(t, db, "Build a birdhouse", 100, optio.PillarArt, optio.PillarSTEM)
		require.Len(t, q.Tasks, 2)
		require.Equal(t, optio.SourceOptio, q.Source)

		_, err := db.StartQuest(ctx, s.ID, q.ID)
		require.NoError(t, err)
		_, err = db.StartQuest(ctx, s.ID, q.ID)
		require.NoError(t, err, "starting twice is harmless")

		v, err := db.CompleteTask(ctx, optio.CompletionInput{UserID: s.ID, TaskID: q.Tasks[0].ID, Blocks: []optio.BlockInput{
			{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "I sanded it."}},
			{BlockType: optio.BlockLink, Content: optio.BlockContent{URL: "https://example.com/photos"}},
		}})
		require.NoError(t, err)
		require.Equal(t, 100, v.Completion.XPAwarded)
		require.Len(t, v.Evidence.Blocks, 2)
		require.Equal(t, "I sanded it.", v.Evidence.Blocks[0].Content.Text)
		require.Equal(t, optio.BlockLink, v.Evidence.Blocks[1].BlockType)

		_, err = db.CompleteTask(ctx, optio.CompletionInput{UserID: s.ID, TaskID: q.Tasks[0].ID,
			Blocks: []optio.BlockInput{{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "again"}}}})
		require.Equal(t, optio.ECONFLICT, optio.ErrorCode(err))

		_, err = db.CompleteTask(ctx, optio.CompletionInput{UserID: s.ID, TaskID: q.Tasks[1].ID,
			Blocks: []optio.BlockInput{{BlockType: optio.BlockLink, Content: optio.BlockContent{URL: "javascript:alert(1)"}}}})
		require.Equal(t, optio.EINVALID, optio.ErrorCode(err))

		xp, err := db.XPSummary(ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, 100, xp.Total)
		require.Equal(t, 100, xp.ByPillar[optio.PillarArt])
		require.Equal(t, 0, xp.ByPillar[optio.PillarSTEM])
		week, err := db.XPSince(ctx, s.ID, db.Clock.Now().Add(-optio.RhythmWindow))
		require.NoError(t, err)
		require.Equal(t, 100, week, "awarded just now counts for this week")
		later, err := db.XPSince(ctx, s.ID, db.Clock.Now().Add(time.Minute))
		require.NoError(t, err)
		require.Equal(t, 0, later, "nothing was awarded after now")
		require.Equal(t, 1, count(t, db, "quest_task_completions"))
		require.Equal(t, 1, count(t, db, "evidence_documents"))
		require.Equal(t, 2, count(t, db, "evidence_document_blocks"))

		prog, err := db.QuestProgressFor(ctx, s.ID)
		require.NoError(t, err)
		require.Len(t, prog, 1)
		require.Equal(t, 1, prog[0].TasksDone)
		require.Equal(t, 2, prog[0].TasksTotal)
		require.Equal(t, 100, prog[0].XPEarned)

		_, err = db.TaskByID(ctx, "00000000-0000-0000-0000-000000000000")
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err))
	})
}

func TestConcurrentCompletionAwardsOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := storetest.MustCreateUser(t, db, optio.RoleStudent, "Ria", "Das")
		q := storetest.MustCreateQuest(t, db, "Run a 5k", 50, optio.PillarWellness)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() {
				_, errs[i] = db.CompleteTask(ctx, optio.CompletionInput{UserID: s.ID, TaskID: q.Tasks[0].ID,
					Blocks: []optio.BlockInput{{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "done"}}}})
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				require.Equal(t, optio.ECONFLICT, optio.ErrorCode(err), "%v", err)
			}
		}
		require.Equal(t, 1, ok)
		xp, err := db.XPSummary(ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, 50, xp.Total)
		require.Equal(t, 1, count(t, db, "evidence_document_blocks"))
	})
}

// TestTextPostgreSQLCannotStore: a NUL or invalid UTF-8 that no validation
// caught is the input's fault, not a bug. PostgreSQL refuses it (in text and
// in JSON); the store answers EINVALID, never an internal error, and writes
// nothing. SQLite stores it as given.
func TestTextPostgreSQLCannotStore(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, title := range []string{"nul \x00 byte", "bad \xff utf-8"} {
			q, err := db.CreateQuest(ctx, optio.QuestInput{Title: title})
			if db.Dialect == store.SQLite {
				require.NoError(t, err)
				require.Equal(t, title, q.Title)
				continue
			}
			require.Equal(t, optio.EINVALID, optio.ErrorCode(err), "%q: %v", title, err)
			require.Contains(t, optio.ErrorMessage(err), "NUL")
		}
		want := map[store.Dialect]int{store.SQLite: 2, store.Postgres: 0}[db.Dialect]
		require.Equal(t, want, count(t, db, "quests"))
	})
}
