package spark

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/optio-edu/optio"
)

// SSO limits and defaults.
const (
	// MaxTokenBytes caps an SSO token; anything longer is refused unparsed.
	MaxTokenBytes = 8 << 10
	// DefaultIssuer is the iss Spark puts in its SSO tokens.
	DefaultIssuer = "spark-lms"
	// DefaultLeeway is the clock skew allowed on exp, iat and nbf; it is also the maximum.
	DefaultLeeway = 60 * time.Second
	// DefaultMaxLifetime is the longest exp - iat accepted.
	DefaultMaxLifetime = 10 * time.Minute
	// DefaultJWKSRefetch is the least time between two JWKS refetches caused by unknown kids.
	DefaultJWKSRefetch = 30 * time.Second
)

// The names of the checks Verify runs, in order; Explain reports them.
const (
	CheckStructure      = "structure"
	CheckAlgorithm      = "algorithm"
	CheckSignature      = "signature"
	CheckIssuer         = "issuer"
	CheckAudience       = "audience"
	CheckExpiry         = "expiry"
	CheckIssuedAt       = "issued at"
	CheckNotBefore      = "not before"
	CheckLifetime       = "lifetime"
	CheckRequiredClaims = "required claims"
	CheckPurpose        = "purpose"
	CheckRole           = "role"
	CheckProfileClaims  = "profile claims"
)

var checkOrder = []string{
	CheckStructure, CheckAlgorithm, CheckSignature, CheckIssuer, CheckAudience, CheckExpiry,
	CheckIssuedAt, CheckNotBefore, CheckLifetime, CheckRequiredClaims, CheckPurpose, CheckRole, CheckProfileClaims,
}

// SSOConfig configures an SSOVerifier. The zero value of each optional field
// takes the default named in its comment.
type SSOConfig struct {
	// Secrets verify HS256 tokens; any one may match, so a secret can be rotated
	// by configuring old and new together. Empty entries are an error.
	Secrets []string
	// JWKSURL, when set, enables RS256 and ES256 tokens signed by keys from this JWKS.
	JWKSURL string
	// Issuer is the required iss claim. Default "spark-lms".
	Issuer string
	// Audience, when set, must be one of the aud claim's values. Default: aud not checked.
	Audience string
	// Leeway is the clock skew allowed on exp, iat and nbf. Default and maximum 60s.
	Leeway time.Duration
	// MaxLifetime is the longest exp - iat accepted. Default 10m.
	MaxLifetime time.Duration
	// JWKSRefetch is the least time between refetches triggered by an unknown
	// kid, so forged kids cannot hammer Spark's JWKS endpoint. Default 30s.
	JWKSRefetch time.Duration
	// Clock tells the time for exp/iat/nbf checks. Default optio.SystemClock.
	Clock optio.Clock
	// HTTPClient fetches the JWKS. Default: a client with a 10s timeout.
	HTTPClient *http.Client
}

// SSOVerifier checks Spark's SSO tokens. It is safe for concurrent use; the
// web layer builds one at start-up and calls Verify per sign-in.
type SSOVerifier struct {
	secrets     [][]byte
	jwksURL     string
	issuer      string
	audience    string
	leeway      time.Duration
	maxLifetime time.Duration
	clock       optio.Clock

	keys *keySource // nil without a JWKS URL
}

