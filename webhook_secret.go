package optio

import (
	"encoding/base64"
	"errors"
	"strings"
)

// WebhookSecretPrefix marks a webhook secret given in Standard Webhooks form.
const WebhookSecretPrefix = "whsec_"

// DecodeWebhookSecret turns a configured webhook secret into HMAC key bytes.
// The rule (documented for the Spark team): a secret that starts with
// "whsec_" is the standard form and the rest is the key in standard base64;
// any other string is used as-is, its bytes being the key. So
// "whsec_c2VjcmV0" and "secret" are the same key. Config validation and the
// webhook verifier both use it, so a secret that starts Optio always verifies.
func DecodeWebhookSecret(secret string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(secret, WebhookSecretPrefix); ok {
		key, err := base64.StdEncoding.DecodeString(rest)
		if err != nil || len(key) == 0 {
			return nil, errors.New("webhook secret: the part after " + WebhookSecretPrefix + " is not base64")
		}
		return key, nil
	}
	if secret == "" {
		return nil, errors.New("webhook secret: empty")
	}
	return []byte(secret), nil
}
