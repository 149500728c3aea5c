package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
)

// pollStateKey is where the time of the last successful poll is kept.
const pollStateKey = "spark_poll_since"

// pollOverlap re-reads a little before the last poll, so a submission Spark
// stamped just before the poll started is not missed; re-reads are skipped.
const pollOverlap = 5 * time.Minute

// PollJob asks a worker to poll Spark for submissions the webhooks missed.
type PollJob struct{}

// Kind names the job for River.
func (PollJob) Kind() string { return "spark_poll" }

// PollWorker lists recent submissions through Spark's API and feeds the
// unknown ones through the same path as a webhook (store.ImportSubmission).
type PollWorker struct {
	river.WorkerDefaults[PollJob]
	DB     *store.DB
	Spark  *spark.Client
	Logger *slog.Logger
}

// PollProgress reports polling progress: one call per assignment done.
type PollProgress func(course, assignment string, done, total int)

// PollResult counts what one poll did.
type PollResult struct {
	Courses, Assignments, Seen, Queued, Rejected int
}

// Work polls once.
func (w *PollWorker) Work(ctx context.Context, _ *river.Job[PollJob]) error {
	_, err := w.Poll(ctx, nil)
	return err
}

// Poll lists every course's assignments' submissions since the last poll
// and imports those not yet known; progress may be nil.
func (w *PollWorker) Poll(ctx context.Context, progress PollProgress) (*PollResult, error) {
	if w.Spark == nil {
		return nil, optio.Errorf(optio.ENOTCONFIG, "SPARK_API_URL is not set")
	}
	started := w.DB.Clock.Now().UTC()
	var since time.Time
	if v, err := w.DB.JobState(ctx, pollStateKey); err != nil {
		return nil, err
	} else if v != "" {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			since = t.Add(-pollOverlap)
		}
	}
	res := &PollResult{}
	type item struct{ course, assignment string }
	var todo []item
	for c, err := range w.Spark.Courses(ctx) {
		if err != nil {
			return res, fmt.Errorf("poll spark courses: %w", err)
		}
		res.Courses++
		as, err := w.Spark.ListAssignments(ctx, c.ID)
		if err != nil {
			return res, fmt.Errorf("poll spark course %s: %w", c.ID, err)
		}
		for _, a := range as {
			todo = append(todo, item{c.ID, a.ID})
		}
	}
	res.Assignments = len(todo)
	for i, it := range todo {
		for s, err := range w.Spark.Submissions(ctx, it.assignment, since) {
			if err != nil {
				var oe *optio.Error
				if errors.As(err, &oe) && oe.Code == optio.EPAYLOAD {
					res.Rejected++
					w.logger().Warn("spark poll: rejected submission", "id", s.ID, "error", err)
					continue
				}
				return res, fmt.Errorf("poll spark assignment %s: %w", it.assignment, err)
			}
			res.Seen++
			files, err := json.Marshal(s.Files)
			if err != nil {
				return res, err
			}
			if s.Files == nil {
				files = []byte("[]")
			}
			_, queued, err := w.DB.ImportSubmission(ctx, store.IncomingSubmission{
				SparkUserID: s.SparkUserID, SparkAssignmentID: s.SparkAssignmentID, SparkCourseID: s.SparkCourseID,
				Text: s.Text, FilesJSON: string(files), SubmittedAt: s.SubmittedAt, Grade: s.Grade,
			})
			if err != nil {
				return res, err
			}
			if queued {
				res.Queued++
			}
		}
		if progress != nil {
			progress(it.course, it.assignment, i+1, len(todo))
		}
	}
	if err := w.DB.SetJobState(ctx, pollStateKey, started.Format(time.RFC3339Nano)); err != nil {
		return res, err
	}
	return res, nil
}

func (w *PollWorker) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.Default()
	}
	return w.Logger
}