// NewSSOVerifier validates cfg and returns a verifier. With a JWKS URL it
// starts a background cache tied to ctx (stop it with Close); the first fetch
// happens in the background, so Spark being down does not stop start-up.
// A config with neither secrets nor JWKS URL is accepted: Verify then answers
// sso_not_configured, which lets Optio run without SSO.
func NewSSOVerifier(ctx context.Context, cfg SSOConfig) (*SSOVerifier, error) {
	v := &SSOVerifier{
		jwksURL:     cfg.JWKSURL,
		issuer:      cfg.Issuer,
		audience:    cfg.Audience,
		leeway:      cfg.Leeway,
		maxLifetime: cfg.MaxLifetime,
		clock:       cfg.Clock,
	}
	for i, s := range cfg.Secrets {
		if s == "" {
			return nil, fmt.Errorf("spark sso: secret #%d is empty", i+1)
		}
		v.secrets = append(v.secrets, []byte(s))
	}
	if v.issuer == "" {
		v.issuer = DefaultIssuer
	}
	switch {
	case v.leeway == 0:
		v.leeway = DefaultLeeway
	case v.leeway < 0 || v.leeway > DefaultLeeway:
		return nil, fmt.Errorf("spark sso: leeway %s is outside 0–%s", v.leeway, DefaultLeeway)
	}
	switch {
	case v.maxLifetime == 0:
		v.maxLifetime = DefaultMaxLifetime
	case v.maxLifetime < 0:
		return nil, fmt.Errorf("spark sso: max lifetime %s is negative", v.maxLifetime)
	}
	if v.clock == nil {
		v.clock = optio.SystemClock{}
	}
	if cfg.JWKSURL != "" {
		u, err := url.Parse(cfg.JWKSURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("spark sso: JWKS URL %q is not an http(s) URL", cfg.JWKSURL)
		}
		refetch := cfg.JWKSRefetch
		if refetch <= 0 {
			refetch = DefaultJWKSRefetch
		}
		ks, err := newKeySource(ctx, cfg.JWKSURL, cfg.HTTPClient, refetch, v.clock)
		if err != nil {
			return nil, err
		}
		v.keys = ks
	}
	return v, nil
}

// Close stops the JWKS cache's background work. It is safe to call on a
// verifier without JWKS and more than once.
func (v *SSOVerifier) Close() error {
	if v.keys == nil {
		return nil
	}
	return v.keys.close()
}

// Configured reports whether the verifier can accept any token at all, so the
// web layer can hide the SSO entry point when it cannot.
func (v *SSOVerifier) Configured() bool { return len(v.secrets) > 0 || v.keys != nil }

// Check is one step of token verification as Explain reports it. OK is false
// both for the failing check and for the checks after it, which did not run.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Verify checks token and returns its claims. Every failure is an
// *optio.Error with one of the token_* codes (or sso_not_configured, or
// optio.EUNAVAILABLE when the JWKS cannot be fetched); messages never contain
// the token. Nonce replay is the caller's job: store Claims.Nonce until
// Claims.NonceExpiry.
func (v *SSOVerifier) Verify(ctx context.Context, token string) (*Claims, error) {
	return v.run(ctx, token, nil)
}

// Explain runs the same checks as Verify and reports each one, for the
// `optio spark verify-token` CLI and for debugging a Spark integration.
// After the first failure the remaining checks are listed as not run.
func (v *SSOVerifier) Explain(ctx context.Context, token string) []Check {
	rec := &recorder{}
	if _, err := v.run(ctx, token, rec); err != nil && len(rec.checks) == 0 {
		return []Check{{Name: "configuration", OK: false, Detail: optio.ErrorMessage(err)}}
	}
	for _, name := range checkOrder[len(rec.checks):] {
		rec.checks = append(rec.checks, Check{Name: name, Detail: "not run: an earlier check failed"})
	}
	return rec.checks
}

// recorder collects Explain's checks; a nil recorder records nothing.
type recorder struct{ checks []Check }

func (r *recorder) pass(name, detail string) {
	if r != nil {
		r.checks = append(r.checks, Check{Name: name, OK: true, Detail: detail})
	}
}

func (r *recorder) fail(name string, err error) error {
	if r != nil {
		r.checks = append(r.checks, Check{Name: name, Detail: optio.ErrorCode(err) + ": " + optio.ErrorMessage(err)})
	}
	return err
}

func tokenErr(code, format string, args ...any) *optio.Error {
	return optio.Errorf(code, format, args...)
}

// tokenHeader is the protected header fields this package looks at.
type tokenHeader struct {
	alg    string
	kid    string
	hasKid bool
}

func (v *SSOVerifier) run(ctx context.Context, token string, rec *recorder) (*Claims, error) {
	c, _, err := v.verify(ctx, token, rec, false)
	return c, err
}

