package spark_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
)

const apiKey = "spark-api-key-123"

// fakeSpark is a minimal Spark API for client tests.
type fakeSpark struct {
	*httptest.Server
	mu     sync.Mutex
	grades []map[string]any
	idem   []string
}

func newFakeSpark(t *testing.T) (*fakeSpark, *spark.Client) {
	t.Helper()
	f := &fakeSpark{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /lms/api/courses", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("cursor") {
		case "":
			writeJSON(w, `{"courses":[{"id":"c1","title":"Biology","description":"Cells","updated_at":"2025-03-01T10:00:00Z"}],"next_cursor":"p2"}`)
		case "p2":
			writeJSON(w, `{"courses":[{"id":"c2","title":"Art","updated_at":"2025-03-02T10:00:00Z"}],"next_cursor":""}`)
		default:
			http.Error(w, `{"error":{"message":"bad cursor"}}`, http.StatusBadRequest)
		}
	})
	mux.HandleFunc("GET /lms/api/courses/{id}/assignments", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "c 1/x" {
			http.Error(w, `{"error":"no such course"}`, http.StatusNotFound)
			return
		}
		writeJSON(w, `{"assignments":[{"id":"a1","course_id":"c 1/x","title":"Lab","due_date":"2025-03-10","max_points":10},
		  {"id":"a2","course_id":"c 1/x","title":"Quiz","due_date":"2025-03-11T12:00:00Z"}]}`)
	})
	mux.HandleFunc("GET /lms/api/students/{id}/enrollments", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, `{"enrollments":[{"course_id":"c1","status":"active","updated_at":"2025-03-01T10:00:00Z"}]}`)
	})
	mux.HandleFunc("GET /lms/api/assignments/{id}/submissions", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("since") != "2025-03-01T00:00:00Z" {
			http.Error(w, "since missing", http.StatusBadRequest)
			return
		}
		sub := func(id, user string) string {
			return fmt.Sprintf(`{"id":%q,"spark_user_id":%q,"spark_assignment_id":"a1","spark_course_id":"c1",
			  "submitted_at":"2025-03-02T10:00:00Z","submission_files":[{"url":"https://f.example/x.pdf","type":"pdf","filename":"x.pdf"}]}`, id, user)
		}
		switch r.URL.Query().Get("cursor") {
		case "":
			writeJSON(w, `{"submissions":[`+sub("s1", "u1")+`,`+sub("s2", "")+`],"next_cursor":"n2"}`)
		case "n2":
			writeJSON(w, `{"submissions":[`+sub("s3", "u3")+`]}`)
		}
	})
	mux.HandleFunc("POST /lms/api/grades", func(w http.ResponseWriter, r *http.Request) {
		var g map[string]any
		if err := json.NewDecoder(r.Body).Decode(&g); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		f.mu.Lock()
		f.grades = append(f.grades, g)
		f.idem = append(f.idem, r.Header.Get("Idempotency-Key"))
		f.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	})
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+apiKey {
			http.Error(w, `{"error":{"code":"unauthorized","message":"bad API key"}}`, http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f, &spark.Client{BaseURL: f.URL + "/lms/", APIKey: apiKey, HTTP: f.Client()}
}

func writeJSON(w http.ResponseWriter, s string) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, s)
}

func TestClientCoursesPaging(t *testing.T) {
	t.Parallel()
	_, c := newFakeSpark(t)
	var ids []string
	for co, err := range c.Courses(t.Context()) {
		require.NoError(t, err)
		ids = append(ids, co.ID)
	}
	require.Equal(t, []string{"c1", "c2"}, ids)

	page, err := c.ListCourses(t.Context(), "")
	require.NoError(t, err)
	require.Equal(t, "p2", page.NextCursor)
	require.Equal(t, time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC), page.Courses[0].UpdatedAt)

	_, err = c.ListCourses(t.Context(), "bogus")
	var ae *spark.APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, http.StatusBadRequest, ae.StatusCode)
	require.Contains(t, err.Error(), "400")
	require.Contains(t, err.Error(), "bad cursor")
	require.False(t, spark.IsRetryable(err))
}

func TestClientAssignmentsAndEnrollments(t *testing.T) {
	t.Parallel()
	_, c := newFakeSpark(t)
	as, err := c.ListAssignments(t.Context(), "c 1/x")
	require.NoError(t, err)
	require.Len(t, as, 2)
	require.True(t, as[0].DueDateOnly)
	require.Equal(t, time.Date(2025, 3, 10, 23, 59, 59, 0, time.UTC), *as[0].DueAt)
	require.Equal(t, 10.0, *as[0].MaxPoints)
	require.Nil(t, as[1].MaxPoints)

	_, err = c.ListAssignments(t.Context(), "missing")
	var ae *spark.APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, 404, ae.StatusCode)
	require.Contains(t, err.Error(), "no such course")

	es, err := c.ListEnrollments(t.Context(), "stu_1")
	require.NoError(t, err)
	require.Equal(t, []spark.RemoteEnrollment{{CourseID: "c1", Status: "active", UpdatedAt: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}}, es)
}

