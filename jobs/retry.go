package jobs

import (
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river/rivertype"
)

// backoff is exponential backoff with ±20% jitter: attempt n waits about
// base·2^(n-1), at most an hour.
type backoff struct{ base time.Duration }

// NextRetry is when a failed job runs again.
func (b *backoff) NextRetry(job *rivertype.JobRow) time.Time {
	n := max(job.Attempt, 1)
	d := b.base << min(n-1, 20)
	if d <= 0 || d > time.Hour {
		d = time.Hour
	}
	jitter := 0.8 + 0.4*rand.Float64() //nolint:gosec // jitter needs no crypto
	return time.Now().UTC().Add(time.Duration(float64(d) * jitter))
}
