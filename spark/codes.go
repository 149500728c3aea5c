// Package spark speaks the Spark LMS protocol: it verifies SSO tokens and
// webhook signatures, decodes webhook payloads strictly, and calls Spark's API
// for polling and grade passback. It holds no database or HTTP-server code;
// the web and sync packages wire it to the rest of Optio.
package spark

// Error codes this package puts in *optio.Error. They are stable: the Spark
// team and the CLI match on them, and the web layer maps them to HTTP status.
const (
	ETokenMissing          = "token_missing"           // no token was given
	ETokenMalformed        = "token_malformed"         // not a compact JWS of sane size and shape
	ETokenBadSignature     = "token_bad_signature"     // no configured secret or key verifies the signature
	ETokenAlgorithmRefused = "token_algorithm_refused" // alg is not pinned, or does not fit the key
	ETokenExpired          = "token_expired"           // exp (plus leeway) has passed
	ETokenNotYetValid      = "token_not_yet_valid"     // iat or nbf is in the future beyond leeway
	ETokenMissingClaim     = "token_missing_claim"     // a required claim is absent; the message names it
	ETokenLifetimeTooLong  = "token_lifetime_too_long" // exp - iat exceeds MaxLifetime
	ETokenWrongIssuer      = "token_wrong_issuer"      // iss is not the configured issuer
	ETokenWrongAudience    = "token_wrong_audience"    // aud does not contain the configured audience
	ETokenInvalidClaim     = "token_invalid_claim"     // a claim has the wrong type or value
	ESSONotConfigured      = "sso_not_configured"      // neither a secret nor a JWKS URL is configured

	EWebhookNotConfigured  = "webhook_not_configured"  // no webhook secret is configured
	EWebhookMissingHeaders = "webhook_missing_headers" // webhook-id, -timestamp or -signature absent or unusable
	EWebhookBadTimestamp   = "webhook_bad_timestamp"   // timestamp unparsable, stale or in the future
	EWebhookBadSignature   = "webhook_bad_signature"   // no v1 signature matches any secret
)
