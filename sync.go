package optio

import (
	"context"
	"time"
)

// SyncFailure is one failed (or failing) sync, for admins.
type SyncFailure struct {
	QueueID           string    `json:"queue_id"`
	SubmissionID      string    `json:"submission_id"`
	UserID            string    `json:"user_id"`
	SparkAssignmentID string    `json:"spark_assignment_id"`
	Status            string    `json:"status"`
	Attempts          int       `json:"attempts"`
	ErrorMessage      string    `json:"error_message"`
	UpdatedAt         time.Time `json:"updated_at"`
	// NextAttemptAt is when a pending sync is tried again (nil: not scheduled).
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	// FileProblems are the files a sync could not import.
	FileProblems []FileProblem `json:"file_problems"`
}

// FileProblem is a submitted file that could not be imported and why: it
// shows on the evidence as "could not import: <reason>" while the text and
// the other files sync.
type FileProblem struct {
	Filename string `json:"filename"`
	Reason   string `json:"reason"`
}

// SyncQueueStats is the evidence-sync queue as admins see it.
type SyncQueueStats struct {
	// Counts has every status, zero included.
	Counts map[string]int `json:"counts"`
	// OldestPendingSeconds is the age of the oldest pending row (0: none).
	OldestPendingSeconds float64       `json:"oldest_pending_seconds"`
	RecentFailures       []SyncFailure `json:"recent_failures"`
	// History is queue depth and sync latency per hour over the last hours, oldest first.
	History []SyncHour `json:"history"`
	// Poll is how the last poll of Spark's API went; nil before the first.
	Poll *SparkPollStatus `json:"poll,omitempty"`
	// APIKeyProblem is Spark's last refusal of SPARK_API_KEY (nil: none since a call succeeded).
	APIKeyProblem *SparkAPIKeyProblem `json:"spark_api_key_problem"`
}

// SyncHour is one hour of sync history: rows created, rows completed, and
// the mean latency (queue row created → completed) of those completed.
type SyncHour struct {
	Hour           time.Time `json:"hour"`
	Created        int       `json:"created"`
	Completed      int       `json:"completed"`
	AvgLatencySecs float64   `json:"avg_latency_seconds"`
}

// SparkCourseStatus is a Spark course Optio knows of — from a course
// webhook, Spark's API, an SSO token, a roster event, a submission or a
// poll — what it maps to, its switches, and the state of its syncs.
type SparkCourseStatus struct {
	SparkCourseID string  `json:"spark_course_id"`
	Title         string  `json:"title"`
	Description   string  `json:"description"`
	OptioQuestID  *string `json:"optio_quest_id"`
	QuestTitle    string  `json:"quest_title,omitempty"`
	MappingMode   string  `json:"mapping_mode"`
	Mapped        bool    `json:"mapped"`
	Assignments   int     `json:"assignments"`
	MappedTasks   int     `json:"mapped_tasks"`
	// SyncEnabled off keeps the course's submissions without syncing them
	// (they wait, and sync once it is on again).
	SyncEnabled bool `json:"sync_enabled"`
	// AutoEnrollStudents enrols students Spark reports in the course in its
	// quest (roster events, SSO spark_course_ids).
	AutoEnrollStudents bool `json:"auto_enroll_students"`
	// Pillar is the pillar the course's tasks take; PillarSource says who
	// chose it: "admin", "spark" (the course webhook) or "title" (guessed
	// from the title by SparkCoursePillar).
	Pillar       Pillar `json:"pillar"`
	PillarSource string `json:"pillar_source"`
	// Waiting, Pending and Failed count the course's syncs in those states.
	Waiting int `json:"waiting"`
	Pending int `json:"pending"`
	Failed  int `json:"failed"`
}

// Who chose a Spark course's pillar (SparkCourseStatus.PillarSource).
const (
	PillarFromTitle = "title"
	PillarFromSpark = "spark"
	PillarFromAdmin = "admin"
)

