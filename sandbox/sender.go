package sandbox

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
)

// RetryPolicy is how the webhook sender retries a failed delivery: after
// attempt n it waits BaseDelay·2^(n-1) (at most MaxDelay) plus up to 50%
// random jitter, or the receiver's Retry-After on a 429 or 503.
type RetryPolicy struct {
	// MaxAttempts is the most attempts per webhook. Default 6.
	MaxAttempts int
	// BaseDelay is the wait after the first failure. Default 1s.
	BaseDelay time.Duration
	// MaxDelay caps any wait, Retry-After included. Default 1m.
	MaxDelay time.Duration
}

// Delivery states.
const (
	DeliveryPending   = "pending"   // queued or being retried
	DeliveryDelivered = "delivered" // a 2xx answer
	DeliveryFailed    = "failed"    // a 4xx other than 408/429, or attempts used up
)

// Delivery is one webhook in the delivery log: one message, however many
// attempts it took.
type Delivery struct {
	// WebhookID is the message's webhook-id, the same on every attempt.
	WebhookID string
	// Kind is submission, roster or course.
	Kind string
	// Endpoint is the URL posted to.
	Endpoint string
	// Attempts made so far.
	Attempts int
	// StatusCode is the last answer's status, 0 when none (network error).
	StatusCode int
	// Error describes the last failure, "" after success.
	Error string
	// State is pending, delivered or failed.
	State string
	// Response is the start of the last answer's body.
	Response  string
	CreatedAt time.Time
	UpdatedAt time.Time
}

type message struct {
	d    *Delivery
	body []byte
}

// sender delivers webhooks from a bounded queue with retries.
type sender struct {
	cfg    Config
	signer spark.WebhookSigner
	http   *http.Client
	queue  chan *message
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	log     []*Delivery
	pending int
	closed  bool
}

func newSender(cfg Config) (*sender, error) {
	if _, err := optio.DecodeWebhookSecret(cfg.WebhookSecret); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	r := &cfg.Retry
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 6
	}
	if r.BaseDelay <= 0 {
		r.BaseDelay = time.Second
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = time.Minute
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 1000
	}
	if cfg.Senders <= 0 {
		cfg.Senders = 4
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &sender{cfg: cfg, signer: spark.WebhookSigner{Secret: cfg.WebhookSecret}, http: hc,
		queue: make(chan *message, cfg.QueueSize), ctx: ctx, cancel: cancel}
	for range cfg.Senders {
		s.wg.Add(1)
		go s.work()
	}
	return s, nil
}

// newWebhookID makes a unique message id in Standard Webhooks style.
func newWebhookID() string {
	b := make([]byte, 12)
	_, _ = crand.Read(b)
	return "msg_" + hex.EncodeToString(b)
}

// enqueue queues body for OptioURL/spark/webhook/<kind> and returns its
// webhook-id. A full queue is an EUNAVAILABLE error; nothing is logged then.
// With Config.WebhooksOff nothing is sent and the id is "".
func (s *sender) enqueue(kind string, body []byte) (string, error) {
	if s.cfg.WebhooksOff {
		return "", nil // polling-only Spark: nothing is sent, nothing logged
	}
	now := s.cfg.Clock.Now()
	d := &Delivery{WebhookID: newWebhookID(), Kind: kind, Endpoint: s.cfg.OptioURL + "/spark/webhook/" + kind,
		State: DeliveryPending, CreatedAt: now, UpdatedAt: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", optio.Errorf(optio.EUNAVAILABLE, "The sandbox is shutting down.")
	}
	select {
	case s.queue <- &message{d: d, body: body}:
	default:
		return "", optio.Errorf(optio.EUNAVAILABLE, "The webhook queue is full (%d waiting); try again later.", cap(s.queue))
	}
	s.log = append(s.log, d)
	s.pending++
	return d.WebhookID, nil
}

func (s *sender) work() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case m := <-s.queue:
			s.deliver(m)
			s.mu.Lock()
			s.pending--
			s.mu.Unlock()
		}
	}
}

