package spark

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// SignToken makes an HS256 SSO token as Spark would, for tests, the sandbox
// and `optio spark sign-token`. It sets iat to now and exp to now+ttl,
// fills a random nonce when c.Nonce is empty and iss "spark-lms" when
// c.Issuer is empty.
func SignToken(secret string, c Claims, ttl time.Duration, now time.Time) (string, error) {
	if secret == "" {
		return "", errors.New("spark: sign token: empty secret")
	}
	payload, err := tokenPayload(c, ttl, now)
	if err != nil {
		return "", err
	}
	return signPayload(payload, jwa.HS256(), []byte(secret), "")
}

// SignTokenWithKey makes an RS256 (RSA key) or ES256 (P-256 key) SSO token
// with key, a private jwk.Key; its kid goes into the header so the verifier
// can find the public half in the JWKS. Claims are filled as by SignToken.
func SignTokenWithKey(key jwk.Key, c Claims, ttl time.Duration, now time.Time) (string, error) {
	if key == nil {
		return "", errors.New("spark: sign token: nil key")
	}
	var alg jwa.SignatureAlgorithm
	switch k := key.(type) {
	case jwk.RSAPrivateKey:
		alg = jwa.RS256()
	case jwk.ECDSAPrivateKey:
		if crv, _ := k.Crv(); crv != jwa.P256() {
			return "", fmt.Errorf("spark: sign token: ES256 needs a P-256 key, not %s", crv)
		}
		alg = jwa.ES256()
	default:
		return "", fmt.Errorf("spark: sign token: need an RSA or P-256 private key, not %s", key.KeyType())
	}
	payload, err := tokenPayload(c, ttl, now)
	if err != nil {
		return "", err
	}
	kid, _ := key.KeyID()
	return signPayload(payload, alg, key, kid)
}

// GenerateSigningKey makes a private key for alg "RS256" (2048-bit RSA) or
// "ES256" (P-256) with kid set (unless empty), for the sandbox's JWKS and for tests.
func GenerateSigningKey(alg, kid string) (jwk.Key, error) {
	var raw any
	var err error
	switch alg {
	case "RS256":
		raw, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, fmt.Errorf("spark: generate key: alg %q is not RS256 or ES256", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("spark: generate key: %w", err)
	}
	key, err := jwk.Import(raw)
	if err != nil {
		return nil, fmt.Errorf("spark: generate key: %w", err)
	}
	attrs := map[string]any{jwk.AlgorithmKey: alg, jwk.KeyUsageKey: "sig"}
	if kid != "" {
		attrs[jwk.KeyIDKey] = kid
	}
	for name, v := range attrs {
		if err := key.Set(name, v); err != nil {
			return nil, fmt.Errorf("spark: generate key: set %s: %w", name, err)
		}
	}
	return key, nil
}

// PublicJWKS renders the public halves of keys as a JWKS document, what
// Spark (or the sandbox) serves at the JWKS URL.
func PublicJWKS(keys ...jwk.Key) ([]byte, error) {
	set := jwk.NewSet()
	for _, k := range keys {
		pub, err := jwk.PublicKeyOf(k)
		if err != nil {
			return nil, fmt.Errorf("spark: public key: %w", err)
		}
		if err := set.AddKey(pub); err != nil {
			return nil, fmt.Errorf("spark: public key: %w", err)
		}
	}
	return json.Marshal(set)
}

func tokenPayload(c Claims, ttl time.Duration, now time.Time) ([]byte, error) {
	if ttl <= 0 {
		return nil, errors.New("spark: sign token: ttl must be positive")
	}
	if c.Issuer == "" {
		c.Issuer = DefaultIssuer
	}
	if c.Nonce == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		c.Nonce = b64url.EncodeToString(b)
	}
	c.IssuedAt = now.UTC().Truncate(time.Second)
	c.ExpiresAt = c.IssuedAt.Add(ttl)
	return json.Marshal(c)
}

func signPayload(payload []byte, alg jwa.SignatureAlgorithm, key any, kid string) (string, error) {
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.TypeKey, "JWT"); err != nil {
		return "", fmt.Errorf("spark: sign token: %w", err)
	}
	if kid != "" {
		if err := hdr.Set(jws.KeyIDKey, kid); err != nil {
			return "", fmt.Errorf("spark: sign token: %w", err)
		}
	}
	tok, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("spark: sign token: %w", err)
	}
	return string(tok), nil
}