// SparkCourseSettings changes a Spark course's switches and pillar; nil
// fields stay as they are. Pillar "" goes back to the guess from the title.
type SparkCourseSettings struct {
	SyncEnabled        *bool
	AutoEnrollStudents *bool
	Pillar             *Pillar
}

// CourseMapInput maps a Spark course to an existing quest (QuestID) or to a
// new one (CreateNew, with Title and Description). Every assignment of the
// course gets a task in that quest, and syncs waiting for it are re-queued.
type CourseMapInput struct {
	QuestID     string
	CreateNew   bool
	Title       string
	Description string
	Pillar      Pillar
	XPValue     int
}

// SparkSyncStore is what admins and the sync machinery need from the store.
type SparkSyncStore interface {
	// SyncQueueStats counts queue rows by status and lists recent failures.
	SyncQueueStats(ctx context.Context, failures int) (*SyncQueueStats, error)
	// RetrySyncs re-queues (and enqueues jobs for) every pending row, and the
	// failed ones too when retryFailed; it returns how many it enqueued.
	RetrySyncs(ctx context.Context, retryFailed bool) (int, error)
	// SparkCourses lists Spark courses with their mapping status.
	SparkCourses(ctx context.Context) ([]SparkCourseStatus, error)
	// SparkSubmissionStatus is the latest sync of a Spark student's
	// submission for an assignment, as Spark reads it.
	SparkSubmissionStatus(ctx context.Context, sparkUserID, sparkAssignmentID string) (*SparkSubmissionStatus, error)
	// MapSparkCourse maps a course to a quest (see CourseMapInput).
	MapSparkCourse(ctx context.Context, sparkCourseID string, in CourseMapInput) (*SparkCourseStatus, error)
	// SparkCourse returns one course's status, or ENOTFOUND.
	SparkCourse(ctx context.Context, sparkCourseID string) (*SparkCourseStatus, error)
	// UpdateSparkCourse changes a course's switches and pillar. Turning
	// sync on queues the syncs that waited for it; a new pillar moves the
	// course's tasks that still had the old one.
	UpdateSparkCourse(ctx context.Context, sparkCourseID string, in SparkCourseSettings) (*SparkCourseStatus, error)
}

// SparkCourseFetchJob asks a worker to read a Spark course and its
// assignments from Spark's API (GET /api/courses/{id} and
// /api/courses/{id}/assignments) and apply them as a course webhook would:
// enqueued when Optio first sees a course or an assignment anywhere else, so
// placeholder titles are replaced by Spark's. Dropped without SPARK_API_URL.
type SparkCourseFetchJob struct {
	SparkCourseID string `json:"spark_course_id"`
}

// Kind names the job for River.
func (SparkCourseFetchJob) Kind() string { return "spark_course_fetch" }

// GradePassbackJob asks a worker to post a synced or Optio-given grade back
// to Spark (POST /api/grades) for a completion of a Spark task. The store
// enqueues one whenever such a completion gets a grade it did not have; the
// grade and the moment it was given are part of the job, so each grading is
// its own job (a return to an earlier grade is not mistaken for a repeat of
// it while that job is still finishing), while the worker always sends the
// completion's current grade.
type GradePassbackJob struct {
	CompletionID string    `json:"completion_id"`
	Grade        string    `json:"grade"`
	GradedAt     time.Time `json:"graded_at"`
}

// Kind names the job for River.
func (GradePassbackJob) Kind() string { return "spark_grade_passback" }

// SyncRetryJob re-runs a sync that had finished without evidence: an
// admin's retry of a failed row, or a waiting row whose assignment is now
// mapped. Retry makes it unique per re-run, so it is never mistaken for the
// earlier job River may still be finishing.
type SyncRetryJob struct {
	QueueID string `json:"queue_id"`
	Retry   int64  `json:"retry"`
}

// Kind names the job for River.
func (SyncRetryJob) Kind() string { return "spark_sync_retry" }
