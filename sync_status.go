package optio

import "time"

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
