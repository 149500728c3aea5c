package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
)

// legacyPollStateKey is where polls before per-assignment positions kept
// the start of the last successful poll; it seeds an assignment's first
// watermark so an upgrade does not re-read everything at once.
const legacyPollStateKey = "spark_poll_since"

// coursesCursorKey is the job_state key of the course-list page a stopped
// poll was on, so the next poll resumes there ("" : the first page).
const coursesCursorKey = "spark_poll_courses_cursor"

// pollOverlap re-reads a little before the watermark, so a submission Spark
// stamped just before the last walk started is not missed; re-reads are skipped.
const pollOverlap = 5 * time.Minute

// Defaults of PollLimits (SPARK_POLL_MAX_*, SPARK_POLL_RECONCILE_EVERY).
const (
	DefaultPollMaxCourses     = 1000
	DefaultPollMaxAssignments = 500
	DefaultPollMaxSubmissions = 50_000
	DefaultPollReconcileEvery = 24 * time.Hour
)

// Longest course and assignment texts a poll holds: what a quest and a task
// keep (store cuts them the same way), so a hostile API's 9 MB description
// costs a poll no more than a normal one.
const (
	pollMaxTitleRunes = 200
	pollMaxDescRunes  = 10_000
)

// PollJob asks a worker to poll Spark for submissions the webhooks missed.
type PollJob struct{}

// Kind names the job for River.
func (PollJob) Kind() string { return "spark_poll" }

// PollLimits bound one poll; zero fields take the defaults. A poll that
// exceeds one stops with an ETOOLARGE error naming the variable, keeps what
// it imported, and the next poll resumes where it stopped.
type PollLimits struct {
	// MaxCourses caps the courses one poll reads (SPARK_POLL_MAX_COURSES).
	MaxCourses int
	// MaxAssignments caps one course's assignments (SPARK_POLL_MAX_ASSIGNMENTS).
	MaxAssignments int
	// MaxSubmissions caps the submissions one poll reads (SPARK_POLL_MAX_SUBMISSIONS).
	MaxSubmissions int
	// ReconcileEvery is how often each assignment is re-read in full, for
	// work that appeared in Spark's API after its submitted_at; negative: never
	// (SPARK_POLL_RECONCILE_EVERY, 0 there).
	ReconcileEvery time.Duration
}

func (l PollLimits) withDefaults() PollLimits {
	if l.MaxCourses <= 0 {
		l.MaxCourses = DefaultPollMaxCourses
	}
	if l.MaxAssignments <= 0 {
		l.MaxAssignments = DefaultPollMaxAssignments
	}
	if l.MaxSubmissions <= 0 {
		l.MaxSubmissions = DefaultPollMaxSubmissions
	}
	if l.ReconcileEvery == 0 {
		l.ReconcileEvery = DefaultPollReconcileEvery
	}
	return l
}

// PollWorker polls Spark's API course by course, page by page: it learns
// each course and its assignments through the course webhook's path
// (store.AcceptSparkCourse), imports every submission through the webhook's
// path (store.ImportSubmission, one transaction each), re-queues submissions
// whose sync failed, and learns the enrolments of the students whose work it
// imported. It holds one API page and one course's assignments at a time.
type PollWorker struct {
	river.WorkerDefaults[PollJob]
	DB     *store.DB
	Spark  *spark.Client
	Logger *slog.Logger
	// AutoMap lets polled courses create and update quests (SPARK_AUTO_MAP).
	AutoMap bool
	Limits  PollLimits
	metrics *metrics
}

// PollProgress reports polling progress: one call per assignment done.
// total is -1: a streamed poll does not know it in advance.
type PollProgress func(course, assignment string, done, total int)

// PollOptions choose what one poll reads.
type PollOptions struct {
	// Full reads every assignment's submissions from Since (zero: all of
	// them) instead of from its watermark, and leaves the stored positions
	// alone; the count limits do not apply (`optio spark backfill --all`,
	// `--since`). The response-size limit always does.
	Full  bool
	Since time.Time
	// Progress may be nil.
	Progress PollProgress
}

// PollResult counts what one poll did.
type PollResult struct {
	Courses, Assignments, Seen, Queued, Requeued, Rejected int
	// CoursesChanged counts courses whose polled data was new to Optio.
	CoursesChanged int
	// Enrollments counts enrolment changes applied from the API.
	Enrollments int
}

