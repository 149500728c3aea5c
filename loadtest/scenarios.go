package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
)

// The webhook scenarios' students and assignments: each delivery is a new
// webhook-id for one of webhookStudents students on one of
// webhookAssignments assignments, so both first submissions and
// resubmissions happen.
const (
	webhookStudents    = 500
	webhookAssignments = 20
	returningUsers     = 200
)

// webhooks attacks POST /spark/webhook/submission with signed deliveries,
// each with a fresh webhook-id; 202 is the only good answer.
func (r *runner) webhooks(ctx context.Context, name string, rate int) (*Result, error) {
	res := &Result{Name: name, Description: "signed submission webhooks, a new webhook-id each (202 expected)"}
	course, err := r.ensureCourse(ctx)
	if err != nil {
		return nil, err
	}
	tr := r.submissionTargeter(name, func(i uint64) spark.Submission {
		return spark.Submission{SparkUserID: fmt.Sprintf("lt-%s-s%d", r.o.RunID, i%webhookStudents),
			SparkAssignmentID: fmt.Sprintf("%s-a%d", course, (i/webhookStudents)%webhookAssignments),
			SparkCourseID:     course, Text: fmt.Sprintf("Load test essay %d.", i), SubmittedAt: time.Now().UTC()}
	})
	r.attack(ctx, res, tr, rate, accepted, nil)
	return res, nil
}

func accepted(code uint16) bool { return code == http.StatusAccepted }

// submissionTargeter makes signed submission deliveries: webhook-id
// lt-<run>-<prefix>-<n>, signed per request with the Standard Webhooks
// signature Spark sends.
func (r *runner) submissionTargeter(prefix string, sub func(i uint64) spark.Submission) vegeta.Targeter {
	var seq atomic.Uint64
	signer := spark.WebhookSigner{Secret: r.o.WebhookSecret}
	target := r.o.URL + "/spark/webhook/submission"
	return func(t *vegeta.Target) error {
		i := seq.Add(1) - 1
		body, err := json.Marshal(sub(i))
		if err != nil {
			return err
		}
		h, err := signer.Header(fmt.Sprintf("lt-%s-%s-%d", r.o.RunID, prefix, i), time.Now(), body)
		if err != nil {
			return err
		}
		h.Set("Content-Type", "application/json")
		t.Method, t.URL, t.Body, t.Header = http.MethodPost, target, body, h
		return nil
	}
}

// sso attacks GET /spark/sso with freshly signed tokens, each with its own
// nonce: for a new Spark user every time, or for one of returningUsers
// users who signed in before. 303 (to the dashboard) is the good answer.
func (r *runner) sso(ctx context.Context, name string, returning bool) (*Result, error) {
	res := &Result{Name: name, Description: "Spark SSO logins by new users (a new Spark id each)"}
	course, err := r.ensureCourse(ctx)
	if err != nil {
		return nil, err
	}
	claims := func(i uint64) spark.Claims {
		sub := fmt.Sprintf("lt-%s-%s-%d", r.o.RunID, name, i)
		if returning {
			// The same user with the same profile: a returning login changes
			// nothing about the student (a name that changed would be a
			// profile update, and a new portfolio version, every time).
			i %= returningUsers
			sub = fmt.Sprintf("lt-%s-ret-%d", r.o.RunID, i)
		}
		return spark.Claims{Subject: sub, Email: sub + "@load.example", GivenName: "Load", FamilyName: fmt.Sprintf("Student %s %d", r.o.RunID, i),
			Role: optio.RoleStudent, SparkCourseIDs: []string{course}}
	}
	if returning {
		res.Description = fmt.Sprintf("Spark SSO logins by %d returning users (a fresh token and nonce each)", returningUsers)
		for i := range uint64(returningUsers) {
			if _, err := r.login(ctx, claims(i)); err != nil {
				return nil, err
			}
		}
	}
	var seq atomic.Uint64
	tr := func(t *vegeta.Target) error {
		tok, err := spark.SignToken(r.o.SSOSecret, claims(seq.Add(1)-1), 5*time.Minute, time.Now())
		if err != nil {
			return err
		}
		t.Method, t.URL = http.MethodGet, r.o.URL+"/spark/sso?token="+url.QueryEscape(tok)
		return nil
	}
	r.attack(ctx, res, tr, r.o.Rate, func(c uint16) bool { return c == http.StatusSeeOther }, nil)
	return res, nil
}

