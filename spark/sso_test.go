package spark_test

import (
	"context"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"hash"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	secretA = "spark-sso-secret-A-0123456789abcdef"
	secretB = "spark-sso-secret-B-0123456789abcdef"
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// claimsAt is a valid payload issued at now.
func claimsAt(now time.Time) map[string]any {
	return map[string]any{
		"iss":              "spark-lms",
		"sub":              "spark-user-1",
		"role":             "student",
		"nonce":            "nonce-1",
		"email":            "ada@example.com",
		"given_name":       "Ada",
		"family_name":      "Lovelace",
		"spark_course_ids": []string{"c1", "c2"},
		"iat":              now.Unix(),
		"exp":              now.Add(5 * time.Minute).Unix(),
	}
}

// hmacToken builds a token by hand, independent of the library, so tests
// can put anything in the header and payload.
func hmacToken(h func() hash.Hash, secret string, header, claims map[string]any) string {
	hb, _ := json.Marshal(header)
	pb, _ := json.Marshal(claims)
	signing := b64(hb) + "." + b64(pb)
	m := hmac.New(h, []byte(secret))
	m.Write([]byte(signing))
	return signing + "." + b64(m.Sum(nil))
}

func hs256(secret string, claims map[string]any) string {
	return hmacToken(sha256.New, secret, map[string]any{"alg": "HS256", "typ": "JWT"}, claims)
}

func with(c map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(out, k)
			continue
		}
		out[k] = kv[i+1]
	}
	return out
}

