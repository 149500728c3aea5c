package spark

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/optio-edu/optio"
)

// Client limits and defaults.
const (
	// DefaultMaxResponseBytes is the largest API answer read by default.
	DefaultMaxResponseBytes = 10 << 20
	// DefaultMaxConcurrent is how many requests one Client sends at once by default.
	DefaultMaxConcurrent = 2
	// DefaultMaxRetries is how often a 429 or 503 is retried by default.
	DefaultMaxRetries = 3
	// DefaultMaxRetryWait is the longest Retry-After the Client waits out by default.
	DefaultMaxRetryWait = 2 * time.Minute
	// MaxPages is the most pages the Client follows in one paged list.
	MaxPages  = 10_000
	userAgent = "optio-spark-client/1"
)

// Client calls Spark's REST API: Optio polls it as the fallback when
// webhooks are missing or lost, and posts grades back. Every request sends
// "Authorization: Bearer <APIKey>" and "Accept: application/json".
//
// Endpoints (all JSON; times RFC 3339 UTC; ids are strings):
//
//	GET  /api/courses?cursor=…
//	     → {"courses":[{"id","title","description","updated_at"}], "next_cursor":""}
//	GET  /api/courses/{id}/assignments
//	     → {"assignments":[{"id","course_id","title","description","due_date","max_points"}]}
//	GET  /api/students/{id}/enrollments
//	     → {"enrollments":[{"course_id","status","updated_at"}]}
//	GET  /api/assignments/{id}/submissions?since=RFC3339&cursor=…
//	     → {"submissions":[<submission webhook payload> + "id"], "next_cursor":""}
//	POST /api/grades  {"spark_user_id","spark_assignment_id","grade","optio_task_completion_id","graded_at"}
//	     → 200 or 201; the Idempotency-Key header is "<optio_task_completion_id>@<graded_at>"
//
// Paged lists end when next_cursor is empty or absent. A non-2xx answer is
// an *APIError; 408, 429 and 5xx are retryable (see IsRetryable).
type Client struct {
	// BaseURL is Spark's API origin, optionally with a path prefix (SPARK_API_URL).
	BaseURL string
	// APIKey is the bearer token (SPARK_API_KEY).
	APIKey string
	// HTTP sends the requests. Default: a client with a 30s timeout.
	HTTP *http.Client
	// MaxResponseBytes caps one answer; a larger one is an error before it
	// is read (SPARK_API_MAX_RESPONSE_BYTES). Default DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// MaxConcurrent caps the requests in flight from this Client, polling
	// and grade passback together (SPARK_API_CONCURRENCY). Default DefaultMaxConcurrent.
	MaxConcurrent int
	// MaxRetries is how often a 429 or 503 answer is retried after waiting
	// its Retry-After (or 1s, 2s, 4s… without one). Default DefaultMaxRetries; <0: none.
	MaxRetries int
	// MaxRetryWait is the longest wait: a Retry-After beyond it is not
	// waited out, the call fails with the *APIError. Default DefaultMaxRetryWait.
	MaxRetryWait time.Duration
	// Clock reads HTTP-date Retry-After values. Default optio.SystemClock.
	Clock optio.Clock
	// Sleep waits between retries. Default: a timer that ends with ctx.
	Sleep func(ctx context.Context, d time.Duration) error

	semOnce sync.Once
	sem     chan struct{}
	// OnStatus, when set, sees the status of every answer Spark gives
	// (Optio records a rejected API key, 401/403, for admins and metrics).
	OnStatus func(method, path string, status int)
}

// APIError is a non-2xx answer from Spark. Message is Spark's error message
// when it sent one, otherwise the start of the body.
type APIError struct {
	Method     string
	Path       string
	StatusCode int
	Message    string
	// RetryAfter is Spark's Retry-After in seconds, zero when absent.
	RetryAfter time.Duration
}

