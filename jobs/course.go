package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/riverqueue/river"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
)

// courseFetchWorker reads a course Optio first met outside a course webhook
// (an SSO token, a roster event, a submission, a poll) from Spark's API and
// applies it like a course webhook (store.ApplySparkCourse): the quest named
// "Spark course <id>" takes Spark's title, placeholder tasks theirs, and
// the assignments Optio has not seen yet get tasks. Spark being down is
// retried with River's backoff; a course Spark does not know (404) is left
// as it is.
type courseFetchWorker struct {
	river.WorkerDefaults[optio.SparkCourseFetchJob]
	db     *store.DB
	spark  *spark.Client
	logger *slog.Logger
}

// Work fetches and applies one course.
func (w *courseFetchWorker) Work(ctx context.Context, job *river.Job[optio.SparkCourseFetchJob]) error {
	if w.spark == nil {
		return river.JobCancel(fmt.Errorf("fetch spark course: SPARK_API_URL is not set"))
	}
	id := job.Args.SparkCourseID
	ev, err := FetchSparkCourse(ctx, w.spark, id)
	if err != nil {
		if spark.IsRetryable(err) {
			return err
		}
		return river.JobCancel(fmt.Errorf("fetch spark course %s: %w", id, err))
	}
	ev.AutoMap = w.db.AutoMap()
	if _, err := w.db.ApplySparkCourse(ctx, *ev); err != nil {
		return err
	}
	// A mapping change can complete the course (every assignment synced) for its students.
	if _, err := w.db.AwardBadgesInCourse(ctx, id); err != nil {
		w.logger.WarnContext(ctx, "award badges after course fetch", "spark_course_id", id, "error", err)
	}
	return nil
}

// FetchSparkCourse reads a course and its assignments from Spark's API as
// the event a course webhook would carry. A course Spark answers 404 for
// is an *optio.Error with code ENOTFOUND.
func FetchSparkCourse(ctx context.Context, c *spark.Client, courseID string) (*optio.SparkCourseEvent, error) {
	co, err := c.GetCourse(ctx, courseID)
	if err != nil {
		return nil, notFoundIf404(err, courseID)
	}
	as, err := c.ListAssignments(ctx, courseID)
	if err != nil {
		return nil, notFoundIf404(err, courseID)
	}
	ev := &optio.SparkCourseEvent{SparkCourseID: courseID, Title: strings.TrimSpace(co.Title), Description: co.Description}
	for _, a := range as {
		if a.ID == "" {
			continue
		}
		ev.Assignments = append(ev.Assignments, optio.SparkAssignmentInput{SparkAssignmentID: a.ID,
			Title: strings.TrimSpace(a.Title), Description: a.Description, DueAt: a.DueAt, MaxPoints: a.MaxPoints})
	}
	return ev, nil
}

func notFoundIf404(err error, courseID string) error {
	var ae *spark.APIError
	if errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound {
		return optio.Errorf(optio.ENOTFOUND, "Spark has no course %q: %v", courseID, err)
	}
	return err
}
