package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/app"
	"github.com/optio-edu/optio/internal/apptest"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// testEnv is an environment for one Optio process in a test.
func testEnv(t *testing.T, d store.Dialect, extra map[string]string) func(string) string {
	return apptest.Env(t, d, extra).Get
}

// startApp starts the real program on :0 with env and stops it at the end.
func startApp(t *testing.T, getenv func(string) string) *app.App {
	return apptest.Start(t, getenv, app.Options{}, nil)
}

// client is a browser-like HTTP client with its own cookie jar.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// do sends a request and decodes a JSON answer into out (when non-nil),
// returning the status.
func (c *client) do(method, path string, body any, out any) int {
	c.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	case *multipartBody:
		rd, ct = &b.buf, b.contentType
	default:
		raw, err := json.Marshal(b)
		require.NoError(c.t, err)
		rd, ct = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	require.NoError(c.t, err)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		require.NoError(c.t, json.Unmarshal(raw, out), "body: %s", raw)
	}
	return resp.StatusCode
}

type multipartBody struct {
	buf         bytes.Buffer
	contentType string
}

func fileUpload(t *testing.T, field, name string, content []byte) *multipartBody {
	m := &multipartBody{}
	w := multipart.NewWriter(&m.buf)
	fw, err := w.CreateFormFile(field, name)
	require.NoError(t, err)
	_, _ = fw.Write(content)
	require.NoError(t, w.Close())
	m.contentType = w.FormDataContentType()
	return m
}

// pngBytes is a valid 1×1 PNG.
var pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")

type apiError struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

