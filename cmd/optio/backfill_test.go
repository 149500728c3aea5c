package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// TestSparkBackfill: `optio spark backfill` polls Spark's API once and
// queues what it has not seen; a second run queues nothing.
func TestSparkBackfill(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/courses", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"courses": []map[string]any{{"id": "bio", "title": "Biology", "updated_at": time.Now().UTC()}}})
	})
	mux.HandleFunc("GET /api/courses/bio/assignments", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"assignments": []map[string]any{{"id": "cells", "course_id": "bio", "title": "Cell essay"}}})
	})
	mux.HandleFunc("GET /api/assignments/cells/submissions", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"submissions": []map[string]any{{"id": "sub-1", "spark_user_id": "stu-1",
			"spark_assignment_id": "cells", "spark_course_id": "bio", "submission_text": "Mitochondria.", "submitted_at": "2026-03-02T10:00:00Z"}}})
	})
	api := httptest.NewServer(mux)
	t.Cleanup(api.Close)

	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		env := testEnv(t, d, map[string]string{"SPARK_API_URL": api.URL, "SPARK_API_KEY": "k"})
		out, _, err := runCLI(t, env, "spark", "backfill")
		require.NoError(t, err)
		require.Equal(t, "backfill: 1 courses, 1 assignments, 1 submissions seen, 1 queued, 0 rejected\n", out)
		out, _, err = runCLI(t, env, "spark", "backfill")
		require.NoError(t, err)
		require.Contains(t, out, "1 submissions seen, 0 queued")

		_, _, err = runCLI(t, testEnv(t, d, nil), "spark", "backfill")
		require.ErrorContains(t, err, "SPARK_API_URL")
	})
	_, _, err := runCLI(t, envOf(nil), "backfill")
	require.ErrorContains(t, err, "unknown command", "backfill lives under spark")
}
