package jobs

import (
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river/rivertype"
)

// backoff is River's retry policy for jobs other than syncs (syncs keep
// their own schedule on the queue row): RetrySchedule's exponential backoff
// with jitter from base, at most an hour, by River's attempt count.
type backoff struct{ base time.Duration }

// NextRetry is when a failed job runs again.
func (b *backoff) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().UTC().Add(RetrySchedule{Base: b.base, Max: time.Hour}.Delay(job.Attempt))
}

// Defaults of the evidence-sync retry schedule.
const (
	DefaultSyncRetryBase   = 30 * time.Second
	DefaultSyncRetryMax    = time.Hour
	DefaultSyncRetryWindow = 24 * time.Hour
)

// RetrySchedule is when a sync that failed for a reason that may pass (a
// file host down, a timeout, a 5xx or 404) is tried again: attempt n waits
// Base·2^(n-1), at most Max, with ±20% jitter, for as long as the Window
// that opened at its first failure lasts. With the defaults that is
// 30 s, 1 m, 2 m … 32 m, then hourly: about 30 attempts over 24 hours.
type RetrySchedule struct {
	Base, Max, Window time.Duration
}

// Delay is how long to wait after the attempts-th attempt failed.
func (s RetrySchedule) Delay(attempts int) time.Duration {
	n := max(attempts, 1)
	d := s.Base << min(n-1, 30)
	if d <= 0 || d > s.Max {
		d = s.Max
	}
	jitter := 0.8 + 0.4*rand.Float64() //nolint:gosec // jitter needs no crypto
	return time.Duration(float64(d) * jitter)
}
