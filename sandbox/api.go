package sandbox

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
)

// maxAPIBody caps a JSON request body.
const maxAPIBody = 1 << 20

// apiRoutes registers the Spark API (exactly the contract spark.Client
// documents) and the submission file downloads.
func (s *Sandbox) apiRoutes(mux *http.ServeMux) {
	mux.Handle("GET /api/courses", s.requireKey(s.handleListCourses))
	mux.Handle("GET /api/courses/{id}", s.requireKey(s.handleGetCourse))
	mux.Handle("GET /api/courses/{id}/assignments", s.requireKey(s.handleListAssignments))
	mux.Handle("GET /api/students/{id}/enrollments", s.requireKey(s.handleListEnrollments))
	mux.Handle("GET /api/assignments/{id}/submissions", s.requireKey(s.handleListSubmissions))
	mux.Handle("POST /api/grades", s.requireKey(s.handlePostGrade))
	mux.HandleFunc("GET /files/{id}", s.handleFile)
}

// requireKey answers 401 unless the request carries "Authorization: Bearer <APIKey>".
func (s *Sandbox) requireKey(h http.HandlerFunc) http.Handler {
	want := []byte(s.cfg.APIKey)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, key, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		switch {
		case !ok || !strings.EqualFold(scheme, "Bearer") || key == "":
			w.Header().Set("WWW-Authenticate", `Bearer realm="spark-sandbox"`)
			s.apiError(w, r, optio.Errorf(optio.EUNAUTHORIZED, "Send the API key as Authorization: Bearer <key>."))
		case subtle.ConstantTimeCompare([]byte(strings.TrimSpace(key)), want) != 1:
			w.Header().Set("WWW-Authenticate", `Bearer realm="spark-sandbox", error="invalid_token"`)
			s.apiError(w, r, optio.Errorf(optio.EUNAUTHORIZED, "The API key is not valid."))
		default:
			h(w, r)
		}
	})
}

// apiError writes {"error":{"code","message","fields"}} with the status for
// the error's code; internal errors are logged and not shown.
func (s *Sandbox) apiError(w http.ResponseWriter, r *http.Request, err error) {
	code := optio.ErrorCode(err)
	msg := optio.ErrorMessage(err)
	status := statusFor(code)
	var fields map[string]string
	var oe *optio.Error
	if errors.As(err, &oe) {
		fields = oe.Fields
	}
	if status == http.StatusInternalServerError {
		s.log.Error("sandbox request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "Internal error."
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg, "fields": fields}})
}

