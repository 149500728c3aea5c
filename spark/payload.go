package spark

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/optio-edu/optio"
)

// Payload limits. Bodies are capped by the web layer (SPARK_WEBHOOK_MAX_BYTES);
// these bound the work one payload can cause.
const (
	MaxSubmissionFiles   = 50
	MaxCourseAssignments = 500
	maxTitleRunes        = 500
	maxDescriptionRunes  = 50_000
	maxSubmissionText    = 1 << 20
	maxGradeLen          = 64
	maxTypeLen           = 255
)

// Submission is a student's work on a Spark assignment, from the submission
// webhook or the polling API. It becomes a task completion with evidence.
type Submission struct {
	SparkUserID       string           `json:"spark_user_id"`
	SparkAssignmentID string           `json:"spark_assignment_id"`
	SparkCourseID     string           `json:"spark_course_id"`
	Files             []SubmissionFile `json:"submission_files,omitempty"`
	Text              string           `json:"submission_text,omitempty"`
	// SubmittedAt is when the student submitted; zero when Spark left it
	// out (the receiver then uses the webhook's timestamp or its arrival).
	SubmittedAt time.Time `json:"submitted_at"`
	// Grade is Spark's grade as text ("A-", "92.5"); a JSON number keeps its literal form.
	Grade *string `json:"grade,omitempty"`
}

// SubmissionFile is one file of a submission: either a URL Optio downloads
// or inline content in standard base64, never both. Type is only a hint:
// a type Optio does not know never refuses the submission; the sync decides
// from the file's bytes.
type SubmissionFile struct {
	URL           string `json:"url,omitempty"`
	Type          string `json:"type,omitempty"` // MIME type, extension word or short kind; see ResolveFileType
	Filename      string `json:"filename"`
	ContentBase64 string `json:"content_base64,omitempty"`
}

// Inline reports whether the file's bytes are in the payload.
func (f SubmissionFile) Inline() bool { return f.ContentBase64 != "" }

// Open streams the decoded inline content, so a large file is never held
// twice; it is only meaningful when Inline is true. Padding is optional and
// line breaks are ignored, as the decoder validated.
func (f SubmissionFile) Open() io.Reader {
	return base64.NewDecoder(base64.RawStdEncoding, strings.NewReader(strings.TrimRight(f.ContentBase64, "=\r\n")))
}

// ContentType is the canonical content type for the declared type.
func (f SubmissionFile) ContentType() string {
	ct, _, _ := ResolveFileType(f.Type, f.Filename)
	return ct
}

// BlockType is the evidence block the file becomes.
func (f SubmissionFile) BlockType() optio.BlockType {
	_, b, _ := ResolveFileType(f.Type, f.Filename)
	return b
}

type submissionWire struct {
	SparkUserID       string           `json:"spark_user_id"`
	SparkAssignmentID string           `json:"spark_assignment_id"`
	SparkCourseID     string           `json:"spark_course_id"`
	Files             []SubmissionFile `json:"submission_files"`
	Text              string           `json:"submission_text"`
	SubmittedAt       string           `json:"submitted_at"`
	Grade             json.RawMessage  `json:"grade"`
}

// DecodeSubmission parses and validates a submission webhook body. Bad JSON
// is an *optio.Error with code optio.EMALFORMED; failed validation is one
// with optio.EPAYLOAD whose Fields name every bad field
// ("submission_files[1].url").
func DecodeSubmission(body []byte) (*Submission, error) {
	var w submissionWire
	if err := decodeJSON(body, &w); err != nil {
		return nil, err
	}
	return w.validate("")
}

func (w *submissionWire) validate(prefix string) (*Submission, error) {
	c := newFieldChecker()
	c.id(prefix+"spark_user_id", w.SparkUserID)
	c.id(prefix+"spark_assignment_id", w.SparkAssignmentID)
	c.id(prefix+"spark_course_id", w.SparkCourseID)
	s := &Submission{
		SparkUserID:       w.SparkUserID,
		SparkAssignmentID: w.SparkAssignmentID,
		SparkCourseID:     w.SparkCourseID,
		Files:             w.Files,
		Text:              w.Text,
		SubmittedAt:       c.optionalTime(prefix+"submitted_at", w.SubmittedAt),
	}
	if len(w.Text) > maxSubmissionText {
		c.f.Add(prefix+"submission_text", fmt.Sprintf("must be at most %d bytes", maxSubmissionText))
	} else {
		c.text(prefix+"submission_text", w.Text, maxSubmissionText)
	}
	files := w.Files
	if len(files) > MaxSubmissionFiles {
		c.f.Add(prefix+"submission_files", fmt.Sprintf("at most %d files", MaxSubmissionFiles))
		files = files[:MaxSubmissionFiles]
	}
	for i, f := range files {
		checkFile(c, fmt.Sprintf("%ssubmission_files[%d]", prefix, i), f)
	}
	s.Grade = decodeGrade(c, prefix+"grade", w.Grade)
	if err := c.err("submission"); err != nil {
		return nil, err
	}
	return s, nil
}

