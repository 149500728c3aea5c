package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// TestSparkBackfill: `optio spark backfill` polls Spark's API once and
// queues what it has not seen; a second run queues nothing; --all and
// --since re-read older work in full without duplicating anything.
func TestSparkBackfill(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		var mu sync.Mutex
		var sinces []string // the since of each submissions request
		mux := http.NewServeMux()
		mux.HandleFunc("GET /api/courses", func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewEncoder(w).Encode(map[string]any{"courses": []map[string]any{{"id": "bio", "title": "Biology", "updated_at": time.Now().UTC()}}})
		})
		mux.HandleFunc("GET /api/courses/bio/assignments", func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewEncoder(w).Encode(map[string]any{"assignments": []map[string]any{{"id": "cells", "course_id": "bio", "title": "Cell essay"}}})
		})
		mux.HandleFunc("GET /api/assignments/cells/submissions", func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			sinces = append(sinces, r.URL.Query().Get("since"))
			mu.Unlock()
			_ = json.NewEncoder(w).Encode(map[string]any{"submissions": []map[string]any{{"id": "sub-1", "spark_user_id": "stu-1",
				"spark_assignment_id": "cells", "spark_course_id": "bio", "submission_text": "Mitochondria.", "submitted_at": "2026-03-02T10:00:00Z"}}})
		})
		api := httptest.NewServer(mux)
		t.Cleanup(api.Close)

		env := testEnv(t, d, map[string]string{"SPARK_API_URL": api.URL, "SPARK_API_KEY": "k"})
		out, _, err := runCLI(t, env, "spark", "backfill")
		require.NoError(t, err)
		require.Equal(t, "backfill: 1 courses, 1 assignments, 1 submissions seen, 1 queued, 0 rejected\n", out)
		out, _, err = runCLI(t, env, "spark", "backfill")
		require.NoError(t, err)
		require.Contains(t, out, "1 submissions seen, 0 queued")

		// Full mode: --all reads without since, --since with it; both find
		// the one submission already queued and queue nothing.
		mu.Lock()
		sinces = nil
		mu.Unlock()
		out, _, err = runCLI(t, env, "spark", "backfill", "--all")
		require.NoError(t, err)
		require.Contains(t, out, "1 submissions seen, 0 queued")
		out, _, err = runCLI(t, env, "spark", "backfill", "--since", "2026-03-01T00:00:00Z")
		require.NoError(t, err)
		require.Contains(t, out, "1 submissions seen, 0 queued")
		_, _, err = runCLI(t, env, "spark", "backfill", "--since", "30d")
		require.NoError(t, err)
		mu.Lock()
		require.Len(t, sinces, 3)
		require.Equal(t, []string{"", "2026-03-01T00:00:00Z"}, sinces[:2])
		require.NotEmpty(t, sinces[2])
		mu.Unlock()
		_, _, err = runCLI(t, env, "spark", "backfill", "--since", "last week")
		require.ErrorContains(t, err, "--since")
		_, _, err = runCLI(t, env, "spark", "backfill", "--since", "720h", "--all")
		require.ErrorContains(t, err, "choose one")

		_, _, err = runCLI(t, testEnv(t, d, nil), "spark", "backfill")
		require.ErrorContains(t, err, "SPARK_API_URL")
	})
	_, _, err := runCLI(t, envOf(nil), "backfill")
	require.ErrorContains(t, err, "unknown command", "backfill lives under spark")
}