// statusFor is the status the fake Spark API answers a code with. It does not
// use web's codeStatus table on purpose: the sandbox stands in for Spark, an
// outside system whose API statuses are Spark's contract (docs/spark), not
// Optio's, and it only ever answers with the general codes below. Sharing the
// table would let a change to Optio's answers silently change the fake Spark
// that Optio's own tests are checked against.
func statusFor(code string) int {
	switch code {
	case optio.EINVALID, optio.EPAYLOAD, optio.EMALFORMED:
		return http.StatusBadRequest
	case optio.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case optio.EFORBIDDEN:
		return http.StatusForbidden
	case optio.ENOTFOUND:
		return http.StatusNotFound
	case optio.ECONFLICT:
		return http.StatusConflict
	case optio.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case optio.EUNSUPPORTED:
		return http.StatusUnsupportedMediaType
	case optio.ERATELIMIT:
		return http.StatusTooManyRequests
	case optio.EUNAVAILABLE, optio.ENOTCONFIG:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		slog.Error("sandbox: encode json", "err", err)
		http.Error(w, `{"error":{"code":"internal","message":"Internal error."}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// page slices n items by an opaque cursor ("o<offset>") into [from, to) and
// the next cursor.
func (s *Sandbox) page(r *http.Request, n int) (from, to int, next string, err error) {
	if c := r.URL.Query().Get("cursor"); c != "" {
		off, perr := strconv.Atoi(strings.TrimPrefix(c, "o"))
		if !strings.HasPrefix(c, "o") || perr != nil || off < 0 || off > n {
			return 0, 0, "", &optio.Error{Code: optio.EINVALID, Message: "The cursor is not one this API gave out.", Fields: map[string]string{"cursor": "unknown cursor"}}
		}
		from = off
	}
	to = min(from+s.cfg.PageSize, n)
	if to < n {
		next = "o" + strconv.Itoa(to)
	}
	return from, to, next, nil
}

type apiCourse struct {
	ID          string    `json:"id"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func (s *Sandbox) handleListCourses(w http.ResponseWriter, r *http.Request) {
	from, to, next, err := s.page(r, len(s.courses))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	out := []apiCourse{}
	for _, c := range s.courses[from:to] {
		out = append(out, apiCourse{ID: c.ID, Title: c.Title, Description: c.Description, UpdatedAt: s.seededAt()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"courses": out, "next_cursor": next})
}

func (s *Sandbox) handleGetCourse(w http.ResponseWriter, r *http.Request) {
	c := s.courseByID[r.PathValue("id")]
	if c == nil {
		s.apiError(w, r, notFound("course", r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, apiCourse{ID: c.ID, Title: c.Title, Description: c.Description, UpdatedAt: s.seededAt()})
}

// seededAt is when the catalogue was last changed: the start of the sandbox's first day.
func (s *Sandbox) seededAt() time.Time {
	return s.courses[0].Assignments[0].DueAt.Truncate(24 * time.Hour)
}

type apiAssignment struct {
	ID          string  `json:"id"`
	CourseID    string  `json:"course_id"`
	Title       string  `json:"title"`
	Description string  `json:"description"`
	DueDate     string  `json:"due_date"`
	MaxPoints   float64 `json:"max_points"`
}

func (s *Sandbox) handleListAssignments(w http.ResponseWriter, r *http.Request) {
	c := s.courseByID[r.PathValue("id")]
	if c == nil {
		s.apiError(w, r, notFound("course", r.PathValue("id")))
		return
	}
	from, to, next, err := s.page(r, len(c.Assignments))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	out := []apiAssignment{}
	for _, a := range c.Assignments[from:to] {
		out = append(out, apiAssignment{ID: a.ID, CourseID: a.CourseID, Title: a.Title, Description: a.Description,
			DueDate: a.DueAt.UTC().Format(time.RFC3339), MaxPoints: a.MaxPoints})
	}
	writeJSON(w, http.StatusOK, map[string]any{"assignments": out, "next_cursor": next})
}

type apiEnrollment struct {
	CourseID  string    `json:"course_id"`
	Status    string    `json:"status"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (s *Sandbox) handleListEnrollments(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.userByID[id]; u == nil || u.Role != RoleStudent {
		s.apiError(w, r, notFound("student", id))
		return
	}
	out := []apiEnrollment{}
	for _, c := range s.courses {
		if e := s.enrollments[id][c.ID]; e != nil {
			out = append(out, apiEnrollment{CourseID: c.ID, Status: e.Status, UpdatedAt: e.UpdatedAt.UTC()})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"enrollments": out})
}

func (s *Sandbox) handleListSubmissions(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if s.assignByID[id] == nil {
		s.apiError(w, r, notFound("assignment", id))
		return
	}
	var since, updatedSince time.Time
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &since}, {"updated_since", &updatedSince}} {
		if v := r.URL.Query().Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				s.apiError(w, r, &optio.Error{Code: optio.EINVALID, Message: "The " + p.name + " parameter is invalid.", Fields: map[string]string{p.name: "must be an RFC 3339 time"}})
				return
			}
			*p.dst = t
		}
	}
	s.mu.Lock()
	var match []*SubmissionRecord
	for _, rec := range s.submissions { // already in the order they appeared
		// updated_since, when given, replaces since: what appeared or
		// changed since then, whatever its submitted_at.
		if rec.AssignmentID == id && ((updatedSince.IsZero() && !rec.SubmittedAt.Before(since)) ||
			(!updatedSince.IsZero() && !rec.UpdatedAt.Before(updatedSince))) {
			match = append(match, rec)
		}
	}
	s.mu.Unlock()
	from, to, next, err := s.page(r, len(match))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	out := []spark.RemoteSubmission{}
	for _, rec := range match[from:to] {
		upd := rec.UpdatedAt.UTC()
		out = append(out, spark.RemoteSubmission{ID: rec.ID, Submission: submissionPayload(rec), UpdatedAt: &upd})
	}
	writeJSON(w, http.StatusOK, map[string]any{"submissions": out, "next_cursor": next})
}

func (s *Sandbox) handlePostGrade(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	var g spark.GradePassback
	if err := json.Unmarshal(body, &g); err != nil {
		s.apiError(w, r, optio.Errorf(optio.EMALFORMED, "The body is not a JSON grade: %v.", err))
		return
	}
	fe := optio.FieldErrors{}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch u := s.userByID[g.SparkUserID]; {
	case g.SparkUserID == "":
		fe.Add("spark_user_id", "required")
	case u == nil || u.Role != RoleStudent:
		fe.Add("spark_user_id", "no such student")
	}
	switch {
	case g.SparkAssignmentID == "":
		fe.Add("spark_assignment_id", "required")
	case s.assignByID[g.SparkAssignmentID] == nil:
		fe.Add("spark_assignment_id", "no such assignment")
	}
	if g.OptioTaskCompletionID == "" {
		fe.Add("optio_task_completion_id", "required")
	}
	if g.GradedAt.IsZero() {
		fe.Add("graded_at", "required")
	}
	if strings.TrimSpace(g.Grade) == "" || len(g.Grade) > 64 {
		fe.Add("grade", "required, at most 64 characters")
	}
	if err := fe.Err(optio.EINVALID, "The grade is invalid."); err != nil {
		s.apiError(w, r, err)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		key = spark.PassbackKey(g.OptioTaskCompletionID, g.GradedAt)
	}
	if prev := s.gradeByKey[key]; prev != nil {
		writeJSON(w, http.StatusOK, map[string]any{"status": "duplicate", "grade": gradeJSON(prev)})
		return
	}
	rec := &Grade{SparkUserID: g.SparkUserID, SparkAssignmentID: g.SparkAssignmentID, Grade: g.Grade,
		OptioTaskCompletionID: g.OptioTaskCompletionID, GradedAt: g.GradedAt.UTC(), ReceivedAt: s.clock.Now()}
	s.grades = append(s.grades, rec)
	s.gradeByKey[key] = rec
	writeJSON(w, http.StatusCreated, map[string]any{"status": "recorded", "grade": gradeJSON(rec)})
}

func gradeJSON(g *Grade) spark.GradePassback {
	return spark.GradePassback{SparkUserID: g.SparkUserID, SparkAssignmentID: g.SparkAssignmentID, Grade: g.Grade,
		OptioTaskCompletionID: g.OptioTaskCompletionID, GradedAt: g.GradedAt}
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, maxAPIBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, optio.Errorf(optio.ETOOLARGE, "The body is larger than %d bytes.", maxAPIBody)
	}
	if err != nil {
		return nil, optio.Errorf(optio.EMALFORMED, "The body could not be read.")
	}
	return buf.Bytes(), nil
}

// handleFile serves a submission file with its declared type and length;
// ranges and conditional requests work through http.ServeContent.
func (s *Sandbox) handleFile(w http.ResponseWriter, r *http.Request) {
	if s.filesAreDown(w) {
		return
	}
	s.mu.Lock()
	f := s.files[r.PathValue("id")]
	s.mu.Unlock()
	if f == nil {
		s.apiError(w, r, notFound("file", r.PathValue("id")))
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": f.name}))
	http.ServeContent(w, r, f.name, f.modTime, bytes.NewReader(f.data))
}