// TestQuestSliceEndToEnd is the foundation's product slice through the real
// binary's code paths: admin created by the CLI, a quest with two tasks in
// different pillars, a student who completes both (one with a file) and sees
// XP land per pillar — on SQLite and PostgreSQL.
func TestQuestSliceEndToEnd(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		getenv := testEnv(t, d, map[string]string{"OPTIO_MAX_UPLOAD_BYTES": "2048"})
		var out bytes.Buffer
		require.NoError(t, run(context.Background(), []string{"admin", "create", "--email", "head@school.test", "--password", "correct horse"}, &out, &out, getenv))
		require.Contains(t, out.String(), "created admin head@school.test")
		a := startApp(t, getenv)

		admin := newClient(t, a.URL())
		var e apiError
		require.Equal(t, 401, admin.do("POST", "/api/auth/login", map[string]string{"email": "head@school.test", "password": "wrong password"}, &e))
		require.Equal(t, "unauthorized", e.Error.Code)
		require.Equal(t, 200, admin.do("POST", "/api/auth/login", map[string]string{"email": "head@school.test", "password": "correct horse"}, nil))

		var q optio.Quest
		require.Equal(t, 201, admin.do("POST", "/api/admin/quests", `{"title":"Community garden","description":"Grow food for the food bank",
			"tasks":[{"title":"Plan the beds","pillar":"stem","xp_value":120},{"title":"Write to the council","pillar":"civics","xp_value":80}]}`, &q))
		require.Len(t, q.Tasks, 2)

		// Bad input from an admin.
		e = apiError{}
		require.Equal(t, 400, admin.do("POST", "/api/admin/quests", `{"title":"x","tasks":[{"title":"t","pillar":"space","xp_value":-1}]}`, &e))
		require.Equal(t, "invalid", e.Error.Code)
		require.Contains(t, e.Error.Fields, "tasks[0].pillar")
		require.Contains(t, e.Error.Fields, "tasks[0].xp_value")
		e = apiError{}
		require.Equal(t, 400, admin.do("POST", "/api/admin/quests", `{"title": 5}`, &e))
		require.Equal(t, "malformed_json", e.Error.Code)
		require.Contains(t, e.Error.Fields, "title")

		student := newClient(t, a.URL())
		var me optio.User
		require.Equal(t, 401, student.do("GET", "/api/me", nil, nil))
		require.Equal(t, 201, student.do("POST", "/api/auth/register", map[string]string{"email": "maya@family.test", "password": "garden2026",
			"given_name": "Maya", "family_name": "Ortiz", "role": "student"}, nil))
		require.Equal(t, 200, student.do("GET", "/api/me", nil, &me))
		require.Equal(t, "mayaortiz", me.PortfolioSlug)
		require.Equal(t, optio.RoleStudent, me.Role)

		require.Equal(t, 403, student.do("POST", "/api/admin/quests", `{"title":"mine"}`, nil), "students cannot create quests")
		require.Equal(t, 404, student.do("POST", "/api/quests/0190a0a0-0000-7000-8000-000000000000/start", nil, nil))
		require.Equal(t, 200, student.do("POST", "/api/quests/"+q.ID+"/start", nil, nil))

		// Upload checks: too large, wrong type.
		require.Equal(t, 413, student.do("POST", "/api/uploads", fileUpload(t, "file", "big.png", bytes.Repeat([]byte("a"), 4096)), nil))
		e = apiError{}
		require.Equal(t, 415, student.do("POST", "/api/uploads", fileUpload(t, "file", "plan.png", []byte("<html><script>alert(1)</script></html>")), &e))
		require.Equal(t, "unsupported_type", e.Error.Code)

		var file optio.File
		require.Equal(t, 201, student.do("POST", "/api/uploads", fileUpload(t, "file", "beds.png", pngBytes), &file))
		require.Equal(t, "image/png", file.ContentType)

		var v optio.CompletionView
		require.Equal(t, 201, student.do("POST", "/api/tasks/"+q.Tasks[0].ID+"/complete",
			map[string]any{"evidence": []map[string]string{{"type": "text", "text": "Four raised beds, 2m each."}, {"type": "file", "file_id": file.ID}}}, &v))
		require.Equal(t, 120, v.Completion.XPAwarded)
		require.Equal(t, optio.BlockImage, v.Evidence.Blocks[1].BlockType)

		e = apiError{}
		require.Equal(t, 409, student.do("POST", "/api/tasks/"+q.Tasks[0].ID+"/complete",
			map[string]any{"evidence": []map[string]string{{"type": "text", "text": "again"}}}, &e), "second completion")
		require.Equal(t, "conflict", e.Error.Code)
		require.Equal(t, 404, student.do("POST", "/api/tasks/0190a0a0-0000-7000-8000-000000000000/complete",
			map[string]any{"evidence": []map[string]string{{"type": "text", "text": "x"}}}, nil))
		require.Equal(t, 400, student.do("POST", "/api/tasks/"+q.Tasks[1].ID+"/complete", `{"evidence":[{"type":"link","url":"javascript:alert(1)"}]}`, nil))
		require.Equal(t, 201, student.do("POST", "/api/tasks/"+q.Tasks[1].ID+"/complete",
			map[string]any{"evidence": []map[string]string{{"type": "link", "url": "https://council.example/letters/42"}}}, nil))

		var dash struct {
			XP     optio.XPSummary       `json:"xp"`
			Quests []optio.QuestProgress `json:"quests"`
		}
		require.Equal(t, 200, student.do("GET", "/api/dashboard", nil, &dash))
		require.Equal(t, 200, dash.XP.Total)
		require.Equal(t, 120, dash.XP.ByPillar[optio.PillarSTEM])
		require.Equal(t, 80, dash.XP.ByPillar[optio.PillarCivics])
		require.Equal(t, 0, dash.XP.ByPillar[optio.PillarArt])
		require.Len(t, dash.Quests, 1)
		require.Equal(t, 2, dash.Quests[0].TasksDone)

		// The file is served to its owner, with its sniffed type, and not to strangers.
		resp, err := student.http.Get(a.URL() + "/api/files/" + file.ID)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		require.Equal(t, "image/png", resp.Header.Get("Content-Type"))
		require.Equal(t, pngBytes, body)
		stranger := newClient(t, a.URL())
		require.Equal(t, 201, stranger.do("POST", "/api/auth/register", map[string]string{"email": "zed@x.test", "password": "password1",
			"given_name": "Zed", "family_name": "Q"}, nil))
		require.Equal(t, 404, stranger.do("GET", "/api/files/"+file.ID, nil, nil))

		// No partial rows: one completion per task, blocks as sent, one file per successful upload.
		n := func(table string) int {
			var c int
			require.NoError(t, a.Store.R.QueryRow(`SELECT COUNT(*) FROM `+table).Scan(&c))
			return c
		}
		require.Equal(t, 2, n("quest_task_completions"))
		require.Equal(t, 3, n("evidence_document_blocks"))
		require.Equal(t, 2, n("xp_ledger"))
		require.Equal(t, 1, n("files"))

		// Pages render for the student.
		resp, err = student.http.Get(a.URL() + "/dashboard")
		require.NoError(t, err)
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		require.Contains(t, string(page), "Your XP: 200")
		require.Contains(t, string(page), "Four raised beds")
		getPage := func(c *client, path string) string {
			resp, err := c.http.Get(a.URL() + path)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			require.Equal(t, 200, resp.StatusCode, path)
			return string(b)
		}
		// The quest page and the API agree: both tasks done; the admin page
		// lists every quest's tasks.
		require.Equal(t, 2, strings.Count(getPage(student, "/quests/"+q.ID), "✓ Completed"))
		adminPage := getPage(admin, "/admin")
		require.Contains(t, adminPage, "Plan the beds")
		require.Contains(t, adminPage, "Write to the council")

		require.Equal(t, 204, student.do("POST", "/api/auth/logout", nil, nil))
		require.Equal(t, 401, student.do("GET", "/api/me", nil, nil))
	})
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	env := map[string]string{"OPTIO_ADDR": "nonsense"}
	err := run(context.Background(), []string{"migrate"}, io.Discard, io.Discard, func(k string) string { return env[k] })
	require.ErrorContains(t, err, "OPTIO_ADDR")
	env = map[string]string{"OPTIO_WORKERS": "many"}
	err = run(context.Background(), []string{"serve"}, io.Discard, io.Discard, func(k string) string { return env[k] })
	require.ErrorContains(t, err, "OPTIO_WORKERS")
	long := strings.Repeat("k", 32)
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"SPARK_WEBHOOK_SECRET": "whsec_not*base64"}, "SPARK_WEBHOOK_SECRET: secret 1 of 1 starts with whsec_ but the rest is not standard base64"},
		{map[string]string{"SPARK_WEBHOOK_SECRET": long + ",whsec_c2hvcnQ="}, "SPARK_WEBHOOK_SECRET: secret 2 of 2 decodes to 5 bytes"},
		{map[string]string{"SPARK_WEBHOOK_SECRET": "short-secret"}, "SPARK_WEBHOOK_SECRET: secret 1 of 1 is 12 bytes"},
		{map[string]string{"SPARK_SSO_SECRET": long + ",tiny"}, "SPARK_SSO_SECRET: secret 2 of 2 is 4 bytes"},
	} {
		err = run(context.Background(), []string{"serve"}, io.Discard, io.Discard, func(k string) string { return c.env[k] })
		require.ErrorContains(t, err, c.want)
		require.NotContains(t, err.Error(), "tiny")
		require.NotContains(t, err.Error(), "short-secret")
	}
	_, err = optio.LoadConfig(func(k string) string {
		return map[string]string{"SPARK_SSO_SECRET": long, "SPARK_WEBHOOK_SECRET": "whsec_" + base64.StdEncoding.EncodeToString([]byte(long[:24]))}[k]
	})
	require.NoError(t, err, "32-byte raw and 24-byte whsec_ secrets are accepted")
}

// `optio migrate` prepares everything serve and worker need, the job
// queue's tables included, so a deploy can migrate once before starting
// processes that share the database.
func TestMigrateCreatesEveryTable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"OPTIO_DATA_DIR": dir}
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"migrate"}, &out, io.Discard, func(k string) string { return env[k] }))
	require.Equal(t, "migrated sqlite store\n", out.String())
	db, err := store.Open(context.Background(), filepath.Join(dir, "optio.db"), nil)
	require.NoError(t, err)
	defer db.Close()
	for _, table := range []string{"users", "spark_evidence_sync_queue", "river_job", "river_queue"} {
		var n int
		require.NoError(t, db.R.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1`, table).Scan(&n))
		require.Equal(t, 1, n, table)
	}
}
