package web

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
)

// StatusOf is the HTTP status an error code answers with; the error
// catalogue in docs/spark/INTEGRATION.md is tested against it.
func StatusOf(code string) int { return statusOf(code) }

// statusOf maps an error code to its HTTP status: codeStatus's entry, and 500
// for a code the table does not know (TestEveryErrorCodeHasAStatus keeps that
// from happening to a declared code).
func statusOf(code string) int {
	if s, ok := codeStatus[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// codeStatus is the one table of every error code and its HTTP status: the
// codes of package optio (error.go) and of the Spark protocol (spark/codes.go).
// It lives here because only the web layer speaks HTTP and sees both packages.
var codeStatus = map[string]int{
	// General codes.
	optio.EINVALID:      http.StatusBadRequest,
	optio.EPAYLOAD:      http.StatusBadRequest,
	optio.EMALFORMED:    http.StatusBadRequest,
	optio.EUNAUTHORIZED: http.StatusUnauthorized,
	optio.EFORBIDDEN:    http.StatusForbidden,
	optio.ENOTFOUND:     http.StatusNotFound,
	optio.ECONFLICT:     http.StatusConflict,
	optio.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	optio.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	optio.ERATELIMIT:    http.StatusTooManyRequests,
	optio.EUNAVAILABLE:  http.StatusServiceUnavailable,
	optio.ENOTCONFIG:    http.StatusServiceUnavailable,
	optio.EINTERNAL:     http.StatusInternalServerError,

	// Uploads and family.
	optio.EQUOTA:             http.StatusRequestEntityTooLarge,
	optio.EINVITATIONEXPIRED: http.StatusGone,
	optio.EINVITATIONUSED:    http.StatusConflict,
	optio.EPortfolioPrivate:  http.StatusNotFound,

	// Spark SSO: the token checks (package spark), then the login rules.
	spark.ETokenMissing:          http.StatusBadRequest,
	spark.ETokenMalformed:        http.StatusUnauthorized,
	spark.ETokenBadSignature:     http.StatusUnauthorized,
	spark.ETokenAlgorithmRefused: http.StatusUnauthorized,
	spark.ETokenExpired:          http.StatusUnauthorized,
	spark.ETokenNotYetValid:      http.StatusUnauthorized,
	spark.ETokenMissingClaim:     http.StatusUnauthorized,
	spark.ETokenLifetimeTooLong:  http.StatusUnauthorized,
	spark.ETokenWrongIssuer:      http.StatusUnauthorized,
	spark.ETokenWrongAudience:    http.StatusUnauthorized,
	spark.ETokenInvalidClaim:     http.StatusUnauthorized,
	spark.ESSONotConfigured:      http.StatusServiceUnavailable,
	optio.ETokenReplayed:         http.StatusUnauthorized,
	optio.ESSOAdminNotAllowed:    http.StatusForbidden,
	optio.ESSORoleMismatch:       http.StatusForbidden,
	optio.ESSONotNavigation:      http.StatusForbidden,
	optio.ESSOSwitchUnconfirmed:  http.StatusForbidden,

	// Spark webhooks.
	spark.EWebhookNotConfigured:  http.StatusServiceUnavailable,
	spark.EWebhookMissingHeaders: http.StatusUnauthorized,
	spark.EWebhookBadTimestamp:   http.StatusUnauthorized,
	spark.EWebhookBadSignature:   http.StatusUnauthorized,
	// LTI launches.
	optio.ELTIUnknownPlatform:   http.StatusBadRequest,
	optio.ELTIUnknownDeployment: http.StatusForbidden,
	optio.ELTIStateInvalid:      http.StatusBadRequest,
	optio.ELTIStateNotOurs:      http.StatusForbidden,
	optio.ELTITokenInvalid:      http.StatusUnauthorized,
	optio.ELTITokenExpired:      http.StatusUnauthorized,
	optio.ELTIWrongIssuer:       http.StatusUnauthorized,
	optio.ELTIWrongAudience:     http.StatusUnauthorized,
	optio.ELTINonceInvalid:      http.StatusUnauthorized,
	optio.ELTIClaimInvalid:      http.StatusBadRequest,
	optio.ELTIRoleUnsupported:   http.StatusForbidden,
}

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// unavailableRetryAfter is the Retry-After, in seconds, of a 503 that did
// not set its own: about how long a PostgreSQL restart or failover takes.
const unavailableRetryAfter = 5

// Error answers a request with err: JSON for API clients, a short page for
// browsers. Internal errors are logged and shown only as a generic message.
func (s *Server) Error(w http.ResponseWriter, r *http.Request, err error) {
	code := optio.ErrorCode(err)
	status := statusOf(code)
	detail := errorDetail{Code: code, Message: optio.ErrorMessage(err)}
	var oe *optio.Error
	if errors.As(err, &oe) {
		detail.Fields = oe.Fields
	}
	if status >= 500 && code != optio.EUNAVAILABLE && code != optio.ENOTCONFIG {
		s.Logger.ErrorContext(r.Context(), "request failed", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Any("error", err))
	}
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		// Every 503 says when to come back (a PostgreSQL restart, Spark
		// unreachable): Spark's retries, a load balancer and a browser's
		// script can all wait that long instead of hammering.
		w.Header().Set("Retry-After", strconv.Itoa(unavailableRetryAfter))
	}
	if wantsJSON(r) {
		writeJSON(w, status, errorBody{Error: detail})
		return
	}
	s.renderStatus(w, r, status, "errorpage", pageData{Title: http.StatusText(status), Data: detail})
}

// wantsJSON reports whether the client is an API client rather than a browser
// navigating to a page.
func wantsJSON(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/spark/webhook/") || strings.HasPrefix(r.URL.Path, "/spark/api/") {
		return true
	}
	a := r.Header.Get("Accept")
	return strings.Contains(a, "application/json") && !strings.Contains(a, "text/html")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// decodeJSON reads a JSON body of at most max bytes into v, answering
// malformed input with a 400 that names the field or position.
func decodeJSON(w http.ResponseWriter, r *http.Request, max int64, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, max)
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &mbe):
			return optio.Errorf(optio.ETOOLARGE, "The request body is larger than %d bytes.", max)
		case errors.As(err, &te):
			return &optio.Error{Code: optio.EMALFORMED, Message: "A field has the wrong type.",
				Fields: map[string]string{te.Field: "must be " + te.Type.String()}}
		case errors.As(err, &se):
			return optio.Errorf(optio.EMALFORMED, "The body is not valid JSON (at byte %d).", se.Offset)
		default:
			return optio.Errorf(optio.EMALFORMED, "The body is not valid JSON: %s.", strings.TrimPrefix(err.Error(), "json: "))
		}
	}
	if dec.More() {
		return optio.Errorf(optio.EMALFORMED, "The body has data after the JSON value.")
	}
	return nil
}
