package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/filestore"
	"github.com/optio-edu/optio/internal/s3test"
	"github.com/optio-edu/optio/jobs"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// bundle is what a sync test needs: a store, blob storage, a file server
// and a Spark task the submissions map to.
type bundle struct {
	db     *store.DB
	files  *filestore.Store
	cfg    *optio.Config
	srv    *fileServer
	taskID string
	xp     int
}

// setup is setupBlobs with the blob driver paired to the engine: file://
// under SQLite (the embedded default), s3:// under PostgreSQL (production's
// pairing). Tests of evidence storage itself use eachStoreAndDriver.
func setup(t testing.TB, db *store.DB) *bundle {
	t.Helper()
	driver := "file"
	if db.Dialect == store.Postgres {
		driver = "s3"
	}
	return setupBlobs(t, db, s3test.NewURL(t, driver))
}

// eachStoreAndDriver runs fn as a parallel subtest for every engine and
// every blob driver (file:// and s3:// on a loopback S3 server), each with a
// fresh store and an empty bucket.
func eachStoreAndDriver(t *testing.T, fn func(t *testing.T, db *store.DB, blobURL string)) {
	t.Helper()
	for _, dialect := range storetest.Dialects {
		for _, driver := range s3test.Drivers {
			t.Run(string(dialect)+"/"+driver, func(t *testing.T) {
				t.Parallel()
				fn(t, storetest.Open(t, dialect, nil), s3test.NewURL(t, driver))
			})
		}
	}
}

// setupBlobs builds the bundle on db with evidence files in the bucket at blobURL.
func setupBlobs(t testing.TB, db *store.DB, blobURL string) *bundle {
	t.Helper()
	fs, err := filestore.Open(context.Background(), blobURL)
	require.NoError(t, err)
	fs.TempDir = t.TempDir()
	t.Cleanup(func() { fs.Close() })
	srv := newFileServer(t)
	b := &bundle{db: db, files: fs, srv: srv, xp: 150, cfg: &optio.Config{
		SparkFileAllowPrivate: true, SparkFileMaxBytes: 50 << 20, SparkPollInterval: time.Hour, BaseURL: "http://optio.test",
	}}
	b.taskID = mustSparkTask(t, db, "course-1", "asg-1", b.xp)
	return b
}

// runner starts a River runner on the bundle's store with fast retries.
func (b *bundle) runner(t testing.TB, mod func(*jobs.Options)) *jobs.Runner {
	t.Helper()
	o := jobs.Options{Workers: 4, MaxAttempts: 3, RetryBase: 20 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond}
	if mod != nil {
		mod(&o)
	}
	r, err := jobs.New(context.Background(), b.cfg, b.db, b.files, o)
	require.NoError(t, err)
	b.db = r.Store()
	require.NoError(t, r.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = r.Stop(ctx)
	})
	return r
}

