package spark

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/optio-edu/optio"
)

// Claim length limits; the 8 KB token cap bounds the lists.
const (
	maxIDLen   = 255
	maxNameLen = 200
	maxIDList  = 500
)

// Claims are the verified contents of a Spark SSO token, what the web layer
// needs to find or create the user and open a session. JSON encoding uses
// NumericDate seconds for iat and exp, as in the token itself.
type Claims struct {
	Issuer          string     `json:"iss"`
	Subject         string     `json:"sub"`                         // the Spark user id
	Audience        []string   `json:"aud,omitempty"`               // a single string in the token is a one-element list
	Email           string     `json:"email,omitempty"`             // optional, validated when present
	GivenName       string     `json:"given_name,omitempty"`        // optional
	FamilyName      string     `json:"family_name,omitempty"`       // optional
	Role            optio.Role `json:"role"`                        // student, parent or admin
	SparkCourseIDs  []string   `json:"spark_course_ids,omitempty"`  // the courses the user takes or watches
	SparkStudentIDs []string   `json:"spark_student_ids,omitempty"` // parents: the Spark ids of their children
	IssuedAt        time.Time  `json:"iat"`
	ExpiresAt       time.Time  `json:"exp"`
	Nonce           string     `json:"nonce"`
	// BirthDate (OIDC "birthdate", YYYY-MM-DD) and PublishConsent (the
	// consent to a public portfolio the school recorded) are the facts Spark
	// knows about a student; nil when absent. Optio records them only with
	// SPARK_TRUST_CONSENT=true.
	BirthDate      *time.Time `json:"-"`
	PublishConsent *bool      `json:"publish_consent,omitempty"`

	// Method is the alg the token was signed with (HS256, RS256, ES256), for logging.
	Method string `json:"-"`

	leeway time.Duration
}

// NonceExpiry is when the nonce may be forgotten: after it the token is
// expired even with leeway, so a replay fails on exp instead.
func (c *Claims) NonceExpiry() time.Time { return nonceExpiry(c.ExpiresAt, c.leeway) }

// nonceExpiry is exp plus the leeway the token was checked with.
func nonceExpiry(exp time.Time, leeway time.Duration) time.Time {
	if leeway == 0 {
		leeway = DefaultLeeway
	}
	return exp.Add(leeway)
}

// MarshalJSON writes the claims as a JWT payload: iat and exp as seconds,
// aud as a string when it has one value.
func (c Claims) MarshalJSON() ([]byte, error) {
	type plain Claims
	var aud any
	switch len(c.Audience) {
	case 0:
	case 1:
		aud = c.Audience[0]
	default:
		aud = c.Audience
	}
	return json.Marshal(struct {
		plain
		Audience  any    `json:"aud,omitempty"`
		IssuedAt  int64  `json:"iat"`
		ExpiresAt int64  `json:"exp"`
		BirthDate string `json:"birthdate,omitempty"`
	}{plain(c), aud, c.IssuedAt.Unix(), c.ExpiresAt.Unix(), birthdate(c.BirthDate)})
}

func birthdate(d *time.Time) string {
	if d == nil {
		return ""
	}
	return d.Format(time.DateOnly)
}

// claimSet is a token payload by claim name; null counts as absent.
type claimSet map[string]json.RawMessage

func (cs claimSet) raw(name string) (json.RawMessage, bool) {
	r, ok := cs[name]
	if !ok || bytes.Equal(bytes.TrimSpace(r), []byte("null")) {
		return nil, false
	}
	return r, true
}

func invalidClaim(name, problem string) *optio.Error {
	return tokenErr(ETokenInvalidClaim, "Claim %s %s.", name, problem)
}

func missingClaim(name string) *optio.Error {
	return tokenErr(ETokenMissingClaim, "The token has no %s claim.", name)
}

// str returns a string claim; present is false when absent or null.
func (cs claimSet) str(name string) (s string, present bool, err error) {
	r, ok := cs.raw(name)
	if !ok {
		return "", false, nil
	}
	if err := json.Unmarshal(r, &s); err != nil {
		return "", true, invalidClaim(name, "must be a string")
	}
	return s, true, nil
}

