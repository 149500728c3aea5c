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

// WebhookSecretPrefix marks a secret given in Standard Webhooks form.
const WebhookSecretPrefix = "whsec_"

// DecodeWebhookSecret turns a configured secret into HMAC key bytes. The rule
// (documented for the Spark team): a secret that starts with "whsec_" is the
// standard form and the rest is the key in standard base64; any other string
// is used as-is, its bytes being the key. So "whsec_c2VjcmV0" and "secret"
// are the same key.
func DecodeWebhookSecret(secret string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(secret, WebhookSecretPrefix); ok {
		key, err := base64.StdEncoding.DecodeString(rest)
		if err != nil || len(key) == 0 {
			return nil, fmt.Errorf("webhook secret: the part after %s is not base64", WebhookSecretPrefix)
		}
		return key, nil
	}
	if secret == "" {
		return nil, fmt.Errorf("webhook secret: empty")
	}
	return []byte(secret), nil
}

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

// Verify checks one delivery and returns its webhook-id (the idempotency key)
// and timestamp. body must be the exact bytes received. Errors are
// *optio.Error with a webhook_* code. The signature is checked before the
// timestamp, so a stale error means the sender was genuine but late.
func (v *WebhookVerifier) Verify(h http.Header, body []byte) (msgID string, ts time.Time, err error) {
	if len(v.Secrets) == 0 {
		return "", time.Time{}, webhookErr(EWebhookNotConfigured, "Spark webhooks are not configured: set SPARK_WEBHOOK_SECRET.")
	}
	hooks := make([]*standardwebhooks.Webhook, 0, len(v.Secrets))
	for i, s := range v.Secrets {
		key, err := DecodeWebhookSecret(s)
		if err != nil {
			return "", time.Time{}, webhookErr(EWebhookNotConfigured, "Webhook secret #%d is unusable: %v.", i+1, err)
		}
		wh, err := standardwebhooks.NewWebhookRaw(key)
		if err != nil {
			return "", time.Time{}, webhookErr(EWebhookNotConfigured, "Webhook secret #%d is unusable.", i+1)
		}
		hooks = append(hooks, wh)
	}

	msgID = h.Get(HeaderWebhookID)
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
		return "", time.Time{}, webhookErr(EWebhookMissingHeaders, "Missing header: %s.", strings.Join(missing, ", "))
	}
	// Two ids or timestamps make the delivery ambiguous (which one was
	// signed, which one de-duplicates?): refuse rather than pick one.
	for _, name := range []string{HeaderWebhookID, HeaderWebhookTimestamp} {
		if len(h.Values(name)) > 1 {
			return "", time.Time{}, webhookErr(EWebhookMissingHeaders, "Header %s appears more than once.", name)
		}
	}
	if len(msgID) > MaxWebhookIDLen || hasControl(msgID) {
		return "", time.Time{}, webhookErr(EWebhookMissingHeaders, "Header webhook-id must be at most %d printable characters.", MaxWebhookIDLen)
	}
	if len(sig) > maxSignatureHeader {
		return "", time.Time{}, webhookErr(EWebhookMissingHeaders, "Header webhook-signature is longer than %d bytes.", maxSignatureHeader)
	}
	ts, err = parseWebhookTimestamp(tsText)
	if err != nil {
		return "", time.Time{}, err
	}

	// The library checks tolerance against time.Now, so it checks only the
	// signature here (constant-time, per v1 entry) and the injected clock
	// decides freshness below.
	lh := http.Header{}
	lh.Set(HeaderWebhookID, msgID)
	lh.Set(HeaderWebhookTimestamp, tsText)
	lh.Set(HeaderWebhookSignature, sig)
	matched := false
	for _, wh := range hooks {
		if wh.VerifyIgnoringTimestamp(body, lh) == nil {
			matched = true
			break
		}
	}
	if !matched {
		return "", time.Time{}, webhookErr(EWebhookBadSignature, "No v1 signature matches the body with a configured secret.")
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
		return "", time.Time{}, webhookErr(EWebhookBadTimestamp, "The webhook timestamp is stale: %s old, more than %s.", now.Sub(ts).Round(time.Second), tol)
	case ts.Sub(now) > tol:
		return "", time.Time{}, webhookErr(EWebhookBadTimestamp, "The webhook timestamp is %s in the future, more than %s; check the sender's clock.", ts.Sub(now).Round(time.Second), tol)
	}
	return msgID, ts, nil
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
	// Secret is a raw or whsec_ secret (see DecodeWebhookSecret).
	Secret string
}

// Sign returns the webhook-signature value "v1,<base64 HMAC-SHA256 of
// msgID.unixSeconds.body>".
func (s WebhookSigner) Sign(msgID string, ts time.Time, body []byte) (string, error) {
	key, err := DecodeWebhookSecret(s.Secret)
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
