package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/jobs"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// pollSpark is a Spark API for polling tests: courses, assignments and
// submissions paged by offset cursors ("o<n>"), enrolments per student, a
// request log and a switch that fails chosen requests.
type pollSpark struct {
	*httptest.Server
	mu           sync.Mutex
	courses      []map[string]any
	assignments  map[string][]map[string]any
	subs         map[string][]map[string]any
	enrollments  map[string][]map[string]any
	pageSize     int
	updatedSince bool // honours updated_since
	fail         func(r *http.Request) (status int, body string)
	log          []string
}

func newPollSpark(t *testing.T) *pollSpark {
	ps := &pollSpark{assignments: map[string][]map[string]any{}, subs: map[string][]map[string]any{},
		enrollments: map[string][]map[string]any{}, pageSize: 2}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/courses", func(w http.ResponseWriter, r *http.Request) {
		ps.writePage(w, r, "courses", ps.courses)
	})
	mux.HandleFunc("GET /api/courses/{id}/assignments", func(w http.ResponseWriter, r *http.Request) {
		ps.writePage(w, r, "assignments", ps.assignments[r.PathValue("id")])
	})
	mux.HandleFunc("GET /api/students/{id}/enrollments", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"enrollments": ps.enrollments[r.PathValue("id")]})
	})
	mux.HandleFunc("GET /api/assignments/{id}/submissions", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var match []map[string]any
		for _, s := range ps.subs[r.PathValue("id")] {
			key, bound := "submitted_at", q.Get("since")
			if ps.updatedSince && q.Get("updated_since") != "" {
				key, bound = "updated_at", q.Get("updated_since")
			}
			if bound == "" || s[key].(string) >= bound {
				match = append(match, s)
			}
		}
		ps.writePage(w, r, "submissions", match)
	})
	ps.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ps.mu.Lock()
		defer ps.mu.Unlock()
		ps.log = append(ps.log, r.URL.Path+"?"+r.URL.RawQuery)
		if ps.fail != nil {
			if status, body := ps.fail(r); status != 0 {
				w.WriteHeader(status)
				_, _ = w.Write([]byte(body))
				return
			}
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(ps.Close)
	return ps
}

func (ps *pollSpark) writePage(w http.ResponseWriter, r *http.Request, key string, items []map[string]any) {
	from := 0
	if c := r.URL.Query().Get("cursor"); c != "" {
		from, _ = strconv.Atoi(strings.TrimPrefix(c, "o"))
	}
	from = min(from, len(items))
	to := min(from+ps.pageSize, len(items))
	next := ""
	if to < len(items) {
		next = "o" + strconv.Itoa(to)
	}
	if items == nil {
		items = []map[string]any{}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{key: items[from:to], "next_cursor": next})
}

// requests returns the logged requests whose path contains part.
func (ps *pollSpark) requests(part string) []string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	var out []string
	for _, l := range ps.log {
		if strings.Contains(l, part) {
			out = append(out, l)
		}
	}
	return out
}

func (ps *pollSpark) addSubmission(assignment, course, user, text string, at, appeared time.Time, files ...map[string]any) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if files == nil {
		files = []map[string]any{}
	}
	ps.subs[assignment] = append(ps.subs[assignment], map[string]any{"id": fmt.Sprintf("sub-%s-%s", assignment, user),
		"spark_user_id": user, "spark_assignment_id": assignment, "spark_course_id": course, "submission_text": text,
		"submitted_at": at.UTC().Format(time.RFC3339), "updated_at": appeared.UTC().Format(time.RFC3339), "submission_files": files})
}

