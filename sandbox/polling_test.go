package sandbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/sandbox"
	"github.com/optio-edu/optio/spark"
)

// TestWebhooksOffServesOnlyTheAPI: with webhooks off the sandbox sends
// nothing to Optio (no submission, roster or course webhook), while its API
// serves the same work, courses (assignments paged) and enrolments, so a
// polling-only Optio can learn everything.
func TestWebhooksOffServesOnlyTheAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *sandbox.Config) { c.WebhooksOff, c.PageSize = true, 3 })
	ctx := context.Background()
	id, err := b.sb.Submit(ctx, "spark-stu-maya", "spark-physics-forces-essay", "Forces essay", nil)
	require.NoError(t, err)
	_, err = b.sb.Roster(ctx, "spark-stu-maya", "spark-minecraft-biology", spark.RosterEnroll)
	require.NoError(t, err)
	_, err = b.sb.SendCourses(ctx)
	require.NoError(t, err)
	b.waitIdle(t)
	require.Empty(t, b.optio.requests(), "no webhook was sent")
	require.Empty(t, b.sb.Deliveries())

	c := b.client(testAPIKey)
	page, err := c.ListAssignmentsPage(ctx, "spark-physics", "")
	require.NoError(t, err)
	require.Len(t, page.Assignments, 3)
	require.NotEmpty(t, page.NextCursor, "assignments are paged like the other lists")
	all, err := c.ListAssignments(ctx, "spark-physics")
	require.NoError(t, err)
	require.Len(t, all, 4)
	subs, err := c.ListSubmissions(ctx, "spark-physics-forces-essay", time.Time{}, "")
	require.NoError(t, err)
	require.Len(t, subs.Submissions, 1)
	require.Equal(t, id, subs.Submissions[0].ID)
	require.NotNil(t, subs.Submissions[0].UpdatedAt)
	en, err := c.ListEnrollments(ctx, "spark-stu-maya")
	require.NoError(t, err)
	require.Len(t, en, 4)
}

// TestUpdatedSinceFindsLateWork: work stamped long ago that appeared in the
// API just now is missed by since (on submitted_at) and found by
// updated_since (on when it appeared).
func TestUpdatedSinceFindsLateWork(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *sandbox.Config) { c.WebhooksOff = true })
	ctx := context.Background()
	lastPoll := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	_, err := b.sb.SubmitAt(ctx, "spark-stu-maya", "spark-physics-forces-essay", "Written offline last week", nil, lastPoll.AddDate(0, 0, -7))
	require.NoError(t, err)
	c := b.client(testAPIKey)
	page, err := c.ListSubmissionsQuery(ctx, "spark-physics-forces-essay", spark.SubmissionQuery{Since: lastPoll}, "")
	require.NoError(t, err)
	require.Empty(t, page.Submissions, "since filters on submitted_at")
	page, err = c.ListSubmissionsQuery(ctx, "spark-physics-forces-essay", spark.SubmissionQuery{Since: lastPoll, UpdatedSince: lastPoll}, "")
	require.NoError(t, err)
	require.Len(t, page.Submissions, 1)
	require.True(t, page.Submissions[0].SubmittedAt.Before(lastPoll))
}
