package optio

import (
	"fmt"
	"strings"
	"time"
)

// RhythmWindow is how recent activity must be for a student to be "in flow".
const RhythmWindow = 7 * 24 * time.Hour

// Rhythm colours and labels shown to parents.
const (
	RhythmGreen  = "green"
	RhythmYellow = "yellow"
	// RhythmGrey is a student with no activity yet and nothing overdue: not
	// started, which is not a reason for worry.
	RhythmGrey = "grey"
)

// RhythmStatus is the learning-rhythm indicator on the parent dashboard: a
// colour, its label and, always, the reason behind it.
type RhythmStatus struct {
	Color  string `json:"color"`  // green, yellow or grey
	Label  string `json:"label"`  // "flow", "needs support" or "not started"
	Reason string `json:"reason"` // e.g. "last submission 9 days ago"
}

// Rhythm is the one rule for the learning-rhythm indicator: green ("flow")
// when there was activity (a Spark submission, a completion or a quest start)
// within RhythmWindow of now and nothing is overdue; grey ("not started")
// when there was no activity at all and nothing is overdue; yellow ("needs
// support") otherwise. lastActivityKind names the latest activity ("submission",
// "completion", "quest start") for the reason.
func Rhythm(now time.Time, lastActivity *time.Time, lastActivityKind string, overdue int) RhythmStatus {
	if lastActivityKind == "" {
		lastActivityKind = "activity"
	}
	var recency string
	recent := false
	if lastActivity != nil {
		age := now.Sub(*lastActivity)
		recent = age <= RhythmWindow
		recency = "last " + lastActivityKind + " " + ago(age)
	}
	var reasons []string
	if overdue > 0 {
		reasons = append(reasons, fmt.Sprintf("%d %s overdue", overdue, plural(overdue, "assignment", "assignments")))
	}
	switch {
	case lastActivity == nil:
		reasons = append(reasons, "no activity yet")
	case !recent || overdue > 0:
		reasons = append(reasons, recency)
	}
	if overdue == 0 && recent {
		return RhythmStatus{Color: RhythmGreen, Label: "flow", Reason: recency}
	}
	if overdue == 0 && lastActivity == nil {
		return RhythmStatus{Color: RhythmGrey, Label: "not started", Reason: "no activity yet"}
	}
	return RhythmStatus{Color: RhythmYellow, Label: "needs support", Reason: strings.Join(reasons, "; ")}
}

// ago says how long ago something was, in whole days ("today", "yesterday",
// "9 days ago"). Times in the future count as today.
func ago(d time.Duration) string {
	days := int(d / (24 * time.Hour))
	switch {
	case days <= 0:
		return "today"
	case days == 1:
		return "yesterday"
	}
	return fmt.Sprintf("%d days ago", days)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
