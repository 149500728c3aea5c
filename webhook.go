package optio

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"time"
	"unicode"
)

// Spark webhook endpoints, as recorded in webhook_deliveries.endpoint and in
// the optio_spark_webhooks_total metric.
const (
	WebhookSubmission = "submission"
	WebhookRoster     = "roster"
	WebhookCourse     = "course"
)

// Spark roster actions (the roster webhook's action field).
const (
	RosterEnroll   = "enroll"
	RosterDrop     = "drop"
	RosterComplete = "complete"
)

// Statuses of a spark_evidence_sync_queue row. A row is written pending; the
// sync worker moves it on, and parks it as waiting while its assignment has
// no task yet (a course webhook that maps the assignment re-queues it).
const (
	SyncPending    = "pending"
	SyncProcessing = "processing"
	SyncCompleted  = "completed"
	SyncFailed     = "failed"
	SyncWaiting    = "waiting"
)

// SparkSubmissionEvent is a verified, validated submission webhook, in the
// domain's terms (the web layer converts spark.Submission into it).
type SparkSubmissionEvent struct {
	SparkUserID       string
	SparkAssignmentID string
	SparkCourseID     string
	Text              string
	// FilesJSON is the submission_files array as Spark sent it
	// ([]spark.SubmissionFile as JSON); stored as-is for the sync worker.
	FilesJSON   json.RawMessage
	SubmittedAt time.Time
	Grade       *string
}

// SparkRosterEvent is a verified, validated roster webhook.
type SparkRosterEvent struct {
	SparkUserID   string
	SparkCourseID string
	Action        string // RosterEnroll, RosterDrop or RosterComplete
	Email         string
	GivenName     string
	FamilyName    string
	OccurredAt    time.Time
}

// SparkCourseEvent is a verified, validated course webhook.
type SparkCourseEvent struct {
	SparkCourseID string
	Title         string
	Description   string
	// Pillar is the pillar Spark names for the course; "" lets Optio guess
	// it from the title. An admin's choice wins over both.
	Pillar      Pillar
	Assignments []SparkAssignmentInput
	// AutoMap creates or updates the course's quest and tasks
	// (Config.SparkAutoMap).
	AutoMap bool
}

// SparkAssignmentInput is one assignment of a SparkCourseEvent.
type SparkAssignmentInput struct {
	SparkAssignmentID string
	Title             string
	Description       string
	DueAt             *time.Time
	MaxPoints         *float64
}

// SubmissionReceipt is what accepting a submission webhook did. Duplicate
// means the webhook-id was seen before and nothing changed.
type SubmissionReceipt struct {
	Duplicate    bool   `json:"-"`
	SubmissionID string `json:"submission_id,omitempty"`
	SyncID       string `json:"sync_id,omitempty"`
	UserID       string `json:"-"`
	Revision     int    `json:"revision,omitempty"`
}

// RosterReceipt is what accepting a roster webhook did. Applied is false when
// the event was older than the enrolment state already stored.
type RosterReceipt struct {
	Duplicate bool   `json:"-"`
	UserID    string `json:"-"`
	Applied   bool   `json:"applied"`
}

// CourseReceipt is what accepting a course webhook did: the quest (when
// mapped), the task of each assignment, and how many enrolments and queued
// submissions the new mapping brought along.
type CourseReceipt struct {
	Duplicate bool              `json:"-"`
	QuestID   string            `json:"quest_id,omitempty"`
	TaskIDs   map[string]string `json:"task_ids,omitempty"`
	Enrolled  int               `json:"enrolled"`
	Requeued  int               `json:"requeued"`
}

// SparkWebhookStore records Spark webhooks. Each method runs in one
// transaction that first claims webhookID in webhook_deliveries — a repeated
// id returns a receipt with Duplicate set and changes nothing, across all
// processes — and writes any pending sync row in that same transaction; the
// row's sync job is enqueued just after the commit, and the sweeper covers a
// crash in between.
type SparkWebhookStore interface {
	// AcceptSparkSubmission stores (or, on resubmission, updates) a
	// submission for the resolved or provisional user and queues its sync.
	AcceptSparkSubmission(ctx context.Context, webhookID string, ev SparkSubmissionEvent) (*SubmissionReceipt, error)
	// AcceptSparkRoster records an enrolment change, ignoring events older
	// than the stored state, and mirrors it on the course's quest if mapped.
	AcceptSparkRoster(ctx context.Context, webhookID string, ev SparkRosterEvent) (*RosterReceipt, error)
	// AcceptSparkCourse records a course and its assignments and, with
	// AutoMap, creates or updates its quest and tasks (stable task ids).
	AcceptSparkCourse(ctx context.Context, webhookID string, ev SparkCourseEvent) (*CourseReceipt, error)
}

