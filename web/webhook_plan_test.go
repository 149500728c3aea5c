package web_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The plan's payloads, exactly as written, are accepted: a roster event
// without occurred_at is ordered by its webhook-timestamp, a submission
// without submitted_at is dated by it, and a file type Optio does not know
// is a hint, not a reason to refuse the webhook.
func TestPlanPayloadsAreAccepted(t *testing.T) {
	t.Parallel()
	eachWebhookStore(t, nil, func(t *testing.T, h *hookEnv) {
		now := time.Now().UTC().Truncate(time.Second)
		plan := func(action string) map[string]any {
			return map[string]any{"spark_user_id": "stu-plan", "spark_course_id": "crs-plan", "action": action}
		}
		a := h.sendAs("roster", h.newID(), now, h.signer, plan("enroll"))
		require.Equal(t, http.StatusAccepted, a.Status, "%v", a.Body)
		require.Equal(t, true, a.Body["applied"])
		// An older delivery (signed a minute earlier) does not undo it.
		a = h.sendAs("roster", h.newID(), now.Add(-time.Minute), h.signer, plan("drop"))
		require.Equal(t, http.StatusAccepted, a.Status, "%v", a.Body)
		require.Equal(t, false, a.Body["applied"], "ordered by webhook-timestamp")
		require.Equal(t, "enrolled", h.str(`SELECT status FROM spark_enrollments`))
		a = h.sendAs("roster", h.newID(), now.Add(time.Second), h.signer, plan("complete"))
		require.Equal(t, true, a.Body["applied"])

		a = h.sendAs("submission", h.newID(), now, h.signer, map[string]any{"spark_user_id": "stu-plan",
			"spark_assignment_id": "asg-plan", "spark_course_id": "crs-plan", "submission_text": "Plan essay",
			"submission_files": []map[string]any{
				{"url": "https://files.spark.example/a.zip", "type": "application/zip", "filename": "a.zip"},
				{"url": "https://files.spark.example/b.html", "type": "text/html", "filename": "b.html"},
				{"url": "https://files.spark.example/c", "type": "file", "filename": "c"},
			}})
		require.Equal(t, http.StatusAccepted, a.Status, "%v", a.Body)
		var at time.Time
		require.NoError(t, h.db.R.QueryRow(`SELECT submitted_at FROM spark_assignment_submissions`).Scan(&at))
		require.True(t, at.Equal(now), "dated by the webhook: %v", at)

		a = h.send("submission", map[string]any{"spark_user_id": "stu-plan", "spark_assignment_id": "asg-min", "spark_course_id": "crs-plan"})
		require.Equal(t, http.StatusAccepted, a.Status, "only the three ids: %v", a.Body)
	})
}
