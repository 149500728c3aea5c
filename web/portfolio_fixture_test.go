package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/filestore"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// sparkOrigin is the Spark origin the portfolio tests configure.
const sparkOrigin = "https://spark.example"

// testFiles adapts filestore.Store to FileStore, as the app does.
type testFiles struct{ *filestore.Store }

func (f testFiles) Put(ctx context.Context, r io.Reader, filename string, maxBytes int64) (*StoredObject, error) {
	o, err := f.Store.Put(ctx, r, filename, maxBytes)
	if err != nil {
		return nil, err
	}
	return &StoredObject{Key: o.Key, SHA256: o.SHA256, Size: o.Size, ContentType: o.ContentType, Kind: string(o.Kind)}, nil
}

func (f testFiles) Thumbnail(ctx context.Context, key, contentType string) (*StoredObject, error) {
	o, err := f.Store.Thumbnail(ctx, key, contentType)
	if err != nil {
		return nil, err
	}
	return &StoredObject{Key: o.Key, SHA256: o.SHA256, Size: o.Size, ContentType: o.ContentType, Kind: string(o.Kind)}, nil
}

func (f testFiles) Open(ctx context.Context, key string) (io.ReadSeekCloser, error) {
	return f.Store.Open(ctx, key)
}

// pfEnv is a portfolio test bundle: a real store, real file storage, the
// real handler and a student with a portfolio.
type pfEnv struct {
	tb      testing.TB
	db      *store.DB
	files   testFiles
	srv     *Server
	clock   *optio.FakeClock
	student *optio.User
}

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func setupPortfolio(tb testing.TB, db *store.DB) *pfEnv {
	tb.Helper()
	ctx := context.Background()
	fs, err := filestore.Open(ctx, "mem://")
	require.NoError(tb, err)
	fs.TempDir = tb.TempDir()
	tb.Cleanup(func() { fs.Close() })
	clock := optio.NewFakeClock(testNow)
	db.Clock = clock
	cfg := &optio.Config{BaseURL: "http://optio.test", SparkAllowedOrigins: []string{sparkOrigin},
		MaxUploadBytes: 10 << 20, SessionTTL: time.Hour, PortfolioCacheMB: 8}
	srv := mustNew(tb, Deps{Config: cfg, Store: db, Files: testFiles{fs}, Logger: slog.New(slog.DiscardHandler), Clock: clock})
	e := &pfEnv{tb: tb, db: db, files: testFiles{fs}, srv: srv, clock: clock}
	e.student = storetest.MustCreateUser(tb, db, optio.RoleStudent, "Maya", "Ortiz")
	e.setAge(18 + 5)
	return e
}

// setAge gives the student a birth date that makes them years old.
func (e *pfEnv) setAge(years int) {
	b := testNow.AddDate(-years, 0, -1)
	u, err := e.db.RecordBirthDate(context.Background(), "", e.student.ID, b, optio.SourceAdmin)
	require.NoError(e.tb, err)
	e.student = u
}

func (e *pfEnv) setVisibility(v optio.Visibility) {
	u, err := e.db.UpdateProfile(context.Background(), e.student.ID, optio.ProfileUpdate{Visibility: &v})
	require.NoError(e.tb, err)
	e.student = u
}

func (e *pfEnv) exec(query string, args ...any) {
	e.tb.Helper()
	_, err := e.db.W.Exec(query, args...)
	require.NoError(e.tb, err)
}

func (e *pfEnv) setConsent(ok bool) {
	e.exec(`UPDATE users SET parent_consent = $1 WHERE id = $2`, ok, e.student.ID)
}

func (e *pfEnv) linkParent(parent *optio.User) {
	e.tb.Helper()
	_, err := e.db.LinkParent(context.Background(), "", parent.ID, e.student.ID, optio.LinkedViaAdmin)
	require.NoError(e.tb, err)
}

func (e *pfEnv) linkObserver(observer *optio.User, revoked bool) {
	var rev any
	if revoked {
		rev = testNow
	}
	e.exec(`INSERT INTO observer_links (id, observer_id, student_id, can_comment, created_at, revoked_at) VALUES ($1,$2,$3,$4,$5,$6)`,
		uuid.NewString(), observer.ID, e.student.ID, true, testNow.Add(-time.Hour), rev)
}

// sparkQuest makes the quest a Spark course maps to, with the course's title
// in spark_course_mappings when title is not empty.
func (e *pfEnv) sparkQuest(courseID, questTitle, courseTitle string, tasks int) *optio.Quest {
	id := uuid.NewString()
	e.exec(`INSERT INTO quests (id, title, description, source, lms_platform, lms_course_id, active, created_at, updated_at)
		VALUES ($1,$2,'','lms','spark',$3,$4,$5,$5)`, id, questTitle, courseID, true, testNow)
	if courseTitle != "" {
		e.exec(`INSERT INTO spark_course_mappings (id, spark_course_id, course_title, optio_quest_id, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$5)`, uuid.NewString(), courseID, courseTitle, id, testNow)
	}
	for i := range tasks {
		xp := 50
		_, err := e.db.CreateTask(context.Background(), id, optio.TaskInput{Title: questTitle + " assignment " + string(rune('A'+i%26)),
			Pillar: optio.PillarCommunication, XPValue: &xp})
		require.NoError(e.tb, err)
	}
	q, err := e.db.QuestByID(context.Background(), id)
	require.NoError(e.tb, err)
	return q
}