func newVerifier(t *testing.T, cfg spark.SSOConfig) *spark.SSOVerifier {
	t.Helper()
	if cfg.Clock == nil {
		cfg.Clock = optio.NewFakeClock(t0)
	}
	v, err := spark.NewSSOVerifier(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	return v
}

func requireCode(t *testing.T, err error, code string) {
	t.Helper()
	require.Error(t, err)
	var oe *optio.Error
	require.ErrorAs(t, err, &oe, "want *optio.Error, got %T %v", err, err)
	require.Equal(t, code, oe.Code, "message: %s", oe.Message)
}

func TestVerifyAcceptsValidToken(t *testing.T) {
	t.Parallel()
	v := newVerifier(t, spark.SSOConfig{Secrets: []string{secretA}})
	c, err := v.Verify(t.Context(), hs256(secretA, with(claimsAt(t0), "aud", "optio", "spark_student_ids", []string{"s9"})))
	require.NoError(t, err)
	require.Equal(t, "spark-user-1", c.Subject)
	require.Equal(t, optio.RoleStudent, c.Role)
	require.Equal(t, []string{"optio"}, c.Audience)
	require.Equal(t, []string{"c1", "c2"}, c.SparkCourseIDs)
	require.Equal(t, []string{"s9"}, c.SparkStudentIDs)
	require.Equal(t, "Ada", c.GivenName)
	require.Equal(t, "HS256", c.Method)
	require.Equal(t, t0, c.IssuedAt)
	require.Equal(t, t0.Add(5*time.Minute), c.ExpiresAt)
	require.Equal(t, t0.Add(6*time.Minute), c.NonceExpiry())
}

func TestVerifyErrorCodes(t *testing.T) {
	t.Parallel()
	base := claimsAt(t0)
	huge := strings.Repeat("a", spark.MaxTokenBytes)
	cases := []struct {
		name     string
		cfg      spark.SSOConfig
		token    string
		code     string
		contains string
	}{
		{"empty", spark.SSOConfig{}, "", spark.ESSONotConfigured, ""},
		{"not configured", spark.SSOConfig{}, hs256(secretA, base), spark.ESSONotConfigured, ""},
		{"blank token", spark.SSOConfig{Secrets: []string{secretA}}, "  ", spark.ETokenMissing, ""},
		{"one part", spark.SSOConfig{Secrets: []string{secretA}}, "abc", spark.ETokenMalformed, "three"},
		{"four parts", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, base) + ".", spark.ETokenMalformed, "three"},
		{"extra dots", spark.SSOConfig{Secrets: []string{secretA}}, strings.Replace(hs256(secretA, base), ".", "..", 1), spark.ETokenMalformed, ""},
		{"padding", spark.SSOConfig{Secrets: []string{secretA}}, strings.Replace(hs256(secretA, base), ".", "==.", 1), spark.ETokenMalformed, "base64url"},
		{"std base64", spark.SSOConfig{Secrets: []string{secretA}}, "eyJ+/.eyJ.abc", spark.ETokenMalformed, ""},
		{"huge", spark.SSOConfig{Secrets: []string{secretA}}, huge + "." + huge + ".x", spark.ETokenMalformed, "longer"},
		{"header not json", spark.SSOConfig{Secrets: []string{secretA}}, b64([]byte("nope")) + "." + b64([]byte("{}")) + ".", spark.ETokenMalformed, "header"},
		{"duplicate claim", spark.SSOConfig{Secrets: []string{secretA}}, dupClaimToken(), spark.ETokenMalformed, "duplicate"},
		{"crit", spark.SSOConfig{Secrets: []string{secretA}}, hmacToken(sha256.New, secretA, map[string]any{"alg": "HS256", "crit": []string{"exp"}}, base), spark.ETokenMalformed, "crit"},
		{"b64 false", spark.SSOConfig{Secrets: []string{secretA}}, hmacToken(sha256.New, secretA, map[string]any{"alg": "HS256", "b64": false}, base), spark.ETokenMalformed, "b64"},
		{"wrong secret", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretB, base), spark.ETokenBadSignature, ""},
		{"alg none", spark.SSOConfig{Secrets: []string{secretA}}, noneToken("none", base), spark.ETokenAlgorithmRefused, "none"},
		{"alg None", spark.SSOConfig{Secrets: []string{secretA}}, noneToken("None", base), spark.ETokenAlgorithmRefused, ""},
		{"no alg", spark.SSOConfig{Secrets: []string{secretA}}, hmacToken(sha256.New, secretA, map[string]any{"typ": "JWT"}, base), spark.ETokenAlgorithmRefused, "no alg"},
		{"HS384", spark.SSOConfig{Secrets: []string{secretA}}, hmacToken(sha512.New384, secretA, map[string]any{"alg": "HS384"}, base), spark.ETokenAlgorithmRefused, "HS384"},
		{"HS512", spark.SSOConfig{Secrets: []string{secretA}}, hmacToken(sha512.New, secretA, map[string]any{"alg": "HS512"}, base), spark.ETokenAlgorithmRefused, "HS512"},
		{"PS256", spark.SSOConfig{Secrets: []string{secretA}}, hmacToken(sha256.New, secretA, map[string]any{"alg": "PS256"}, base), spark.ETokenAlgorithmRefused, ""},
		{"RS256 without JWKS", spark.SSOConfig{Secrets: []string{secretA}}, hmacToken(sha256.New, secretA, map[string]any{"alg": "RS256"}, base), spark.ETokenAlgorithmRefused, "JWKS"},
		{"expired", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, with(base, "iat", t0.Add(-5*time.Minute).Unix(), "exp", t0.Add(-61*time.Second).Unix())), spark.ETokenExpired, ""},
		{"expired at leeway edge", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, with(base, "iat", t0.Add(-5*time.Minute).Unix(), "exp", t0.Add(-60*time.Second).Unix())), spark.ETokenExpired, ""},
		{"iat in future", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, with(base, "iat", t0.Add(2*time.Minute).Unix(), "exp", t0.Add(5*time.Minute).Unix())), spark.ETokenNotYetValid, "future"},
		{"nbf in future", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, with(base, "nbf", t0.Add(2*time.Minute).Unix())), spark.ETokenNotYetValid, "before"},
		{"no sub", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, with(base, "sub", nil)), spark.ETokenMissingClaim, "sub"},
		{"empty sub", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, with(base, "sub", "")), spark.ETokenMissingClaim, "sub"},
		{"no exp", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, with(base, "exp", nil)), spark.ETokenMissingClaim, "exp"},
		{"no iat", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, with(base, "iat", nil)), spark.ETokenMissingClaim, "iat"},
		{"no nonce", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, with(base, "nonce", nil)), spark.ETokenMissingClaim, "nonce"},
		{"no iss", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, with(base, "iss", nil)), spark.ETokenMissingClaim, "iss"},
		{"no role", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, with(base, "role", nil)), spark.ETokenMissingClaim, "role"},
		{"no aud when required", spark.SSOConfig{Secrets: []string{secretA}, Audience: "optio"}, hs256(secretA, base), spark.ETokenMissingClaim, "aud"},
		{"lifetime", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, with(base, "exp", t0.Add(10*time.Minute+time.Second).Unix())), spark.ETokenLifetimeTooLong, ""},
		{"custom lifetime", spark.SSOConfig{Secrets: []string{secretA}, MaxLifetime: 2 * time.Minute}, hs256(secretA, base), spark.ETokenLifetimeTooLong, ""},
		{"wrong issuer", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, with(base, "iss", "evil-lms")), spark.ETokenWrongIssuer, "evil-lms"},
		{"custom issuer", spark.SSOConfig{Secrets: []string{secretA}, Issuer: "spark-prod"}, hs256(secretA, base), spark.ETokenWrongIssuer, ""},
		{"wrong audience", spark.SSOConfig{Secrets: []string{secretA}, Audience: "optio"}, hs256(secretA, with(base, "aud", []string{"other", "x"})), spark.ETokenWrongAudience, ""},
		{"aud not string", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, with(base, "aud", 5)), spark.ETokenInvalidClaim, "aud"},
		{"bad role", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, with(base, "role", "teacher")), spark.ETokenInvalidClaim, "role"},
		{"observer role", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, with(base, "role", "observer")), spark.ETokenInvalidClaim, "role"},
		{"course ids not array", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, with(base, "spark_course_ids", "c1")), spark.ETokenInvalidClaim, "spark_course_ids"},
		{"course ids numbers", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, with(base, "spark_course_ids", []int{1})), spark.ETokenInvalidClaim, "spark_course_ids"},
		{"student ids not array", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, with(base, "spark_student_ids", map[string]any{})), spark.ETokenInvalidClaim, "spark_student_ids"},
		{"exp not number", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, with(base, "exp", "soon")), spark.ETokenInvalidClaim, "exp"},
		{"exp before iat", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, with(base, "iat", t0.Unix(), "exp", t0.Add(-time.Second).Unix())), spark.ETokenInvalidClaim, "exp"},
		{"exp equals iat", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, with(base, "iat", t0.Add(-10*time.Second).Unix(), "exp", t0.Add(-10*time.Second).Unix())), spark.ETokenInvalidClaim, "exp"},
		{"sub not string", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, with(base, "sub", 42)), spark.ETokenInvalidClaim, "sub"},
		{"bad email", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, with(base, "email", "not-an-email")), spark.ETokenInvalidClaim, "email"},
		{"control chars in name", spark.SSOConfig{Secrets: []string{secretA}}, hs256(secretA, with(base, "given_name", "A\x00da")), spark.ETokenInvalidClaim, "given_name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := newVerifier(t, tc.cfg)
			c, err := v.Verify(t.Context(), tc.token)
			require.Nil(t, c)
			requireCode(t, err, tc.code)
			if tc.contains != "" {
				require.Contains(t, err.Error(), tc.contains)
			}
			if len(tc.token) > 10 {
				for _, part := range strings.Split(tc.token, ".") {
					if len(part) > 10 {
						require.NotContains(t, err.Error(), part, "error message leaks the token")
					}
				}
			}
		})
	}
}