// SparkCoursePillar picks the pillar of the tasks a Spark course becomes
// when neither Spark (the course webhook's pillar) nor an admin chose one.
// The rule (documented in docs/spark/INTEGRATION.md): a two-word subject
// in the title decides first ("physical education", "social studies",
// "language arts"); otherwise the first word that names a subject — art,
// music, design and performance → art; sciences and mathematics → stem;
// writing, languages and literature → communication; history, government,
// civics and economics → civics; health, fitness and sport → wellness. A
// title naming none of them is stem (OnFire's catalogue is mostly STEM).
// Admins may change a task's pillar afterwards; course updates keep it.
func SparkCoursePillar(title string) Pillar {
	words := strings.FieldsFunc(strings.ToLower(title), func(r rune) bool { return !unicode.IsLetter(r) })
	for i := 0; i+1 < len(words); i++ {
		if p, ok := pillarPhrases[words[i]+" "+words[i+1]]; ok {
			return p
		}
	}
	for _, w := range words {
		if p, ok := pillarWords[w]; ok {
			return p
		}
		for _, r := range pillarPrefixes {
			if strings.HasPrefix(w, r.prefix) {
				return r.pillar
			}
		}
	}
	return PillarSTEM
}

// pillarPhrases are two-word subjects whose words alone would mislead
// ("physical" is physics, "social" names nothing).
var pillarPhrases = map[string]Pillar{
	"physical education": PillarWellness, "phys ed": PillarWellness, "physical fitness": PillarWellness,
	"physical health": PillarWellness, "social studies": PillarCivics, "social science": PillarCivics,
	"social sciences": PillarCivics, "language arts": PillarCommunication, "public speaking": PillarCommunication,
	"media literacy": PillarCommunication, "computer art": PillarArt, "digital art": PillarArt,
}

// pillarWords are whole words that name a pillar; short or ambiguous words
// ("art" is in "article", "start") only count whole.
var pillarWords = map[string]Pillar{
	"art": PillarArt, "arts": PillarArt, "adobe": PillarArt, "photoshop": PillarArt, "artist": PillarArt, "artists": PillarArt, "music": PillarArt,
	"dance": PillarArt, "drama": PillarArt, "theater": PillarArt, "theatre": PillarArt, "film": PillarArt,
	"band": PillarArt, "choir": PillarArt, "orchestra": PillarArt,
	"math": PillarSTEM, "maths": PillarSTEM, "pe": PillarWellness, "health": PillarWellness,
	"gym": PillarWellness, "yoga": PillarWellness, "sport": PillarWellness, "sports": PillarWellness,
	"athletics": PillarWellness,
	"english":   PillarCommunication, "speech": PillarCommunication, "debate": PillarCommunication,
	"reading": PillarCommunication, "poetry": PillarCommunication, "grammar": PillarCommunication,
	"latin": PillarCommunication, "german": PillarCommunication, "chinese": PillarCommunication,
	"mandarin": PillarCommunication, "japanese": PillarCommunication, "italian": PillarCommunication,
	"esl":     PillarCommunication,
	"history": PillarCivics, "civics": PillarCivics, "law": PillarCivics, "citizenship": PillarCivics,
	"ethics": PillarCivics,
}

// pillarPrefixes name a pillar by word stem ("biolog" covers biology and
// biological).
var pillarPrefixes = []struct {
	prefix string
	pillar Pillar
}{
	{"design", PillarArt}, {"illustrat", PillarArt}, {"drawing", PillarArt}, {"paint", PillarArt},
	{"photograph", PillarArt}, {"animation", PillarArt}, {"sculpt", PillarArt}, {"ceramic", PillarArt},
	{"musical", PillarArt}, {"musician", PillarArt},
	{"biolog", PillarSTEM}, {"physic", PillarSTEM}, {"chemi", PillarSTEM}, {"mathemat", PillarSTEM},
	{"geolog", PillarSTEM}, {"zoolog", PillarSTEM}, {"scien", PillarSTEM}, {"engineer", PillarSTEM},
	{"comput", PillarSTEM}, {"coding", PillarSTEM}, {"programm", PillarSTEM}, {"robot", PillarSTEM},
	{"algebra", PillarSTEM}, {"geometr", PillarSTEM}, {"calculus", PillarSTEM}, {"statistic", PillarSTEM},
	{"astronom", PillarSTEM}, {"ecolog", PillarSTEM},
	{"writing", PillarCommunication}, {"literat", PillarCommunication}, {"journalis", PillarCommunication},
	{"languag", PillarCommunication}, {"spanish", PillarCommunication}, {"french", PillarCommunication},
	{"rhetoric", PillarCommunication}, {"oratory", PillarCommunication},
	{"communicat", PillarCommunication}, {"linguist", PillarCommunication},
	{"government", PillarCivics}, {"econom", PillarCivics}, {"politic", PillarCivics}, {"geograph", PillarCivics},
	{"sociolog", PillarCivics}, {"anthropolog", PillarCivics}, {"histor", PillarCivics},
	{"wellness", PillarWellness}, {"fitness", PillarWellness}, {"nutrition", PillarWellness},
	{"psycholog", PillarWellness}, {"mindful", PillarWellness},
}

// SparkTaskXP is the XP a Spark assignment's task awards: its max_points
// rounded when Spark gives a positive value (capped at 1000), else 100.
func SparkTaskXP(maxPoints *float64) int {
	if maxPoints == nil || *maxPoints <= 0 {
		return 100
	}
	return int(math.Round(math.Min(*maxPoints, 1000)))
}
