package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"strings"
	"testing"
	"unicode"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/filestore"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// fuzzDialects are the engines a fuzz target runs every input on: SQLite,
// and PostgreSQL when it is configured (a fuzz target cannot skip one
// engine the way storetest.Each does).
func fuzzDialects() []store.Dialect {
	if os.Getenv("OPTIO_TEST_POSTGRES_URL") != "" || os.Getenv("OPTIO_REQUIRE_POSTGRES") != "" {
		return storetest.Dialects
	}
	return []store.Dialect{store.SQLite}
}

// fuzzBoundary is the multipart boundary of every upload fuzz input.
const fuzzBoundary = "XyZzy"

// send runs one request with a body through the real handler, asking for
// JSON answers.
func (e *pfEnv) send(method, path string, c *http.Cookie, contentType string, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	r.Header.Set("Accept", "application/json")
	if c != nil {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, r)
	return w
}

// rowCount counts a table's rows.
func (e *pfEnv) rowCount(t testing.TB, table string) int {
	t.Helper()
	var n int
	if err := e.db.R.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// clientErrors are the statuses a hostile request may get, with the only
// code each may carry.
var clientErrors = map[int]string{
	http.StatusBadRequest:            "", // invalid, invalid_payload or malformed_json
	http.StatusRequestEntityTooLarge: optio.ETOOLARGE,
	http.StatusUnsupportedMediaType:  optio.EUNSUPPORTED,
	http.StatusConflict:              optio.ECONFLICT,
	http.StatusNotFound:              optio.ENOTFOUND,
	http.StatusTooManyRequests:       optio.ERATELIMIT,
}

// requireClientError fails unless res is one of the allowed client errors
// with a JSON body {"error":{"code","message"}} whose code fits the status.
func requireClientError(t *testing.T, res *httptest.ResponseRecorder, allowed ...int) errorDetail {
	t.Helper()
	ok := false
	for _, s := range allowed {
		ok = ok || s == res.Code
	}
	if !ok {
		t.Fatalf("status %d (allowed %v): %s", res.Code, allowed, res.Body.Bytes())
	}
	var body struct {
		Error errorDetail `json:"error"`
	}
	if err := json.Unmarshal(res.Body.Bytes(), &body); err != nil {
		t.Fatalf("status %d with a body that is not a JSON error: %q", res.Code, res.Body.Bytes())
	}
	want := clientErrors[res.Code]
	switch {
	case body.Error.Message == "":
		t.Fatalf("error without a message: %s", res.Body.Bytes())
	case want != "" && body.Error.Code != want:
		t.Fatalf("status %d with code %q, want %q", res.Code, body.Error.Code, want)
	case want == "" && body.Error.Code != optio.EINVALID && body.Error.Code != optio.EPAYLOAD && body.Error.Code != optio.EMALFORMED:
		t.Fatalf("status 400 with code %q", body.Error.Code)
	}
	return body.Error
}

// firstFilePart is what the upload handler should have stored from body:
// the first part named "file" that has a file name. ok is false when the
// body holds none that reads cleanly.
func firstFilePart(body []byte) (name string, content []byte, ok bool) {
	mr := multipart.NewReader(bytes.NewReader(body), fuzzBoundary)
	for {
		p, err := mr.NextPart()
		if err != nil {
			return "", nil, false
		}
		if p.FormName() != "file" || p.FileName() == "" {
			continue
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return "", nil, false
		}
		return p.FileName(), b, true
	}
}

// uploadSeeds are multipart bodies: hostile names, polyglots, real files,
// and broken framing.
func uploadSeeds(tb testing.TB) [][]byte {
	part := func(disposition, contentType string, content []byte) func(*multipart.Writer) {
		return func(w *multipart.Writer) {
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", disposition)
			if contentType != "" {
				h.Set("Content-Type", contentType)
			}
			pw, _ := w.CreatePart(h)
			_, _ = pw.Write(content)
		}
	}
	body := func(parts ...func(*multipart.Writer)) []byte {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		_ = w.SetBoundary(fuzzBoundary)
		for _, p := range parts {
			p(w)
		}
		_ = w.Close()
		return buf.Bytes()
	}
	png := testPNG(tb, 2, 2)
	file := func(name string, content []byte) func(*multipart.Writer) {
		return part(`form-data; name="file"; filename="`+name+`"`, "image/png", content)
	}
	seeds := [][]byte{
		body(file("beds.png", png)),
		body(file("../../etc/passwd", png)),
		body(file(`..\..\win.ini`, png)),
		body(file("a/../../b.pdf", testPDF)),
		body(file("report\u202Efdp.exe", testPDF)),
		body(file("CON.txt", []byte("plain words\n"))),
		body(file(strings.Repeat("n", 400)+".mp4", testMP4)),
		body(part(`form-data; name="file"; filename*=UTF-8''%2E%2E%2F%00x.png`, "", png)),
		body(file("x.gif", []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00<script>alert(1)</script>"))),
		body(file("x.gif", []byte("GIF89a/*\x01\x00\x01\x00*/=alert(1)//"))),
		body(file("x.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`))),
		body(file("x.pdf", []byte("<!doctype html><script>alert(1)</script>"))),
		body(file("empty.png", nil)),
		body(part(`form-data; name="text"`, "", []byte("My garden plan.")), part(`form-data; name="link"`, "", []byte("https://example.org/plan")), file("plan.png", png)),
		body(part(`form-data; name="text"`, "", []byte("nul \x00 byte"))),
		body(part(`form-data; name="link"`, "", []byte("javascript:alert(1)"))),
		body(part(`form-data; name="other"; filename="x.png"`, "", png)),
		body(),
		[]byte("--" + fuzzBoundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cut.png\"\r\n\r\n" + string(png[:10])),
		[]byte("not multipart at all"),
	}
	return seeds
}

// FuzzUploadEvidence sends arbitrary multipart bodies to both ways a
// student uploads evidence — POST /api/uploads and the quest page's form —
// on every engine. Each answer is a success or a client error with its
// code; a stored upload is exactly the first file part's bytes under
// filestore.DisplayName of its name; and a refused request writes no file,
// completion, block or XP row.
func FuzzUploadEvidence(f *testing.F) {
	for _, s := range uploadSeeds(f) {
		f.Add(s)
	}
	type env struct {
		*pfEnv
		cookie *http.Cookie
		task   string
	}
	var envs []*env
	for _, d := range fuzzDialects() {
		e := setupPortfolio(f, storetest.Open(f, d, nil))
		q := storetest.MustCreateQuest(f, e.db, "Garden", 10, optio.PillarSTEM)
		envs = append(envs, &env{pfEnv: e, cookie: e.sessionCookie(e.student), task: q.Tasks[0].ID})
	}
	ct := "multipart/form-data; boundary=" + fuzzBoundary
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, e := range envs {
			// POST /api/uploads.
			files := e.rowCount(t, "files")
			res := e.send("POST", "/api/uploads", e.cookie, ct, body)
			if res.Code == http.StatusCreated {
				var got optio.File
				if err := json.Unmarshal(res.Body.Bytes(), &got); err != nil {
					t.Fatalf("201 without a file: %s", res.Body.Bytes())
				}
				name, content, ok := firstFilePart(body)
				switch {
				case !ok:
					t.Fatalf("stored %+v from a body with no readable file part", got)
				case got.Filename != filestore.DisplayName(name, got.ContentType):
					t.Fatalf("stored name %q for %q (%s)", got.Filename, name, got.ContentType)
				case strings.IndexFunc(got.Filename, func(r rune) bool { return unicode.IsControl(r) || r == '/' || r == '\\' }) >= 0:
					t.Fatalf("stored name %q", got.Filename)
				case e.rowCount(t, "files") != files+1:
					t.Fatalf("one upload, %d file rows", e.rowCount(t, "files")-files)
				}
				sum := sha256.Sum256(content)
				if got.SHA256 != hex.EncodeToString(sum[:]) || got.Size != int64(len(content)) {
					t.Fatalf("stored %s (%d bytes), the part was %x (%d bytes)", got.SHA256, got.Size, sum, len(content))
				}
				rd, err := e.files.Open(context.Background(), filestore.KeyFor(got.SHA256))
				if err != nil {
					t.Fatalf("open stored blob: %v", err)
				}
				stored, err := io.ReadAll(rd)
				_ = rd.Close()
				if err != nil || !bytes.Equal(stored, content) {
					t.Fatalf("the blob is not the uploaded bytes (%v)", err)
				}
			} else {
				requireClientError(t, res, 400, 413, 415)
				if n := e.rowCount(t, "files"); n != files {
					t.Fatalf("a refused upload left %d file rows", n-files)
				}
			}

			// The quest page's form.
			before := map[string]int{}
			tables := []string{"files", "quest_task_completions", "evidence_document_blocks", "xp_ledger"}
			for _, tb := range tables {
				before[tb] = e.rowCount(t, tb)
			}
			res = e.send("POST", "/tasks/"+e.task+"/complete", e.cookie, ct, body)
			if res.Code == http.StatusSeeOther {
				if e.rowCount(t, "quest_task_completions") != before["quest_task_completions"]+1 || e.rowCount(t, "xp_ledger") != before["xp_ledger"]+1 {
					t.Fatalf("a completed form wrote no completion or XP")
				}
				q := storetest.MustCreateQuest(t, e.db, "Garden", 10, optio.PillarSTEM)
				e.task = q.Tasks[0].ID
				continue
			}
			requireClientError(t, res, 400, 413, 415)
			for _, tb := range tables {
				if n := e.rowCount(t, tb); n != before[tb] {
					t.Fatalf("a refused form left %d rows in %s", n-before[tb], tb)
				}
			}
		}
	})
}
