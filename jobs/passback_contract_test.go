package jobs_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/jobs"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// docSpark is a Spark written from docs/spark/API_SPECIFICATION.md alone:
// it checks POST /api/grades to the letter and de-duplicates on
// Idempotency-Key, answering 201 for a new key and 200 for a repeat. It
// loses its first answer (records the grade, then answers 503), as a
// network would, so Optio has to retry.
type docSpark struct {
	t        *testing.T
	mu       sync.Mutex
	byKey    map[string]map[string]json.RawMessage
	keys     []string
	answered int
}

func (d *docSpark) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/api/grades" || r.Header.Get("Authorization") != "Bearer k3y" ||
		r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, `{"error":{"code":"invalid","message":"not as documented"}}`, http.StatusBadRequest)
		return
	}
	var body map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var id, gradedAt string
	require.NoError(d.t, json.Unmarshal(body["optio_task_completion_id"], &id))
	require.NoError(d.t, json.Unmarshal(body["graded_at"], &gradedAt))
	at, err := time.Parse(time.RFC3339Nano, gradedAt)
	require.NoError(d.t, err, "graded_at is RFC 3339")
	require.True(d.t, strings.HasSuffix(gradedAt, "Z") && at.Location() == time.UTC, "graded_at is UTC: %s", gradedAt)
	key := r.Header.Get("Idempotency-Key")
	require.Equal(d.t, id+"@"+gradedAt, key, "the documented Idempotency-Key")
	d.answered++
	if _, dup := d.byKey[key]; dup {
		w.WriteHeader(http.StatusOK)
		return
	}
	d.byKey[key] = body
	d.keys = append(d.keys, key)
	if d.answered == 1 {
		http.Error(w, "lost answer", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

func (d *docSpark) posts() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.answered
}

func (d *docSpark) grades() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, k := range d.keys {
		out = append(out, string(d.byKey[k]["grade"]))
	}
	return out
}

// TestGradePassbackContract: against a Spark that follows the document
// literally, a numeric grade arrives as a JSON number and a letter grade as
// a string, graded_at is an RFC 3339 UTC time, the Idempotency-Key is
// "<completion id>@<graded_at>": a retry is de-duplicated and every regrade
// (back to an earlier grade too) is recorded.
func TestGradePassbackContract(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		spark := &docSpark{t: t, byKey: map[string]map[string]json.RawMessage{}}
		api := httptest.NewServer(spark)
		t.Cleanup(api.Close)
		b := setup(t, db)
		mustSparkTask(t, db, "spark-math", "spark-math-quiz", 100)
		b.cfg.SparkAPIURL, b.cfg.SparkAPIKey, b.cfg.SparkGradePassback = api.URL, "k3y", true
		b.runner(t, func(o *jobs.Options) { o.MaxAttempts = 5 })
		db = b.db // the runner's store: it inserts the jobs

		syncGraded(t, db, 1, "spark-stu-ada", "spark-math-quiz", "spark-math", "Quiz", "92")
		require.Eventually(t, func() bool { return len(spark.grades()) == 1 && spark.posts() >= 2 }, 20*time.Second, 20*time.Millisecond)
		syncGraded(t, db, 2, "spark-stu-ada", "spark-math-quiz", "spark-math", "Quiz, regraded", "87.5")
		require.Eventually(t, func() bool { return len(spark.grades()) == 2 }, 20*time.Second, 20*time.Millisecond)
		syncGraded(t, db, 3, "spark-stu-ada", "spark-math-quiz", "spark-math", "Quiz, letter", "A-")
		require.Eventually(t, func() bool { return len(spark.grades()) == 3 }, 20*time.Second, 20*time.Millisecond)
		syncGraded(t, db, 4, "spark-stu-ada", "spark-math-quiz", "spark-math", "Quiz, as first", "92")
		require.Eventually(t, func() bool { return len(spark.grades()) == 4 }, 20*time.Second, 20*time.Millisecond)
		require.Equal(t, []string{`92`, `87.5`, `"A-"`, `92`}, spark.grades(), "numbers as JSON numbers; the retried post recorded once")
	})
}