// mustSparkTask maps a Spark course to a quest and an assignment to a task
// worth xp, as the course webhook does, and returns the task id.
func mustSparkTask(t testing.TB, db *store.DB, course, assignment string, xp int) string {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	qid, tid := uuid.NewString(), uuid.NewString()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO quests (id, title, description, source, lms_platform, lms_course_id, active, created_at, updated_at) VALUES ($1,'Spark Biology','', 'lms','spark',$2,TRUE,$3,$3)`, []any{qid, course, now}},
		{`INSERT INTO tasks (id, quest_id, title, description, pillar, xp_value, position, lms_assignment_id, created_at, updated_at) VALUES ($1,$2,'Cell essay','','stem',$3,0,$4,$5,$5)`, []any{tid, qid, xp, assignment, now}},
		{`INSERT INTO spark_course_mappings (id, spark_course_id, course_title, optio_quest_id, created_at, updated_at) VALUES ($1,$2,'Biology',$3,$4,$4)`, []any{uuid.NewString(), course, qid, now}},
		{`INSERT INTO spark_assignments (spark_assignment_id, spark_course_id, title, optio_task_id, created_at, updated_at) VALUES ($1,$2,'Cell essay',$3,$4,$4)`, []any{assignment, course, tid, now}},
	} {
		_, err := db.W.ExecContext(ctx, q.sql, q.args...)
		require.NoError(t, err)
	}
	return tid
}

// submit stores a submission with a queue row and job, as the webhook does.
func submit(t testing.TB, db *store.DB, sparkUser string, at time.Time, text string, files ...spark.SubmissionFile) string {
	t.Helper()
	raw, err := json.Marshal(files)
	require.NoError(t, err)
	grade := "A-"
	id, queued, err := db.ImportSubmission(context.Background(), store.IncomingSubmission{
		SparkUserID: sparkUser, SparkAssignmentID: "asg-1", SparkCourseID: "course-1", Text: text,
		FilesJSON: string(raw), SubmittedAt: at, Grade: &grade,
	})
	require.NoError(t, err)
	require.True(t, queued)
	return id
}

// waitStatus waits until the queue row reaches one of the statuses.
func waitStatus(t testing.TB, db *store.DB, queueID string, want ...string) *store.SyncQueueRow {
	t.Helper()
	var row *store.SyncQueueRow
	require.Eventually(t, func() bool {
		var err error
		row, err = db.SyncQueueRowByID(context.Background(), queueID)
		require.NoError(t, err)
		for _, w := range want {
			if row.Status == w {
				return true
			}
		}
		return false
	}, 30*time.Second, 20*time.Millisecond, "queue row never reached %v", want)
	return row
}

// counts are the rows that must never be duplicated.
type counts struct{ completions, docs, blocks, xpRows, xpTotal int }

func countFor(t testing.TB, db *store.DB, userID string) counts {
	t.Helper()
	var c counts
	ctx := context.Background()
	for _, q := range []struct {
		dst *int
		sql string
	}{
		{&c.completions, `SELECT COUNT(*) FROM quest_task_completions WHERE user_id = $1`},
		{&c.docs, `SELECT COUNT(*) FROM evidence_documents WHERE user_id = $1`},
		{&c.blocks, `SELECT COUNT(*) FROM evidence_document_blocks b JOIN evidence_documents d ON d.id = b.document_id WHERE d.user_id = $1`},
		{&c.xpRows, `SELECT COUNT(*) FROM xp_ledger WHERE user_id = $1`},
		{&c.xpTotal, `SELECT COALESCE(SUM(amount),0) FROM xp_ledger WHERE user_id = $1`},
	} {
		require.NoError(t, db.R.QueryRowContext(ctx, q.sql, userID).Scan(q.dst))
	}
	return c
}

// filesOf counts the file rows a user owns.
func filesOf(t testing.TB, db *store.DB, userID string) int {
	t.Helper()
	var n int
	require.NoError(t, db.R.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM files WHERE owner_id = $1`, userID).Scan(&n))
	return n
}

// fileServer serves test files; paths can be added, removed or held.
type fileServer struct {
	*httptest.Server
	mu    sync.Mutex
	files map[string][]byte
	hold  map[string]chan struct{}
	hits  map[string]int
}

func newFileServer(t testing.TB) *fileServer {
	fs := &fileServer{files: map[string][]byte{}, hold: map[string]chan struct{}{}, hits: map[string]int{}}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		body, ok := fs.files[r.URL.Path]
		gate := fs.hold[r.URL.Path]
		fs.hits[r.URL.Path]++
		fs.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		if gate != nil {
			w.Header().Set("Content-Length", "1000000")
			_, _ = w.Write(body[:10])
			w.(http.Flusher).Flush()
			select {
			case <-gate:
			case <-r.Context().Done():
			}
			return // a short body: the download fails
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *fileServer) put(path string, body []byte) string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.files[path] = body
	return fs.URL + path
}

func (fs *fileServer) holdPath(path string) chan struct{} {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	c := make(chan struct{})
	fs.hold[path] = c
	return c
}

func (fs *fileServer) release(path string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if c := fs.hold[path]; c != nil {
		close(c)
	}
	delete(fs.hold, path)
}

func (fs *fileServer) hitCount(path string) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.hits[path]
}

// Small valid files of each kind.

func pdfBytes() []byte {
	return []byte("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
}

func pngBytes(t testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

// mp4Bytes is an ftyp box and an empty mdat: enough for the sniffer.
func mp4Bytes() []byte {
	b := []byte{0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm', 0, 0, 2, 0, 'i', 's', 'o', 'm', 'm', 'p', '4', '1'}
	return append(b, 0, 0, 0, 8, 'm', 'd', 'a', 't')
}