func checkFile(c *fieldChecker, key string, f SubmissionFile) {
	if p := filenameProblem(f.Filename); p != "" {
		c.f.Add(key+".filename", p)
	}
	// type is a hint: a file Optio does not accept becomes a "could not
	// import" entry when synced, never a refused submission.
	if len(f.Type) > maxTypeLen || hasControl(f.Type) {
		c.f.Add(key+".type", fmt.Sprintf("must be at most %d printable characters", maxTypeLen))
	}
	switch {
	case f.URL != "" && f.ContentBase64 != "":
		c.f.Add(key, "give url or content_base64, not both")
	case f.URL != "":
		c.httpURL(key+".url", f.URL)
	case f.ContentBase64 != "":
		n, err := io.Copy(io.Discard, f.Open())
		switch {
		case err != nil:
			c.f.Add(key+".content_base64", "must be standard base64")
		case n == 0:
			c.f.Add(key+".content_base64", "must not be empty")
		}
	default:
		c.f.Add(key, "needs url or content_base64")
	}
}

// decodeGrade accepts a JSON string or number (kept as its literal text).
func decodeGrade(c *fieldChecker, key string, raw json.RawMessage) *string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var g string
	switch raw[0] {
	case '"':
		if err := json.Unmarshal(raw, &g); err != nil {
			c.f.Add(key, "must be a number or a string")
			return nil
		}
		g = strings.TrimSpace(g)
		if g == "" {
			return nil
		}
	default:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			c.f.Add(key, "must be a number or a string")
			return nil
		}
		g = n.String()
	}
	if len(g) > maxGradeLen || hasControl(g) {
		c.f.Add(key, fmt.Sprintf("must be at most %d printable characters", maxGradeLen))
		return nil
	}
	return &g
}

// RosterAction is what happened to a student's place in a course.
type RosterAction string

// Roster actions Spark sends.
const (
	RosterEnroll   RosterAction = "enroll"
	RosterDrop     RosterAction = "drop"
	RosterComplete RosterAction = "complete"
)

// Roster is one enrolment change from the roster webhook: it creates the
// (possibly provisional) student and their quest enrolment, or ends it.
type Roster struct {
	SparkUserID   string       `json:"spark_user_id"`
	SparkCourseID string       `json:"spark_course_id"`
	Action        RosterAction `json:"action"`
	Email         string       `json:"email,omitempty"`
	GivenName     string       `json:"given_name,omitempty"`
	FamilyName    string       `json:"family_name,omitempty"`
	// OccurredAt orders events of one student and course; zero when Spark
	// left it out (the receiver then uses the webhook's timestamp).
	OccurredAt time.Time `json:"occurred_at,omitzero"`
}

type rosterWire struct {
	SparkUserID   string `json:"spark_user_id"`
	SparkCourseID string `json:"spark_course_id"`
	Action        string `json:"action"`
	Email         string `json:"email"`
	GivenName     string `json:"given_name"`
	FamilyName    string `json:"family_name"`
	OccurredAt    string `json:"occurred_at"`
}

// DecodeRoster parses and validates a roster webhook body; errors as for
// DecodeSubmission.
func DecodeRoster(body []byte) (*Roster, error) {
	var w rosterWire
	if err := decodeJSON(body, &w); err != nil {
		return nil, err
	}
	c := newFieldChecker()
	c.id("spark_user_id", w.SparkUserID)
	c.id("spark_course_id", w.SparkCourseID)
	switch RosterAction(w.Action) {
	case RosterEnroll, RosterDrop, RosterComplete:
	case "":
		c.f.Add("action", "required")
	default:
		c.f.Add("action", "must be enroll, drop or complete")
	}
	if w.Email != "" && !validEmail(w.Email) {
		c.f.Add("email", "must be an email address")
	}
	for _, n := range []struct{ key, v string }{{"given_name", w.GivenName}, {"family_name", w.FamilyName}} {
		if hasControl(n.v) {
			c.f.Add(n.key, "must not contain control characters")
		} else {
			c.text(n.key, n.v, maxNameLen)
		}
	}
	r := &Roster{
		SparkUserID:   w.SparkUserID,
		SparkCourseID: w.SparkCourseID,
		Action:        RosterAction(w.Action),
		Email:         w.Email,
		GivenName:     strings.TrimSpace(w.GivenName),
		FamilyName:    strings.TrimSpace(w.FamilyName),
		OccurredAt:    c.optionalTime("occurred_at", w.OccurredAt),
	}
	if err := c.err("roster"); err != nil {
		return nil, err
	}
	return r, nil
}