func TestVerifyLeeway(t *testing.T) {
	t.Parallel()
	v := newVerifier(t, spark.SSOConfig{Secrets: []string{secretA}})
	base := claimsAt(t0)
	for name, c := range map[string]map[string]any{
		"exp 59s ago":      with(base, "iat", t0.Add(-5*time.Minute).Unix(), "exp", t0.Add(-59*time.Second).Unix()),
		"iat 60s ahead":    with(base, "iat", t0.Add(60*time.Second).Unix(), "exp", t0.Add(5*time.Minute).Unix()),
		"nbf 30s ahead":    with(base, "nbf", t0.Add(30*time.Second).Unix()),
		"fractional dates": with(base, "iat", float64(t0.Unix())+0.5, "exp", float64(t0.Unix())+300.25),
		"lifetime exactly": with(base, "exp", t0.Add(10*time.Minute).Unix()),
	} {
		_, err := v.Verify(t.Context(), hs256(secretA, c))
		require.NoError(t, err, name)
	}
}

func TestNewSSOVerifierRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]spark.SSOConfig{
		"empty secret": {Secrets: []string{secretA, ""}},
		"leeway > 60s": {Secrets: []string{secretA}, Leeway: 61 * time.Second},
		"leeway < 0":   {Secrets: []string{secretA}, Leeway: -time.Second},
		"jwks ftp":     {JWKSURL: "ftp://spark.example/jwks"},
		"jwks no host": {JWKSURL: "https:///jwks"},
	} {
		_, err := spark.NewSSOVerifier(t.Context(), cfg)
		require.Error(t, err, name)
	}
	v := newVerifier(t, spark.SSOConfig{})
	require.False(t, v.Configured())
}