func TestClientSubmissions(t *testing.T) {
	t.Parallel()
	_, c := newFakeSpark(t)
	since := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	var got, rejected []string
	for s, err := range c.Submissions(t.Context(), "a1", since) {
		if err != nil {
			require.Equal(t, optio.EPAYLOAD, optio.ErrorCode(err))
			rejected = append(rejected, s.ID)
			continue
		}
		got = append(got, s.ID+":"+s.SparkUserID)
		require.Equal(t, "application/pdf", s.Files[0].ContentType())
	}
	require.Equal(t, []string{"s1:u1", "s3:u3"}, got)
	require.Equal(t, []string{"s2"}, rejected)
}

func TestClientPostGrade(t *testing.T) {
	t.Parallel()
	f, c := newFakeSpark(t)
	g := spark.GradePassback{SparkUserID: "u1", SparkAssignmentID: "a1", Grade: "A", OptioTaskCompletionID: "tc-1",
		GradedAt: time.Date(2025, 3, 3, 10, 0, 0, 0, time.FixedZone("x", 3600))}
	require.NoError(t, c.PostGrade(t.Context(), g))
	require.Equal(t, []map[string]any{{
		"spark_user_id": "u1", "spark_assignment_id": "a1", "grade": "A",
		"optio_task_completion_id": "tc-1", "graded_at": "2025-03-03T09:00:00Z",
	}}, f.grades)
	require.Equal(t, []string{"tc-1@2025-03-03T09:00:00Z"}, f.idem, "one key per grade revision")
	// A numeric grade is a JSON number; it reads back as the same text.
	g.Grade, g.GradedAt = "87.5", g.GradedAt.Add(time.Minute)
	require.NoError(t, c.PostGrade(t.Context(), g))
	require.Equal(t, 87.5, f.grades[1]["grade"])
	require.Equal(t, "tc-1@2025-03-03T09:01:00Z", f.idem[1])
	for _, grade := range []string{"92", "-3", "0.25"} {
		raw, err := json.Marshal(spark.GradePassback{Grade: grade})
		require.NoError(t, err)
		require.Contains(t, string(raw), `"grade":`+grade)
		var back spark.GradePassback
		require.NoError(t, json.Unmarshal(raw, &back))
		require.Equal(t, grade, back.Grade)
	}
	for _, grade := range []string{"A-", "07", "1e3", "+5", "92 ", "NaN"} {
		raw, err := json.Marshal(spark.GradePassback{Grade: grade})
		require.NoError(t, err)
		require.Contains(t, string(raw), `"grade":"`, grade)
	}
	require.Error(t, c.PostGrade(t.Context(), spark.GradePassback{SparkUserID: "u1"}))
}

func TestClientErrors(t *testing.T) {
	t.Parallel()
	_, c := newFakeSpark(t)

	bad := &spark.Client{BaseURL: c.BaseURL, HTTP: c.HTTP, APIKey: "wrong"}
	_, err := bad.ListCourses(t.Context(), "")
	var ae *spark.APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, 401, ae.StatusCode)
	require.Equal(t, "bad API key", ae.Message)
	require.NotContains(t, err.Error(), "wrong")
	require.False(t, spark.IsRetryable(err))

	_, err = (&spark.Client{}).ListCourses(t.Context(), "")
	requireCode(t, err, optio.ENOTCONFIG)

	status := func(code int, retryAfter string) *spark.Client {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			http.Error(w, "busy", code)
		}))
		t.Cleanup(srv.Close)
		return &spark.Client{BaseURL: srv.URL, HTTP: srv.Client(), MaxRetries: -1}
	}
	for code, retry := range map[int]bool{429: true, 500: true, 502: true, 503: true, 408: true, 400: false, 403: false, 404: false, 409: false, 422: false} {
		_, err := status(code, "").ListCourses(t.Context(), "")
		require.Equal(t, retry, spark.IsRetryable(err), "%d", code)
	}
	_, err = status(429, "7").ListCourses(t.Context(), "")
	require.ErrorAs(t, err, &ae)
	require.Equal(t, 7*time.Second, ae.RetryAfter)

	// Network failure: retryable. Cancelled context: not.
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	_, err = (&spark.Client{BaseURL: down.URL}).ListCourses(t.Context(), "")
	require.Error(t, err)
	require.True(t, spark.IsRetryable(err), "%v", err)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = c.ListCourses(ctx, "")
	require.Error(t, err)
	require.False(t, spark.IsRetryable(err))
	require.False(t, spark.IsRetryable(nil))
	require.False(t, spark.IsRetryable(errors.New("other")))
}

func TestClientStopsOnRepeatedCursor(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, `{"courses":[{"id":"c"}],"next_cursor":"same"}`)
	}))
	t.Cleanup(srv.Close)
	c := &spark.Client{BaseURL: srv.URL, HTTP: srv.Client()}
	n := 0
	var last error
	for _, err := range c.Courses(t.Context()) {
		if err != nil {
			last = err
			break
		}
		n++
	}
	require.Equal(t, 2, n)
	require.ErrorContains(t, last, "repeated")
}

func TestClientRejectsMalformedResponse(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, `{"courses": "nope"}`)
	}))
	t.Cleanup(srv.Close)
	_, err := (&spark.Client{BaseURL: srv.URL, HTTP: srv.Client()}).ListCourses(t.Context(), "")
	requireCode(t, err, optio.EMALFORMED)
	require.False(t, spark.IsRetryable(err))
}
