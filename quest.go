package optio

import (
	"fmt"
	"time"
)

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
	TaskCount   int       `json:"task_count"`
	Tasks       []Task    `json:"tasks,omitempty"`
}

// LMSName names, for pages, the LMS a course quest comes from: "Spark", or
// "LMS" for a course an LTI 1.3 platform launched (lms_platform "lti:<id>").
func (q Quest) LMSName() string {
	if q.LMSPlatform == "spark" {
		return "Spark"
	}
	return "LMS"
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

// QuestInput creates or edits a quest. Tasks are created with it on create.
type QuestInput struct {
	Title       string      `json:"title"`
	Description string      `json:"description"`
	Active      *bool       `json:"active"`
	Tasks       []TaskInput `json:"tasks"`
}

// TaskInput creates or edits a task.
type TaskInput struct {
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Pillar      Pillar     `json:"pillar"`
	XPValue     *int       `json:"xp_value"`
	Position    *int       `json:"position"`
	DueAt       *time.Time `json:"due_at"`
}

// Validate checks a QuestInput, naming every bad field.
func (q QuestInput) Validate() error {
	f := FieldErrors{}
	if s := len([]rune(q.Title)); s == 0 || s > 200 {
		f.Add("title", "is required and must be at most 200 characters")
	}
	if len(q.Description) > 10000 {
		f.Add("description", "must be at most 10000 characters")
	}
	if len(q.Tasks) > 200 {
		f.Add("tasks", "at most 200 tasks")
	}
	for i, t := range q.Tasks {
		t.validate(f, fmt.Sprintf("tasks[%d].", i))
	}
	return f.Err(EINVALID, "The quest is not valid.")
}

// Validate checks a TaskInput, naming every bad field.
func (t TaskInput) Validate() error {
	f := FieldErrors{}
	t.validate(f, "")
	return f.Err(EINVALID, "The task is not valid.")
}

func (t TaskInput) validate(f FieldErrors, prefix string) {
	if s := len([]rune(t.Title)); s == 0 || s > 200 {
		f.Add(prefix+"title", "is required and must be at most 200 characters")
	}
	if len(t.Description) > 10000 {
		f.Add(prefix+"description", "must be at most 10000 characters")
	}
	if !t.Pillar.Valid() {
		f.Add(prefix+"pillar", "must be one of stem, wellness, communication, civics, art")
	}
	if t.XPValue == nil {
		f.Add(prefix+"xp_value", "is required")
	} else if *t.XPValue < 0 || *t.XPValue > 100000 {
		f.Add(prefix+"xp_value", "must be between 0 and 100000")
	}
}

// QuestStanding is where one student stands in one quest: enrolled (and not
// dropped), and which of its tasks they have completed, by task ID.
type QuestStanding struct {
	Enrolled bool
	Done     map[string]bool
}

// QuestProgress is a quest as one student sees it.
type QuestProgress struct {
	Quest      Quest     `json:"quest"`
	Status     string    `json:"status"`
	StartedAt  time.Time `json:"started_at"`
	TasksDone  int       `json:"tasks_done"`
	TasksTotal int       `json:"tasks_total"`
	XPEarned   int       `json:"xp_earned"`
}

// CompletionInput finishes a task for a user with evidence.
type CompletionInput struct {
	UserID string
	TaskID string
	Blocks []BlockInput
	Grade  *string
	Source string // "optio" or "spark"
}

// CompletionView is a finished task with its evidence, for dashboards and
// portfolios.
type CompletionView struct {
	Completion TaskCompletion    `json:"completion"`
	Task       Task              `json:"task"`
	QuestTitle string            `json:"quest_title"`
	Evidence   *EvidenceDocument `json:"evidence,omitempty"`
}
