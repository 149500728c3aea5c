package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
)

// Outcomes of a webhook delivery, the outcome label of
// optio_spark_webhooks_total. Spark's "<1% webhook failure" target is
// everything but accepted and duplicate over the total.
const (
	outcomeAccepted     = "accepted"
	outcomeDuplicate    = "duplicate"
	outcomeBadSignature = "bad_signature"
	outcomeInvalid      = "invalid"
	outcomeTooLarge     = "too_large"
	outcomeRateLimited  = "rate_limited"
	outcomeBusy         = "busy"
	outcomeError        = "error"
)

// sparkWebhooks is what the three webhook routes share: the token bucket of
// the configured Spark instance and the delivery counter.
type sparkWebhooks struct {
	s      *Server
	bucket *tokenBucket
	total  *prometheus.CounterVec
	// memory holds the bytes of the bodies being read and handled, at most
	// Config.SparkWebhookInflightBytes (issue 17: twelve unsigned 24 MB
	// bodies took the process from 42 to 614 MB).
	memory   *semaphore.Weighted
	memLimit int64
	verifier spark.WebhookVerifier
}

// Waiting for body memory: at most webhookMemoryWait, then 503 with
// Retry-After; a body must then arrive within webhookBodyTimeout, so a
// sender trickling bytes cannot hold memory for long.
const (
	webhookMemoryWait  = 3 * time.Second
	webhookBodyTimeout = 60 * time.Second
)

// webhookAccept stores one verified delivery and returns the answer's status
// and body. sentAt is the delivery's verified webhook-timestamp: what
// orders events and dates work when the payload carries no time of its own.
type webhookAccept func(ctx context.Context, webhookID string, sentAt time.Time, body []byte) (int, any, error)

// sparkWebhookRoutes registers POST /spark/webhook/{submission,roster,course}.
func (s *Server) sparkWebhookRoutes(mux *http.ServeMux) {
	total := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "optio_spark_webhooks_total",
		Help: "Spark webhook deliveries by endpoint and outcome (accepted, duplicate, bad_signature, invalid, too_large, busy, rate_limited, error).",
	}, []string{"endpoint", "outcome"})
	if reg := s.Metrics.Registerer; reg != nil {
		if err := reg.Register(total); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				total = are.ExistingCollector.(*prometheus.CounterVec)
			}
		}
	}
	// Every series exists from the start, so increase() in the alert rules
	// (docs/ops/alerts.yml) sees the first failure of a kind.
	for _, ep := range []string{optio.WebhookSubmission, optio.WebhookRoster, optio.WebhookCourse} {
		for _, o := range []string{outcomeAccepted, outcomeDuplicate, outcomeBadSignature, outcomeInvalid, outcomeTooLarge,
			outcomeRateLimited, outcomeBusy, outcomeError} {
			total.WithLabelValues(ep, o)
		}
	}
	// One bucket per Spark instance. Optio is configured for one Spark, so
	// every secret in SPARK_WEBHOOK_SECRET (rotation) shares this bucket. It
	// lives in process memory: it protects this process from a flood, and no
	// correctness depends on it (de-duplication is in the database).
	memLimit := max(s.Config.SparkWebhookInflightBytes, s.Config.SparkWebhookMaxBytes)
	h := &sparkWebhooks{s: s, total: total,
		bucket:   newTokenBucket(s.Config.SparkWebhookRate, s.Config.SparkWebhookBurst, s.Clock),
		memory:   semaphore.NewWeighted(memLimit),
		memLimit: memLimit,
		verifier: spark.WebhookVerifier{Secrets: s.Config.SparkWebhookSecrets, Clock: s.Clock}}
	mux.HandleFunc("POST /spark/webhook/submission", h.handle(optio.WebhookSubmission, h.acceptSubmission))
	mux.HandleFunc("POST /spark/webhook/roster", h.handle(optio.WebhookRoster, h.acceptRoster))
	mux.HandleFunc("POST /spark/webhook/course", h.handle(optio.WebhookCourse, h.acceptCourse))
}

// handle runs the steps every webhook shares, in order: configured? the
// headers (present, fresh, a v1 signature) and the body's declared size,
// all before a byte of the body is read; memory for the body (bounded
// across requests); the body within the cap; the signature on the raw
// bytes; rate limit; then accept (which decodes, validates and stores in
// one transaction).
func (h *sparkWebhooks) handle(endpoint string, accept webhookAccept) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		outcome, err := h.serve(w, r, accept)
		h.total.WithLabelValues(endpoint, outcome).Inc()
		h.s.Health.Add(optio.HealthWebhook, endpoint, outcome)
		if err != nil {
			h.s.Error(w, r, err)
		}
	}
}