// file stores data and returns its unsaved record, owned by the student.
func (e *pfEnv) file(name string, data []byte) *optio.File {
	e.tb.Helper()
	obj, err := e.files.Put(context.Background(), bytes.NewReader(data), name, 10<<20)
	require.NoError(e.tb, err)
	return &optio.File{OwnerID: e.student.ID, BlobKey: obj.Key, SHA256: obj.SHA256, Filename: name, ContentType: obj.ContentType, Size: obj.Size}
}

func (e *pfEnv) complete(taskID, source string, blocks ...optio.BlockInput) *optio.CompletionView {
	e.tb.Helper()
	v, err := e.db.CompleteTask(context.Background(), optio.CompletionInput{UserID: e.student.ID, TaskID: taskID, Blocks: blocks, Source: source})
	require.NoError(e.tb, err)
	return v
}

// fileBlock is a block for a stored file.
func fileBlock(t optio.BlockType, f *optio.File, private bool, spark *time.Time) optio.BlockInput {
	c := optio.BlockContent{Filename: f.Filename, ContentType: f.ContentType, Size: f.Size}
	if spark != nil {
		c.Source, c.SparkCourseID, c.SyncedAt = "spark", "c-101", spark
	}
	return optio.BlockInput{BlockType: t, File: f, Content: c, Private: private}
}

// everyEvidence completes a Spark assignment with every evidence type (one
// image private) and an Optio quest task; it returns the Spark completion.
func (e *pfEnv) everyEvidence() *optio.CompletionView {
	synced := testNow.Add(-48 * time.Hour)
	q := e.sparkQuest("c-101", "Quest title for c-101", "OnFire Creative Writing", 1)
	v := e.complete(q.Tasks[0].ID, "spark",
		optio.BlockInput{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "My essay <script>alert('pwned')</script> ends here.",
			Source: "spark", SparkCourseID: "c-101", SyncedAt: &synced}},
		optio.BlockInput{BlockType: optio.BlockLink, Content: optio.BlockContent{URL: "https://example.org/story", Title: "My story online",
			Source: "spark", SparkCourseID: "c-101", SyncedAt: &synced}},
		fileBlock(optio.BlockImage, e.file("cover.png", testPNG(e.tb, 96, 64)), false, &synced),
		fileBlock(optio.BlockVideo, e.file("reading.mp4", testMP4), false, &synced),
		fileBlock(optio.BlockDocument, e.file("essay.pdf", testPDF), false, &synced),
		fileBlock(optio.BlockImage, e.file("diary.png", testPNG(e.tb, 8, 8)), true, &synced),
	)
	oq := storetest.MustCreateQuest(e.tb, e.db, "Community garden", 120, optio.PillarSTEM)
	e.complete(oq.Tasks[0].ID, "optio", optio.BlockInput{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "Four raised beds."}})
	return v
}

// blockOf finds the evidence block with a filename.
func blockOf(t testing.TB, v *optio.CompletionView, filename string) optio.EvidenceBlock {
	for _, b := range v.Evidence.Blocks {
		if b.Content.Filename == filename {
			return b
		}
	}
	t.Fatalf("no block for %s", filename)
	return optio.EvidenceBlock{}
}

func fileURLOf(b optio.EvidenceBlock) string { return "/files/" + b.Content.FileID + "?b=" + b.ID }

// sessionCookie signs u in and returns the cookie a browser would send.
func (e *pfEnv) sessionCookie(u *optio.User) *http.Cookie {
	e.tb.Helper()
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	_, err := e.db.CreateSession(context.Background(), u.ID, hashToken(token), time.Hour)
	require.NoError(e.tb, err)
	return &http.Cookie{Name: SessionCookie, Value: token}
}

// do sends a request through the real handler.
func (e *pfEnv) do(method, path string, c *http.Cookie, header map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	if c != nil {
		r.AddCookie(c)
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, r)
	return w
}

func testPNG(tb testing.TB, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 160, 255})
		}
	}
	var buf bytes.Buffer
	require.NoError(tb, png.Encode(&buf, img))
	return buf.Bytes()
}

var testMP4 = append([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom\x00\x00\x00\x08free"), make([]byte, 64)...)

var testPDF = []byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")

func countOf(s, sub string) int { return strings.Count(s, sub) }

func httptestForm(path string, v url.Values) *http.Request {
	r := httptest.NewRequest("POST", path, strings.NewReader(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func openStore(tb testing.TB, d store.Dialect) *store.DB { return storetest.Open(tb, d, nil) }

// mustNew builds a Server from d, failing the test when New refuses.
func mustNew(tb testing.TB, d Deps) *Server {
	tb.Helper()
	s, err := New(d)
	require.NoError(tb, err)
	return s
}
