package spark

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/optio-edu/optio"
)

// Standard Webhooks v1 header names, as Spark sends them.
const (
	HeaderWebhookID        = standardwebhooks.HeaderWebhookID        // "webhook-id": unique per message; Optio's idempotency key
	HeaderWebhookTimestamp = standardwebhooks.HeaderWebhookTimestamp // "webhook-timestamp": unix seconds
	HeaderWebhookSignature = standardwebhooks.HeaderWebhookSignature // "webhook-signature": "v1,<base64>", space-separated
)

// Webhook defaults and limits.
const (
	// DefaultWebhookTolerance is how far webhook-timestamp may be from now, either way.
	DefaultWebhookTolerance = 5 * time.Minute
	// MaxWebhookIDLen caps webhook-id, which is stored as an idempotency key.
	MaxWebhookIDLen = 255
	// maxSignatureHeader caps webhook-signature so a huge list cannot cost much.
	maxSignatureHeader = 4096
)

// WebhookVerifier checks that a webhook came from Spark: a Standard Webhooks
// v1 signature by one of Secrets over the raw body, with a timestamp within
// Tolerance of Clock. The zero Tolerance and Clock take their defaults.
type WebhookVerifier struct {
	// Secrets are raw or whsec_ secrets; any one may match, for rotation.
	Secrets []string
	// Tolerance is how old or how far in the future a timestamp may be. Default 5m.
	Tolerance time.Duration
	// Clock tells the time for the tolerance check. Default optio.SystemClock.
	Clock optio.Clock
}

func webhookErr(code, format string, args ...any) *optio.Error {
	return optio.Errorf(code, format, args...)
}

// WebhookHeaders are a delivery's Standard Webhooks headers once
// CheckHeaders found them well-formed and fresh.
type WebhookHeaders struct {
	// ID is webhook-id, the idempotency key.
	ID string
	// Timestamp is webhook-timestamp.
	Timestamp time.Time
	tsText    string
	signature string
}

// Verify checks one delivery and returns its webhook-id (the idempotency key)
// and timestamp: CheckHeaders, then VerifyBody. body must be the exact bytes
// received. Errors are *optio.Error with a webhook_* code.
func (v *WebhookVerifier) Verify(h http.Header, body []byte) (msgID string, ts time.Time, err error) {
	wh, err := v.CheckHeaders(h)
	if err != nil {
		return "", time.Time{}, err
	}
	if err := v.VerifyBody(wh, body); err != nil {
		return "", time.Time{}, err
	}
	return wh.ID, wh.Timestamp, nil
}

// CheckHeaders checks everything a delivery can be refused for without its
// body: secrets configured, the three headers present and unambiguous, the
// timestamp within Tolerance of Clock, and at least one signature of the
// form "v1,<base64 of 32 bytes>". The webhook handler calls it before
// reading a byte of the body, so unsigned junk costs no memory; a stale
// timestamp is therefore refused whether or not the signature would match.
func (v *WebhookVerifier) CheckHeaders(h http.Header) (WebhookHeaders, error) {
	if _, err := v.hooks(); err != nil {
		return WebhookHeaders{}, err
	}
	msgID := h.Get(HeaderWebhookID)
	tsText := h.Get(HeaderWebhookTimestamp)
	sig := strings.Join(h.Values(HeaderWebhookSignature), " ")
	var missing []string
	for _, p := range []struct{ name, val string }{
		{HeaderWebhookID, msgID}, {HeaderWebhookTimestamp, tsText}, {HeaderWebhookSignature, sig},
	} {
		if strings.TrimSpace(p.val) == "" {
			missing = append(missing, p.name)
		}
	}
	if len(missing) > 0 {
		return WebhookHeaders{}, webhookErr(EWebhookMissingHeaders, "Missing header: %s.", strings.Join(missing, ", "))
	}
	// Two ids or timestamps make the delivery ambiguous (which one was
	// signed, which one de-duplicates?): refuse rather than pick one.
	for _, name := range []string{HeaderWebhookID, HeaderWebhookTimestamp} {
		if len(h.Values(name)) > 1 {
			return WebhookHeaders{}, webhookErr(EWebhookMissingHeaders, "Header %s appears more than once.", name)
		}
	}
	if len(msgID) > MaxWebhookIDLen || hasControl(msgID) {
		return WebhookHeaders{}, webhookErr(EWebhookMissingHeaders, "Header webhook-id must be at most %d printable characters.", MaxWebhookIDLen)
	}
	if len(sig) > maxSignatureHeader {
		return WebhookHeaders{}, webhookErr(EWebhookMissingHeaders, "Header webhook-signature is longer than %d bytes.", maxSignatureHeader)
	}
	ts, err := parseWebhookTimestamp(tsText)
	if err != nil {
		return WebhookHeaders{}, err
	}
	tol := v.Tolerance
	if tol <= 0 {
		tol = DefaultWebhookTolerance
	}
	clock := v.Clock
	if clock == nil {
		clock = optio.SystemClock{}
	}
	now := clock.Now()
	switch {
	case now.Sub(ts) > tol:
		return WebhookHeaders{}, webhookErr(EWebhookBadTimestamp, "The webhook timestamp is stale: %s old, more than %s.", now.Sub(ts).Round(time.Second), tol)
	case ts.Sub(now) > tol:
		return WebhookHeaders{}, webhookErr(EWebhookBadTimestamp, "The webhook timestamp is %s in the future, more than %s; check the sender's clock.", ts.Sub(now).Round(time.Second), tol)
	}
	if !hasV1Signature(sig) {
		return WebhookHeaders{}, webhookErr(EWebhookBadSignature, "Header webhook-signature holds no v1 signature (v1,<base64 HMAC-SHA256>).")
	}
	return WebhookHeaders{ID: msgID, Timestamp: ts, tsText: tsText, signature: sig}, nil
}