func (h *sparkWebhooks) serve(w http.ResponseWriter, r *http.Request, accept webhookAccept) (string, error) {
	cfg := h.s.Config
	if len(cfg.SparkWebhookSecrets) == 0 {
		return outcomeError, optio.Errorf(spark.EWebhookNotConfigured, "Spark webhooks are not configured: set SPARK_WEBHOOK_SECRET.")
	}
	hdr, err := h.verifier.CheckHeaders(r.Header)
	if err != nil {
		if optio.ErrorCode(err) == spark.EWebhookNotConfigured {
			return outcomeError, err
		}
		return outcomeBadSignature, err
	}
	if r.ContentLength > cfg.SparkWebhookMaxBytes {
		return outcomeTooLarge, bodyTooLarge(cfg.SparkWebhookMaxBytes)
	}
	// The body's memory is reserved before it is read and held until the
	// delivery is handled (decoding copies it again). A body of unknown
	// length reserves the cap.
	weight := cfg.SparkWebhookMaxBytes
	if r.ContentLength >= 0 {
		weight = max(r.ContentLength, 1)
	}
	wctx, cancel := context.WithTimeout(r.Context(), webhookMemoryWait)
	err = h.memory.Acquire(wctx, weight)
	cancel()
	if err != nil {
		w.Header().Set("Retry-After", strconv.Itoa(int(webhookMemoryWait/time.Second)))
		return outcomeBusy, optio.Errorf(optio.EUNAVAILABLE, "Optio is reading as many webhook bodies as its memory allows; retry in a few seconds.")
	}
	defer h.memory.Release(weight)
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(webhookBodyTimeout))
	body, err := readWebhookBody(w, r, cfg.SparkWebhookMaxBytes)
	if err != nil {
		if optio.ErrorCode(err) == optio.ETOOLARGE {
			return outcomeTooLarge, err
		}
		return outcomeInvalid, err
	}
	if err := h.verifier.VerifyBody(hdr, body); err != nil {
		if optio.ErrorCode(err) == spark.EWebhookNotConfigured {
			return outcomeError, err
		}
		return outcomeBadSignature, err
	}
	id, sentAt := hdr.ID, hdr.Timestamp
	if ok, wait := h.bucket.take(); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return outcomeRateLimited, optio.Errorf(optio.ERATELIMIT, "Too many webhooks; retry after %s.", wait.Round(time.Millisecond))
	}
	status, resp, err := accept(r.Context(), id, sentAt, body)
	switch code := optio.ErrorCode(err); {
	case err == nil && status == http.StatusOK:
		writeJSON(w, status, resp)
		return outcomeDuplicate, nil
	case err == nil:
		writeJSON(w, status, resp)
		return outcomeAccepted, nil
	case code == optio.EPAYLOAD || code == optio.EMALFORMED:
		return outcomeInvalid, err
	default:
		return outcomeError, err
	}
}

func bodyTooLarge(max int64) error {
	return optio.Errorf(optio.ETOOLARGE, "The webhook body is larger than %d bytes.", max)
}

// readWebhookBody reads at most max bytes; a body past the cap is refused
// as soon as the cap is crossed, without reading the rest. A declared
// Content-Length is read into a buffer of exactly that size.
func readWebhookBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	if r.ContentLength > max {
		return nil, bodyTooLarge(max)
	}
	rd := http.MaxBytesReader(w, r.Body, max)
	var body []byte
	var err error
	if r.ContentLength >= 0 {
		body = make([]byte, r.ContentLength)
		_, err = io.ReadFull(rd, body)
	} else {
		body, err = io.ReadAll(rd)
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, bodyTooLarge(max)
		}
		return nil, optio.Errorf(optio.EMALFORMED, "The webhook body could not be read.")
	}
	return body, nil
}

var duplicateAnswer = map[string]string{"status": "duplicate"}

// whenOr is t, or the webhook's timestamp when the payload left t out.
func whenOr(t, sentAt time.Time) time.Time {
	if t.IsZero() {
		return sentAt.UTC()
	}
	return t
}