// Work polls once. A poll stopped by a limit is recorded (admin page, log,
// metric) and not retried before the next period; other failures are
// retried with backoff, resuming where they stopped.
func (w *PollWorker) Work(ctx context.Context, _ *river.Job[PollJob]) error {
	_, err := w.PollWith(ctx, PollOptions{})
	if optio.ErrorCode(err) == optio.ETOOLARGE {
		return nil
	}
	return retryAfterSpark(err)
}

// maxSnooze caps how long a job waits for Spark's Retry-After.
const maxSnooze = time.Hour

// retryAfterSpark turns a Spark answer carrying Retry-After (a 429 or 503
// the client did not wait out itself) into a River snooze of that long, so
// the job is not retried after River's ~1 s backoff instead; other errors
// are returned as they are.
func retryAfterSpark(err error) error {
	var ae *spark.APIError
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		return river.JobSnooze(min(ae.RetryAfter, maxSnooze))
	}
	return err
}

// Poll runs one regular poll (from the stored positions).
func (w *PollWorker) Poll(ctx context.Context, progress PollProgress) (*PollResult, error) {
	return w.PollWith(ctx, PollOptions{Progress: progress})
}

// PollWith polls Spark's API once and records the outcome for admins.
func (w *PollWorker) PollWith(ctx context.Context, opts PollOptions) (*PollResult, error) {
	if w.Spark == nil {
		return nil, optio.Errorf(optio.ENOTCONFIG, "SPARK_API_URL is not set")
	}
	p := &poll{w: w, opts: opts, limits: w.Limits.withDefaults(), started: w.DB.Clock.Now().UTC(),
		res: &PollResult{}, students: map[string]bool{}}
	if opts.Full {
		p.limits.MaxCourses, p.limits.MaxAssignments, p.limits.MaxSubmissions = maxInt, maxInt, maxInt
	}
	err := p.run(ctx)
	st := optio.SparkPollStatus{StartedAt: p.started, FinishedAt: w.DB.Clock.Now().UTC(), OK: err == nil,
		Courses: p.res.Courses, Assignments: p.res.Assignments, Seen: p.res.Seen, Queued: p.res.Queued,
		Requeued: p.res.Requeued, Rejected: p.res.Rejected}
	outcome := "ok"
	if err != nil {
		st.Error = err.Error()
		outcome = "error"
		if optio.ErrorCode(err) == optio.ETOOLARGE {
			outcome = "limit"
		}
		w.logger().Error("spark poll stopped; the next poll resumes where it stopped", "error", err, "outcome", outcome,
			"courses", p.res.Courses, "assignments", p.res.Assignments, "seen", p.res.Seen, "queued", p.res.Queued)
	}
	w.metrics.pollDone(outcome, p.res)
	if ctx.Err() == nil {
		if serr := w.DB.SetSparkPollStatus(ctx, st); serr != nil && err == nil {
			err = serr
		}
		// The hourly rollup of /admin/health: one small upsert per poll.
		hour := st.FinishedAt.Truncate(time.Hour)
		if herr := w.DB.AddHealthCounts(ctx, []optio.HealthCount{
			{Hour: hour, Metric: optio.HealthPollRun, Outcome: outcome, N: 1},
			{Hour: hour, Metric: optio.HealthPollImport, Outcome: "seen", N: int64(p.res.Seen)},
			{Hour: hour, Metric: optio.HealthPollImport, Outcome: "queued", N: int64(p.res.Queued)},
			{Hour: hour, Metric: optio.HealthPollImport, Outcome: "requeued", N: int64(p.res.Requeued)},
			{Hour: hour, Metric: optio.HealthPollImport, Outcome: "rejected", N: int64(p.res.Rejected)},
		}); herr != nil {
			w.logger().Warn("record poll for the health page", "error", herr)
		}
	}
	return p.res, err
}

const maxInt = int(^uint(0) >> 1)

// poll is one run of PollWith.
type poll struct {
	w       *PollWorker
	opts    PollOptions
	limits  PollLimits
	started time.Time
	res     *PollResult
	// students whose enrolments this poll already read.
	students map[string]bool
	// legacy is the pre-00015 global watermark, if any.
	legacy time.Time
}

func limitErr(format string, args ...any) error {
	return optio.Errorf(optio.ETOOLARGE, "spark poll stopped: "+format, args...)
}