// Error names the request and status, and Spark's message when there is one.
func (e *APIError) Error() string {
	s := fmt.Sprintf("spark api: %s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// IsRetryable reports whether a Client error is worth retrying later: Spark
// overloaded or failing (408, 429, 5xx), a network failure or a timeout. A
// 4xx, a malformed answer or a cancelled context is not.
func IsRetryable(err error) bool {
	var ae *APIError
	var ne net.Error
	switch {
	case err == nil, errors.Is(err, context.Canceled):
		return false
	case errors.As(err, &ae):
		return ae.StatusCode == http.StatusRequestTimeout || ae.StatusCode == http.StatusTooManyRequests || ae.StatusCode >= 500
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return true
	case errors.As(err, &ne):
		return true
	}
	return false
}

// RemoteCourse is a course as Spark's API lists it.
type RemoteCourse struct {
	ID          string    `json:"id"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// CoursePage is one page of ListCourses.
type CoursePage struct {
	Courses    []RemoteCourse `json:"courses"`
	NextCursor string         `json:"next_cursor"`
}

// RemoteAssignment is an assignment as Spark's API lists it. due_date may be
// RFC 3339 or YYYY-MM-DD, as in the course webhook.
type RemoteAssignment struct {
	ID          string     `json:"id"`
	CourseID    string     `json:"course_id"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	DueAt       *time.Time `json:"due_date,omitempty"`
	DueDateOnly bool       `json:"-"`
	MaxPoints   *float64   `json:"max_points,omitempty"`
}

// RemoteEnrollment is one of a student's course enrolments in Spark.
// Status is "active", "dropped" or "completed".
type RemoteEnrollment struct {
	CourseID  string    `json:"course_id"`
	Status    string    `json:"status"`
	UpdatedAt time.Time `json:"updated_at"`
}

// RemoteSubmission is a submission from the polling API: the webhook
// payload plus Spark's submission id.
type RemoteSubmission struct {
	ID string `json:"id"`
	Submission
	// UpdatedAt is when the submission appeared or last changed in Spark's
	// API (optional; what updated_since filters on).
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

// RejectedSubmission is a listed submission that failed validation; polling
// skips it and reports Err (an *optio.Error) instead of failing the page.
type RejectedSubmission struct {
	ID  string
	Err error
}

// SubmissionPage is one page of ListSubmissions.
type SubmissionPage struct {
	Submissions []RemoteSubmission
	Rejected    []RejectedSubmission
	NextCursor  string
}

// GradePassback is a grade Optio reports to Spark after a task completion
// (docs/spark/API_SPECIFICATION.md, "POST /api/grades"). In JSON, Grade is
// a number when it is one ("92" → 92) and a string otherwise ("A-"), and
// GradedAt is an RFC 3339 UTC time: when Optio received or gave the grade.
type GradePassback struct {
	SparkUserID           string    `json:"spark_user_id"`
	SparkAssignmentID     string    `json:"spark_assignment_id"`
	Grade                 string    `json:"grade"`
	OptioTaskCompletionID string    `json:"optio_task_completion_id"`
	GradedAt              time.Time `json:"graded_at"`
	// IdempotencyKey is sent as the Idempotency-Key header; "" means
	// PassbackKey(OptioTaskCompletionID, GradedAt), one key per grade
	// revision, so a retried post repeats its key and a regrade has its own.
	IdempotencyKey string `json:"-"`
}

// PassbackKey is the documented Idempotency-Key of a grade revision:
// "<optio_task_completion_id>@<graded_at>", graded_at written exactly as in
// the body (RFC 3339, UTC).
func PassbackKey(completionID string, gradedAt time.Time) string {
	return completionID + "@" + gradedAt.UTC().Format(time.RFC3339Nano)
}

// jsonNumber matches a grade that is sent as a JSON number: digits, an
// optional sign and fraction, no exponent or leading zeros.
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]{0,14})(\.[0-9]{1,6})?$`)

// MarshalJSON writes Grade as a number when it is numeric.
func (g GradePassback) MarshalJSON() ([]byte, error) {
	type plain GradePassback
	grade := json.RawMessage(strconv.Quote(g.Grade))
	if jsonNumber.MatchString(g.Grade) {
		grade = json.RawMessage(g.Grade)
	}
	g.GradedAt = g.GradedAt.UTC()
	return json.Marshal(struct {
		plain
		Grade json.RawMessage `json:"grade"`
	}{plain(g), grade})
}

// UnmarshalJSON reads a grade sent as a number or a string.
func (g *GradePassback) UnmarshalJSON(b []byte) error {
	type plain GradePassback
	var v struct {
		plain
		Grade json.RawMessage `json:"grade"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*g = GradePassback(v.plain)
	switch {
	case len(v.Grade) == 0 || string(v.Grade) == "null":
	case v.Grade[0] == '"':
		return json.Unmarshal(v.Grade, &g.Grade)
	default:
		var n json.Number
		if err := json.Unmarshal(v.Grade, &n); err != nil {
			return fmt.Errorf("grade: %w", err)
		}
		g.Grade = n.String()
	}
	return nil
}