func (h *sparkWebhooks) acceptSubmission(ctx context.Context, id string, sentAt time.Time, body []byte) (int, any, error) {
	sub, err := spark.DecodeSubmission(body)
	if err != nil {
		return 0, nil, err
	}
	files := sub.Files
	if files == nil {
		files = []spark.SubmissionFile{}
	}
	raw, err := json.Marshal(files)
	if err != nil {
		return 0, nil, err
	}
	rc, err := h.s.Store.AcceptSparkSubmission(ctx, id, optio.SparkSubmissionEvent{
		SparkUserID: sub.SparkUserID, SparkAssignmentID: sub.SparkAssignmentID, SparkCourseID: sub.SparkCourseID,
		Text: sub.Text, FilesJSON: raw, SubmittedAt: whenOr(sub.SubmittedAt, sentAt), Grade: sub.Grade,
	})
	switch {
	case err != nil:
		return 0, nil, err
	case rc.Duplicate:
		return http.StatusOK, duplicateAnswer, nil
	}
	return http.StatusAccepted, map[string]any{"status": "accepted", "submission_id": rc.SubmissionID,
		"sync_id": rc.SyncID, "revision": rc.Revision}, nil
}

func (h *sparkWebhooks) acceptRoster(ctx context.Context, id string, sentAt time.Time, body []byte) (int, any, error) {
	ro, err := spark.DecodeRoster(body)
	if err != nil {
		return 0, nil, err
	}
	rc, err := h.s.Store.AcceptSparkRoster(ctx, id, optio.SparkRosterEvent{
		SparkUserID: ro.SparkUserID, SparkCourseID: ro.SparkCourseID, Action: string(ro.Action),
		Email: ro.Email, GivenName: ro.GivenName, FamilyName: ro.FamilyName, OccurredAt: whenOr(ro.OccurredAt, sentAt),
	})
	switch {
	case err != nil:
		return 0, nil, err
	case rc.Duplicate:
		return http.StatusOK, duplicateAnswer, nil
	}
	if rc.Applied && rc.UserID != "" {
		// A course completion may finish a badge. The event is stored; a
		// failure here is logged and recovered by the next re-check.
		if _, err := h.s.Store.AwardBadges(ctx, rc.UserID); err != nil {
			h.s.Logger.ErrorContext(ctx, "award badges after roster event", "error", err)
		}
	}
	return http.StatusAccepted, map[string]any{"status": "accepted", "applied": rc.Applied}, nil
}

func (h *sparkWebhooks) acceptCourse(ctx context.Context, id string, _ time.Time, body []byte) (int, any, error) {
	co, err := spark.DecodeCourse(body)
	if err != nil {
		return 0, nil, err
	}
	ev := optio.SparkCourseEvent{SparkCourseID: co.SparkCourseID, Title: co.Title, Description: co.Description,
		Pillar: co.Pillar, AutoMap: h.s.Config.SparkAutoMap}
	for _, a := range co.Assignments {
		ev.Assignments = append(ev.Assignments, optio.SparkAssignmentInput{SparkAssignmentID: a.SparkAssignmentID,
			Title: a.Title, Description: a.Description, DueAt: a.DueAt, MaxPoints: a.MaxPoints})
	}
	rc, err := h.s.Store.AcceptSparkCourse(ctx, id, ev)
	switch {
	case err != nil:
		return 0, nil, err
	case rc.Duplicate:
		return http.StatusOK, duplicateAnswer, nil
	}
	// A mapping change can complete the course (every assignment synced) for its students.
	if _, err := h.s.Store.AwardBadgesInCourse(ctx, co.SparkCourseID); err != nil {
		h.s.Logger.ErrorContext(ctx, "award badges after course webhook", "error", err)
	}
	resp := map[string]any{"status": "accepted", "enrolled": rc.Enrolled, "requeued": rc.Requeued}
	if rc.QuestID != "" {
		resp["quest_id"] = rc.QuestID
		resp["task_ids"] = rc.TaskIDs
	}
	return http.StatusAccepted, resp, nil
}

// tokenBucket is a rate limiter: burst tokens, refilled at rate per second.
type tokenBucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	clock  optio.Clock
}

func newTokenBucket(rate float64, burst int, clock optio.Clock) *tokenBucket {
	if clock == nil {
		clock = optio.SystemClock{}
	}
	return &tokenBucket{rate: rate, burst: float64(burst), tokens: float64(burst), clock: clock}
}

// take spends one token, or reports how long until one is available.
func (b *tokenBucket) take() (bool, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	if !b.last.IsZero() && now.After(b.last) {
		b.tokens = math.Min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	if b.last.IsZero() || now.After(b.last) {
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	if b.rate <= 0 {
		return false, time.Minute
	}
	return false, time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}
