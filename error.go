// Package optio holds Optio's domain: the types every other package shares,
// the error codes they speak, and the interfaces implementations satisfy.
// It imports nothing of this repository.
package optio

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error codes. Each is stable: clients and the Spark team match on them.
// Every code of this package is declared here, and those of the Spark protocol
// in spark/codes.go; each is a string constant whose name starts with E and a
// capital letter. Its HTTP status is in web's codeStatus table, and a test
// there (TestEveryErrorCodeHasAStatus) fails when a code has none.
const (
	EINVALID      = "invalid"          // input failed validation
	EPAYLOAD      = "invalid_payload"  // a webhook or JSON body failed validation
	EMALFORMED    = "malformed_json"   // the body is not JSON of the expected shape
	ENOTFOUND     = "not_found"        // the thing does not exist or the caller may not know it does
	ECONFLICT     = "conflict"         // the request clashes with current state (duplicate, already done)
	EUNAUTHORIZED = "unauthorized"     // no valid credentials
	EFORBIDDEN    = "forbidden"        // credentials valid but not allowed
	ETOOLARGE     = "too_large"        // body or file over its size limit
	EUNSUPPORTED  = "unsupported_type" // a file whose bytes are not an allowed type
	ERATELIMIT    = "rate_limited"     // too many requests
	EUNAVAILABLE  = "unavailable"      // a dependency is down; try again later
	ENOTCONFIG    = "not_configured"   // the feature needs configuration the operator has not given
	EINTERNAL     = "internal"         // a bug or an unexpected failure; never shown in detail

	// EQUOTA: the upload would take the user's stored files past their
	// upload quota (the figures are in the message and fields).
	EQUOTA = "quota_exceeded"

	// Family: an observer invitation or parent-link code that is past its
	// expiry, or already used.
	EINVITATIONEXPIRED = "invitation_expired"
	EINVITATIONUSED    = "invitation_used"

	// EPortfolioPrivate answers a portfolio the viewer may not see, and one
	// that does not exist, alike (404), so a private portfolio does not
	// reveal that it exists.
	EPortfolioPrivate = "portfolio_private"

	// Spark SSO codes decided after the token itself verified (the token_*
	// codes of the token checks live in package spark).
	ETokenReplayed      = "token_replayed"        // the token's nonce was already used
	ESSOAdminNotAllowed = "sso_admin_not_allowed" // an admin login through Spark while SPARK_SSO_ALLOW_ADMIN is off
	ESSORoleMismatch    = "sso_role_mismatch"     // the token's role differs from the account's role

	// The SSO defences against login CSRF (issue 17): a sign-in link may
	// only be followed as a top-level navigation, and switching the
	// signed-in person needs their confirmation.
	//
	// ESSONotNavigation: /spark/sso was loaded as an image, a script, by
	// fetch() or in a frame Optio does not expect, not opened as a page.
	ESSONotNavigation = "sso_not_navigation"
	// ESSOSwitchUnconfirmed: the confirmation to switch accounts was not
	// sent from Optio's own page for this browser's session.
	ESSOSwitchUnconfirmed = "sso_switch_unconfirmed"

	// LTI 1.3 launches (issue 23), each bad input with its own code.
	ELTIUnknownPlatform   = "lti_unknown_platform"       // no registered platform has this issuer (and client id)
	ELTIUnknownDeployment = "lti_unknown_deployment"     // the deployment id is not one the registration lists
	ELTIStateInvalid      = "lti_state_invalid"          // the launch's state is unknown, expired or already used
	ELTIStateNotOurs      = "lti_state_not_this_browser" // the state was issued to another browser (no matching cookie)
	ELTITokenInvalid      = "lti_token_invalid"          // id_token malformed, or not signed by a key of the platform's JWKS
	ELTITokenExpired      = "lti_token_expired"          // id_token past exp, or iat too old or in the future
	ELTIWrongIssuer       = "lti_wrong_issuer"           // iss is not the issuer the login started with
	ELTIWrongAudience     = "lti_wrong_audience"         // aud/azp do not name Optio's client id
	ELTINonceInvalid      = "lti_nonce_invalid"          // the nonce differs from the login's, or was already used
	ELTIClaimInvalid      = "lti_claim_invalid"          // a required LTI claim is missing or wrong (version, message type…)
	ELTIRoleUnsupported   = "lti_role_unsupported"       // the launch's roles are none Optio serves
)

// Error is the one error type that crosses package boundaries with a code a
// user or client can act on. Fields names individual bad inputs.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return fmt.Sprintf("optio: %s: %s", e.Code, e.Message)
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return fmt.Sprintf("optio: %s: %s (%s)", e.Code, e.Message, strings.Join(parts, "; "))
}

// Errorf builds an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorMessage returns the human message of the first *Error in err's chain;
// for anything else it returns a generic message, never internal detail.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// FieldErrors collects validation failures by field name and turns them into
// one *Error naming every bad field.
type FieldErrors map[string]string

// Add records a problem with field unless one is already recorded.
func (f FieldErrors) Add(field, problem string) {
	if _, ok := f[field]; !ok {
		f[field] = problem
	}
}

// Err returns nil when no field failed, otherwise an *Error with code.
func (f FieldErrors) Err(code, message string) error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: code, Message: message, Fields: map[string]string(f)}
}