func TestVerifySecretRotation(t *testing.T) {
	t.Parallel()
	v := newVerifier(t, spark.SSOConfig{Secrets: []string{secretA, secretB}})
	for i, s := range []string{secretA, secretB} {
		tok, err := spark.SignToken(s, spark.Claims{Subject: "u1", Role: optio.RoleParent, SparkStudentIDs: []string{"kid-1"}}, 5*time.Minute, t0)
		require.NoError(t, err)
		c, err := v.Verify(t.Context(), tok)
		require.NoError(t, err)
		require.Equal(t, optio.RoleParent, c.Role)
		require.Equal(t, []string{"kid-1"}, c.SparkStudentIDs)
		require.Equal(t, "spark-lms", c.Issuer)
		require.NotEmpty(t, c.Nonce, "SignToken fills a nonce")
		checks := v.Explain(t.Context(), tok)
		require.Contains(t, checks[2].Detail, []string{"secret #1", "secret #2"}[i])
	}
	_, err := v.Verify(t.Context(), hs256("retired-secret-0123456789abcdef", claimsAt(t0)))
	requireCode(t, err, spark.ETokenBadSignature)
}

func TestVerifyHonoursClock(t *testing.T) {
	t.Parallel()
	clock := optio.NewFakeClock(t0)
	v := newVerifier(t, spark.SSOConfig{Secrets: []string{secretA}, Clock: clock})
	tok := hs256(secretA, claimsAt(t0))
	_, err := v.Verify(t.Context(), tok)
	require.NoError(t, err)
	clock.Advance(5*time.Minute + 59*time.Second)
	_, err = v.Verify(t.Context(), tok)
	require.NoError(t, err)
	clock.Advance(time.Second)
	_, err = v.Verify(t.Context(), tok)
	requireCode(t, err, spark.ETokenExpired)
}

