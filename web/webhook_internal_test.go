package web

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
)

func TestTokenBucket(t *testing.T) {
	t.Parallel()
	clock := optio.NewFakeClock(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	// The defaults (500/s, burst 2000) let a class of 500 submit at once.
	b := newTokenBucket(500, 2000, clock)
	for i := range 500 {
		ok, _ := b.take()
		require.True(t, ok, "delivery %d", i)
	}

	b = newTokenBucket(2, 3, clock)
	for range 3 {
		ok, _ := b.take()
		require.True(t, ok)
	}
	ok, wait := b.take()
	require.False(t, ok)
	require.Equal(t, 500*time.Millisecond, wait)
	clock.Advance(500 * time.Millisecond)
	ok, _ = b.take()
	require.True(t, ok, "a token refills at the rate")
	clock.Advance(time.Hour)
	for range 3 {
		ok, _ := b.take()
		require.True(t, ok)
	}
	ok, _ = b.take()
	require.False(t, ok, "refill stops at the burst")
}
