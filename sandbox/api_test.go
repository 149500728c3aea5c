package sandbox_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/sandbox"
	"github.com/optio-edu/optio/spark"
)

func TestAPIThroughSparkClient(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *sandbox.Config) { c.PageSize = 2 })
	ctx := context.Background()
	c := b.client(testAPIKey)

	var ids []string
	for co, err := range c.Courses(ctx) {
		require.NoError(t, err)
		ids = append(ids, co.ID)
		require.NotEmpty(t, co.Title)
	}
	require.Len(t, ids, 9, "courses over five pages of two")
	require.Contains(t, ids, "spark-minecraft-zoology")

	co, err := c.GetCourse(ctx, "spark-physics")
	require.NoError(t, err)
	require.Equal(t, "Physics", co.Title)
	_, err = c.GetCourse(ctx, "no-such-course")
	var ae *spark.APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, http.StatusNotFound, ae.StatusCode)

	as, err := c.ListAssignments(ctx, "spark-physics")
	require.NoError(t, err)
	require.Len(t, as, 4)
	require.Equal(t, "spark-physics-motion-lab", as[0].ID)
	require.NotNil(t, as[0].DueAt)
	require.True(t, as[0].DueAt.Before(time.Now()), "the first assignment is past due")
	require.True(t, as[3].DueAt.After(time.Now()), "the last assignment is upcoming")
	require.Equal(t, 200.0, *as[0].MaxPoints)

	en, err := c.ListEnrollments(ctx, "spark-stu-maya")
	require.NoError(t, err)
	require.Len(t, en, 3)
	require.Equal(t, "active", en[0].Status)

	before := time.Now().UTC().Truncate(time.Second)
	for i := range 3 {
		_, err := b.sb.Submit(ctx, "spark-stu-maya", "spark-physics-forces-essay", "Draft "+strconv.Itoa(i), nil)
		require.NoError(t, err)
	}
	var got []spark.RemoteSubmission
	for s, err := range c.Submissions(ctx, "spark-physics-forces-essay", before) {
		require.NoError(t, err)
		got = append(got, s)
	}
	require.Len(t, got, 3, "three submissions over two pages")
	require.Equal(t, "Draft 2", got[2].Text)
	require.Equal(t, "spark-physics", got[0].SparkCourseID)
	require.NotEmpty(t, got[0].ID)
	page, err := c.ListSubmissions(ctx, "spark-physics-forces-essay", time.Now().Add(time.Hour), "")
	require.NoError(t, err)
	require.Empty(t, page.Submissions, "since filters out older work")

	g := spark.GradePassback{SparkUserID: "spark-stu-maya", SparkAssignmentID: "spark-physics-forces-essay", Grade: "A-",
		OptioTaskCompletionID: "0190c0de-0000-7000-8000-000000000001", GradedAt: time.Now()}
	require.NoError(t, c.PostGrade(ctx, g))
	require.NoError(t, c.PostGrade(ctx, g), "a repeated grade is accepted")
	grades := b.sb.Grades()
	require.Len(t, grades, 1, "the repeat is not recorded twice")
	require.Equal(t, "A-", grades[0].Grade)
}

func TestAPIErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ctx := context.Background()
	for _, key := range []string{"", "wrong-key"} {
		_, err := b.client(key).ListCourses(ctx, "")
		var ae *spark.APIError
		require.True(t, errors.As(err, &ae), "key %q: %v", key, err)
		require.Equal(t, http.StatusUnauthorized, ae.StatusCode)
	}
	c := b.client(testAPIKey)
	var ae *spark.APIError
	_, err := c.ListAssignments(ctx, "spark-knitting")
	require.True(t, errors.As(err, &ae))
	require.Equal(t, http.StatusNotFound, ae.StatusCode)
	require.Contains(t, ae.Message, "spark-knitting")
	_, err = c.ListEnrollments(ctx, "spark-par-lin")
	require.True(t, errors.As(err, &ae))
	require.Equal(t, http.StatusNotFound, ae.StatusCode, "a parent has no enrolments")

	err = c.PostGrade(ctx, spark.GradePassback{SparkUserID: "nobody", SparkAssignmentID: "spark-physics-motion-lab", Grade: "B",
		OptioTaskCompletionID: "x", GradedAt: time.Now()})
	require.True(t, errors.As(err, &ae))
	require.Equal(t, http.StatusBadRequest, ae.StatusCode)

	req, _ := http.NewRequest(http.MethodGet, b.url+"/api/courses?cursor=bogus", nil)
	req.Header.Set("Authorization", "Bearer "+testAPIKey)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	require.JSONEq(t, `{"error":{"code":"invalid","message":"The cursor is not one this API gave out.","fields":{"cursor":"unknown cursor"}}}`, string(body))
}

func TestFilesServedWithTypeAndLength(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ctx := context.Background()
	pdf, _ := sandbox.Sample("essay-pdf")
	video, _ := sandbox.Sample("timelapse-mp4")
	_, err := b.sb.Submit(ctx, "spark-stu-maya", "spark-physics-energy-project", "My machine", []sandbox.SampleFile{pdf, video})
	require.NoError(t, err)
	b.waitIdle(t)

	reqs := b.optio.requests()
	require.Len(t, reqs, 1)
	require.Equal(t, "/spark/webhook/submission", reqs[0].Path)
	_, _, err = verifier().Verify(reqs[0].Header, reqs[0].Body)
	require.NoError(t, err)
	sub, err := spark.DecodeSubmission(reqs[0].Body)
	require.NoError(t, err)
	require.Equal(t, "spark-stu-maya", sub.SparkUserID)
	require.Equal(t, "spark-physics", sub.SparkCourseID)
	require.Len(t, sub.Files, 2)
	for i, want := range []sandbox.SampleFile{pdf, video} {
		f := sub.Files[i]
		require.Equal(t, want.Name, f.Filename)
		require.Regexp(t, `^`+b.url+`/files/file_\d+$`, f.URL)
		res, err := http.Get(f.URL)
		require.NoError(t, err)
		data, _ := io.ReadAll(res.Body)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Equal(t, want.ContentType, res.Header.Get("Content-Type"))
		require.Equal(t, strconv.Itoa(len(want.Data)), res.Header.Get("Content-Length"))
		require.Equal(t, want.Data, data)
	}
	res, err := http.Get(b.url + "/files/file_999999")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusNotFound, res.StatusCode)
}

// TestSampleFilesAtStableAddresses: every sample is served from start-up at
// /files/sample-<key>, for webhooks made by hand (curl, Postman).
func TestSampleFilesAtStableAddresses(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	for _, want := range sandbox.SampleFiles() {
		res, err := http.Get(b.url + "/files/" + sandbox.SampleFileID(want.Key))
		require.NoError(t, err)
		data, _ := io.ReadAll(res.Body)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode, want.Key)
		require.Equal(t, want.ContentType, res.Header.Get("Content-Type"), want.Key)
		require.Contains(t, res.Header.Get("Content-Disposition"), want.Name, want.Key)
		require.Equal(t, want.Data, data, want.Key)
	}
	require.Equal(t, "/files/sample-chart-png", "/files/"+sandbox.SampleFileID("chart-png"), "the address docs/spark/postman uses")
}