// date returns a NumericDate claim (seconds since the epoch, fractions allowed).
func (cs claimSet) date(name string) (time.Time, bool, error) {
	r, ok := cs.raw(name)
	if !ok {
		return time.Time{}, false, nil
	}
	var f float64
	if err := json.Unmarshal(r, &f); err != nil {
		return time.Time{}, true, invalidClaim(name, "must be a number of seconds")
	}
	if math.IsNaN(f) || f < 0 || f > 253402300799 { // up to year 9999
		return time.Time{}, true, invalidClaim(name, "is out of range")
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true, nil
}

// list returns a list-of-strings claim; single allows a plain string too.
// Entries must be non-empty.
func (cs claimSet) list(name string, single bool) ([]string, bool, error) {
	r, ok := cs.raw(name)
	if !ok {
		return nil, false, nil
	}
	var l []string
	if err := json.Unmarshal(r, &l); err != nil {
		var s string
		if !single || json.Unmarshal(r, &s) != nil {
			if single {
				return nil, true, invalidClaim(name, "must be a string or an array of strings")
			}
			return nil, true, invalidClaim(name, "must be an array of strings")
		}
		l = []string{s}
	}
	if len(l) > maxIDList {
		return nil, true, invalidClaim(name, fmt.Sprintf("has more than %d entries", maxIDList))
	}
	for _, s := range l {
		if s == "" || len(s) > maxIDLen || hasControl(s) {
			return nil, true, invalidClaim(name, "has an empty, over-long or unprintable entry")
		}
	}
	return l, true, nil
}

func hasControl(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

func (v *SSOVerifier) checkIssuer(cs claimSet, c *Claims) (string, error) {
	iss, ok, err := cs.str("iss")
	switch {
	case err != nil:
		return "", err
	case !ok || iss == "":
		return "", missingClaim("iss")
	case iss != v.issuer:
		return "", tokenErr(ETokenWrongIssuer, "The token was issued by %s, not %q.", shortQuote(iss), v.issuer)
	}
	c.Issuer = iss
	return fmt.Sprintf("iss is %q", iss), nil
}

func (v *SSOVerifier) checkAudience(cs claimSet, c *Claims) (string, error) {
	aud, ok, err := cs.list("aud", true)
	if err != nil {
		return "", err
	}
	c.Audience = aud
	if v.audience == "" {
		return "no audience required", nil
	}
	if !ok {
		return "", missingClaim("aud")
	}
	if !slices.Contains(aud, v.audience) {
		return "", tokenErr(ETokenWrongAudience, "The token is not meant for audience %q.", v.audience)
	}
	return fmt.Sprintf("aud contains %q", v.audience), nil
}

func (v *SSOVerifier) checkExpiry(cs claimSet, c *Claims, now time.Time) (string, error) {
	exp, ok, err := cs.date("exp")
	switch {
	case err != nil:
		return "", err
	case !ok:
		return "", missingClaim("exp")
	case !now.Before(exp.Add(v.leeway)):
		return "", tokenErr(ETokenExpired, "The token expired at %s; sign in from Spark again.", exp.Format(time.RFC3339))
	}
	c.ExpiresAt = exp
	return "expires " + exp.Format(time.RFC3339), nil
}

func (v *SSOVerifier) checkIssuedAt(cs claimSet, c *Claims, now time.Time) (string, error) {
	iat, ok, err := cs.date("iat")
	switch {
	case err != nil:
		return "", err
	case !ok:
		return "", missingClaim("iat")
	case iat.After(now.Add(v.leeway)):
		return "", tokenErr(ETokenNotYetValid, "The token is issued in the future (%s); check Spark's clock.", iat.Format(time.RFC3339))
	}
	c.IssuedAt = iat
	return "issued " + iat.Format(time.RFC3339), nil
}

func (v *SSOVerifier) checkNotBefore(cs claimSet, now time.Time) (string, error) {
	nbf, ok, err := cs.date("nbf")
	switch {
	case err != nil:
		return "", err
	case !ok:
		return "no nbf", nil
	case nbf.After(now.Add(v.leeway)):
		return "", tokenErr(ETokenNotYetValid, "The token is not valid before %s.", nbf.Format(time.RFC3339))
	}
	return "valid from " + nbf.Format(time.RFC3339), nil
}

func (v *SSOVerifier) checkLifetime(c *Claims) (string, error) {
	life := c.ExpiresAt.Sub(c.IssuedAt)
	switch {
	case life <= 0:
		return "", invalidClaim("exp", "must be after iat")
	case life > v.maxLifetime:
		return "", tokenErr(ETokenLifetimeTooLong, "The token lives %s; at most %s is allowed.", life, v.maxLifetime)
	}
	return fmt.Sprintf("%s (max %s)", life, v.maxLifetime), nil
}

func checkRequired(cs claimSet, c *Claims) (string, error) {
	for _, f := range []struct {
		name string
		dst  *string
	}{{"sub", &c.Subject}, {"nonce", &c.Nonce}} {
		s, ok, err := cs.str(f.name)
		switch {
		case err != nil:
			return "", err
		case !ok || s == "":
			return "", missingClaim(f.name)
		case len(s) > maxIDLen || hasControl(s):
			return "", invalidClaim(f.name, "is over-long or unprintable")
		}
		*f.dst = s
	}
	return "sub and nonce present", nil
}

func checkRole(cs claimSet, c *Claims) (string, error) {
	r, ok, err := cs.str("role")
	switch {
	case err != nil:
		return "", err
	case !ok || r == "":
		return "", missingClaim("role")
	}
	switch optio.Role(r) {
	case optio.RoleStudent, optio.RoleParent, optio.RoleAdmin:
	default:
		return "", invalidClaim("role", "must be student, parent or admin")
	}
	c.Role = optio.Role(r)
	return "role is " + r, nil
}

func checkProfile(cs claimSet, c *Claims) (string, error) {
	for _, f := range []struct {
		name string
		dst  *string
	}{{"email", &c.Email}, {"given_name", &c.GivenName}, {"family_name", &c.FamilyName}} {
		s, _, err := cs.str(f.name)
		if err != nil {
			return "", err
		}
		if utf8.RuneCountInString(s) > maxNameLen || hasControl(s) {
			return "", invalidClaim(f.name, "is over-long or unprintable")
		}
		*f.dst = s
	}
	if c.Email != "" && !validEmail(c.Email) {
		return "", invalidClaim("email", "is not an email address")
	}
	var err error
	if c.SparkCourseIDs, _, err = cs.list("spark_course_ids", false); err != nil {
		return "", err
	}
	if c.SparkStudentIDs, _, err = cs.list("spark_student_ids", false); err != nil {
		return "", err
	}
	if err := checkFacts(cs, c); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d course ids, %d student ids", len(c.SparkCourseIDs), len(c.SparkStudentIDs)), nil
}

// checkFacts reads the optional birthdate (YYYY-MM-DD, OIDC) and
// publish_consent (boolean) claims.
func checkFacts(cs claimSet, c *Claims) error {
	if b, ok, err := cs.str("birthdate"); err != nil {
		return err
	} else if ok && b != "" {
		d, perr := time.Parse(time.DateOnly, b)
		if perr != nil || d.Year() < 1900 {
			return invalidClaim("birthdate", "must be a date as YYYY-MM-DD")
		}
		c.BirthDate = &d
	}
	if r, ok := cs.raw("publish_consent"); ok {
		var v bool
		if err := json.Unmarshal(r, &v); err != nil {
			return invalidClaim("publish_consent", "must be true or false")
		}
		c.PublishConsent = &v
	}
	return nil
}

// validEmail accepts a bare address (no display name) of sane length.
func validEmail(s string) bool {
	if len(s) > 254 {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}
