package main

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/filestore"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// hostileWebhookSecret signs the webhooks of TestHostileFilesEndToEnd.
var hostileWebhookSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("hostile-files-webhook-secret-0123"))

// Polyglots and disguised files: each would be dangerous if a browser (or a
// student's computer) took it for something else.
var (
	// A real GIF header whose comment extension holds a script.
	gifHTML = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xfe\x1f<script>alert(document.domain)</script>\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
	// A JPEG whose COM segment is an HTML page.
	jpegHTML = append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xfe\x00\x30<html><body onload=alert(1)></body></html>....."), 0xff, 0xd9)
	// A PDF with an HTML page after its trailer.
	pdfHTML = []byte("%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n<html><script>alert(1)</script></html>\n")
	// An SVG image with a script.
	svgScript = []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(document.cookie)</script><rect width="10" height="10"/></svg>`)
	// A web page named as a PDF.
	htmlAsPDF = []byte("<!doctype html><html><script>fetch('/api/me')</script></html>")
	// A GIF that is also valid JavaScript (GIF89a/*…*/=alert(1)): no HTML in
	// it, so it is a real image; what matters is that it is only ever served
	// as image/gif with nosniff, which no browser runs as a script.
	gifJS = []byte("GIF89a/*\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;*/=alert(document.domain);//")
	// A plain-text essay whose name says it is a web page.
	essayText = []byte("My essay on rivers.\nRivers carry sediment to the sea.\n")
)

// minimalDocx is a small but real Word document.
func minimalDocx(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range [][2]string{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`},
		{"word/document.xml", `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Essay</w:t></w:r></w:p></w:body></w:document>`},
	} {
		w, err := zw.Create(e[0])
		require.NoError(t, err)
		_, err = io.WriteString(w, e[1])
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// zipBombDocx is a valid docx with one more part: 4 MB of deflated zeros
// that claims to expand to 8 GB.
func zipBombDocx(t *testing.T) []byte {
	t.Helper()
	docx := minimalDocx(t)
	zr, err := zip.NewReader(bytes.NewReader(docx), int64(len(docx)))
	require.NoError(t, err)
	var bomb bytes.Buffer
	zw := zip.NewWriter(&bomb)
	for _, f := range zr.File {
		require.NoError(t, zw.Copy(f))
	}
	var raw bytes.Buffer
	fw, err := flate.NewWriter(&raw, flate.BestCompression)
	require.NoError(t, err)
	_, err = fw.Write(make([]byte, 4<<20))
	require.NoError(t, err)
	require.NoError(t, fw.Close())
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "word/media/image1.bin", Method: zip.Deflate,
		CompressedSize64: uint64(raw.Len()), UncompressedSize64: 8 << 30})
	require.NoError(t, err)
	_, err = w.Write(raw.Bytes())
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return bomb.Bytes()
}

// plainZip is an archive that is not an Office document.
func plainZip(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("payload.exe")
	require.NoError(t, err)
	_, _ = w.Write([]byte("MZ\x90\x00"))
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// rawFileUpload is a multipart body whose Content-Disposition is written
// as given, so a test can send names no well-behaved client would.
func rawFileUpload(t *testing.T, disposition string, content []byte) *multipartBody {
	m := &multipartBody{}
	w := multipart.NewWriter(&m.buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", disposition)
	h.Set("Content-Type", "application/octet-stream")
	pw, err := w.CreatePart(h)
	require.NoError(t, err)
	_, _ = pw.Write(content)
	require.NoError(t, w.Close())
	m.contentType = w.FormDataContentType()
	return m
}

// completionForm is the quest page's multipart form: a description and a file.
func completionForm(t *testing.T, text, filename string, content []byte) *multipartBody {
	m := &multipartBody{}
	w := multipart.NewWriter(&m.buf)
	require.NoError(t, w.WriteField("text", text))
	fw, err := w.CreateFormFile("file", filename)
	require.NoError(t, err)
	_, _ = fw.Write(content)
	require.NoError(t, w.Close())
	m.contentType = w.FormDataContentType()
	return m
}

// blobKeyFile is the only shape of file the blob store writes (fileblob
// keeps attributes beside each object).
var blobKeyFile = regexp.MustCompile(`^blobs/sha256/[0-9a-f]{2}/[0-9a-f]{64}(\.attrs)?$`)

// dataFiles lists the files under the data directory, relative to it, and
// the number of stored blobs.
func dataFiles(t *testing.T, dir string) (files []string, blobs int) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		files = append(files, rel)
		if blobKeyFile.MatchString(rel) && !strings.HasSuffix(rel, ".attrs") {
			blobs++
		}
		return nil
	}))
	return files, blobs
}