// TestPollAloneLearnsCoursesEnrolmentsAndWork: a course Optio never heard
// of by webhook becomes a quest with the course's title and a task per
// assignment (XP from max_points); the student whose work was polled is
// enrolled in it from Spark's enrolments, and the work is synced.
func TestPollAloneLearnsCoursesEnrolmentsAndWork(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := setup(t, db)
		now := time.Now().UTC().Truncate(time.Second)
		ps := newPollSpark(t)
		ps.courses = []map[string]any{{"id": "hist-9", "title": "World History", "description": "Empires"}}
		ps.assignments["hist-9"] = []map[string]any{{"id": "h-essay", "course_id": "hist-9", "title": "Empire essay", "max_points": 80}}
		png := b.srv.put("/map.png", pngBytes(t))
		ps.addSubmission("h-essay", "hist-9", "stu-h", "Rome fell slowly.", now.Add(-time.Minute), now,
			map[string]any{"url": png, "type": "image/png", "filename": "map.png"})
		ps.enrollments["stu-h"] = []map[string]any{{"course_id": "hist-9", "status": "active", "updated_at": now.Add(-48 * time.Hour).Format(time.RFC3339)}}
		b.cfg.SparkAPIURL, b.cfg.SparkAutoMap = ps.URL, true
		r := b.runner(t, nil)
		db = b.db // the runner's store: it inserts the jobs

		res, err := r.Poll.Poll(ctx, nil)
		require.NoError(t, err)
		require.Equal(t, 1, res.Queued)
		require.Equal(t, 1, res.Enrollments)
		u, err := db.UserBySparkID(ctx, "stu-h")
		require.NoError(t, err)
		require.Eventually(t, func() bool { return countFor(t, db, u.ID).completions == 1 }, 20*time.Second, 20*time.Millisecond)
		progress, err := db.QuestProgressFor(ctx, u.ID)
		require.NoError(t, err)
		require.Len(t, progress, 1)
		require.Equal(t, "World History", progress[0].Quest.Title)
		q, err := db.QuestByID(ctx, progress[0].Quest.ID)
		require.NoError(t, err)
		require.Len(t, q.Tasks, 1)
		require.Equal(t, "Empire essay", q.Tasks[0].Title)
		require.Equal(t, optio.PillarCivics, q.Tasks[0].Pillar, "pillar hint from the course title")
		require.Equal(t, 80, countFor(t, db, u.ID).xpTotal)
		done, err := db.RecentCompletions(ctx, u.ID, 5, 0)
		require.NoError(t, err)
		require.Len(t, done[0].Evidence.Blocks, 2, "text and image")

		// Renamed in Spark: the next poll renames the quest; nothing duplicates.
		ps.mu.Lock()
		ps.courses[0]["title"] = "World History II"
		ps.mu.Unlock()
		res, err = r.Poll.Poll(ctx, nil)
		require.NoError(t, err)
		require.Zero(t, res.Queued)
		progress, err = db.QuestProgressFor(ctx, u.ID)
		require.NoError(t, err)
		require.Equal(t, "World History II", progress[0].Quest.Title)
		c := countFor(t, db, u.ID)
		require.Equal(t, 1, c.completions)
		require.Equal(t, 1, c.xpRows)

		// The assignment disappears from Spark (first answering 404 for its
		// submissions, then no longer listed): polls go on, and the task and
		// the work done on it stay.
		ps.mu.Lock()
		ps.fail = func(r *http.Request) (int, string) {
			if strings.HasSuffix(r.URL.Path, "/h-essay/submissions") {
				return http.StatusNotFound, `{"error":{"message":"no such assignment"}}`
			}
			return 0, ""
		}
		ps.mu.Unlock()
		_, err = r.Poll.Poll(ctx, nil)
		require.NoError(t, err)
		ps.mu.Lock()
		ps.assignments["hist-9"] = nil
		ps.mu.Unlock()
		_, err = r.Poll.Poll(ctx, nil)
		require.NoError(t, err)
		q, err = db.QuestByID(ctx, progress[0].Quest.ID)
		require.NoError(t, err)
		require.Len(t, q.Tasks, 1)
		require.Equal(t, c, countFor(t, db, u.ID))
	})
}

