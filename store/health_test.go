package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// failingHealthStore refuses writes, as a database that is down would.
type failingHealthStore struct{ optio.HealthStore }

func (failingHealthStore) AddHealthCounts(context.Context, []optio.HealthCount) error {
	return errors.New("database down")
}

// Two processes' tallies add up in the hourly rollup; a failed flush keeps
// its counts for the next one; poll counts reach the report's windows.
func TestHealthTalliesAddUp(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		clock := optio.NewFakeClock(time.Date(2026, 5, 4, 9, 15, 0, 0, time.UTC))
		db := storetest.Open(t, d, clock)
		a, b := optio.NewHealthTally(clock), optio.NewHealthTally(clock)
		for range 3 {
			a.Add(optio.HealthWebhook, "submission", "accepted")
		}
		b.Add(optio.HealthWebhook, "submission", "accepted")
		b.Add(optio.HealthWebhook, "roster", "bad_signature")
		require.Error(t, b.Flush(ctx, failingHealthStore{db}))
		require.NoError(t, a.Flush(ctx, db))
		require.NoError(t, b.Flush(ctx, db), "the counts kept after the failed flush")
		require.NoError(t, b.Flush(ctx, db), "an empty tally writes nothing")
		clock.Advance(time.Hour)
		a.Add(optio.HealthWebhook, "submission", "accepted")
		require.NoError(t, a.Flush(ctx, db))
		require.NoError(t, db.AddHealthCounts(ctx, []optio.HealthCount{
			{Hour: clock.Now(), Metric: optio.HealthPollRun, Outcome: "ok", N: 1},
			{Hour: clock.Now(), Metric: optio.HealthPollImport, Outcome: "queued", N: 7},
		}))

		cs, err := db.HealthCounts(ctx, optio.HealthWebhook, time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC))
		require.NoError(t, err)
		require.ElementsMatch(t, []optio.HealthCount{
			{Hour: time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC), Metric: optio.HealthWebhook, Key: "submission", Outcome: "accepted", N: 4},
			{Hour: time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC), Metric: optio.HealthWebhook, Key: "roster", Outcome: "bad_signature", N: 1},
			{Hour: time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC), Metric: optio.HealthWebhook, Key: "submission", Outcome: "accepted", N: 1},
		}, cs)

		r, err := optio.BuildHealthReport(ctx, db, clock.Now())
		require.NoError(t, err)
		hour, day := r.Windows[0], r.Windows[1]
		require.Equal(t, int64(6), day.Webhooks.Deliveries)
		require.InDelta(t, 1.0/6, *day.Webhooks.FailureRate, 1e-9)
		require.Equal(t, int64(6), hour.Webhooks.Deliveries, "the last hour spans the 09:00 and 10:00 buckets")
		require.Equal(t, map[string]int64{"ok": 1}, day.Polls.Runs)
		require.Equal(t, map[string]int64{"queued": 7}, day.Polls.Imported)
		require.Equal(t, int64(7), r.Hourly[23].PollQueued)
		require.Nil(t, r.BadgeAccuracy, "no check has run")
		require.Nil(t, day.SSO.SuccessRate)
		require.True(t, day.SSO.MeetsTarget, "nothing measured misses no target")
	})
}

func TestPercentileIsNearestRank(t *testing.T) {
	t.Parallel()
	v := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	require.Equal(t, 5.0, optio.Percentile(v, 50))
	require.Equal(t, 10.0, optio.Percentile(v, 95))
	require.Equal(t, 1.0, optio.Percentile(v, 1))
	require.Equal(t, 0.0, optio.Percentile(nil, 99))
}