// deliver makes attempts until one succeeds, a permanent failure, the
// attempt limit, or shutdown.
func (s *sender) deliver(m *message) {
	log := s.cfg.Logger.With("webhook_id", m.d.WebhookID, "kind", m.d.Kind)
	for attempt := 1; ; attempt++ {
		status, resp, retryAfter, err := s.attempt(m)
		if s.ctx.Err() != nil {
			return // shutting down: the delivery stays pending
		}
		s.mu.Lock()
		d := m.d
		d.Attempts, d.StatusCode, d.Response, d.UpdatedAt = attempt, status, resp, s.cfg.Clock.Now()
		retry := false
		switch {
		case err == nil && status >= 200 && status < 300:
			d.State, d.Error = DeliveryDelivered, ""
		case err != nil:
			d.Error, retry = err.Error(), true
		case status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500:
			d.Error, retry = fmt.Sprintf("HTTP %d", status), true
		default:
			d.State, d.Error = DeliveryFailed, fmt.Sprintf("HTTP %d: not retried", status)
		}
		if retry && attempt >= s.cfg.Retry.MaxAttempts {
			d.State, d.Error, retry = DeliveryFailed, d.Error+fmt.Sprintf(" (gave up after %d attempts)", attempt), false
		}
		state, errText := d.State, d.Error
		s.mu.Unlock()
		if !retry {
			log.Info("webhook "+state, "attempts", attempt, "status", status, "error", errText)
			return
		}
		wait := s.backoff(attempt, retryAfter)
		log.Warn("webhook attempt failed; retrying", "attempt", attempt, "status", status, "error", errText, "wait", wait)
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// backoff is the wait before attempt n+1.
func (s *sender) backoff(n int, retryAfter time.Duration) time.Duration {
	p := s.cfg.Retry
	if retryAfter > 0 {
		return min(retryAfter, p.MaxDelay)
	}
	d := p.BaseDelay << min(n-1, 30)
	if d <= 0 || d > p.MaxDelay {
		d = p.MaxDelay
	}
	return d + rand.N(d/2+1)
}

// attempt posts the message once, signed with a fresh timestamp.
func (s *sender) attempt(m *message) (status int, resp string, retryAfter time.Duration, err error) {
	h, err := s.signer.Header(m.d.WebhookID, s.cfg.Clock.Now(), m.body)
	if err != nil {
		return 0, "", 0, err
	}
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, m.d.Endpoint, bytes.NewReader(m.body))
	if err != nil {
		return 0, "", 0, err
	}
	req.Header = h
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "spark-sandbox/1")
	res, err := s.http.Do(req)
	if err != nil {
		return 0, "", 0, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
	return res.StatusCode, strings.TrimSpace(string(b)), spark.ParseRetryAfter(res.Header.Get("Retry-After"), s.cfg.Clock.Now()), nil
}

// deliveries returns the log, newest first.
func (s *sender) deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Delivery, len(s.log))
	for i, d := range s.log {
		out[len(s.log)-1-i] = *d
	}
	return out
}

// waitIdle returns when nothing is queued or in flight.
func (s *sender) waitIdle(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		s.mu.Lock()
		n := s.pending
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sandbox: %d webhooks still pending: %w", n, ctx.Err())
		case <-t.C:
		}
	}
}

func (s *sender) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// Deliveries returns the webhook delivery log, newest first.
func (s *Sandbox) Deliveries() []Delivery { return s.sender.deliveries() }

// WaitIdle returns when every queued webhook has been delivered or given
// up on, or when ctx ends.
func (s *Sandbox) WaitIdle(ctx context.Context) error { return s.sender.waitIdle(ctx) }

// Delivery returns the log entry for a webhook-id.
func (s *Sandbox) Delivery(webhookID string) (Delivery, bool) {
	ds := s.sender.deliveries()
	i := slices.IndexFunc(ds, func(d Delivery) bool { return d.WebhookID == webhookID })
	if i < 0 {
		return Delivery{}, false
	}
	return ds[i], true
}