// Course is a Spark course with its assignments, from the course webhook:
// it becomes (or updates) a quest whose tasks are the assignments.
type Course struct {
	SparkCourseID string `json:"spark_course_id"`
	Title         string `json:"course_title"`
	Description   string `json:"course_description,omitempty"`
	// Pillar, when Spark sends one, is the pillar of the course's tasks
	// (stem, wellness, communication, civics or art); empty lets Optio
	// guess it from the title (optio.SparkCoursePillar).
	Pillar      optio.Pillar `json:"pillar,omitempty"`
	Assignments []Assignment `json:"assignments,omitempty"`
}

// Assignment is one assignment of a Course; it becomes a quest task.
type Assignment struct {
	SparkAssignmentID string `json:"spark_assignment_id"`
	Title             string `json:"title"`
	Description       string `json:"description,omitempty"`
	// DueAt is the deadline in UTC. A date-only due_date means the end of
	// that day, 23:59:59 UTC, and sets DueDateOnly.
	DueAt       *time.Time `json:"due_date,omitempty"`
	DueDateOnly bool       `json:"-"`
	MaxPoints   *float64   `json:"max_points,omitempty"`
}

type courseWire struct {
	SparkCourseID string           `json:"spark_course_id"`
	Title         string           `json:"course_title"`
	Description   string           `json:"course_description"`
	Pillar        string           `json:"pillar"`
	Assignments   []assignmentWire `json:"assignments"`
}

type assignmentWire struct {
	SparkAssignmentID string          `json:"spark_assignment_id"`
	Title             string          `json:"title"`
	Description       string          `json:"description"`
	DueDate           string          `json:"due_date"`
	MaxPoints         json.RawMessage `json:"max_points"`
}

// DecodeCourse parses and validates a course webhook body; errors as for
// DecodeSubmission. Assignment ids must be unique within the payload.
func DecodeCourse(body []byte) (*Course, error) {
	var w courseWire
	if err := decodeJSON(body, &w); err != nil {
		return nil, err
	}
	c := newFieldChecker()
	c.id("spark_course_id", w.SparkCourseID)
	c.requiredText("course_title", w.Title, maxTitleRunes)
	c.text("course_description", w.Description, maxDescriptionRunes)
	co := &Course{SparkCourseID: w.SparkCourseID, Title: strings.TrimSpace(w.Title), Description: w.Description,
		Pillar: optio.Pillar(strings.ToLower(strings.TrimSpace(w.Pillar)))}
	if co.Pillar != "" && !co.Pillar.Valid() {
		c.f.Add("pillar", "must be stem, wellness, communication, civics or art")
	}
	as := w.Assignments
	if len(as) > MaxCourseAssignments {
		c.f.Add("assignments", fmt.Sprintf("at most %d assignments", MaxCourseAssignments))
		as = as[:MaxCourseAssignments]
	}
	seen := make(map[string]int, len(as))
	for i, a := range as {
		key := fmt.Sprintf("assignments[%d]", i)
		c.id(key+".spark_assignment_id", a.SparkAssignmentID)
		if j, dup := seen[a.SparkAssignmentID]; dup && a.SparkAssignmentID != "" {
			c.f.Add(key+".spark_assignment_id", fmt.Sprintf("duplicates assignments[%d]", j))
		} else {
			seen[a.SparkAssignmentID] = i
		}
		c.requiredText(key+".title", a.Title, maxTitleRunes)
		c.text(key+".description", a.Description, maxDescriptionRunes)
		out := Assignment{SparkAssignmentID: a.SparkAssignmentID, Title: strings.TrimSpace(a.Title), Description: a.Description}
		out.DueAt, out.DueDateOnly = decodeDueDate(c, key+".due_date", a.DueDate)
		out.MaxPoints = decodeMaxPoints(c, key+".max_points", a.MaxPoints)
		co.Assignments = append(co.Assignments, out)
	}
	if err := c.err("course"); err != nil {
		return nil, err
	}
	return co, nil
}

// decodeDueDate accepts RFC 3339 or YYYY-MM-DD (end of that day, UTC).
func decodeDueDate(c *fieldChecker, key, v string) (*time.Time, bool) {
	if v == "" {
		return nil, false
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil && saneYear(t) {
		t = t.UTC()
		return &t, false
	}
	if d, err := time.Parse(time.DateOnly, v); err == nil && saneYear(d) {
		t := d.Add(24*time.Hour - time.Second)
		return &t, true
	}
	c.f.Add(key, "must be an RFC 3339 time or a YYYY-MM-DD date")
	return nil, false
}

// decodeMaxPoints accepts a finite JSON number ≥ 0.
func decodeMaxPoints(c *fieldChecker, key string, raw json.RawMessage) *float64 {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var n json.Number
	if raw[0] == '"' || json.Unmarshal(raw, &n) != nil {
		c.f.Add(key, "must be a number ≥ 0")
		return nil
	}
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		c.f.Add(key, "must be a number ≥ 0")
		return nil
	}
	return &f
}
