package jobs

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// A burst of syncs takes at most the slots' number of database steps at
// once; the rest wait their turn (and a wait ends with its context).
func TestSyncDatabaseStepsTakeASlot(t *testing.T) {
	w := &SyncWorker{dbSlots: make(chan struct{}, 3)}
	release := make(chan struct{})
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			require.NoError(t, w.inDB(context.Background(), func() error {
				n := inside.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				<-release
				inside.Add(-1)
				return nil
			}))
		})
	}
	require.Eventually(t, func() bool { return inside.Load() == 3 }, 5e9, 1e6, "three steps run")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, w.inDB(ctx, func() error { t.Fatal("ran without a slot"); return nil }), context.Canceled)
	close(release)
	wg.Wait()
	require.Equal(t, int32(3), most.Load(), "never more than the slots at once")
}
