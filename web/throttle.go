package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/optio-edu/optio"
)

// Guessing is throttled in the database (store.ThrottleHit), per account and
// per client address, so every process sharing PostgreSQL counts the same
// attempts. A refused attempt answers 429 rate_limited with Retry-After and is
// never checked: during a lock the right password is refused too. The rules
// are optio.LoginAccountRule and its neighbours (docs/SECURITY.md, "Issue 17").

// newThrottleRefusals registers optio_throttle_refusals_total{scope}, its
// label values fixed to optio.ThrottleScopes.
func newThrottleRefusals(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "optio_throttle_refusals_total",
		Help: "Attempts refused with 429 because their account or client address was locked, by scope.",
	}, []string{"scope"})
	for _, scope := range optio.ThrottleScopes {
		c.WithLabelValues(scope)
	}
	reg.MustRegister(c)
	return c
}

// newQuotaRefusals registers optio_upload_quota_refusals_total.
func newQuotaRefusals(reg prometheus.Registerer) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "optio_upload_quota_refusals_total", Help: "Uploads refused because they would pass the user's upload quota.",
	})
	reg.MustRegister(c)
	return c
}

// throttleHits counts attempts in this process; every pruneEvery-th one
// deletes the counters that are forgotten anyway.
var throttleHits atomic.Uint64

const pruneEvery = 1024

// throttleKey is the counter's key: the scope and a hash of what is counted,
// so the table holds no emails or addresses (nor a password typed into the
// email field).
func throttleKey(scope, value string) string {
	sum := sha256.Sum256([]byte(value))
	return scope + ":" + hex.EncodeToString(sum[:16])
}

// throttle counts one attempt of value under rule. When the key is locked it
// sets Retry-After on w, counts the refusal and returns rate_limited; the
// caller answers with that error and does nothing else.
func (s *Server) throttle(w http.ResponseWriter, r *http.Request, rule optio.ThrottleRule, value string) (string, error) {
	key, res, err := s.throttleHit(r, rule, value)
	if err != nil {
		return "", err
	}
	if res.Allowed {
		return key, nil
	}
	s.Metrics.Throttle.WithLabelValues(rule.Scope).Inc()
	secs := int(math.Ceil(res.RetryAfter.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return "", optio.Errorf(optio.ERATELIMIT, "Too many attempts. Try again in %s.", waitText(secs))
}

// throttleHit counts one attempt of value under rule and returns its key.
func (s *Server) throttleHit(r *http.Request, rule optio.ThrottleRule, value string) (string, optio.ThrottleResult, error) {
	key := throttleKey(rule.Scope, value)
	res, err := s.Store.ThrottleHit(r.Context(), key, rule)
	if err != nil {
		return "", res, err
	}
	if throttleHits.Add(1)%pruneEvery == 0 {
		if _, err := s.Store.PruneThrottle(r.Context()); err != nil {
			s.Logger.WarnContext(r.Context(), "prune throttle counters", slog.Any("error", err))
		}
	}
	return key, res, nil
}

// waitText says how long to wait, in words.
func waitText(secs int) string {
	switch {
	case secs == 1:
		return "1 second"
	case secs < 60:
		return fmt.Sprintf("%d seconds", secs)
	case secs <= 90:
		return "a minute"
	}
	return fmt.Sprintf("%d minutes", (secs+59)/60)
}

// forgive takes back attempts that turned out not to be guesses. Failing to
// do so only leaves a count too high, so it is logged, not answered.
func (s *Server) forgive(r *http.Request, keys ...string) {
	for _, k := range keys {
		if k == "" {
			continue
		}
		if err := s.Store.ThrottleForgive(r.Context(), k); err != nil {
			s.Logger.WarnContext(r.Context(), "forgive throttle attempt", slog.Any("error", err))
		}
	}
}

// clientAddr is the client address a request is throttled by: its peer, or,
// when the peer is one of OPTIO_TRUSTED_PROXIES, the nearest X-Forwarded-For
// address that is not a trusted proxy. IPv6 clients are counted by /64, the
// block one subscriber is usually given.
func (s *Server) clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return "peer:" + host
	}
	addr = addr.Unmap()
	if len(s.Config.TrustedProxies) > 0 && trusted(s.Config.TrustedProxies, addr) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // a garbled hop: the last good one is as far as the chain can be believed
			}
			addr = a.Unmap()
			if !trusted(s.Config.TrustedProxies, addr) {
				break
			}
		}
	}
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

