package store

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/optio-edu/optio"
)

// SparkSubmissionStatus reports the latest sync of the submission a Spark
// student made for a Spark assignment; ENOTFOUND when Optio has none.
func (db *DB) SparkSubmissionStatus(ctx context.Context, sparkUserID, sparkAssignmentID string) (*optio.SparkSubmissionStatus, error) {
	st := &optio.SparkSubmissionStatus{SparkUserID: sparkUserID, SparkAssignmentID: sparkAssignmentID}
	var msg, problems sql.NullString
	var next, done sql.NullTime
	err := db.R.QueryRowContext(ctx, `SELECT s.spark_course_id, s.revision, s.submitted_at, q.status, q.attempts, q.next_attempt_at,
		q.error_message, q.file_problems, q.completed_at, q.updated_at
		FROM spark_assignment_submissions s JOIN spark_evidence_sync_queue q ON q.submission_id = s.id
		WHERE s.spark_user_id = $1 AND s.spark_assignment_id = $2
		ORDER BY s.updated_at DESC, q.revision DESC, q.created_at DESC LIMIT 1`, sparkUserID, sparkAssignmentID).
		Scan(&st.SparkCourseID, &st.Revision, &st.SubmittedAt, &st.Status, &st.Attempts, &next, &msg, &problems, &done, &st.UpdatedAt)
	if err != nil {
		return nil, translateNotFound(err, "Submission")
	}
	st.SubmittedAt, st.UpdatedAt = st.SubmittedAt.UTC(), st.UpdatedAt.UTC()
	st.NextAttemptAt, st.CompletedAt = nullTimePtr(next), nullTimePtr(done)
	st.Reason = msg.String
	st.FileProblems = parseFileProblems(problems)
	return st, nil
}

// APIKeyStateKey is the job_state key where a rejected SPARK_API_KEY is
// recorded (JSON optio.SparkAPIKeyProblem; "" once a call succeeds).
const APIKeyStateKey = "spark_api_key_rejected"

// SparkAPIKeyProblem reads the recorded refusal of SPARK_API_KEY; nil when
// the key was accepted since, or never refused.
func (db *DB) SparkAPIKeyProblem(ctx context.Context) (*optio.SparkAPIKeyProblem, error) {
	v, err := db.JobState(ctx, APIKeyStateKey)
	if err != nil || v == "" {
		return nil, err
	}
	var p optio.SparkAPIKeyProblem
	if err := json.Unmarshal([]byte(v), &p); err != nil {
		return nil, nil //nolint:nilnil // an unreadable record is no problem to show
	}
	return &p, nil
}
