package spark_test

import (
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
)

const goodSubmission = `{
  "spark_user_id": "stu_1",
  "spark_assignment_id": "asg_1",
  "spark_course_id": "crs_1",
  "submission_text": "My essay.",
  "submitted_at": "2025-03-01T10:00:00+01:00",
  "grade": 92.5,
  "future_field": {"ignored": true},
  "submission_files": [
    {"url": "https://files.spark.example/essay.pdf", "type": "application/pdf", "filename": "essay.pdf"},
    {"filename": "notes.txt", "type": "text", "content_base64": "aGVsbG8gd29ybGQ="},
    {"url": "http://files.spark.example/p.jpg", "type": "image", "filename": "photos/p.jpg"}
  ]
}`

// fieldsOf returns the Fields of an EPAYLOAD error.
func fieldsOf(t *testing.T, err error) map[string]string {
	t.Helper()
	requireCode(t, err, optio.EPAYLOAD)
	var oe *optio.Error
	require.ErrorAs(t, err, &oe)
	return oe.Fields
}

func TestDecodeSubmission(t *testing.T) {
	t.Parallel()
	s, err := spark.DecodeSubmission([]byte(goodSubmission))
	require.NoError(t, err)
	require.Equal(t, "stu_1", s.SparkUserID)
	require.Equal(t, time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC), s.SubmittedAt)
	require.NotNil(t, s.Grade)
	require.Equal(t, "92.5", *s.Grade)
	require.Len(t, s.Files, 3)

	require.Equal(t, "application/pdf", s.Files[0].ContentType())
	require.Equal(t, optio.BlockDocument, s.Files[0].BlockType())
	require.False(t, s.Files[0].Inline())

	require.True(t, s.Files[1].Inline())
	content, err := io.ReadAll(s.Files[1].Open())
	require.NoError(t, err)
	require.Equal(t, "hello world", string(content))
	require.Equal(t, "text/plain", s.Files[1].ContentType())

	require.Equal(t, "image/jpeg", s.Files[2].ContentType())
	require.Equal(t, optio.BlockImage, s.Files[2].BlockType())

	for raw, want := range map[string]*string{`"A-"`: ptr("A-"), `null`: nil, `""`: nil, `100`: ptr("100"), `1e2`: ptr("1e2")} {
		body := strings.Replace(goodSubmission, `92.5`, raw, 1)
		s, err := spark.DecodeSubmission([]byte(body))
		require.NoError(t, err, raw)
		require.Equal(t, want, s.Grade, raw)
	}
}

func ptr(s string) *string { return &s }

func TestDecodeSubmissionNamesEveryBadField(t *testing.T) {
	t.Parallel()
	body := `{
	  "spark_user_id": "",
	  "spark_course_id": "c\u0000",
	  "submitted_at": "yesterday",
	  "grade": true,
	  "submission_files": [
	    {"url": "https://ok.example/a.pdf", "type": "pdf", "filename": "a.pdf"},
	    {"url": "ftp://files.example/b.pdf", "type": "application/pdf", "filename": "../b.pdf"},
	    {"url": "https://x.example/c", "content_base64": "aGk=", "type": "pdf", "filename": "c.pdf"},
	    {"type": "application/x-msdownload", "filename": "evil.exe"},
	    {"content_base64": "not base64!!", "type": "image/svg+xml", "filename": "/etc/passwd"},
	    {"url": "https://user:pw@x.example/d.pdf", "type": "pdf", "filename": ""}
	  ]
	}`
	_, err := spark.DecodeSubmission([]byte(body))
	require.Equal(t, map[string]string{
		"spark_user_id":                      "required",
		"spark_assignment_id":                "required",
		"spark_course_id":                    "must be at most 255 printable characters",
		"submitted_at":                       "must be an RFC 3339 time like 2025-03-01T14:00:00Z",
		"grade":                              "must be a number or a string",
		"submission_files[1].url":            "must be an absolute http or https URL",
		"submission_files[1].filename":       "must not contain path traversal (..)",
		"submission_files[2]":                "give url or content_base64, not both",
		"submission_files[3]":                "needs url or content_base64",
		"submission_files[4].content_base64": "must be standard base64",
		"submission_files[4].filename":       "must not be an absolute path",
		"submission_files[5].url":            "must not contain a user name or password",
		"submission_files[5].filename":       "required",
	}, fieldsOf(t, err))
}

func TestDecodeSubmissionLimits(t *testing.T) {
	t.Parallel()
	files := make([]string, spark.MaxSubmissionFiles+1)
	for i := range files {
		files[i] = fmt.Sprintf(`{"url":"https://x.example/%d.pdf","type":"pdf","filename":"%d.pdf"}`, i, i)
	}
	body := `{"spark_user_id":"u","spark_assignment_id":"a","spark_course_id":"c","submitted_at":"2025-01-01T00:00:00Z","submission_files":[` + strings.Join(files, ",") + `]}`
	f := fieldsOf(t, decodeErr(spark.DecodeSubmission([]byte(body))))
	require.Contains(t, f["submission_files"], "at most 50")

	long := `{"spark_user_id":"u","spark_assignment_id":"a","spark_course_id":"c","submitted_at":"2025-01-01T00:00:00Z","submission_files":[{"url":"https://x.example/a","type":"pdf","filename":"` + strings.Repeat("a", 256) + `"}]}`
	f = fieldsOf(t, decodeErr(spark.DecodeSubmission([]byte(long))))
	require.Equal(t, "must be at most 255 bytes", f["submission_files[0].filename"])
}