// TestPollResumesWhereSparkFailed: Spark answers 500, then garbage, on the
// second page of submissions; each poll stops there with what it imported
// kept, and the next reads from that page on (not from the first), so
// every submission is imported exactly once.
func TestPollResumesWhereSparkFailed(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := setup(t, db)
		now := time.Now().UTC().Truncate(time.Second)
		ps := newPollSpark(t)
		ps.courses = []map[string]any{{"id": "course-1", "title": "Biology"}}
		ps.assignments["course-1"] = []map[string]any{{"id": "asg-1", "course_id": "course-1", "title": "Cell essay"}}
		for i := range 5 {
			ps.addSubmission("asg-1", "course-1", fmt.Sprintf("stu-%d", i), "Essay", now.Add(-time.Hour), now.Add(-time.Hour))
		}
		var failures atomic.Int32
		ps.fail = func(r *http.Request) (int, string) {
			if strings.HasSuffix(r.URL.Path, "/submissions") && r.URL.Query().Get("cursor") == "o2" {
				switch failures.Add(1) {
				case 1:
					return 500, `{"error":{"message":"database down"}}`
				case 2:
					return 200, `{"submissions": [{"id": "x", "spark_user_id": `
				}
			}
			return 0, ""
		}
		b.cfg.SparkAPIURL = ps.URL
		r := b.runner(t, nil)
		db = b.db // the runner's store: it inserts the jobs

		res, err := r.Poll.Poll(ctx, nil)
		require.ErrorContains(t, err, "500")
		require.Equal(t, 2, res.Queued, "the first page is imported and kept")
		st, err := db.SyncQueueStats(ctx, 5)
		require.NoError(t, err)
		require.NotNil(t, st.Poll)
		require.False(t, st.Poll.OK)
		require.Contains(t, st.Poll.Error, "database down")

		res, err = r.Poll.Poll(ctx, nil)
		require.Error(t, err, "garbage is an error too")
		require.Zero(t, res.Queued)

		res, err = r.Poll.Poll(ctx, nil)
		require.NoError(t, err)
		require.Equal(t, 3, res.Queued)
		require.Equal(t, 3, res.Seen, "resumed at the page that failed, not the first")
		reqs := ps.requests("/api/assignments/asg-1/submissions")
		require.Len(t, reqs, 5)
		require.NotContains(t, reqs[0], "cursor", "the first poll's first page")
		for _, q := range reqs[1:] {
			require.Contains(t, q, "cursor=o", "later polls resume at a cursor: %s", q)
		}
		st, err = db.SyncQueueStats(ctx, 5)
		require.NoError(t, err)
		require.True(t, st.Poll.OK)
		require.Equal(t, 5, st.Counts[optio.SyncPending]+st.Counts[optio.SyncProcessing]+st.Counts[optio.SyncCompleted])

		// The walk is complete: the next poll asks only for what is new.
		_, err = r.Poll.Poll(ctx, nil)
		require.NoError(t, err)
		reqs = ps.requests("/api/assignments/asg-1/submissions")
		require.Contains(t, reqs[len(reqs)-1], "since=")
		require.Contains(t, reqs[len(reqs)-1], "updated_since=")
	})
}

