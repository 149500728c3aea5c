package optio

import (
	"fmt"
	"net/http"
	"time"
)

// SparkSubmissionStatus is how Optio's sync of one Spark submission stands,
// as Spark reads it (GET /spark/api/submissions/{spark_user_id}/{spark_assignment_id}):
// the status of its latest sync (pending, processing, completed, failed or
// waiting), how often it was tried, when the next attempt is, why the last
// one failed, and the files that could not be imported.
type SparkSubmissionStatus struct {
	SparkUserID       string        `json:"spark_user_id"`
	SparkAssignmentID string        `json:"spark_assignment_id"`
	SparkCourseID     string        `json:"spark_course_id"`
	Revision          int           `json:"revision"`
	SubmittedAt       time.Time     `json:"submitted_at"`
	Status            string        `json:"status"`
	Attempts          int           `json:"attempts"`
	NextAttemptAt     *time.Time    `json:"next_attempt_at"`
	Reason            string        `json:"reason,omitempty"`
	FileProblems      []FileProblem `json:"file_problems"`
	CompletedAt       *time.Time    `json:"completed_at"`
	UpdatedAt         time.Time     `json:"updated_at"`
}

// SparkAPIKeyProblem is Spark's last refusal (401/403) of SPARK_API_KEY
// during polling or grade passback, shown to admins until a call succeeds.
type SparkAPIKeyProblem struct {
	At     time.Time `json:"at"`
	Status int       `json:"status"`
	Call   string    `json:"call"`
}

// Message is the admin-facing text.
func (p SparkAPIKeyProblem) Message() string {
	return fmt.Sprintf("Spark rejected SPARK_API_KEY (%d %s on %s) at %s: polling and grade passback cannot work until the key is fixed.",
		p.Status, http.StatusText(p.Status), p.Call, p.At.UTC().Format("2006-01-02 15:04 UTC"))
}