func TestExplain(t *testing.T) {
	t.Parallel()
	v := newVerifier(t, spark.SSOConfig{Secrets: []string{secretA}})
	names := []string{
		spark.CheckStructure, spark.CheckAlgorithm, spark.CheckSignature, spark.CheckIssuer, spark.CheckAudience,
		spark.CheckExpiry, spark.CheckIssuedAt, spark.CheckNotBefore, spark.CheckLifetime,
		spark.CheckRequiredClaims, spark.CheckPurpose, spark.CheckRole, spark.CheckProfileClaims,
	}

	checks := v.Explain(t.Context(), hs256(secretA, claimsAt(t0)))
	require.Len(t, checks, len(names))
	for i, c := range checks {
		require.Equal(t, names[i], c.Name)
		require.True(t, c.OK, "%s: %s", c.Name, c.Detail)
	}

	expired := hs256(secretA, with(claimsAt(t0), "iat", t0.Add(-9*time.Minute).Unix(), "exp", t0.Add(-4*time.Minute).Unix()))
	checks = v.Explain(t.Context(), expired)
	require.Len(t, checks, len(names))
	for i, c := range checks {
		require.Equal(t, names[i], c.Name)
		require.Equal(t, i < 5, c.OK, "%s: %s", c.Name, c.Detail)
	}
	require.Contains(t, checks[5].Detail, spark.ETokenExpired)
	require.Contains(t, checks[6].Detail, "not run")

	checks = newVerifier(t, spark.SSOConfig{}).Explain(t.Context(), expired)
	require.Len(t, checks, 1)
	require.False(t, checks[0].OK)
}

func TestSignTokenRejectsBadInput(t *testing.T) {
	t.Parallel()
	_, err := spark.SignToken("", spark.Claims{Subject: "u"}, time.Minute, t0)
	require.Error(t, err)
	_, err = spark.SignToken(secretA, spark.Claims{Subject: "u"}, 0, t0)
	require.Error(t, err)
	sym, err := jwk.Import([]byte(secretA))
	require.NoError(t, err)
	_, err = spark.SignTokenWithKey(sym, spark.Claims{Subject: "u"}, time.Minute, t0)
	require.Error(t, err)
	_, err = spark.GenerateSigningKey("HS256", "k")
	require.Error(t, err)
}

func dupClaimToken() string {
	h := b64([]byte(`{"alg":"HS256"}`))
	p := b64([]byte(`{"sub":"a","sub":"b"}`))
	m := hmac.New(sha256.New, []byte(secretA))
	m.Write([]byte(h + "." + p))
	return h + "." + p + "." + b64(m.Sum(nil))
}

func noneToken(alg string, claims map[string]any) string {
	hb, _ := json.Marshal(map[string]any{"alg": alg, "typ": "JWT"})
	pb, _ := json.Marshal(claims)
	return b64(hb) + "." + b64(pb) + "."
}

// jwksServer serves a JWKS that tests can change, counting fetches.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []jwk.Key
	fetches atomic.Int32
}

func newJWKSServer(t *testing.T, keys ...jwk.Key) *jwksServer {
	t.Helper()
	s := &jwksServer{keys: keys}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		body, err := spark.PublicJWKS(s.keys...)
		s.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) setKeys(keys ...jwk.Key) {
	s.mu.Lock()
	s.keys = keys
	s.mu.Unlock()
}

func mustKey(t *testing.T, alg, kid string) jwk.Key {
	t.Helper()
	k, err := spark.GenerateSigningKey(alg, kid)
	require.NoError(t, err)
	return k
}

func signWithKey(t *testing.T, k jwk.Key, c spark.Claims) string {
	t.Helper()
	tok, err := spark.SignTokenWithKey(k, c, 5*time.Minute, t0)
	require.NoError(t, err)
	return tok
}

var student = spark.Claims{Subject: "spark-user-1", Role: optio.RoleStudent, SparkCourseIDs: []string{"c1"}}

func TestVerifyJWKS(t *testing.T) {
	t.Parallel()
	rsaKey, ecKey := mustKey(t, "RS256", "rsa-1"), mustKey(t, "ES256", "ec-1")
	srv := newJWKSServer(t, rsaKey, ecKey)
	v := newVerifier(t, spark.SSOConfig{JWKSURL: srv.URL, HTTPClient: srv.Client()})

	for _, k := range []jwk.Key{rsaKey, ecKey} {
		c, err := v.Verify(t.Context(), signWithKey(t, k, student))
		require.NoError(t, err)
		require.Equal(t, "spark-user-1", c.Subject)
	}
	c, err := v.Verify(t.Context(), signWithKey(t, ecKey, student))
	require.NoError(t, err)
	require.Equal(t, "ES256", c.Method)

	// An unknown signer with a known kid fails on the signature.
	other := mustKey(t, "RS256", "rsa-1")
	_, err = v.Verify(t.Context(), signWithKey(t, other, student))
	requireCode(t, err, spark.ETokenBadSignature)

	// HS256 is refused outright when only a JWKS is configured.
	_, err = v.Verify(t.Context(), hs256(secretA, claimsAt(t0)))
	requireCode(t, err, spark.ETokenAlgorithmRefused)
}

