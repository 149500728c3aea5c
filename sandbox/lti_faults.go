package sandbox

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/optio-edu/optio"
)

// LaunchFault makes the platform's next launches bad in one way, so a tool's
// refusals can be shown and tested.
type LaunchFault string

// The launch faults.
const (
	// LaunchOK: launches are as the specification wants them.
	LaunchOK LaunchFault = ""
	// LaunchExpired: the id_token's exp is already past when it is sent.
	LaunchExpired LaunchFault = "expired"
	// LaunchReplayed: the authorization endpoint sends the tool the last
	// id_token it sent that tool before (same nonce), with the new state.
	LaunchReplayed LaunchFault = "replayed"
	// LaunchUnregisteredKey: the id_token is signed by a key the platform's
	// JWKS does not hold, under the published key's kid.
	LaunchUnregisteredKey LaunchFault = "unregistered-key"
)

var launchFaults = []LaunchFault{LaunchOK, LaunchExpired, LaunchReplayed, LaunchUnregisteredKey}

// ltiFaults are the LTI platform's outage and misbehaviour controls, in the
// style of SetFilesDown; guarded by ltiPlatform.mu.
type ltiFaults struct {
	jwksDown      bool
	nrpsLoop      bool
	ags429        int           // AGS requests still to refuse
	agsRetryAfter time.Duration // the Retry-After those refusals carry
	launch        LaunchFault
}

// SetLTIJWKSDown makes the platform's JWKS (/lti/jwks) answer 503 while down
// is true: a tool must verify launches with the keys it cached, and say
// clearly when it has none.
func (s *Sandbox) SetLTIJWKSDown(down bool) {
	s.lti.mu.Lock()
	defer s.lti.mu.Unlock()
	s.lti.faults.jwksDown = down
}

// SetNRPSLoop makes the last page of every membership list carry a
// rel="next" link back to its first page while loop is true: a tool that
// follows next links blindly never stops.
func (s *Sandbox) SetNRPSLoop(loop bool) {
	s.lti.mu.Lock()
	defer s.lti.mu.Unlock()
	s.lti.faults.nrpsLoop = loop
}

// SetAGSThrottle makes the next n AGS requests (line items, scores,
// results) answer 429 Too Many Requests with Retry-After: retryAfter (whole
// seconds); n = 0 ends it.
func (s *Sandbox) SetAGSThrottle(n int, retryAfter time.Duration) {
	s.lti.mu.Lock()
	defer s.lti.mu.Unlock()
	s.lti.faults.ags429 = max(n, 0)
	s.lti.faults.agsRetryAfter = max(retryAfter, 0)
}

// SetLaunchFault makes every launch from now on bad in the way f says
// (LaunchOK ends it).
func (s *Sandbox) SetLaunchFault(f LaunchFault) error {
	for _, known := range launchFaults {
		if f == known {
			s.lti.mu.Lock()
			s.lti.faults.launch = f
			s.lti.mu.Unlock()
			return nil
		}
	}
	return &optio.Error{Code: optio.EINVALID, Message: "The launch fault is invalid.", Fields: map[string]string{"launch": fmt.Sprintf("%q is not one of %q", f, launchFaults)}}
}

// ltiFaultState is a copy of the faults in force, for the admin page.
func (s *Sandbox) ltiFaultState() ltiFaults {
	s.lti.mu.Lock()
	defer s.lti.mu.Unlock()
	return s.lti.faults
}

// agsThrottled answers 429 when SetAGSThrottle has refusals left.
func (s *Sandbox) agsThrottled(w http.ResponseWriter) bool {
	s.lti.mu.Lock()
	n, after := s.lti.faults.ags429, s.lti.faults.agsRetryAfter
	if n > 0 {
		s.lti.faults.ags429--
	}
	s.lti.mu.Unlock()
	if n == 0 {
		return false
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(after/time.Second)))
	writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": map[string]any{"code": optio.ERATELIMIT, "message": "Too many grade service requests; retry after the Retry-After delay."}})
	return true
}
