package tutor

import (
	"fmt"
	"time"

	"github.com/optio-edu/optio"
)

// DailyLimit is how many messages a student may send the tutor per UTC day
// (optio.Config.TutorDailyLimit). The store counts; this type decides, so
// every handler words the limit the same way. 0 means no limit.
type DailyLimit int

// DayWindow is the UTC day containing now, [start, end): the range a store
// counts a student's messages in.
func DayWindow(now time.Time) (start, end time.Time) {
	start = dateOf(now)
	return start, start.AddDate(0, 0, 1)
}

// Remaining is how many messages are left after sent today; -1 means no limit.
func (l DailyLimit) Remaining(sent int) int {
	if l <= 0 {
		return -1
	}
	return max(0, int(l)-sent)
}

// Check returns an *optio.Error with code ERATELIMIT when a student who has
// sent sent messages today may not send another.
func (l DailyLimit) Check(sent int) error {
	if l <= 0 || sent < int(l) {
		return nil
	}
	return optio.Errorf(optio.ERATELIMIT,
		"You've used all %d tutor messages for today. They come back at midnight UTC — see you then!", int(l))
}

// String is for logs.
func (l DailyLimit) String() string {
	if l <= 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%d/day", int(l))
}