func (p *poll) run(ctx context.Context) error {
	db := p.w.DB
	if v, err := db.JobState(ctx, legacyPollStateKey); err != nil {
		return err
	} else if t, perr := time.Parse(time.RFC3339Nano, v); v != "" && perr == nil {
		p.legacy = t
	}
	cursor := ""
	if !p.opts.Full {
		v, err := db.JobState(ctx, coursesCursorKey)
		if err != nil {
			return err
		}
		cursor = v
	}
	seen := map[string]bool{}
	for pages := 0; ; pages++ {
		if pages >= spark.MaxPages {
			return limitErr("more than %d pages of courses", spark.MaxPages)
		}
		page, err := p.w.Spark.ListCourses(ctx, cursor)
		if err != nil && cursor != "" && isStaleCursor(err) && pages == 0 {
			// The cursor a stopped poll kept is no longer Spark's: start over.
			cursor = ""
			page, err = p.w.Spark.ListCourses(ctx, cursor)
		}
		if err != nil {
			return fmt.Errorf("poll spark courses: %w", err)
		}
		for _, c := range page.Courses {
			if p.res.Courses >= p.limits.MaxCourses {
				return limitErr("more than %d courses (SPARK_POLL_MAX_COURSES)", p.limits.MaxCourses)
			}
			p.res.Courses++
			if err := p.course(ctx, c); err != nil {
				return err
			}
		}
		next := page.NextCursor
		if next == "" {
			break
		}
		if seen[next] {
			return fmt.Errorf("poll spark courses: cursor %q repeated; stopping", next)
		}
		seen[next] = true
		cursor = next
		if !p.opts.Full {
			// A poll that stops on the next page (reading it or handling
			// its courses) resumes on it.
			if err := db.SetJobState(ctx, coursesCursorKey, cursor); err != nil {
				return err
			}
		}
	}
	if !p.opts.Full {
		if err := db.SetJobState(ctx, coursesCursorKey, ""); err != nil {
			return err
		}
		// Kept for a rollback to a version that reads only this key.
		return db.SetJobState(ctx, legacyPollStateKey, p.started.Format(time.RFC3339Nano))
	}
	return nil
}

// isGone: Spark answered 404 (or 410) for something it had just listed.
func isGone(err error) bool {
	var ae *spark.APIError
	return errors.As(err, &ae) && (ae.StatusCode == http.StatusNotFound || ae.StatusCode == http.StatusGone)
}

// isStaleCursor: Spark refused a cursor it once gave (400).
func isStaleCursor(err error) bool {
	var ae *spark.APIError
	return errors.As(err, &ae) && ae.StatusCode == http.StatusBadRequest
}

// course learns one course and its assignments, then polls each
// assignment's submissions and the enrolments of the students it found.
func (p *poll) course(ctx context.Context, c spark.RemoteCourse) error {
	if strings.TrimSpace(c.ID) == "" {
		p.w.logger().Warn("spark poll: a course without an id was skipped")
		return nil
	}
	ev := optio.SparkCourseEvent{SparkCourseID: c.ID, Title: clipRunes(c.Title, pollMaxTitleRunes),
		Description: clipRunes(c.Description, pollMaxDescRunes), AutoMap: p.w.AutoMap}
	if strings.TrimSpace(ev.Title) == "" {
		ev.Title = c.ID
	}
	for a, err := range p.w.Spark.Assignments(ctx, c.ID) {
		if isGone(err) {
			p.w.logger().Warn("spark poll: course listed but gone; skipped", "course", c.ID, "error", err)
			return nil
		}
		if err != nil {
			return fmt.Errorf("poll spark course %s: %w", c.ID, err)
		}
		if len(ev.Assignments) >= p.limits.MaxAssignments {
			return limitErr("course %s has more than %d assignments (SPARK_POLL_MAX_ASSIGNMENTS)", c.ID, p.limits.MaxAssignments)
		}
		if strings.TrimSpace(a.ID) == "" {
			continue
		}
		title := clipRunes(a.Title, pollMaxTitleRunes)
		if strings.TrimSpace(title) == "" {
			title = a.ID
		}
		ev.Assignments = append(ev.Assignments, optio.SparkAssignmentInput{SparkAssignmentID: a.ID, Title: title,
			Description: clipRunes(a.Description, pollMaxDescRunes), DueAt: a.DueAt, MaxPoints: a.MaxPoints})
	}
	if err := p.learnCourse(ctx, ev); err != nil {
		return err
	}
	newStudents := map[string]bool{}
	for _, a := range ev.Assignments {
		p.res.Assignments++
		if err := p.assignment(ctx, c.ID, a.SparkAssignmentID, newStudents); err != nil {
			return err
		}
		if p.opts.Progress != nil {
			p.opts.Progress(c.ID, a.SparkAssignmentID, p.res.Assignments, -1)
		}
	}
	return p.enrollments(ctx, newStudents)
}

