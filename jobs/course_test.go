package jobs_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/jobs"
	"github.com/optio-edu/optio/spark"
)

// FetchSparkCourse reads a course as a course webhook would carry it; Spark
// failing is retryable, a course Spark does not have is not found, and a
// garbage answer is neither retried nor half-applied.
func TestFetchSparkCourse(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/courses/bio":
			_, _ = io.WriteString(w, `{"id":"bio","title":" Biology ","description":"Cells.","updated_at":"2025-03-01T00:00:00Z"}`)
		case "/api/courses/bio/assignments":
			_, _ = io.WriteString(w, `{"assignments":[{"id":"cells","course_id":"bio","title":"Cells essay","max_points":40},{"id":"lab","course_id":"bio","title":"Lab","due_date":"2025-03-10"}]}`)
		case "/api/courses/down":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/api/courses/junk":
			_, _ = io.WriteString(w, `<html>`)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"code":"not_found","message":"No such course."}}`)
		}
	}))
	t.Cleanup(srv.Close)
	c := &spark.Client{BaseURL: srv.URL, APIKey: "k"}
	ctx := context.Background()

	ev, err := jobs.FetchSparkCourse(ctx, c, "bio")
	require.NoError(t, err)
	require.Equal(t, "Biology", ev.Title)
	require.Len(t, ev.Assignments, 2)
	require.Equal(t, 40.0, *ev.Assignments[0].MaxPoints)
	require.NotNil(t, ev.Assignments[1].DueAt)

	_, err = jobs.FetchSparkCourse(ctx, c, "gone")
	require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err))
	_, err = jobs.FetchSparkCourse(ctx, c, "down")
	require.True(t, spark.IsRetryable(err), "%v", err)
	_, err = jobs.FetchSparkCourse(ctx, c, "junk")
	require.Error(t, err)
	require.False(t, spark.IsRetryable(err))
}