func decodeErr[T any](_ T, err error) error { return err }

func TestDecodeMalformed(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
	cases := []struct {
		name, body, contains string
	}{
		{"empty", ``, "empty"},
		{"whitespace", " \n", "empty"},
		{"array", `[]`, "object"},
		{"null", `null`, "object"},
		{"syntax", `{"spark_user_id": "u",}`, "byte"},
		{"truncated", `{"spark_user_id": "u"`, "ends early"},
		{"wrong type", `{"spark_user_id": 42}`, "spark_user_id"},
		{"files not array", `{"submission_files": "a.pdf"}`, "submission_files"},
		{"file url wrong type", `{"submission_files": [{"url": 5}]}`, "url"},
		{"trailing data", `{} {}`, "after"},
		{"too deep", deep, "deeper than 32"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, decode := range []func([]byte) error{
				func(b []byte) error { return decodeErr(spark.DecodeSubmission(b)) },
				func(b []byte) error { return decodeErr(spark.DecodeRoster(b)) },
				func(b []byte) error { return decodeErr(spark.DecodeCourse(b)) },
			} {
				err := decode([]byte(tc.body))
				if tc.name == "wrong type" || tc.name == "files not array" || tc.name == "file url wrong type" {
					// Only the submission decoder knows those fields; the others ignore or reject them.
					if err == nil || optio.ErrorCode(err) != optio.EMALFORMED {
						continue
					}
				}
				requireCode(t, err, optio.EMALFORMED)
				require.Contains(t, err.Error(), tc.contains)
			}
		})
	}
	// Deep nesting in an ignored field is still refused.
	_, err := spark.DecodeSubmission([]byte(`{"x":` + deep + `}`))
	requireCode(t, err, optio.EMALFORMED)
	// 32 levels is fine.
	ok := `{"spark_user_id":"u","spark_assignment_id":"a","spark_course_id":"c","submitted_at":"2025-01-01T00:00:00Z","x":` +
		strings.Repeat("[", 31) + strings.Repeat("]", 31) + `}`
	_, err = spark.DecodeSubmission([]byte(ok))
	require.NoError(t, err)
}

func TestDecodeRoster(t *testing.T) {
	t.Parallel()
	r, err := spark.DecodeRoster([]byte(`{"spark_user_id":"stu_1","spark_course_id":"crs_1","action":"enroll",
	  "email":"ada@example.com","given_name":" Ada ","family_name":"Lovelace","occurred_at":"2025-03-01T10:00:00Z"}`))
	require.NoError(t, err)
	require.Equal(t, spark.RosterEnroll, r.Action)
	require.Equal(t, "Ada", r.GivenName)
	require.Equal(t, time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC), r.OccurredAt)

	for _, a := range []string{"drop", "complete"} {
		_, err := spark.DecodeRoster([]byte(`{"spark_user_id":"u","spark_course_id":"c","action":"` + a + `","occurred_at":"2025-03-01T10:00:00Z"}`))
		require.NoError(t, err, a)
	}

	cases := map[string]struct {
		body   string
		fields map[string]string
	}{
		"empty object": {`{}`, map[string]string{
			"spark_user_id": "required", "spark_course_id": "required", "action": "required", "occurred_at": "required",
		}},
		"bad values": {`{"spark_user_id":"u","spark_course_id":"c","action":"graduate","email":"Ada <ada@example.com>",
		  "given_name":"A\nda","family_name":"` + strings.Repeat("x", 201) + `","occurred_at":"2025-03-01"}`, map[string]string{
			"action": "must be enroll, drop or complete", "email": "must be an email address",
			"given_name": "must not contain control characters", "family_name": "must be at most 200 characters",
			"occurred_at": "must be an RFC 3339 time like 2025-03-01T14:00:00Z",
		}},
	}
	for name, tc := range cases {
		_, err := spark.DecodeRoster([]byte(tc.body))
		require.Equal(t, tc.fields, fieldsOf(t, err), name)
	}
}

