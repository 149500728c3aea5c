package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
)

// ensureCourse maps the run's Spark course (webhookAssignments assignments)
// with a course webhook, once, and returns its id.
func (r *runner) ensureCourse(ctx context.Context) (string, error) {
	if r.course != "" {
		return r.course, nil
	}
	id := "lt-" + r.o.RunID + "-c"
	if err := r.sendCourse(ctx, id, "Biology load test", webhookAssignments); err != nil {
		return "", err
	}
	r.course = id
	return id, nil
}

// sendCourse sends a course webhook with n assignments <id>-a<i>.
func (r *runner) sendCourse(ctx context.Context, id, title string, n int) error {
	c := spark.Course{SparkCourseID: id, Title: title}
	for i := range n {
		c.Assignments = append(c.Assignments, spark.Assignment{SparkAssignmentID: fmt.Sprintf("%s-a%d", id, i), Title: fmt.Sprintf("Assignment %d", i)})
	}
	_, err := r.webhook(ctx, "course", "course-"+id, c)
	return err
}

// webhook signs and sends one webhook and wants 202 back.
func (r *runner) webhook(ctx context.Context, kind, id string, payload any) ([]byte, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	h, err := spark.WebhookSigner{Secret: r.o.WebhookSecret}.Header("lt-"+r.o.RunID+"-"+id, time.Now(), body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.o.URL+"/spark/webhook/"+kind, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = h
	req.Header.Set("Content-Type", "application/json")
	return r.expect(req, http.StatusAccepted)
}

// expect sends req and returns the body when the status is want.
func (r *runner) expect(req *http.Request, want int) ([]byte, error) {
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: status %d, want %d: %.300s", req.Method, req.URL.Path, resp.StatusCode, want, b)
	}
	return b, nil
}

// login signs c's user in by SSO and returns the session cookie ("name=value").
func (r *runner) login(ctx context.Context, c spark.Claims) (string, error) {
	tok, err := spark.SignToken(r.o.SSOSecret, c, 5*time.Minute, time.Now())
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.o.URL+"/spark/sso?token="+url.QueryEscape(tok), nil)
	if err != nil {
		return "", err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return "", fmt.Errorf("sso login of %s: status %d: %.300s", c.Subject, resp.StatusCode, b)
	}
	for _, ck := range resp.Cookies() {
		if ck.Value != "" {
			return ck.Name + "=" + ck.Value, nil
		}
	}
	return "", fmt.Errorf("sso login of %s set no session cookie", c.Subject)
}

// seedPortfolio makes a student with PortfolioItems finished Spark
// assignments (one text evidence block each, over courses of 100
// assignments), waits until all are on the portfolio, and returns its slug
// and the student's session cookie.
func (r *runner) seedPortfolio(ctx context.Context) (slug, cookie string, err error) {
	student := "lt-" + r.o.RunID + "-portfolio"
	n := r.o.PortfolioItems
	var courses []string
	for c := 0; c*100 < n; c++ {
		id := fmt.Sprintf("lt-%s-p%d", r.o.RunID, c)
		if err := r.sendCourse(ctx, id, fmt.Sprintf("Portfolio course %d", c), min(100, n-c*100)); err != nil {
			return "", "", err
		}
		courses = append(courses, id)
	}
	cookie, err = r.login(ctx, spark.Claims{Subject: student, Email: student + "@load.example", GivenName: "Portia",
		FamilyName: "Folio " + r.o.RunID, Role: optio.RoleStudent, SparkCourseIDs: courses})
	if err != nil {
		return "", "", err
	}
	fmt.Fprintf(r.o.Log, "  seeding %d evidence items…\n", n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	for i := range n {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			course := courses[i/100]
			_, err := r.webhook(ctx, "submission", fmt.Sprintf("portfolio-%d", i), spark.Submission{SparkUserID: student,
				SparkAssignmentID: fmt.Sprintf("%s-a%d", course, i%100), SparkCourseID: course,
				Text: fmt.Sprintf("Essay %d: what I learned, with <em>markup</em> & more.", i), SubmittedAt: time.Now().UTC()})
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			return "", "", err
		}
	}
	var me struct {
		PortfolioSlug string `json:"portfolio_slug"`
	}
	if err := r.getJSON(ctx, "/api/me", cookie, &me); err != nil {
		return "", "", err
	}
	if me.PortfolioSlug == "" {
		return "", "", fmt.Errorf("the portfolio student has no slug")
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var pv struct {
			TotalItems int `json:"total_items"`
		}
		if err := r.getJSON(ctx, "/api/public/portfolio/"+url.PathEscape(me.PortfolioSlug), cookie, &pv); err != nil {
			return "", "", err
		}
		if pv.TotalItems >= n {
			return me.PortfolioSlug, cookie, nil
		}
		if time.Now().After(deadline) {
			return "", "", fmt.Errorf("only %d of %d portfolio items synced after 3 minutes (is a worker running?)", pv.TotalItems, n)
		}
		select {
		case <-ctx.Done():
			return "", "", ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// getJSON GETs path with the session cookie and decodes a 200 answer.
func (r *runner) getJSON(ctx context.Context, path, cookie string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.o.URL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Cookie", cookie)
	req.Header.Set("Accept", "application/json")
	b, err := r.expect(req, http.StatusOK)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// pdfBytes is a PDF-looking file of n bytes whose content depends on seed.
func pdfBytes(n int, seed string) []byte {
	var b bytes.Buffer
	b.Grow(n)
	b.WriteString("%PDF-1.4\n% " + seed + "\n")
	line := strings.Repeat("0123456789abcdef", 4) + "\n"
	for b.Len() < n {
		b.WriteString(line)
	}
	return b.Bytes()[:n]
}