// learnCourse applies a polled course exactly as a course webhook with the
// same data: its delivery id is a digest of the data, so an unchanged course
// is a duplicate (nothing written) and a changed one updates quest and tasks.
func (p *poll) learnCourse(ctx context.Context, ev optio.SparkCourseEvent) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	rc, err := p.w.DB.AcceptSparkCourse(ctx, "poll_course_"+hex.EncodeToString(sum[:16]), ev)
	if err != nil {
		return fmt.Errorf("poll spark course %s: %w", ev.SparkCourseID, err)
	}
	if !rc.Duplicate {
		p.res.CoursesChanged++
		if _, err := p.w.DB.AwardBadgesInCourse(ctx, ev.SparkCourseID); err != nil {
			p.w.logger().Error("award badges after polled course", "course", ev.SparkCourseID, "error", err)
		}
	}
	return nil
}

// assignment reads one assignment's submissions from its stored position,
// saving the position after every page, so a poll stopped by an error or a
// limit resumes at the page it stopped on.
func (p *poll) assignment(ctx context.Context, courseID, assignmentID string, newStudents map[string]bool) error {
	db := p.w.DB
	walk := &store.PollWalk{AssignmentID: assignmentID, CourseID: courseID}
	if p.opts.Full {
		walk.Started, walk.Full, walk.Since = p.started, p.opts.Since.IsZero(), p.opts.Since
	} else {
		var err error
		if walk, err = db.PollWalk(ctx, assignmentID); err != nil {
			return err
		}
		walk.CourseID = courseID
		if !walk.InProgress() {
			p.startWalk(walk)
		}
	}
	q := spark.SubmissionQuery{Since: walk.Since, UpdatedSince: walk.Since}
	restarted := false
	for pages := 0; ; pages++ {
		if pages >= spark.MaxPages {
			return limitErr("assignment %s has more than %d pages of submissions", assignmentID, spark.MaxPages)
		}
		page, err := p.w.Spark.ListSubmissionsQuery(ctx, assignmentID, q, walk.Cursor)
		if err != nil && walk.Cursor != "" && !restarted && isStaleCursor(err) {
			restarted, walk.Cursor = true, ""
			continue
		}
		if isGone(err) {
			// Listed a moment ago, gone now: its task and the work on it
			// stay; the next poll asks again if Spark lists it again.
			p.w.logger().Warn("spark poll: assignment listed but gone; skipped", "assignment", assignmentID, "error", err)
			return nil
		}
		if err != nil {
			return fmt.Errorf("poll spark assignment %s: %w", assignmentID, err)
		}
		for _, r := range page.Rejected {
			p.res.Rejected++
			p.w.logger().Warn("spark poll: rejected submission", "assignment", assignmentID, "id", r.ID, "error", r.Err)
		}
		for i := range page.Submissions {
			if p.res.Seen >= p.limits.MaxSubmissions {
				// The position still points at this page: the next poll
				// re-reads it and skips what was imported.
				return limitErr("more than %d submissions (SPARK_POLL_MAX_SUBMISSIONS)", p.limits.MaxSubmissions)
			}
			p.res.Seen++
			if err := p.importOne(ctx, &page.Submissions[i], newStudents); err != nil {
				return err
			}
		}
		if page.NextCursor == "" {
			break
		}
		if page.NextCursor == walk.Cursor {
			return fmt.Errorf("poll spark assignment %s: cursor %q repeated; stopping", assignmentID, walk.Cursor)
		}
		walk.Cursor = page.NextCursor
		if !p.opts.Full {
			if err := db.SavePollWalk(ctx, walk); err != nil {
				return err
			}
		}
	}
	if p.opts.Full {
		return nil
	}
	// The walk is complete: its start is the new watermark.
	walk.Watermark = walk.Started
	if walk.Full {
		walk.ReconciledAt = walk.Started
	}
	walk.Started, walk.Full, walk.Since, walk.Cursor = time.Time{}, false, time.Time{}, ""
	return db.SavePollWalk(ctx, walk)
}

