package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// TestCommentRateLimitUnderConcurrency fires more comments at once than the
// hourly limit allows: exactly the limit is stored, the rest are refused,
// because the count is taken under a lock in the database, not in memory.
func TestCommentRateLimitUnderConcurrency(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := storetest.MustCreateUser(t, db, optio.RoleStudent, "Sam", "Lee")
		o := storetest.MustCreateUser(t, db, optio.RoleObserver, "Gran", "Lee")
		q := storetest.MustCreateQuest(t, db, "Robots", 10, optio.PillarSTEM)
		c, err := db.CompleteTask(ctx, optio.CompletionInput{UserID: s.ID, TaskID: q.Tasks[0].ID,
			Blocks: []optio.BlockInput{{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "done"}}}})
		require.NoError(t, err)

		var wg sync.WaitGroup
		codes := make(chan string, 3*optio.CommentsPerHour)
		for range 3 * optio.CommentsPerHour {
			wg.Go(func() {
				_, err := db.AddComment(ctx, c.Completion.ID, o.ID, "Go Sam!")
				codes <- optio.ErrorCode(err)
			})
		}
		wg.Wait()
		close(codes)
		got := map[string]int{}
		for code := range codes {
			got[code]++
		}
		require.Equal(t, map[string]int{"": optio.CommentsPerHour, optio.ERATELIMIT: 2 * optio.CommentsPerHour}, got)
		list, err := db.CommentsOn(ctx, []string{c.Completion.ID}, true)
		require.NoError(t, err)
		require.Len(t, list, optio.CommentsPerHour)
	})
}