// TestPollStopsAHostileAPI (issue 17 item 11): 40 courses whose assignment
// pages are huge. The poll streams course by course, so the course limit
// stops it at the fourth course, before the other 37 assignment pages
// are ever requested; the response-size limit refuses a 9 MB page on its
// Content-Length before reading it; a poll holds one page at a time. Each stop is a clear error on the admin
// page, in the log and in a metric.
func TestPollStopsAHostileAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := setup(t, db)
		huge := strings.Repeat("x", 1<<20) // 9 MB in the attack; 1 MB keeps the test fast under -race
		mux := http.NewServeMux()
		mux.HandleFunc("GET /api/courses", func(w http.ResponseWriter, r *http.Request) {
			var cs []map[string]any
			for i := range 40 {
				cs = append(cs, map[string]any{"id": fmt.Sprintf("c%02d", i), "title": "Course"})
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"courses": cs})
		})
		var assignmentPages atomic.Int32
		mux.HandleFunc("GET /api/courses/{id}/assignments", func(w http.ResponseWriter, r *http.Request) {
			assignmentPages.Add(1)
			body := `{"assignments":[{"id":"a-` + r.PathValue("id") + `","title":"T","description":"` + huge + `"}]}`
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			_, _ = w.Write([]byte(body))
		})
		mux.HandleFunc("GET /api/assignments/{id}/submissions", func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewEncoder(w).Encode(map[string]any{"submissions": []any{}})
		})
		api := httptest.NewServer(mux)
		t.Cleanup(api.Close)
		reg := prometheus.NewRegistry()
		b.cfg.SparkAPIURL = api.URL
		b.cfg.SparkAPIMaxResponseBytes = 2 << 20
		b.cfg.SparkPollMaxCourses = 3
		r := b.runner(t, func(o *jobs.Options) { o.Registerer = reg })
		db = b.db // the runner's store: it inserts the jobs

		res, err := r.Poll.Poll(ctx, nil)
		require.Error(t, err)
		require.Equal(t, optio.ETOOLARGE, optio.ErrorCode(err))
		require.Contains(t, err.Error(), "more than 3 courses (SPARK_POLL_MAX_COURSES)")
		require.Equal(t, int32(3), assignmentPages.Load(), "streamed: the 37 courses past the limit were never fetched")
		require.Equal(t, 3, res.Assignments)
		st, err := db.SyncQueueStats(ctx, 5)
		require.NoError(t, err)
		require.Contains(t, st.Poll.Error, "SPARK_POLL_MAX_COURSES")
		require.Equal(t, 1.0, testutil.ToFloat64(metricOf(t, reg, "optio_spark_poll_runs_total", "limit")))
		// A course's quest keeps a clipped description, not 9 MB.
		var desc int
		require.NoError(t, db.R.QueryRowContext(ctx, `SELECT MAX(LENGTH(description)) FROM tasks`).Scan(&desc))
		require.LessOrEqual(t, desc, 10_000*4)

		// A smaller response limit: the first oversized page is refused unread.
		r.Poll.Spark.MaxResponseBytes = 512 << 10
		before := assignmentPages.Load()
		_, err = r.Poll.Poll(ctx, nil)
		require.Error(t, err)
		require.Equal(t, optio.ETOOLARGE, optio.ErrorCode(err))
		require.Contains(t, err.Error(), "SPARK_API_MAX_RESPONSE_BYTES")
		require.Equal(t, before+1, assignmentPages.Load(), "stopped at the first oversized page")
		st, err = db.SyncQueueStats(ctx, 5)
		require.NoError(t, err)
		require.Contains(t, st.Poll.Error, "SPARK_API_MAX_RESPONSE_BYTES")
		require.Equal(t, 2.0, testutil.ToFloat64(metricOf(t, reg, "optio_spark_poll_runs_total", "limit")))
	})
}

// metricOf finds a counter of a CounterVec registered in reg by name and label value.
func metricOf(t *testing.T, reg *prometheus.Registry, name, label string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetValue() == label {
					c := prometheus.NewCounter(prometheus.CounterOpts{Name: name})
					c.Add(m.GetCounter().GetValue())
					return c
				}
			}
		}
	}
	t.Fatalf("no %s{%s}", name, label)
	return nil
}