// verify checks token as an SSO token (embed false: it must carry no
// purpose claim) or as a portfolio embed token (embed true: purpose must be
// PurposePortfolioEmbed and role and profile claims are not read), so
// neither kind is accepted as the other.
func (v *SSOVerifier) verify(ctx context.Context, token string, rec *recorder, embed bool) (*Claims, claimSet, error) {
	fail := func(name string, err error) (*Claims, claimSet, error) { return nil, nil, rec.fail(name, err) }
	if !v.Configured() {
		return nil, nil, tokenErr(ESSONotConfigured, "Spark SSO is not configured: set SPARK_SSO_SECRET or SPARK_SSO_JWKS_URL.")
	}

	hdr, err := parseStructure(token)
	if err != nil {
		return fail(CheckStructure, err)
	}
	rec.pass(CheckStructure, "three base64url parts, JSON header and payload")

	if err := v.checkAlgorithm(ctx, hdr); err != nil {
		return fail(CheckAlgorithm, err)
	}
	rec.pass(CheckAlgorithm, hdr.alg+" is accepted")

	payload, detail, err := v.checkSignature(ctx, token, hdr)
	if err != nil {
		return fail(CheckSignature, err)
	}
	rec.pass(CheckSignature, detail)

	obj, err := parseObject(payload)
	if err != nil { // cannot happen: parseStructure decoded the same bytes
		return fail(CheckIssuer, tokenErr(ETokenMalformed, "The token payload is not a JSON object."))
	}
	cs := claimSet(obj)
	c := &Claims{Method: hdr.alg, leeway: v.leeway}
	now := v.clock.Now()
	steps := []struct {
		name string
		fn   func() (string, error)
	}{
		{CheckIssuer, func() (string, error) { return v.checkIssuer(cs, c) }},
		{CheckAudience, func() (string, error) { return v.checkAudience(cs, c) }},
		{CheckExpiry, func() (string, error) { return v.checkExpiry(cs, c, now) }},
		{CheckIssuedAt, func() (string, error) { return v.checkIssuedAt(cs, c, now) }},
		{CheckNotBefore, func() (string, error) { return v.checkNotBefore(cs, now) }},
		{CheckLifetime, func() (string, error) { return v.checkLifetime(c) }},
		{CheckRequiredClaims, func() (string, error) { return checkRequired(cs, c) }},
	}
	if embed {
		steps = append(steps, struct {
			name string
			fn   func() (string, error)
		}{CheckPurpose, func() (string, error) { return checkPurpose(cs, PurposePortfolioEmbed) }})
	} else {
		steps = append(steps, []struct {
			name string
			fn   func() (string, error)
		}{
			{CheckPurpose, func() (string, error) { return checkPurpose(cs, "") }},
			{CheckRole, func() (string, error) { return checkRole(cs, c) }},
			{CheckProfileClaims, func() (string, error) { return checkProfile(cs, c) }},
		}...)
	}
	for _, s := range steps {
		detail, err := s.fn()
		if err != nil {
			return fail(s.name, err)
		}
		rec.pass(s.name, detail)
	}
	return c, cs, nil
}

var b64url = base64.RawURLEncoding.Strict()