func TestDecodeCourse(t *testing.T) {
	t.Parallel()
	c, err := spark.DecodeCourse([]byte(`{"spark_course_id":"crs_1","course_title":"OnFire Biology","course_description":"Cells.",
	  "assignments":[
	    {"spark_assignment_id":"a1","title":"Lab report","due_date":"2025-03-10T17:00:00-05:00","max_points":100},
	    {"spark_assignment_id":"a2","title":"Quiz","due_date":"2025-03-12","max_points":0},
	    {"spark_assignment_id":"a3","title":"Reading"}
	  ]}`))
	require.NoError(t, err)
	require.Equal(t, "OnFire Biology", c.Title)
	require.Len(t, c.Assignments, 3)
	require.Equal(t, time.Date(2025, 3, 10, 22, 0, 0, 0, time.UTC), *c.Assignments[0].DueAt)
	require.False(t, c.Assignments[0].DueDateOnly)
	require.Equal(t, 100.0, *c.Assignments[0].MaxPoints)
	require.Equal(t, time.Date(2025, 3, 12, 23, 59, 59, 0, time.UTC), *c.Assignments[1].DueAt)
	require.True(t, c.Assignments[1].DueDateOnly)
	require.Equal(t, 0.0, *c.Assignments[1].MaxPoints)
	require.Nil(t, c.Assignments[2].DueAt)
	require.Nil(t, c.Assignments[2].MaxPoints)

	_, err = spark.DecodeCourse([]byte(`{"spark_course_id":"","course_title":"  ",
	  "assignments":[
	    {"spark_assignment_id":"a1","title":"One","due_date":"next week","max_points":-1},
	    {"spark_assignment_id":"a1","title":"","max_points":"100"},
	    {"title":"Three","max_points":{"n":1}}
	  ]}`))
	require.Equal(t, map[string]string{
		"spark_course_id":                    "required",
		"course_title":                       "required",
		"assignments[0].due_date":            "must be an RFC 3339 time or a YYYY-MM-DD date",
		"assignments[0].max_points":          "must be a number ≥ 0",
		"assignments[1].spark_assignment_id": "duplicates assignments[0]",
		"assignments[1].title":               "required",
		"assignments[1].max_points":          "must be a number ≥ 0",
		"assignments[2].spark_assignment_id": "required",
		"assignments[2].max_points":          "must be a number ≥ 0",
	}, fieldsOf(t, err))

	many := make([]string, spark.MaxCourseAssignments+1)
	for i := range many {
		many[i] = fmt.Sprintf(`{"spark_assignment_id":"a%d","title":"T"}`, i)
	}
	_, err = spark.DecodeCourse([]byte(`{"spark_course_id":"c","course_title":"T","assignments":[` + strings.Join(many, ",") + `]}`))
	require.Contains(t, fieldsOf(t, err)["assignments"], "at most 500")
}

func TestResolveFileType(t *testing.T) {
	t.Parallel()
	cases := []struct {
		typ, filename, ct string
		block             optio.BlockType
		ok                bool
	}{
		{"application/pdf", "a.pdf", "application/pdf", optio.BlockDocument, true},
		{"Application/PDF; charset=binary", "a", "application/pdf", optio.BlockDocument, true},
		{"pdf", "a", "application/pdf", optio.BlockDocument, true},
		{"image/jpg", "a.jpg", "image/jpeg", optio.BlockImage, true},
		{"screenshot", "s.png", "image/png", optio.BlockImage, true},
		{"image", "no-extension", "application/octet-stream", optio.BlockImage, true},
		{"video", "clip.mov", "video/quicktime", optio.BlockVideo, true},
		{"video/mp4", "clip.mp4", "video/mp4", optio.BlockVideo, true},
		{"audio", "talk.mp3", "audio/mpeg", optio.BlockDocument, true},
		{"", "slides.pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", optio.BlockDocument, true},
		{"spreadsheet", "data.ods", "application/vnd.oasis.opendocument.spreadsheet", optio.BlockDocument, true},
		{"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "e.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", optio.BlockDocument, true},
		{"text/markdown", "r.md", "text/markdown", optio.BlockDocument, true},
		{"text", "r", "text/plain", optio.BlockDocument, true},
		{"md", "r", "text/markdown", optio.BlockDocument, true},
		{"image/svg+xml", "a.svg", "", "", false},
		{"text/html", "a.html", "", "", false},
		{"application/octet-stream", "a.bin", "", "", false},
		{"exe", "a.exe", "", "", false},
		{"", "a.exe", "", "", false},
		{"", "noext", "", "", false},
		{"not a / mime;;", "a.pdf", "", "", false},
	}
	for _, tc := range cases {
		ct, block, ok := spark.ResolveFileType(tc.typ, tc.filename)
		require.Equal(t, tc.ok, ok, "%q %q", tc.typ, tc.filename)
		require.Equal(t, tc.ct, ct, "%q %q", tc.typ, tc.filename)
		require.Equal(t, tc.block, block, "%q %q", tc.typ, tc.filename)
	}
}

func TestSubmissionFileOpenAcceptsUnpaddedAndWrapped(t *testing.T) {
	t.Parallel()
	data := []byte("The quick brown fox jumps over the lazy dog")
	for _, enc := range []string{
		base64.StdEncoding.EncodeToString(data),
		base64.RawStdEncoding.EncodeToString(data),
		wrap(base64.StdEncoding.EncodeToString(data), 16),
	} {
		f := spark.SubmissionFile{Filename: "a.txt", Type: "text", ContentBase64: enc}
		got, err := io.ReadAll(f.Open())
		require.NoError(t, err)
		require.Equal(t, data, got)
	}
}

func wrap(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\r\n")
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}
