package sandbox_test

import (
	"bytes"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/spark"
)

// noRedirect is a cookie-less client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// page fetches a page and returns its status and unescaped text.
func page(t *testing.T, method, u string, body io.Reader, contentType string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := noRedirect.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, html.UnescapeString(string(b))
}

func postForm(t *testing.T, u string, v url.Values) (*http.Response, string) {
	t.Helper()
	return page(t, http.MethodPost, u, strings.NewReader(v.Encode()), "application/x-www-form-urlencoded")
}

func TestUIPagesRender(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	res, body := page(t, http.MethodGet, b.url+"/", nil, "")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
	for _, s := range []string{"Maya Chen", "Lin Chen", "Sam Rivera", "Minecraft Zoology", "Sunrise time-lapse (MP4 video, 2 s)"} {
		require.Contains(t, body, s)
	}

	_, body = page(t, http.MethodGet, b.url+"/users/spark-stu-maya", nil, "")
	require.Contains(t, body, "View Portfolio in Optio")
	require.Contains(t, body, "Newton's laws essay")
	require.Contains(t, body, `/users/spark-stu-maya/assignments/spark-physics-forces-essay`)
	require.Contains(t, body, "No submissions yet.")

	_, body = page(t, http.MethodGet, b.url+"/users/spark-par-lin", nil, "")
	require.Contains(t, body, "Children")
	require.Contains(t, body, "Maya Chen")
	require.Contains(t, body, "missing", "past-due work without a submission is flagged")

	_, body = page(t, http.MethodGet, b.url+"/users/spark-admin", nil, "")
	require.Contains(t, body, "Webhook delivery log")

	res, body = page(t, http.MethodGet, b.url+"/users/spark-nobody", nil, "")
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	require.Contains(t, body, `No user "spark-nobody" in the sandbox.`)

	_, body = page(t, http.MethodGet, b.url+"/deliveries", nil, "")
	require.Contains(t, body, "No webhooks sent yet.")
	_, body = page(t, http.MethodGet, b.url+"/grades", nil, "")
	require.Contains(t, body, "No grades received yet.")
}

func TestUISSOButtonRedirectsToOptio(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	res, _ := postForm(t, b.url+"/users/spark-stu-leo/sso", nil)
	require.Equal(t, http.StatusFound, res.StatusCode)
	loc, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, b.optio.URL+"/spark/sso", loc.Scheme+"://"+loc.Host+loc.Path)
	require.NotEmpty(t, loc.Query().Get("token"))
}

func TestUIRosterButtons(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	res, _ := postForm(t, b.url+"/users/spark-stu-leo/roster", url.Values{"course": {"spark-adobe-cert"}, "action": {"enroll"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/users/spark-stu-leo?done=enroll", res.Header.Get("Location"))
	_, body := page(t, http.MethodGet, b.url+res.Header.Get("Location"), nil, "")
	require.Contains(t, body, "Enrolled. The roster webhook is on its way to Optio.")
	require.Contains(t, body, "Photoshop basics", "an active course lists its assignments")
	b.waitIdle(t)
	reqs := b.optio.requests()
	require.Len(t, reqs, 1)
	ro, err := spark.DecodeRoster(reqs[0].Body)
	require.NoError(t, err)
	require.Equal(t, "spark-adobe-cert", ro.SparkCourseID)

	res, body = postForm(t, b.url+"/users/spark-stu-leo/roster", url.Values{"course": {"spark-adobe-cert"}, "action": {"graduate"}})
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	require.Contains(t, body, "The roster action is invalid.")

	res, _ = postForm(t, b.url+"/users/spark-stu-leo/roster", url.Values{"course": {"spark-knitting"}, "action": {"enroll"}})
	require.Equal(t, http.StatusNotFound, res.StatusCode)

	_, body = page(t, http.MethodGet, b.url+"/deliveries", nil, "")
	require.Contains(t, body, reqs[0].Header.Get(spark.HeaderWebhookID))
	require.Contains(t, body, "/spark/webhook/roster")
	require.Contains(t, body, "delivered")
}

func TestUISubmitAssignment(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	form := b.url + "/users/spark-stu-ava/assignments/spark-minecraft-geology-rock-layers"
	_, body := page(t, http.MethodGet, form, nil, "")
	require.Contains(t, body, "Rock layers cross-section")
	require.Contains(t, body, "Essay (PDF, 3 pages)")

	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	require.NoError(t, mw.WriteField("text", "Layers <b>from</b> my cliff"))
	require.NoError(t, mw.WriteField("sample", "drawing-png"))
	fw, err := mw.CreateFormFile("file", "field-notes.md")
	require.NoError(t, err)
	_, _ = fw.Write([]byte("# Field notes\nSandstone over shale.\n"))
	require.NoError(t, mw.Close())
	res, _ := page(t, http.MethodPost, form, &buf, mw.FormDataContentType())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/users/spark-stu-ava?done=submitted", res.Header.Get("Location"))

	_, body = page(t, http.MethodGet, b.url+"/users/spark-stu-ava", nil, "")
	require.Contains(t, body, "rock-layers-drawing.png")
	require.Contains(t, body, "field-notes.md")

	b.waitIdle(t)
	reqs := b.optio.requests()
	require.Len(t, reqs, 1)
	sub, err := spark.DecodeSubmission(reqs[0].Body)
	require.NoError(t, err)
	require.Equal(t, "Layers <b>from</b> my cliff", sub.Text)
	require.Len(t, sub.Files, 2)
	require.Equal(t, "image/png", sub.Files[0].Type)
	require.Equal(t, "text/markdown", sub.Files[1].Type, "an upload's type comes from its name when the browser sends none")

	// Nothing to submit, and a student not in the course.
	res, body = postForm(t, form, url.Values{"text": {"  "}})
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	require.Contains(t, body, "write something or attach a file")
	res, body = postForm(t, b.url+"/users/spark-stu-maya/assignments/spark-minecraft-geology-rock-layers", url.Values{"text": {"hi"}})
	require.Equal(t, http.StatusConflict, res.StatusCode)
	require.Contains(t, body, "Maya Chen is not enrolled in Minecraft Geology; enrol first.")
	res, body = postForm(t, form, url.Values{"sample": {"virus-exe"}})
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	require.Contains(t, body, "choose one of essay-pdf")
	require.Len(t, b.sb.Submissions(), 1, "failed submissions store nothing")
}

func TestUISendCoursesAndCrossOriginRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	req, _ := http.NewRequest(http.MethodPost, b.url+"/courses/send", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := noRedirect.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	require.Empty(t, b.sb.Deliveries())

	res, _ = postForm(t, b.url+"/courses/send", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	b.waitIdle(t)
	_, body := page(t, http.MethodGet, b.url+"/deliveries?done=courses", nil, "")
	require.Contains(t, body, "Course webhooks queued for every course.")
	require.Equal(t, 9, strings.Count(body, "/spark/webhook/course"))
}