// served is what a browser gets for a stored file.
type served struct {
	status      int
	contentType string
	disposition string // inline or attachment
	filename    string // from Content-Disposition, decoded
	nosniff     bool
	csp         string
	body        []byte
}

func getFile(t *testing.T, c *client, fileID string) served {
	t.Helper()
	resp, err := c.http.Get(c.base + "/api/files/" + fileID)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	s := served{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: body,
		nosniff: resp.Header.Get("X-Content-Type-Options") == "nosniff", csp: resp.Header.Get("Content-Security-Policy")}
	disp, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
	require.NoError(t, err, "Content-Disposition %q parses", resp.Header.Get("Content-Disposition"))
	require.Len(t, params, 1, "Content-Disposition %q carries the file name only", resp.Header.Get("Content-Disposition"))
	s.disposition, s.filename = disp, params["filename"]
	return s
}

// requireSafeName checks a stored display name: a base name with no path,
// control or format characters, at most 200 bytes.
func requireSafeName(t *testing.T, name string) {
	t.Helper()
	require.NotEmpty(t, name)
	require.LessOrEqual(t, len(name), 200, name)
	require.NotContains(t, name, "/")
	require.NotContains(t, name, `\`)
	require.False(t, strings.HasPrefix(name, "."), name)
	for _, r := range name {
		require.False(t, r < 0x20 || r == 0x7f || (r >= 0x200b && r <= 0x200f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069),
			"%q keeps %U", name, r)
	}
}

// TestHostileFilesEndToEnd sends hostile file names and polyglot files
// through both ways files enter Optio — a student's upload (the JSON API and
// the quest page's form) and a Spark submission webhook whose files a
// loopback server serves — and checks what a user then gets: a clear error
// for what is refused (nothing stored, no completion, no XP), and for what is
// kept a safe name, the sniffed type, nosniff, a sandboxing CSP and a
// Content-Disposition that parses to exactly that name. Nothing is written
// outside the blob store.
func TestHostileFilesEndToEnd(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		var spark sync.Map // path → []byte
		var sparkHits atomic.Int64
		files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sparkHits.Add(1)
			body, ok := spark.Load(r.URL.Path)
			if !ok {
				http.NotFound(w, r)
				return
			}
			// Spark's own headers are hints at most: a lying type and a
			// traversal name in Content-Disposition change nothing.
			w.Header().Set("Content-Type", "application/pdf")
			w.Header().Set("Content-Disposition", `attachment; filename="../../../etc/cron.d/evil"`)
			_, _ = w.Write(body.([]byte))
		}))
		t.Cleanup(files.Close)
		getenv := testEnv(t, d, map[string]string{"SPARK_WEBHOOK_SECRET": hostileWebhookSecret, "SPARK_FILE_ALLOW_PRIVATE": "true",
			"OPTIO_MAX_UPLOAD_BYTES": "8388608", "OPTIO_LOG_LEVEL": "error"})
		dataDir := getenv("OPTIO_DATA_DIR")
		var out bytes.Buffer
		require.NoError(t, run(ctx, []string{"admin", "create", "--email", "ops@school.test", "--password", "correct horse"}, &out, &out, getenv))
		a := startApp(t, getenv)
		db := a.Store
		rows := func(table, where string, args ...any) int {
			var n int
			require.NoError(t, db.R.QueryRow(`SELECT COUNT(*) FROM `+table+` `+where, args...).Scan(&n))
			return n
		}

		admin := newClient(t, a.URL())
		require.Equal(t, 200, admin.do("POST", "/api/auth/login", map[string]string{"email": "ops@school.test", "password": "correct horse"}, nil))
		var q optio.Quest
		require.Equal(t, 201, admin.do("POST", "/api/admin/quests", `{"title":"Rivers","tasks":[{"title":"Essay","pillar":"stem","xp_value":50},{"title":"Map","pillar":"art","xp_value":30}]}`, &q))
		student := newClient(t, a.URL())
		var me optio.User
		require.Equal(t, 201, student.do("POST", "/api/auth/register", map[string]string{"email": "ria@family.test", "password": "rivers2026",
			"given_name": "Ria", "family_name": "Sen", "role": "student"}, &me))
		require.Equal(t, 200, student.do("POST", "/api/quests/"+q.ID+"/start", nil, nil))

		_, blobsBefore := dataFiles(t, dataDir)

		// 1. Student uploads: hostile names are reduced to safe ones.
		png := pngBytes
		for _, c := range []struct {
			body *multipartBody
			want string
		}{
			{fileUpload(t, "file", "../../etc/passwd.png", png), "passwd.png"},
			{fileUpload(t, "file", `..\..\win.ini.png`, png), "win.ini.png"},
			{fileUpload(t, "file", "a/../../b.png", png), "b.png"},
			{fileUpload(t, "file", "/etc/shadow", png), "shadow.png"},
			{fileUpload(t, "file", `C:\Windows\System32\drivers\etc\hosts.png`, png), "hosts.png"},
			{fileUpload(t, "file", "report\u202Egnp.exe", png), "reportgnp.exe.png"},
			{fileUpload(t, "file", "zero\u200bwidth\u2066.png", png), "zerowidth.png"},
			{fileUpload(t, "file", "CON.png", png), "_CON.png"},
			{fileUpload(t, "file", "ok-名前.png", png), "ok-名前.png"},
			{fileUpload(t, "file", strings.Repeat("long", 300)+".png", png), strings.Repeat("long", 49) + ".png"},
			{fileUpload(t, "file", `x";filename="evil.html`, png), `x_;filename=_evil.html.png`},
			{rawFileUpload(t, "form-data; name=\"file\"; filename=\"tab\there.png\"", png), "tabhere.png"},
			{rawFileUpload(t, `form-data; name="file"; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd%00.png`, png), "passwd.png"},
			{fileUpload(t, "file", "essay.html", essayText), "essay.html.txt"},
		} {
			var f optio.File
			require.Equal(t, 201, student.do("POST", "/api/uploads", c.body, &f), c.want)
			require.Equal(t, c.want, f.Filename)
			requireSafeName(t, f.Filename)
			s := getFile(t, student, f.ID)
			require.Equal(t, 200, s.status)
			require.Equal(t, c.want, s.filename, "Content-Disposition names the stored file")
			require.True(t, s.nosniff)
			require.Contains(t, s.csp, "sandbox")
			require.Contains(t, s.csp, "default-src 'none'")
			if strings.HasSuffix(c.want, ".txt") {
				require.Equal(t, "text/plain; charset=utf-8", s.contentType)
				require.Equal(t, essayText, s.body)
			} else {
				require.Equal(t, "image/png", s.contentType)
				require.Equal(t, "inline", s.disposition)
				require.Equal(t, png, s.body)
			}
		}

		// A NUL in a part header, or a body cut off, is a malformed
		// request: 400 with a message, nothing stored.
		var e apiError
		filesNow := rows("files", "")
		require.Equal(t, 400, student.do("POST", "/api/uploads", rawFileUpload(t, "form-data; name=\"file\"; filename=\"nul\x00.png\"", png), &e))
		require.Equal(t, "invalid", e.Error.Code)
		require.Contains(t, e.Error.Message, "multipart/form-data")
		cut := fileUpload(t, "file", "cut.png", png)
		cut.buf.Truncate(cut.buf.Len() - 20)
		e = apiError{}
		require.Equal(t, 400, student.do("POST", "/api/uploads", cut, &e))
		require.Equal(t, "invalid", e.Error.Code)
		require.Contains(t, e.Error.Message, "cut off")
		require.Equal(t, filesNow, rows("files", ""))

		// The GIF that is also JavaScript is an image, served only as one.
		var gif optio.File
		require.Equal(t, 201, student.do("POST", "/api/uploads", fileUpload(t, "file", "polyglot.js", gifJS), &gif))
		require.Equal(t, "polyglot.js.gif", gif.Filename)
		s := getFile(t, student, gif.ID)
		require.Equal(t, "image/gif", s.contentType)
		require.Equal(t, "inline", s.disposition)
		require.True(t, s.nosniff)
		require.Contains(t, s.csp, "sandbox")

		// A Word document downloads, never opens in the page.
		var docx optio.File
		require.Equal(t, 201, student.do("POST", "/api/uploads", fileUpload(t, "file", "essay.docx", minimalDocx(t)), &docx))
		s = getFile(t, student, docx.ID)
		require.Equal(t, "attachment", s.disposition)
		require.Equal(t, "essay.docx", s.filename)

		_, blobsKept := dataFiles(t, dataDir)
		filesKept := rows("files", "")

		// 2. Polyglots and disguised files are refused with 415 and a
		// message, through the API and the quest page's form alike, and
		// leave nothing behind.
		refused := []struct {
			name    string
			content []byte
			says    string
		}{
			{"cat.gif", gifHTML, "HTML"},
			{"photo.jpg", jpegHTML, "HTML"},
			{"essay.pdf", pdfHTML, "HTML"},
			{"drawing.svg", svgScript, "SVG"},
			{"drawing.png", svgScript, "SVG"},
			{"essay.pdf", htmlAsPDF, "text/html"},
			{"essay.docx", zipBombDocx(t), "expand"},
			{"essay.docx", plainZip(t), "zip"},
		}
		for _, r := range refused {
			e = apiError{}
			require.Equal(t, 415, student.do("POST", "/api/uploads", fileUpload(t, "file", r.name, r.content), &e), r.name)
			require.Equal(t, "unsupported_type", e.Error.Code, r.name)
			require.Contains(t, e.Error.Message, r.says, r.name)

			e = apiError{}
			require.Equal(t, 415, student.do("POST", "/tasks/"+q.Tasks[0].ID+"/complete", completionForm(t, "My work", r.name, r.content), &e), r.name)
			require.Equal(t, "unsupported_type", e.Error.Code, r.name)
			require.Contains(t, e.Error.Message, r.says, r.name)
		}
		require.Equal(t, filesKept, rows("files", ""), "no file rows for refused files")
		require.Zero(t, rows("quest_task_completions", "WHERE user_id = $1", me.ID))
		require.Zero(t, rows("xp_ledger", "WHERE user_id = $1", me.ID))
		require.Zero(t, rows("evidence_document_blocks", ""))
		_, blobs := dataFiles(t, dataDir)
		require.Equal(t, blobsKept, blobs, "no blob for refused files")

		// The form with a hostile name and a good file completes the task
		// under the safe name.
		resp, err := student.http.Do(mustRequest(t, "POST", a.URL()+"/tasks/"+q.Tasks[0].ID+"/complete", completionForm(t, "Rivers essay", "..\\..\\..\\rivers.png", png)))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 303, resp.StatusCode)
		var dash struct {
			Completions []optio.CompletionView `json:"recent_completions"`
		}
		require.Equal(t, 200, student.do("GET", "/api/dashboard", nil, &dash))
		require.Len(t, dash.Completions, 1)
		blocks := dash.Completions[0].Evidence.Blocks
		require.Len(t, blocks, 2)
		require.Equal(t, "rivers.png", blocks[1].Content.Filename)
		require.Equal(t, "rivers.png", getFile(t, student, blocks[1].Content.FileID).filename)
		require.Equal(t, 1, rows("xp_ledger", "WHERE user_id = $1", me.ID))

		// 3. Spark: the course webhook maps a course, then submissions come in.
		course := `{"spark_course_id":"geo-1","course_title":"Rivers","assignments":[{"spark_assignment_id":"geo-1-a","title":"Field notes","max_points":10}]}`
		require.Equal(t, 202, postWebhook(t, a.URL(), "/spark/webhook/course", "msg_hostile_course", []byte(course), hostileWebhookSecret).status)
		submission := func(user string, files ...map[string]string) []byte {
			b, err := json.Marshal(map[string]any{"spark_user_id": user, "spark_assignment_id": "geo-1-a", "spark_course_id": "geo-1",
				"submitted_at": "2026-03-02T10:00:00Z", "submission_files": files})
			require.NoError(t, err)
			return b
		}
		serve := func(path string, body []byte) string { spark.Store(path, body); return files.URL + path }
		pdf := []byte("%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
		pdfURL := serve("/f/ok.pdf", pdf)

		// Names that leave their folder, are absolute, or carry control
		// characters are refused at the door: 400 naming the field, and
		// nothing is stored — not even the student.
		before := map[string]int{}
		tables := []string{"users", "spark_assignment_submissions", "spark_evidence_sync_queue", "webhook_deliveries", "files"}
		for _, tb := range tables {
			before[tb] = rows(tb, "")
		}
		for i, bad := range []struct{ name, says string }{
			{"../../etc/passwd", "traversal"},
			{`..\..\win.ini`, "traversal"},
			{"a/../../b.pdf", "traversal"},
			{"/etc/passwd", "absolute"},
			{`C:\boot.pdf`, "absolute"},
			{"nul\x00.pdf", "control"},
			{"bell\a\x1b[2J.pdf", "control"},
			{strings.Repeat("x", 300) + ".pdf", "255"},
			{"..", "traversal"},
			{"", "required"},
		} {
			ans := postWebhook(t, a.URL(), "/spark/webhook/submission", fmt.Sprintf("msg_hostile_name_%d", i),
				submission("spark-bad-name", map[string]string{"url": pdfURL, "type": "pdf", "filename": bad.name}), hostileWebhookSecret)
			var e apiError
			require.NoError(t, json.Unmarshal(ans.body, &e))
			require.Equal(t, 400, ans.status, "%q: %s", bad.name, ans.body)
			require.Equal(t, "invalid_payload", e.Error.Code)
			require.Contains(t, e.Error.Fields["submission_files[0].filename"], bad.says, bad.name)
		}
		for _, tb := range tables {
			require.Equal(t, before[tb], rows(tb, ""), "nothing stored in %s", tb)
		}
		require.Zero(t, sparkHits.Load(), "nothing was downloaded")

		// Names Spark may send (sub-folders, odd characters) are kept as
		// safe base names; the download's own headers are ignored.
		accepted := []struct{ name, want string }{
			{"essays/final.pdf", "final.pdf"},
			{"report\u202Efdp.exe", "reportfdp.exe.pdf"},
			{"CON.pdf", "_CON.pdf"},
			{`what"is;this?.pdf`, "what_is;this_.pdf"},
			{"...hidden.pdf", "hidden.pdf"},
			{strings.Repeat("é", 120) + ".pdf", strings.Repeat("é", 98) + ".pdf"},
		}
		ids := map[string]string{}
		for i, c := range accepted {
			ans := postWebhook(t, a.URL(), "/spark/webhook/submission", fmt.Sprintf("msg_hostile_ok_%d", i),
				submission(fmt.Sprintf("spark-ok-%d", i), map[string]string{"url": pdfURL, "type": "pdf", "filename": c.name}), hostileWebhookSecret)
			require.Equal(t, 202, ans.status, "%q: %s", c.name, ans.body)
			var acc struct {
				SyncID string `json:"sync_id"`
			}
			require.NoError(t, json.Unmarshal(ans.body, &acc))
			ids[c.name] = acc.SyncID
		}
		for i, c := range accepted {
			waitRow(t, db, ids[c.name], optio.SyncCompleted)
			u, err := db.UserBySparkID(ctx, fmt.Sprintf("spark-ok-%d", i))
			require.NoError(t, err)
			var fileID, stored string
			require.NoError(t, db.R.QueryRow(`SELECT id, filename FROM files WHERE owner_id = $1`, u.ID).Scan(&fileID, &stored))
			require.Equal(t, c.want, stored, c.name)
			requireSafeName(t, stored)
			s := getFile(t, admin, fileID)
			require.Equal(t, 200, s.status)
			require.Equal(t, "application/pdf", s.contentType)
			require.Equal(t, c.want, s.filename)
			require.True(t, s.nosniff)
			require.Contains(t, s.csp, "sandbox")
			require.Equal(t, pdf, s.body)
		}

		// Polyglots from Spark are refused at once (no retry): the sync
		// completes with the file as a "could not import" entry naming what
		// was found, and no file or blob of it is ever stored.
		_, blobsKept = dataFiles(t, dataDir)
		for i, r := range append(refused, struct {
			name    string
			content []byte
			says    string
		}{"inline.gif", gifHTML, "HTML"}) {
			file := map[string]string{"url": serve(fmt.Sprintf("/f/%d", i), r.content), "type": "document", "filename": r.name}
			if r.name == "inline.gif" {
				file = map[string]string{"type": "image", "filename": r.name, "content_base64": base64.StdEncoding.EncodeToString(r.content)}
			}
			user := fmt.Sprintf("spark-polyglot-%d", i)
			ans := postWebhook(t, a.URL(), "/spark/webhook/submission", "msg_hostile_poly_"+user, submission(user, file), hostileWebhookSecret)
			require.Equal(t, 202, ans.status, "%s: %s", r.name, ans.body)
			var acc struct {
				SyncID string `json:"sync_id"`
			}
			require.NoError(t, json.Unmarshal(ans.body, &acc))
			row := waitRow(t, db, acc.SyncID, optio.SyncCompleted)
			require.Equal(t, 1, row.Attempts, "%s: a refused type is not retried", r.name)
			require.Len(t, row.FileProblems, 1, r.name)
			require.Equal(t, filestore.SafeFilename(r.name), row.FileProblems[0].Filename)
			require.Contains(t, row.FileProblems[0].Reason, r.says)
			u, err := db.UserBySparkID(ctx, user)
			require.NoError(t, err)
			done, err := db.RecentCompletions(ctx, u.ID, 5, 0)
			require.NoError(t, err)
			require.Len(t, done, 1, r.name)
			require.Len(t, done[0].Evidence.Blocks, 1, r.name)
			require.Contains(t, done[0].Evidence.Blocks[0].Content.NotImported, r.says, r.name)
			require.Empty(t, done[0].Evidence.Blocks[0].Content.FileID, r.name)
			require.Zero(t, rows("files", "WHERE owner_id = $1", u.ID), r.name)
		}
		all, blobs := dataFiles(t, dataDir)
		require.Equal(t, blobsKept, blobs, "no blob for refused Spark files")
		require.Greater(t, blobs, blobsBefore)

		// Nothing but content-addressed blobs was written to the data directory.
		for _, f := range all {
			if !blobKeyFile.MatchString(f) {
				t.Errorf("unexpected file in the data directory: %s", f)
			}
		}
	})
}

func mustRequest(t *testing.T, method, url string, body *multipartBody) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, &body.buf)
	require.NoError(t, err)
	req.Header.Set("Content-Type", body.contentType)
	return req
}