// portfolio attacks GET /portfolio/{slug} of a student with
// PortfolioItems evidence items, viewed by the student themself (a minor's
// portfolio is not public until a parent consents).
func (r *runner) portfolio(ctx context.Context) (*Result, error) {
	res := &Result{Name: PortfolioPage, Description: fmt.Sprintf("portfolio page views of a student with %d evidence items", r.o.PortfolioItems)}
	slug, cookie, err := r.seedPortfolio(ctx)
	if err != nil {
		return nil, err
	}
	hdr := http.Header{"Cookie": {cookie}}
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: r.o.URL + "/portfolio/" + url.PathEscape(slug), Header: hdr})
	r.attack(ctx, res, tr, r.o.Rate, func(c uint16) bool { return c == http.StatusOK }, nil)
	return res, nil
}

// sync submits at SyncRate per second, each submission with one file of
// FileSize bytes served by Files, then waits for every queue row to finish
// and reports created_at → completed_at.
func (r *runner) sync(ctx context.Context) (*Result, error) {
	res := &Result{Name: SyncLatency, Description: fmt.Sprintf("end-to-end sync: submissions with a %d-byte file each, webhook accepted → evidence stored", r.o.FileSize)}
	if r.o.Store == nil || r.o.Files == nil {
		res.Skipped = "needs Optio's database (--self, or --database-url with --url) and the sandbox's file server"
		return res, nil
	}
	course, err := r.ensureCourse(ctx)
	if err != nil {
		return nil, err
	}
	// A handful of distinct files, so blob storage cannot skip the writes by
	// content address every time and the sandbox does not hold one per request.
	urls := make([]string, 8)
	for i := range urls {
		urls[i] = r.o.Files.AddFile(fmt.Sprintf("essay-%d.pdf", i), "application/pdf", pdfBytes(r.o.FileSize, fmt.Sprintf("%s-%d", r.o.RunID, i)))
	}
	tr := r.submissionTargeter(SyncLatency, func(i uint64) spark.Submission {
		return spark.Submission{SparkUserID: fmt.Sprintf("lt-%s-sync%d", r.o.RunID, i), SparkAssignmentID: course + "-a0",
			SparkCourseID: course, Text: "Load test essay with a file.", SubmittedAt: time.Now().UTC(),
			Files: []spark.SubmissionFile{{URL: urls[i%uint64(len(urls))], Type: "pdf", Filename: "essay.pdf"}}}
	})
	var mu sync.Mutex
	var ids []string
	r.attack(ctx, res, tr, r.o.SyncRate, accepted, func(v *vegeta.Result) {
		var rc struct {
			SyncID string `json:"sync_id"`
		}
		if v.Code == http.StatusAccepted && json.Unmarshal(v.Body, &rc) == nil && rc.SyncID != "" {
			mu.Lock()
			ids = append(ids, rc.SyncID)
			mu.Unlock()
		}
	})
	fig, pts, err := r.waitSyncs(ctx, ids)
	if err != nil {
		return nil, err
	}
	res.Sync = fig
	res.points = pts // the chart shows sync latency, the figure that matters here
	return res, nil
}

// waitSyncs waits (up to two minutes) until every queue row is completed or
// failed and summarises created_at → completed_at.
func (r *runner) waitSyncs(ctx context.Context, ids []string) (*SyncFigures, []point, error) {
	fig := &SyncFigures{Submissions: len(ids)}
	var lat []float64
	var pts []point
	var first time.Time
	deadline := time.Now().Add(2 * time.Minute)
	for _, id := range ids {
		for {
			row, err := r.o.Store.SyncQueueRowByID(ctx, id)
			if err != nil {
				return nil, nil, err
			}
			if first.IsZero() {
				first = row.CreatedAt
			}
			if row.Status == optio.SyncCompleted && row.CompletedAt != nil {
				fig.Completed++
				d := ms(row.CompletedAt.Sub(row.CreatedAt))
				lat = append(lat, d)
				pts = append(pts, point{t: row.CreatedAt.Sub(first).Seconds(), ms: d})
				break
			}
			if row.Status == optio.SyncFailed || time.Now().After(deadline) {
				fig.Failed++
				pts = append(pts, point{t: row.CreatedAt.Sub(first).Seconds(), bad: true})
				break
			}
			select {
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	fig.Latency = percentiles(lat)
	return fig, pts, nil
}