// ListCourses returns one page of courses; pass "" for the first page and
// the page's NextCursor for the next.
func (c *Client) ListCourses(ctx context.Context, cursor string) (*CoursePage, error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var page CoursePage
	if err := c.do(ctx, http.MethodGet, "/api/courses", q, nil, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// Courses iterates over every course, following next_cursor. Iteration
// stops at the first error, which is yielded.
func (c *Client) Courses(ctx context.Context) iter.Seq2[RemoteCourse, error] {
	return func(yield func(RemoteCourse, error) bool) {
		for page, err := range paginate(func(cursor string) (*CoursePage, string, error) {
			p, err := c.ListCourses(ctx, cursor)
			if err != nil {
				return nil, "", err
			}
			return p, p.NextCursor, nil
		}) {
			if err != nil {
				yield(RemoteCourse{}, err)
				return
			}
			for _, co := range page.Courses {
				if !yield(co, nil) {
					return
				}
			}
		}
	}
}

// AssignmentPage is one page of a course's assignments. Spark may page
// them like courses (next_cursor); an answer without next_cursor is the last.
type AssignmentPage struct {
	Assignments []RemoteAssignment
	NextCursor  string
}

// ListAssignmentsPage returns one page of a course's assignments; pass ""
// for the first page and the page's NextCursor for the next.
func (c *Client) ListAssignmentsPage(ctx context.Context, courseID, cursor string) (*AssignmentPage, error) {
	if courseID == "" {
		return nil, errors.New("spark api: list assignments: empty course id")
	}
	var body struct {
		Assignments []struct {
			ID          string          `json:"id"`
			CourseID    string          `json:"course_id"`
			Title       string          `json:"title"`
			Description string          `json:"description"`
			DueDate     string          `json:"due_date"`
			MaxPoints   json.RawMessage `json:"max_points"`
		} `json:"assignments"`
		NextCursor string `json:"next_cursor"`
	}
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	p := "/api/courses/" + url.PathEscape(courseID) + "/assignments"
	if err := c.do(ctx, http.MethodGet, p, q, nil, &body); err != nil {
		return nil, err
	}
	out := make([]RemoteAssignment, 0, len(body.Assignments))
	fc := newFieldChecker()
	for i, a := range body.Assignments {
		key := fmt.Sprintf("assignments[%d]", i)
		fc.id(key+".id", a.ID)
		ra := RemoteAssignment{ID: a.ID, CourseID: a.CourseID, Title: a.Title, Description: a.Description}
		ra.DueAt, ra.DueDateOnly = decodeDueDate(fc, key+".due_date", a.DueDate)
		ra.MaxPoints = decodeMaxPoints(fc, key+".max_points", a.MaxPoints)
		out = append(out, ra)
	}
	if err := fc.err("assignments"); err != nil {
		return nil, fmt.Errorf("spark api: GET %s: %w", p, err)
	}
	return &AssignmentPage{Assignments: out, NextCursor: body.NextCursor}, nil
}

// Assignments iterates over a course's assignments, following next_cursor.
// Iteration stops at the first error, which is yielded.
func (c *Client) Assignments(ctx context.Context, courseID string) iter.Seq2[RemoteAssignment, error] {
	return func(yield func(RemoteAssignment, error) bool) {
		for page, err := range paginate(func(cursor string) (*AssignmentPage, string, error) {
			p, err := c.ListAssignmentsPage(ctx, courseID, cursor)
			if err != nil {
				return nil, "", err
			}
			return p, p.NextCursor, nil
		}) {
			if err != nil {
				yield(RemoteAssignment{}, err)
				return
			}
			for _, a := range page.Assignments {
				if !yield(a, nil) {
					return
				}
			}
		}
	}
}

// ListAssignments returns all of a course's assignments.
func (c *Client) ListAssignments(ctx context.Context, courseID string) ([]RemoteAssignment, error) {
	var out []RemoteAssignment
	for a, err := range c.Assignments(ctx, courseID) {
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// ListEnrollments returns a student's course enrolments, for the parent
// dashboard and for reconciling missed roster webhooks.
func (c *Client) ListEnrollments(ctx context.Context, studentID string) ([]RemoteEnrollment, error) {
	if studentID == "" {
		return nil, errors.New("spark api: list enrollments: empty student id")
	}
	var body struct {
		Enrollments []RemoteEnrollment `json:"enrollments"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/students/"+url.PathEscape(studentID)+"/enrollments", nil, nil, &body); err != nil {
		return nil, err
	}
	return body.Enrollments, nil
}

// SubmissionQuery filters an assignment's submissions. Both times are
// optional; zero means not sent.
type SubmissionQuery struct {
	// Since asks for submissions whose submitted_at is at or after it.
	Since time.Time
	// UpdatedSince asks for submissions created or changed in Spark's API at
	// or after it, whatever their submitted_at (optional for Spark: one that
	// does not support it ignores it and applies Since).
	UpdatedSince time.Time
}

// ListSubmissions returns one page of an assignment's submissions made at
// or after since (zero: all). Each is validated like a webhook payload;
// invalid ones land in Rejected rather than failing the page.
func (c *Client) ListSubmissions(ctx context.Context, assignmentID string, since time.Time, cursor string) (*SubmissionPage, error) {
	return c.ListSubmissionsQuery(ctx, assignmentID, SubmissionQuery{Since: since}, cursor)
}

// ListSubmissionsQuery returns one page of an assignment's submissions
// matching q.
func (c *Client) ListSubmissionsQuery(ctx context.Context, assignmentID string, sq SubmissionQuery, cursor string) (*SubmissionPage, error) {
	if assignmentID == "" {
		return nil, errors.New("spark api: list submissions: empty assignment id")
	}
	q := url.Values{}
	if !sq.Since.IsZero() {
		q.Set("since", sq.Since.UTC().Format(time.RFC3339))
	}
	if !sq.UpdatedSince.IsZero() {
		q.Set("updated_since", sq.UpdatedSince.UTC().Format(time.RFC3339))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var body struct {
		Submissions []json.RawMessage `json:"submissions"`
		NextCursor  string            `json:"next_cursor"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/assignments/"+url.PathEscape(assignmentID)+"/submissions", q, nil, &body); err != nil {
		return nil, err
	}
	page := &SubmissionPage{NextCursor: body.NextCursor}
	for i, raw := range body.Submissions {
		var idOnly struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(raw, &idOnly)
		s, err := DecodeSubmission(raw)
		if err == nil && idOnly.ID == "" {
			err = &optio.Error{Code: optio.EPAYLOAD, Message: "The submission has no id.", Fields: map[string]string{"id": "required"}}
		}
		if err != nil {
			id := idOnly.ID
			if id == "" {
				id = fmt.Sprintf("#%d", i)
			}
			page.Rejected = append(page.Rejected, RejectedSubmission{ID: id, Err: err})
			continue
		}
		rs := RemoteSubmission{ID: idOnly.ID, Submission: *s}
		var upd struct {
			UpdatedAt *time.Time `json:"updated_at"`
		}
		if json.Unmarshal(raw, &upd) == nil && upd.UpdatedAt != nil {
			t := upd.UpdatedAt.UTC()
			rs.UpdatedAt = &t
		}
		page.Submissions = append(page.Submissions, rs)
		body.Submissions[i] = nil // release the raw item once decoded
	}
	return page, nil
}

// Submissions iterates over every submission of an assignment since a
// time, following next_cursor. A rejected submission is yielded with its ID
// and an *optio.Error (code optio.EPAYLOAD) and iteration goes on; any other
// error is yielded last.
func (c *Client) Submissions(ctx context.Context, assignmentID string, since time.Time) iter.Seq2[RemoteSubmission, error] {
	return func(yield func(RemoteSubmission, error) bool) {
		for page, err := range paginate(func(cursor string) (*SubmissionPage, string, error) {
			p, err := c.ListSubmissions(ctx, assignmentID, since, cursor)
			if err != nil {
				return nil, "", err
			}
			return p, p.NextCursor, nil
		}) {
			if err != nil {
				yield(RemoteSubmission{}, err)
				return
			}
			for _, r := range page.Rejected {
				if !yield(RemoteSubmission{ID: r.ID}, r.Err) {
					return
				}
			}
			for _, s := range page.Submissions {
				if !yield(s, nil) {
					return
				}
			}
		}
	}
}

// PostGrade reports a grade to Spark. Repeating it is safe: g.IdempotencyKey
// (by default PassbackKey of the completion and graded_at) is sent as the
// Idempotency-Key.
func (c *Client) PostGrade(ctx context.Context, g GradePassback) error {
	if g.SparkUserID == "" || g.SparkAssignmentID == "" || g.OptioTaskCompletionID == "" {
		return errors.New("spark api: post grade: spark_user_id, spark_assignment_id and optio_task_completion_id are required")
	}
	if g.GradedAt.IsZero() {
		return errors.New("spark api: post grade: graded_at is required")
	}
	g.GradedAt = g.GradedAt.UTC()
	body, err := json.Marshal(g)
	if err != nil {
		return fmt.Errorf("spark api: post grade: %w", err)
	}
	return c.doHeader(ctx, http.MethodPost, "/api/grades", nil, body, nil, http.Header{"Idempotency-Key": {cmp.Or(g.IdempotencyKey, PassbackKey(g.OptioTaskCompletionID, g.GradedAt))}})
}

// paginate yields pages from fetch until the cursor is empty, guarding
// against a server that repeats a cursor or never stops.
func paginate[P any](fetch func(cursor string) (*P, string, error)) iter.Seq2[*P, error] {
	return func(yield func(*P, error) bool) {
		cursor := ""
		seen := map[string]bool{}
		for range MaxPages {
			page, next, err := fetch(cursor)
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(page, nil) || next == "" {
				return
			}
			if seen[next] {
				yield(nil, fmt.Errorf("spark api: cursor %q repeated; stopping", next))
				return
			}
			seen[next] = true
			cursor = next
		}
		yield(nil, fmt.Errorf("spark api: more than %d pages; stopping", MaxPages))
	}
}

var defaultHTTP = &http.Client{Timeout: 30 * time.Second}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, body []byte, out any) error {
	return c.doHeader(ctx, method, path, q, body, out, nil)
}

func (c *Client) doHeader(ctx context.Context, method, path string, q url.Values, body []byte, out any, extra http.Header) error {
	retries := cmp.Or(c.MaxRetries, DefaultMaxRetries)
	for attempt := 0; ; attempt++ {
		err := c.once(ctx, method, path, q, body, out, extra)
		var ae *APIError
		if err == nil || attempt >= retries || !errors.As(err, &ae) ||
			(ae.StatusCode != http.StatusTooManyRequests && ae.StatusCode != http.StatusServiceUnavailable) {
			return err
		}
		wait := ae.RetryAfter
		if wait <= 0 {
			wait = time.Second << attempt
		}
		if wait > cmp.Or(c.MaxRetryWait, DefaultMaxRetryWait) {
			return err // Spark asked for longer than Optio waits within one call
		}
		if serr := c.sleep(ctx, wait); serr != nil {
			return err
		}
	}
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// acquire takes one of the MaxConcurrent request slots.
func (c *Client) acquire(ctx context.Context) (func(), error) {
	c.semOnce.Do(func() {
		n := c.MaxConcurrent
		if n <= 0 {
			n = DefaultMaxConcurrent
		}
		c.sem = make(chan struct{}, n)
	})
	select {
	case c.sem <- struct{}{}:
		return func() { <-c.sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *Client) once(ctx context.Context, method, path string, q url.Values, body []byte, out any, extra http.Header) error {
	base, err := url.Parse(c.BaseURL)
	if c.BaseURL == "" || err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return &optio.Error{Code: optio.ENOTCONFIG, Message: "SPARK_API_URL is not set to an http(s) URL."}
	}
	u := strings.TrimRight(c.BaseURL, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("spark api: %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	release, err := c.acquire(ctx)
	if err != nil {
		return fmt.Errorf("spark api: %s %s: %w", method, path, err)
	}
	defer release()
	res, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("spark api: %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	if c.OnStatus != nil {
		c.OnStatus(method, path, res.StatusCode)
	}
	limit := c.MaxResponseBytes
	if limit <= 0 {
		limit = DefaultMaxResponseBytes
	}
	tooLarge := &optio.Error{Code: optio.ETOOLARGE, Message: fmt.Sprintf(
		"spark api: %s %s: the answer is larger than %d bytes (SPARK_API_MAX_RESPONSE_BYTES)", method, path, limit)}
	if res.ContentLength > limit {
		return tooLarge // refused before reading a byte of it
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return fmt.Errorf("spark api: %s %s: read response: %w", method, path, err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return &APIError{
			Method: method, Path: path, StatusCode: res.StatusCode,
			Message:    errorMessage(data),
			RetryAfter: ParseRetryAfter(res.Header.Get("Retry-After"), c.now()),
		}
	}
	if int64(len(data)) > limit {
		return tooLarge
	}
	if out == nil {
		return nil
	}
	if err := decodeJSON(data, out); err != nil {
		return fmt.Errorf("spark api: %s %s: %w", method, path, err)
	}
	return nil
}

func (c *Client) now() time.Time {
	if c.Clock == nil {
		return time.Now()
	}
	return c.Clock.Now()
}

// errorMessage pulls a message out of an error body: {"error":{"message"}},
// {"error":"…"}, {"message":"…"}, or the first 200 bytes of text.
func errorMessage(data []byte) string {
	var e struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(data, &e) == nil {
		var inner struct {
			Message string `json:"message"`
		}
		var s string
		switch {
		case json.Unmarshal(e.Error, &inner) == nil && inner.Message != "":
			return clip(inner.Message)
		case json.Unmarshal(e.Error, &s) == nil && s != "":
			return clip(s)
		case e.Message != "":
			return clip(e.Message)
		}
	}
	return clip(strings.TrimSpace(string(data)))
}

func clip(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return s
}

// ParseRetryAfter reads a Retry-After header as delay-seconds or an HTTP
// date relative to now; zero when absent, unreadable or past. Optio's Spark
// client and the sandbox's webhook sender both honour it.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
