package optio

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// ThrottleRule says how many attempts one key (an account, a client address)
// may make before it is locked, and for how long. Every attempt is counted
// when it starts; the Limit-th attempt of a run is still answered and sets a
// lock of Lock; while locked nothing is counted and every attempt is refused.
// Each attempt counted after a lock ended doubles the lock (capped at
// MaxLock). A run is forgotten once Window has passed both since its first
// attempt and since its last lock ended.
type ThrottleRule struct {
	// Scope names what is counted; it prefixes the key and labels the
	// optio_throttle_refusals_total metric.
	Scope   string
	Limit   int
	Window  time.Duration
	Lock    time.Duration
	MaxLock time.Duration
}

// Throttle scopes: the fixed label set of optio_throttle_refusals_total.
const (
	ThrottleLoginAccount    = "login_account"    // password logins per email
	ThrottleLoginAddress    = "login_address"    // password logins per client address
	ThrottleRegisterAddress = "register_address" // sign-ups per client address
	ThrottleCodeAccount     = "code_account"     // link and invitation codes tried per signed-in account
	ThrottleCodeAddress     = "code_address"     // link and invitation codes tried per client address
)

// ThrottleScopes lists every scope, in a stable order.
var ThrottleScopes = []string{ThrottleLoginAccount, ThrottleLoginAddress, ThrottleRegisterAddress, ThrottleCodeAccount, ThrottleCodeAddress}

// The throttle rules (docs/SECURITY.md, "Issue 17"). Sign-ups per address
// take their limit from Config.RegistrationsPerHour.
var (
	LoginAccountRule = ThrottleRule{Scope: ThrottleLoginAccount, Limit: 10, Window: 15 * time.Minute, Lock: time.Minute, MaxLock: time.Hour}
	LoginAddressRule = ThrottleRule{Scope: ThrottleLoginAddress, Limit: 100, Window: 15 * time.Minute, Lock: time.Minute, MaxLock: time.Hour}
	CodeAccountRule  = ThrottleRule{Scope: ThrottleCodeAccount, Limit: 10, Window: time.Hour, Lock: time.Minute, MaxLock: time.Hour}
	CodeAddressRule  = ThrottleRule{Scope: ThrottleCodeAddress, Limit: 30, Window: time.Hour, Lock: time.Minute, MaxLock: time.Hour}
)

// OnFireClickRule de-duplicates OnFire catalog clicks rather than refusing
// anything: a viewer's (account's, or anonymous client address's) first
// click on a course is counted and locks that course's key for an hour, in
// which further clicks are still redirected but not counted; a viewer who
// keeps clicking is counted at most once per 2, 4 … 24 hours. A loop of
// requests adds one click per course, not one per request.
var OnFireClickRule = ThrottleRule{Scope: "onfire_click", Limit: 1, Window: time.Hour, Lock: time.Hour, MaxLock: 24 * time.Hour}

// Defaults of the Config fields these features read; a zero field (a Config
// built in code rather than by LoadConfig) means the default.
const (
	DefaultUploadQuotaBytes     = 2 << 30 // OPTIO_UPLOAD_QUOTA_BYTES
	DefaultRegistrationsPerHour = 20      // OPTIO_REGISTRATIONS_PER_HOUR
)

// UploadQuota is the configured upload quota, or its default.
func (c *Config) UploadQuota() int64 {
	if c.UploadQuotaBytes <= 0 {
		return DefaultUploadQuotaBytes
	}
	return c.UploadQuotaBytes
}

// RegisterAddressRule is the sign-up rule for a limit per hour (the default
// when perHour is not positive).
func RegisterAddressRule(perHour int) ThrottleRule {
	if perHour <= 0 {
		perHour = DefaultRegistrationsPerHour
	}
	return ThrottleRule{Scope: ThrottleRegisterAddress, Limit: perHour, Window: time.Hour, Lock: 5 * time.Minute, MaxLock: time.Hour}
}

// ThrottleResult is the answer to one attempt.
type ThrottleResult struct {
	// Allowed is false when the key was locked; nothing was counted then.
	Allowed bool
	// RetryAfter is how long until the key's lock ends (0 when not locked).
	RetryAfter time.Duration
	// Count is the attempts counted in the key's current run.
	Count int
}

// ThrottleStore keeps throttle counters and upload usage in the database, so
// every process sharing it sees the same counts.
type ThrottleStore interface {
	// ThrottleHit counts one attempt against key under rule, atomically (one
	// statement), unless key is locked, in which case it is refused.
	ThrottleHit(ctx context.Context, key string, rule ThrottleRule) (ThrottleResult, error)
	// ThrottleForgive takes back the latest counted attempt of key (one that
	// turned out not to be a guess) and the lock it set.
	ThrottleForgive(ctx context.Context, key string) error
	// ThrottleReset forgets key (a successful login clears its account).
	ThrottleReset(ctx context.Context, key string) error
	// PruneThrottle deletes counters that are forgotten anyway.
	PruneThrottle(ctx context.Context) (int64, error)
	// StoredBytes is the total size of the files userID owns, uploaded or
	// synced from Spark: the usage the upload quota is checked against.
	StoredBytes(ctx context.Context, userID string) (int64, error)
}

// QuotaError is the refusal of an upload that would pass quota bytes, used
// bytes being already stored.
func QuotaError(used, quota int64) *Error {
	msg := fmt.Sprintf("Your files use %s of your %s upload quota, and this file does not fit in the %s left.",
		FormatBytes(used), FormatBytes(quota), FormatBytes(quota-used))
	if used >= quota {
		msg = fmt.Sprintf("Your files use %s of your %s upload quota: there is no room for more.", FormatBytes(used), FormatBytes(quota))
	}
	return &Error{Code: EQUOTA, Message: msg + " Remove old evidence or ask your school for more room.",
		Fields: map[string]string{"file": "does not fit in the upload quota",
			"used_bytes": fmt.Sprint(used), "quota_bytes": fmt.Sprint(quota)}}
}

// ParseAddrPrefix reads an IP address (a prefix of its full length) or a CIDR,
// as OPTIO_TRUSTED_PROXIES lists them.
func ParseAddrPrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}
