package fetch

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/optio-edu/optio"
)

// StatusError is a download the server answered with a non-2xx status. It
// unwraps to an *optio.Error: ENOTFOUND for 404 and 410, EFORBIDDEN for 401
// and 403, ERATELIMIT for 429, EUNAVAILABLE for the rest.
type StatusError struct {
	StatusCode int
	URL        string // redacted: no query or user info
	err        *optio.Error
}

func newStatusError(where string, status int) *StatusError {
	code := optio.EUNAVAILABLE
	switch status {
	case http.StatusNotFound, http.StatusGone:
		code = optio.ENOTFOUND
	case http.StatusUnauthorized, http.StatusForbidden:
		code = optio.EFORBIDDEN
	case http.StatusTooManyRequests:
		code = optio.ERATELIMIT
	}
	return &StatusError{StatusCode: status, URL: where,
		err: optio.Errorf(code, "the file server answered %d %s", status, http.StatusText(status))}
}

// Error names the redacted URL and the status.
func (e *StatusError) Error() string {
	return fmt.Sprintf("fetch %s: %s", e.URL, e.err.Message)
}

// Unwrap exposes the *optio.Error so optio.ErrorCode works on a StatusError.
func (e *StatusError) Unwrap() error { return e.err }

// IsRetryable reports whether trying the same download later may succeed:
// timeouts, connection failures, 408, 425, 429 and 5xx answers are
// retryable; policy refusals, other 4xx answers, oversized files and a
// caller's cancellation are not. Sync jobs use it to fail fast or back off.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		switch se.StatusCode {
		case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests:
			return true
		}
		return se.StatusCode >= 500
	}
	switch optio.ErrorCode(err) {
	case optio.EFORBIDDEN, optio.ETOOLARGE, optio.EINVALID, optio.EUNSUPPORTED, optio.ENOTFOUND:
		return false
	}
	return !errors.Is(err, context.Canceled)
}