// TestPollCatchesLateWork: work that appears in Spark's API after its
// submitted_at is older than the watermark. A Spark honouring
// updated_since returns it on the next poll; one that does not is caught by
// the full reconciliation once SPARK_POLL_RECONCILE_EVERY has passed.
func TestPollCatchesLateWork(t *testing.T) {
	t.Parallel()
	for _, honours := range []bool{true, false} {
		t.Run(fmt.Sprintf("updated_since=%v", honours), func(t *testing.T) {
			t.Parallel()
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				ctx := context.Background()
				clock := optio.NewFakeClock(time.Now().UTC().Truncate(time.Second))
				db.Clock = clock
				b := setup(t, db)
				ps := newPollSpark(t)
				ps.updatedSince = honours
				ps.courses = []map[string]any{{"id": "course-1", "title": "Biology"}}
				ps.assignments["course-1"] = []map[string]any{{"id": "asg-1", "course_id": "course-1", "title": "Cell essay"}}
				b.cfg.SparkAPIURL = ps.URL
				r := b.runner(t, nil)
				r.Poll.Limits.ReconcileEvery = 24 * time.Hour
				_, err := r.Poll.Poll(ctx, nil)
				require.NoError(t, err)

				// An hour later, work stamped two hours ago appears.
				clock.Advance(time.Hour)
				ps.addSubmission("asg-1", "course-1", "stu-late", "Late", clock.Now().Add(-2*time.Hour), clock.Now())
				res, err := r.Poll.Poll(ctx, nil)
				require.NoError(t, err)
				if honours {
					require.Equal(t, 1, res.Queued)
					return
				}
				require.Zero(t, res.Queued, "since alone misses it")
				clock.Advance(24 * time.Hour)
				res, err = r.Poll.Poll(ctx, nil)
				require.NoError(t, err)
				require.Equal(t, 1, res.Queued, "the daily reconciliation finds it")
				reqs := ps.requests("/api/assignments/asg-1/submissions")
				require.NotContains(t, reqs[len(reqs)-1], "since=", "a full walk asks without since")
			})
		})
	}
}