// parseStructure checks the compact form before any cryptography: size,
// three strict base64url parts, a JSON-object header with a string alg and
// no duplicate keys, and a JSON-object payload.
func parseStructure(token string) (tokenHeader, error) {
	var h tokenHeader
	if strings.TrimSpace(token) == "" {
		return h, tokenErr(ETokenMissing, "No token was given.")
	}
	if len(token) > MaxTokenBytes {
		return h, tokenErr(ETokenMalformed, "The token is longer than %d bytes.", MaxTokenBytes)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return h, tokenErr(ETokenMalformed, "A token has three dot-separated parts; this one has %d.", len(parts))
	}
	names := [3]string{"header", "payload", "signature"}
	var raw [3][]byte
	for i, p := range parts {
		b, err := b64url.DecodeString(p)
		if err != nil {
			return h, tokenErr(ETokenMalformed, "The token %s is not unpadded base64url.", names[i])
		}
		raw[i] = b
	}
	if len(raw[0]) == 0 || len(raw[1]) == 0 {
		return h, tokenErr(ETokenMalformed, "The token header or payload is empty.")
	}
	hm, err := parseObject(raw[0])
	if err != nil {
		return h, tokenErr(ETokenMalformed, "The token header is not a JSON object without duplicate keys.")
	}
	if _, err := parseObject(raw[1]); err != nil {
		return h, tokenErr(ETokenMalformed, "The token payload is not a JSON object without duplicate keys.")
	}
	if a, ok := hm["alg"]; ok {
		if err := json.Unmarshal(a, &h.alg); err != nil {
			return h, tokenErr(ETokenMalformed, "The token header alg is not a string.")
		}
	}
	if k, ok := hm["kid"]; ok {
		if err := json.Unmarshal(k, &h.kid); err != nil {
			return h, tokenErr(ETokenMalformed, "The token header kid is not a string.")
		}
		h.hasKid = true
	}
	if _, ok := hm["crit"]; ok {
		return h, tokenErr(ETokenMalformed, "The token header has crit extensions, which are not supported.")
	}
	if _, ok := hm["b64"]; ok {
		return h, tokenErr(ETokenMalformed, "The token header has b64, which is not supported.")
	}
	return h, nil
}

// parseObject decodes one JSON object and refuses duplicate keys, which
// different JSON parsers resolve differently (a classic JWT confusion).
func parseObject(b []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not an object")
	}
	m := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("duplicate key %q", k)
		}
		m[k] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("data after object")
	}
	return m, nil
}

// shortQuote quotes an untrusted header value for a message, cut short.
func shortQuote(s string) string {
	if len(s) > 24 {
		s = s[:24] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// checkAlgorithm pins the algorithm: HS256 needs a secret, RS256/ES256 need
// a JWKS, and an HS256 token naming a JWKS key is a key-confusion attempt.
func (v *SSOVerifier) checkAlgorithm(ctx context.Context, h tokenHeader) error {
	switch h.alg {
	case "":
		return tokenErr(ETokenAlgorithmRefused, "The token header has no alg.")
	case "HS256":
		if len(v.secrets) == 0 {
			return tokenErr(ETokenAlgorithmRefused, "HS256 tokens are refused: no shared secret is configured.")
		}
		if h.hasKid && v.keys != nil && v.keys.cachedHas(ctx, h.kid) {
			return tokenErr(ETokenAlgorithmRefused, "HS256 token names asymmetric key %s; refused.", shortQuote(h.kid))
		}
		return nil
	case "RS256", "ES256":
		if v.keys == nil {
			return tokenErr(ETokenAlgorithmRefused, "%s tokens are refused: no JWKS URL is configured.", h.alg)
		}
		return nil
	default:
		return tokenErr(ETokenAlgorithmRefused, "Algorithm %s is not accepted; use HS256, RS256 or ES256.", shortQuote(h.alg))
	}
}

// checkSignature verifies with every configured secret (HS256) or the JWKS
// key the token names (RS256/ES256); the library compares in constant time
// and re-checks that the header alg matches the algorithm and key type used.
func (v *SSOVerifier) checkSignature(ctx context.Context, token string, h tokenHeader) ([]byte, string, error) {
	if h.alg == "HS256" {
		for i, s := range v.secrets {
			if p, err := jws.VerifyCompactFast(s, []byte(token), jwa.HS256()); err == nil {
				return p, fmt.Sprintf("HS256, secret #%d", i+1), nil
			}
		}
		return nil, "", tokenErr(ETokenBadSignature, "The signature does not match any configured secret.")
	}
	alg := jwa.RS256()
	if h.alg == "ES256" {
		alg = jwa.ES256()
	}
	keys, err := v.keys.candidates(ctx, h.kid, h.hasKid, alg)
	if err != nil {
		return nil, "", err
	}
	for _, k := range keys {
		if p, err := jws.VerifyCompactFast(k.key, []byte(token), alg); err == nil {
			return p, fmt.Sprintf("%s, JWKS key %s", h.alg, shortQuote(k.kid)), nil
		}
	}
	return nil, "", tokenErr(ETokenBadSignature, "The signature does not match the signing key.")
}
