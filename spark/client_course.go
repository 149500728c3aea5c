package spark

import (
	"context"
	"errors"
	"net/http"
	"net/url"
)

// GetCourse reads one course (GET /api/courses/{id}), so Optio can name a
// course it first met in an SSO token, a roster event or a submission.
// Spark answers 404 for a course it does not have (an *APIError).
func (c *Client) GetCourse(ctx context.Context, courseID string) (*RemoteCourse, error) {
	if courseID == "" {
		return nil, errors.New("spark api: get course: empty course id")
	}
	var co RemoteCourse
	if err := c.do(ctx, http.MethodGet, "/api/courses/"+url.PathEscape(courseID), nil, nil, &co); err != nil {
		return nil, err
	}
	return &co, nil
}
