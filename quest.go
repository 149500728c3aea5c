package optio

import "time"

// Pillar is one of the five areas XP is earned in.
type Pillar string

// The five pillars.
const (
	PillarSTEM          Pillar = "stem"
	PillarWellness      Pillar = "wellness"
	PillarCommunication Pillar = "communication"
	PillarCivics        Pillar = "civics"
	PillarArt           Pillar = "art"
)

// Pillars lists every pillar in display order.
var Pillars = []Pillar{PillarSTEM, PillarWellness, PillarCommunication, PillarCivics, PillarArt}

// Valid reports whether p is one of the five pillars.
func (p Pillar) Valid() bool {
	for _, q := range Pillars {
		if p == q {
			return true
		}
	}
	return false
}

// Quest sources.
const (
	SourceOptio = "optio" // made by an Optio admin: a real-world quest
	SourceLMS   = "lms"   // mirrors a course in an LMS (Spark)
)

// Quest is a body of work made of tasks. Spark courses become quests with
// Source "lms", LMSPlatform "spark" and LMSCourseID the Spark course id.
type Quest struct {
	ID          string    `json:"id"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Source      string    `json:"source"`
	LMSPlatform string    `json:"lms_platform,omitempty"`
	LMSCourseID string    `json:"lms_course_id,omitempty"`
	Active      bool      `json:"active"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Tasks       []Task    `json:"tasks,omitempty"`
}

// Task is one piece of a quest; finishing it awards XPValue in Pillar.
// Spark assignments become tasks with LMSAssignmentID set.
type Task struct {
	ID              string     `json:"id"`
	QuestID         string     `json:"quest_id"`
	Title           string     `json:"title"`
	Description     string     `json:"description"`
	Pillar          Pillar     `json:"pillar"`
	XPValue         int        `json:"xp_value"`
	Position        int        `json:"position"`
	LMSAssignmentID string     `json:"lms_assignment_id,omitempty"`
	DueAt           *time.Time `json:"due_at,omitempty"`
	MaxPoints       *float64   `json:"max_points,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

// Enrollment says a student has started (or been enrolled in) a quest.
type Enrollment struct {
	UserID    string    `json:"user_id"`
	QuestID   string    `json:"quest_id"`
	Status    string    `json:"status"` // active, dropped, completed
	StartedAt time.Time `json:"started_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Enrollment statuses.
const (
	EnrollmentActive    = "active"
	EnrollmentDropped   = "dropped"
	EnrollmentCompleted = "completed"
)

// TaskCompletion records that a user finished a task. There is at most one per
// (user, task); a resubmission updates its evidence, never adds a second.
type TaskCompletion struct {
	ID          string    `json:"id"`
	UserID      string    `json:"user_id"`
	TaskID      string    `json:"task_id"`
	QuestID     string    `json:"quest_id"`
	CompletedAt time.Time `json:"completed_at"`
	Grade       *string   `json:"grade,omitempty"`
	XPAwarded   int       `json:"xp_awarded"`
}

// XPSummary is a user's XP, total and by pillar (every pillar present).
type XPSummary struct {
	Total    int            `json:"total"`
	ByPillar map[Pillar]int `json:"by_pillar"`
}