// TestPollRequeuesFailedSyncsAndNeverDuplicates: a submission whose files
// could not be fetched fails; once the host is back, the poll that still
// finds it in Spark queues it again and it syncs, once. A submission that
// arrived by webhook and is then polled is not stored twice.
func TestPollRequeuesFailedSyncsAndNeverDuplicates(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := setup(t, db)
		now := time.Now().UTC().Truncate(time.Second)
		ps := newPollSpark(t)
		ps.courses = []map[string]any{{"id": "course-1", "title": "Biology"}}
		ps.assignments["course-1"] = []map[string]any{{"id": "asg-1", "course_id": "course-1", "title": "Cell essay"}}
		url := b.srv.URL + "/later.pdf" // 404 until put
		ps.addSubmission("asg-1", "course-1", "stu-f", "Essay", now.Add(-time.Minute), now.Add(-time.Minute),
			map[string]any{"url": url, "type": "application/pdf", "filename": "later.pdf"})
		b.cfg.SparkAPIURL = ps.URL
		// A retry window shorter than one backoff: the missing file fails the
		// sync for good at once, as a day-long outage would.
		r := b.runner(t, func(o *jobs.Options) {
			o.SyncRetry = jobs.RetrySchedule{Base: 20 * time.Millisecond, Max: 20 * time.Millisecond, Window: time.Millisecond}
		})
		db = b.db // the runner's store: it inserts the jobs

		// The same work by webhook first, then by polling: stored once.
		_, err := db.AcceptSparkSubmission(ctx, "msg_overlap", optio.SparkSubmissionEvent{SparkUserID: "stu-f",
			SparkAssignmentID: "asg-1", SparkCourseID: "course-1", Text: "Essay", SubmittedAt: now.Add(-time.Minute),
			FilesJSON: []byte(`[{"url":"` + url + `","type":"application/pdf","filename":"later.pdf"}]`)})
		require.NoError(t, err)
		u, err := db.UserBySparkID(ctx, "stu-f")
		require.NoError(t, err)
		var qid string
		require.NoError(t, db.R.QueryRowContext(ctx, `SELECT q.id FROM spark_evidence_sync_queue q JOIN spark_assignment_submissions s ON s.id = q.submission_id WHERE s.user_id = $1`, u.ID).Scan(&qid))
		waitStatus(t, db, qid, optio.SyncFailed)

		b.srv.put("/later.pdf", pdfBytes())
		res, err := r.Poll.Poll(ctx, nil)
		require.NoError(t, err)
		require.Zero(t, res.Queued, "the webhook's submission is not imported again")
		require.Equal(t, 1, res.Requeued)
		waitStatus(t, db, qid, optio.SyncCompleted)
		res, err = r.Poll.Poll(ctx, nil)
		require.NoError(t, err)
		require.Zero(t, res.Queued+res.Requeued)
		c := countFor(t, db, u.ID)
		require.Equal(t, counts{completions: 1, docs: 1, blocks: 2, xpRows: 1, xpTotal: b.xp}, c)
		var subs int
		require.NoError(t, db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM spark_assignment_submissions WHERE user_id = $1`, u.ID).Scan(&subs))
		require.Equal(t, 1, subs)
	})
}

// TestPollJobWaitsOutRetryAfter: a Spark answering 429 with a Retry-After
// longer than the client waits within a call makes the poll job wait that
// long (a River snooze), not retry after River's one-second backoff.
func TestPollJobWaitsOutRetryAfter(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := setup(t, db)
		var calls atomic.Int32
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.Header().Set("Retry-After", "3600")
			http.Error(w, `{"error":{"message":"slow down"}}`, http.StatusTooManyRequests)
		}))
		t.Cleanup(api.Close)
		b.cfg.SparkAPIURL = api.URL
		r := b.runner(t, nil)
		db = b.db // the runner's store: it inserts the jobs
		_, err := r.Client.Insert(ctx, jobs.PollJob{}, nil)
		require.NoError(t, err)
		var state string
		var at time.Time
		require.Eventually(t, func() bool {
			require.NoError(t, db.R.QueryRowContext(ctx, `SELECT state, scheduled_at FROM river_job WHERE kind = 'spark_poll'`).Scan(&state, &at))
			return state == "scheduled"
		}, 20*time.Second, 20*time.Millisecond)
		require.WithinDuration(t, time.Now().Add(time.Hour), at, 5*time.Minute, "snoozed for Spark's Retry-After")
		require.Equal(t, int32(1), calls.Load(), "one request; nothing hammered Spark")
	})
}

// TestPollStoppedPollsMakeProgress: a poll stopped on the second page of
// courses resumes on that page; a poll stopped by SPARK_POLL_MAX_SUBMISSIONS
// keeps what it imported and the next polls carry on until everything is
// in, each submission imported once.
func TestPollStoppedPollsMakeProgress(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := setup(t, db)
		now := time.Now().UTC().Truncate(time.Second)
		ps := newPollSpark(t)
		for _, c := range []string{"course-1", "course-2", "course-3"} {
			ps.courses = append(ps.courses, map[string]any{"id": c, "title": "Course " + c})
			ps.assignments[c] = []map[string]any{{"id": "a-" + c, "course_id": c, "title": "Work"}}
		}
		for i := range 3 {
			ps.addSubmission("a-course-3", "course-3", fmt.Sprintf("stu-%d", i), "Work", now.Add(-time.Hour), now.Add(-time.Hour))
		}
		var failed atomic.Bool
		ps.fail = func(r *http.Request) (int, string) {
			if r.URL.Path == "/api/courses" && r.URL.Query().Get("cursor") == "o2" && !failed.Swap(true) {
				return 502, "bad gateway"
			}
			return 0, ""
		}
		b.cfg.SparkAPIURL = ps.URL
		b.cfg.SparkPollMaxSubmissions = 2
		r := b.runner(t, nil)
		db = b.db // the runner's store: it inserts the jobs

		_, err := r.Poll.Poll(ctx, nil)
		require.ErrorContains(t, err, "502")
		res, err := r.Poll.Poll(ctx, nil)
		require.Error(t, err)
		require.Contains(t, err.Error(), "more than 2 submissions (SPARK_POLL_MAX_SUBMISSIONS)")
		require.Equal(t, 1, res.Courses, "resumed on the page of courses that failed")
		require.Equal(t, 2, res.Queued)
		courseReqs := ps.requests("/api/courses?")
		require.Contains(t, courseReqs[len(courseReqs)-1], "cursor=o2")

		res, err = r.Poll.Poll(ctx, nil)
		require.NoError(t, err)
		require.Equal(t, 1, res.Queued, "the rest")
		var n int
		require.NoError(t, db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM spark_assignment_submissions`).Scan(&n))
		require.Equal(t, 3, n)
		res, err = r.Poll.Poll(ctx, nil)
		require.NoError(t, err)
		require.Equal(t, 3, res.Courses, "a finished course list starts again from its first page")
		require.Zero(t, res.Queued)
	})
}