func TestVerifyJWKSWithoutKid(t *testing.T) {
	t.Parallel()
	rsaKey := mustKey(t, "RS256", "")
	srv := newJWKSServer(t, mustKey(t, "ES256", "ec-1"), rsaKey)
	v := newVerifier(t, spark.SSOConfig{JWKSURL: srv.URL, HTTPClient: srv.Client()})
	_, err := v.Verify(t.Context(), signWithKey(t, rsaKey, student))
	require.NoError(t, err)
}

func TestVerifyJWKSRefetchesUnknownKidRateLimited(t *testing.T) {
	t.Parallel()
	k1, k2, k3 := mustKey(t, "RS256", "k1"), mustKey(t, "ES256", "k2"), mustKey(t, "RS256", "k3")
	srv := newJWKSServer(t, k1)
	clock := optio.NewFakeClock(t0)
	v := newVerifier(t, spark.SSOConfig{JWKSURL: srv.URL, HTTPClient: srv.Client(), Clock: clock})

	_, err := v.Verify(t.Context(), signWithKey(t, k1, student))
	require.NoError(t, err)
	before := srv.fetches.Load()

	// Spark rotates in k2: the unknown kid triggers a refetch.
	srv.setKeys(k1, k2)
	_, err = v.Verify(t.Context(), signWithKey(t, k2, student))
	require.NoError(t, err)
	require.Equal(t, before+1, srv.fetches.Load())

	// A forged kid right after does not fetch again.
	_, err = v.Verify(t.Context(), signWithKey(t, k3, student))
	requireCode(t, err, spark.ETokenBadSignature)
	require.Equal(t, before+1, srv.fetches.Load())

	// After the refetch interval it may fetch once more.
	clock.Advance(spark.DefaultJWKSRefetch)
	srv.setKeys(k1, k2, k3)
	_, err = v.Verify(t.Context(), signWithKey(t, k3, student))
	require.NoError(t, err)
	require.Equal(t, before+2, srv.fetches.Load())
}

func TestVerifyJWKSUnavailable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	v := newVerifier(t, spark.SSOConfig{JWKSURL: srv.URL, HTTPClient: srv.Client()})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := v.Verify(ctx, signWithKey(t, mustKey(t, "RS256", "k"), student))
	requireCode(t, err, optio.EUNAVAILABLE)
}

