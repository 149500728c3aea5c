package optio_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
)

func TestRhythm(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := now.Add(-d); return &v }
	day := 24 * time.Hour
	tests := []struct {
		name    string
		last    *time.Time
		kind    string
		overdue int
		want    optio.RhythmStatus
	}{
		{"submission today", at(2 * time.Hour), "submission", 0, optio.RhythmStatus{"green", "flow", "last submission today"}},
		{"completion yesterday", at(30 * time.Hour), "completion", 0, optio.RhythmStatus{"green", "flow", "last completion yesterday"}},
		{"exactly seven days", at(7 * day), "quest start", 0, optio.RhythmStatus{"green", "flow", "last quest start 7 days ago"}},
		{"just over seven days", at(7*day + time.Minute), "submission", 0, optio.RhythmStatus{"yellow", "needs support", "last submission 7 days ago"}},
		{"nine days", at(9 * day), "submission", 0, optio.RhythmStatus{"yellow", "needs support", "last submission 9 days ago"}},
		{"recent but overdue", at(day), "submission", 2, optio.RhythmStatus{"yellow", "needs support", "2 assignments overdue; last submission yesterday"}},
		{"one overdue and stale", at(10 * day), "submission", 1, optio.RhythmStatus{"yellow", "needs support", "1 assignment overdue; last submission 10 days ago"}},
		{"no activity", nil, "", 0, optio.RhythmStatus{"grey", "not started", "no activity yet"}},
		{"no activity, overdue", nil, "", 3, optio.RhythmStatus{"yellow", "needs support", "3 assignments overdue; no activity yet"}},
		{"future time counts as today", at(-time.Hour), "submission", 0, optio.RhythmStatus{"green", "flow", "last submission today"}},
		{"unnamed kind", at(time.Hour), "", 0, optio.RhythmStatus{"green", "flow", "last activity today"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, optio.Rhythm(now, tc.last, tc.kind, tc.overdue))
		})
	}
}