// hasV1Signature reports whether the space-separated signature list holds
// one "v1,<base64>" entry whose base64 is 32 bytes (an HMAC-SHA256); other
// versions and junk entries may sit beside it, as the standard allows.
func hasV1Signature(sig string) bool {
	for _, e := range strings.Fields(sig) {
		if b64, ok := strings.CutPrefix(e, "v1,"); ok {
			if raw, err := base64.StdEncoding.DecodeString(b64); err == nil && len(raw) == 32 {
				return true
			}
		}
	}
	return false
}

// VerifyBody checks the signature of headers CheckHeaders accepted against
// the exact body bytes with every configured secret (constant-time per v1
// entry, in the standard-webhooks library).
func (v *WebhookVerifier) VerifyBody(wh WebhookHeaders, body []byte) error {
	hooks, err := v.hooks()
	if err != nil {
		return err
	}
	// The library checks tolerance against time.Now, so it checks only the
	// signature here; CheckHeaders decided freshness with the injected clock.
	lh := http.Header{}
	lh.Set(HeaderWebhookID, wh.ID)
	lh.Set(HeaderWebhookTimestamp, wh.tsText)
	lh.Set(HeaderWebhookSignature, wh.signature)
	for _, h := range hooks {
		if h.VerifyIgnoringTimestamp(body, lh) == nil {
			return nil
		}
	}
	return webhookErr(EWebhookBadSignature, "No v1 signature matches the body with a configured secret.")
}

// hooks are the standard-webhooks verifiers of the configured secrets.
func (v *WebhookVerifier) hooks() ([]*standardwebhooks.Webhook, error) {
	if len(v.Secrets) == 0 {
		return nil, webhookErr(EWebhookNotConfigured, "Spark webhooks are not configured: set SPARK_WEBHOOK_SECRET.")
	}
	hooks := make([]*standardwebhooks.Webhook, 0, len(v.Secrets))
	for i, s := range v.Secrets {
		key, err := optio.DecodeWebhookSecret(s)
		if err != nil {
			return nil, webhookErr(EWebhookNotConfigured, "Webhook secret #%d is unusable: %v.", i+1, err)
		}
		wh, err := standardwebhooks.NewWebhookRaw(key)
		if err != nil {
			return nil, webhookErr(EWebhookNotConfigured, "Webhook secret #%d is unusable.", i+1)
		}
		hooks = append(hooks, wh)
	}
	return hooks, nil
}

// parseWebhookTimestamp accepts decimal unix seconds only.
func parseWebhookTimestamp(s string) (time.Time, error) {
	bad := webhookErr(EWebhookBadTimestamp, "Header webhook-timestamp must be unix seconds.")
	if s == "" || len(s) > 12 || strings.Trim(s, "0123456789") != "" {
		return time.Time{}, bad
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, bad
	}
	return time.Unix(n, 0).UTC(), nil
}

// WebhookSigner signs webhooks the way Spark does, for the sandbox, the
// `optio spark send-webhook` CLI and tests.
type WebhookSigner struct {
	// Secret is a raw or whsec_ secret (see optio.DecodeWebhookSecret).
	Secret string
}

// Sign returns the webhook-signature value "v1,<base64 HMAC-SHA256 of
// msgID.unixSeconds.body>".
func (s WebhookSigner) Sign(msgID string, ts time.Time, body []byte) (string, error) {
	key, err := optio.DecodeWebhookSecret(s.Secret)
	if err != nil {
		return "", err
	}
	wh, err := standardwebhooks.NewWebhookRaw(key)
	if err != nil {
		return "", fmt.Errorf("webhook signer: %w", err)
	}
	return wh.Sign(msgID, ts, body)
}

// Header returns the three webhook headers for one delivery, ready to add
// to an outgoing request.
func (s WebhookSigner) Header(msgID string, ts time.Time, body []byte) (http.Header, error) {
	sig, err := s.Sign(msgID, ts, body)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set(HeaderWebhookID, msgID)
	h.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderWebhookSignature, sig)
	return h, nil
}