func trusted(proxies []string, a netip.Addr) bool {
	for _, p := range proxies {
		if pre, err := optio.ParseAddrPrefix(p); err == nil && pre.Contains(a) {
			return true
		}
	}
	return false
}

// throttleEmail is the account key of a login: the address by the one email
// rule (optio.NormalizeEmail), so every spelling that reaches an account
// counts against it; an address the rule refuses reaches no account and is
// keyed as typed, trimmed and lower-cased.
func throttleEmail(email string) string {
	if e, err := optio.NormalizeEmail("email", email); err == nil {
		return e
	}
	return strings.ToLower(strings.TrimSpace(email))
}

// login is authenticate behind the password throttle.
func (s *Server) login(w http.ResponseWriter, r *http.Request, email, password string) (*optio.User, error) {
	return s.checkPassword(w, r, email, func() (*optio.User, error) {
		return s.authenticate(r.Context(), email, password)
	})
}

// checkPassword runs one password check for the account named by email
// behind the throttles per client address and per account: every attempt
// counts when it starts; a right password gives the address its attempt
// back and clears the account's count. Sign-in, account linking and
// password change all check passwords through it.
func (s *Server) checkPassword(w http.ResponseWriter, r *http.Request, email string, check func() (*optio.User, error)) (*optio.User, error) {
	addrKey, err := s.throttle(w, r, optio.LoginAddressRule, s.clientAddr(r))
	if err != nil {
		return nil, err
	}
	acctKey, err := s.throttle(w, r, optio.LoginAccountRule, throttleEmail(email))
	if err != nil {
		s.forgive(r, addrKey)
		return nil, err
	}
	u, err := check()
	switch {
	case err == nil:
		s.forgive(r, addrKey)
		if err := s.Store.ThrottleReset(r.Context(), acctKey); err != nil {
			s.Logger.WarnContext(r.Context(), "reset login throttle", slog.Any("error", err))
		}
		return u, nil
	case optio.ErrorCode(err) != optio.EUNAUTHORIZED:
		// Not a wrong password (the database failed): not a guess.
		s.forgive(r, addrKey, acctKey)
	}
	return nil, err
}

// signUp is register behind the per-address throttle: every attempt counts,
// a successful one too (mass account creation is what it stops).
func (s *Server) signUp(w http.ResponseWriter, r *http.Request, in registerRequest) (*optio.User, error) {
	if _, err := s.throttle(w, r, optio.RegisterAddressRule(s.Config.RegistrationsPerHour), s.clientAddr(r)); err != nil {
		return nil, err
	}
	return s.register(r.Context(), in)
}

// guessCode runs one attempt at a link or invitation code behind the
// per-address and per-account throttles. A code that works gives its attempt
// back; unknown, expired and used codes count.
func guessCode[T any](s *Server, w http.ResponseWriter, r *http.Request, try func() (T, error)) (T, error) {
	var zero T
	addrKey, err := s.throttle(w, r, optio.CodeAddressRule, s.clientAddr(r))
	if err != nil {
		return zero, err
	}
	acctKey, err := s.throttle(w, r, optio.CodeAccountRule, userOf(r).ID)
	if err != nil {
		s.forgive(r, addrKey)
		return zero, err
	}
	v, err := try()
	if err == nil || statusOf(optio.ErrorCode(err)) >= 500 {
		s.forgive(r, addrKey, acctKey)
	}
	return v, err
}

// redeemLinkCode is Store.RedeemLinkCode for the signed-in parent, throttled.
func (s *Server) redeemLinkCode(w http.ResponseWriter, r *http.Request, code string) (*optio.ParentLink, error) {
	return guessCode(s, w, r, func() (*optio.ParentLink, error) {
		return s.Store.RedeemLinkCode(r.Context(), userOf(r).ID, code)
	})
}

// acceptInvitation is Store.AcceptInvitation for the signed-in observer, throttled.
func (s *Server) acceptInvitation(w http.ResponseWriter, r *http.Request, code string) (*optio.ObserverLink, error) {
	return guessCode(s, w, r, func() (*optio.ObserverLink, error) {
		return s.Store.AcceptInvitation(r.Context(), userOf(r).ID, code)
	})
}