func rsaPublicPEM(t *testing.T, k jwk.Key) string {
	t.Helper()
	var priv rsa.PrivateKey
	require.NoError(t, jwk.Export(k, &priv))
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func TestVerifyRefusesKeyConfusion(t *testing.T) {
	t.Parallel()
	rsaKey, ecKey := mustKey(t, "RS256", "rsa-1"), mustKey(t, "ES256", "ec-1")
	srv := newJWKSServer(t, rsaKey, ecKey)
	pemKey := rsaPublicPEM(t, rsaKey)
	var jwkJSON []byte
	pub, err := jwk.PublicKeyOf(rsaKey)
	require.NoError(t, err)
	jwkJSON, err = json.Marshal(pub)
	require.NoError(t, err)

	jwksOnly := newVerifier(t, spark.SSOConfig{JWKSURL: srv.URL, HTTPClient: srv.Client()})
	both := newVerifier(t, spark.SSOConfig{Secrets: []string{secretA}, JWKSURL: srv.URL, HTTPClient: srv.Client()})
	// Warm the caches so the kid lookups below see the key set.
	for _, v := range []*spark.SSOVerifier{jwksOnly, both} {
		_, err := v.Verify(t.Context(), signWithKey(t, rsaKey, student))
		require.NoError(t, err)
	}

	claims := claimsAt(t0)
	for _, secret := range []string{pemKey, string(jwkJSON)} {
		withKid := hmacToken(sha256.New, secret, map[string]any{"alg": "HS256", "kid": "rsa-1"}, claims)
		noKid := hmacToken(sha256.New, secret, map[string]any{"alg": "HS256"}, claims)

		_, err := jwksOnly.Verify(t.Context(), withKid)
		requireCode(t, err, spark.ETokenAlgorithmRefused)
		_, err = jwksOnly.Verify(t.Context(), noKid)
		requireCode(t, err, spark.ETokenAlgorithmRefused)
		_, err = both.Verify(t.Context(), withKid)
		requireCode(t, err, spark.ETokenAlgorithmRefused)
		_, err = both.Verify(t.Context(), noKid)
		requireCode(t, err, spark.ETokenBadSignature)
	}

	// RS256 naming the EC key, ES256 naming the RSA key: refused, not tried.
	rsTok := signWithKey(t, rsaKey, student)
	_, rest, _ := strings.Cut(rsTok, ".")
	ecHeader := b64([]byte(`{"alg":"RS256","kid":"ec-1"}`))
	_, err = both.Verify(t.Context(), ecHeader+"."+rest)
	requireCode(t, err, spark.ETokenAlgorithmRefused)
	esTok := signWithKey(t, ecKey, student)
	_, rest, _ = strings.Cut(esTok, ".")
	_, err = both.Verify(t.Context(), b64([]byte(`{"alg":"ES256","kid":"rsa-1"}`))+"."+rest)
	requireCode(t, err, spark.ETokenAlgorithmRefused)
}

func TestVerifyKidInjection(t *testing.T) {
	t.Parallel()
	rsaKey := mustKey(t, "RS256", "rsa-1")
	srv := newJWKSServer(t, rsaKey)
	v := newVerifier(t, spark.SSOConfig{Secrets: []string{secretA}, JWKSURL: srv.URL, HTTPClient: srv.Client()})
	claims := claimsAt(t0)
	for _, kid := range []string{"../../../../dev/null", "' OR '1'='1", "rsa-1\x00", strings.Repeat("k", 2000), "http://evil.example/jwks"} {
		// RS256 with a strange kid: unknown key, never a crash or a fetch elsewhere.
		rs := b64([]byte(`{"alg":"RS256","kid":`+mustJSON(kid)+`}`)) + "." + b64(mustJSONBytes(claims)) + "." + b64([]byte("sig"))
		_, err := v.Verify(t.Context(), rs)
		requireCode(t, err, spark.ETokenBadSignature)
		require.NotContains(t, err.Error(), strings.Repeat("k", 100))

		// HS256 with a strange kid and the right secret: the kid names no JWKS key, so it is ignored.
		hs := hmacToken(sha256.New, secretA, map[string]any{"alg": "HS256", "kid": kid}, claims)
		_, err = v.Verify(t.Context(), hs)
		require.NoError(t, err)
	}
	// A jku or jwk header never brings its own key.
	evil := mustKey(t, "RS256", "rsa-1")
	evilPub, err := jwk.PublicKeyOf(evil)
	require.NoError(t, err)
	tok := signWithKey(t, evil, student)
	_, rest, _ := strings.Cut(tok, ".")
	h := map[string]any{"alg": "RS256", "kid": "rsa-1", "jku": "http://evil.example/jwks", "jwk": evilPub}
	_, err = v.Verify(t.Context(), b64(mustJSONBytes(h))+"."+rest)
	requireCode(t, err, spark.ETokenBadSignature)
}

func mustJSON(v any) string { return string(mustJSONBytes(v)) }

func mustJSONBytes(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