// startWalk begins a new walk of an assignment: from its watermark minus
// the overlap, or in full (no since) the first time and whenever the last
// full walk is older than ReconcileEvery.
func (p *poll) startWalk(walk *store.PollWalk) {
	wm := walk.Watermark
	if wm.IsZero() {
		wm = p.legacy
	}
	reconciled := walk.ReconciledAt
	if reconciled.IsZero() {
		reconciled = wm
	}
	walk.Started, walk.Cursor = p.started, ""
	walk.Full = wm.IsZero() || (p.limits.ReconcileEvery > 0 && p.started.Sub(reconciled) >= p.limits.ReconcileEvery)
	walk.Since = time.Time{}
	if !walk.Full {
		walk.Since = wm.Add(-pollOverlap)
	}
}

// importOne stores a polled submission as its webhook would; one already
// known whose last sync failed is queued again.
func (p *poll) importOne(ctx context.Context, s *spark.RemoteSubmission, newStudents map[string]bool) error {
	files := []byte("[]")
	if s.Files != nil {
		var err error
		if files, err = json.Marshal(s.Files); err != nil {
			return err
		}
	}
	_, queued, err := p.w.DB.ImportSubmission(ctx, store.IncomingSubmission{
		SparkUserID: s.SparkUserID, SparkAssignmentID: s.SparkAssignmentID, SparkCourseID: s.SparkCourseID,
		Text: s.Text, FilesJSON: string(files), SubmittedAt: s.SubmittedAt, Grade: s.Grade,
	})
	if err != nil {
		return err
	}
	if queued {
		p.res.Queued++
		if !p.students[s.SparkUserID] {
			newStudents[s.SparkUserID] = true
		}
		return nil
	}
	_, requeued, err := p.w.DB.RequeueFailedSubmission(ctx, s.SparkUserID, s.SparkAssignmentID)
	if err != nil {
		return err
	}
	if requeued {
		p.res.Requeued++
	}
	return nil
}

// enrollments reads the enrolments of students whose work this poll
// imported (GET /api/students/{id}/enrollments) and applies them as the
// roster webhook does, so they are enrolled in their courses' quests. A
// failure here is logged, not fatal: the work is already imported.
func (p *poll) enrollments(ctx context.Context, students map[string]bool) error {
	for id := range students {
		if p.students[id] {
			continue
		}
		p.students[id] = true
		es, err := p.w.Spark.ListEnrollments(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			p.w.logger().Warn("spark poll: enrolments not read", "student", id, "error", err)
			continue
		}
		for _, e := range es {
			action, ok := map[string]string{"active": optio.RosterEnroll, "dropped": optio.RosterDrop, "completed": optio.RosterComplete}[e.Status]
			if !ok || strings.TrimSpace(e.CourseID) == "" {
				continue
			}
			at := e.UpdatedAt.UTC()
			if at.IsZero() {
				at = p.started
			}
			sum := sha256.Sum256([]byte(id + "\x00" + e.CourseID + "\x00" + action + "\x00" + at.Format(time.RFC3339Nano)))
			rc, err := p.w.DB.AcceptSparkRoster(ctx, "poll_roster_"+hex.EncodeToString(sum[:16]), optio.SparkRosterEvent{
				SparkUserID: id, SparkCourseID: e.CourseID, Action: action, OccurredAt: at})
			if err != nil {
				p.w.logger().Warn("spark poll: enrolment not applied", "student", id, "course", e.CourseID, "error", err)
				continue
			}
			if rc.Applied && !rc.Duplicate {
				p.res.Enrollments++
			}
		}
	}
	return nil
}

// clipRunes cuts s to n runes, copying what it keeps, so the page the
// text came from is not kept alive by it.
func clipRunes(s string, n int) string {
	i := 0
	for range n {
		if i >= len(s) {
			break
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return strings.Clone(strings.ToValidUTF8(s[:i], ""))
}

func (w *PollWorker) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.Default()
	}
	return w.Logger
}
