package spark

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/lestrrat-go/jwx/v3/jwa"
)

// PurposePortfolioEmbed is the purpose claim of a portfolio embed token. An
// SSO token must carry no purpose, so neither is accepted as the other.
const PurposePortfolioEmbed = "portfolio_embed"

// EmbedClaims are the verified contents of a portfolio embed token: Spark
// asks Optio to show one portfolio (by its slug) inside a Spark page, to the
// Spark user Subject, once (Nonce) and briefly (ExpiresAt, at most the
// verifier's MaxLifetime after IssuedAt).
type EmbedClaims struct {
	Issuer    string
	Subject   string // the Spark user looking, for the audit log
	Portfolio string // the portfolio slug the token opens
	Nonce     string
	IssuedAt  time.Time
	ExpiresAt time.Time
	leeway    time.Duration
}

// NonceExpiry is when the nonce may be forgotten (see Claims.NonceExpiry).
func (c *EmbedClaims) NonceExpiry() time.Time { return nonceExpiry(c.ExpiresAt, c.leeway) }

// VerifyEmbed checks a portfolio embed token with the same keys, issuer,
// audience, clock and lifetime rules as an SSO token (Verify), and requires
// "purpose": "portfolio_embed" and a "portfolio" slug claim. Nonce replay is
// the caller's job, as for Verify.
func (v *SSOVerifier) VerifyEmbed(ctx context.Context, token string) (*EmbedClaims, error) {
	c, cs, err := v.verify(ctx, token, nil, true)
	if err != nil {
		return nil, err
	}
	slug, ok, err := cs.str("portfolio")
	switch {
	case err != nil:
		return nil, err
	case !ok || slug == "":
		return nil, missingClaim("portfolio")
	case utf8.RuneCountInString(slug) > 80 || hasControl(slug):
		return nil, invalidClaim("portfolio", "is over-long or unprintable")
	}
	return &EmbedClaims{Issuer: c.Issuer, Subject: c.Subject, Portfolio: slug, Nonce: c.Nonce,
		IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt, leeway: c.leeway}, nil
}

// checkPurpose requires the purpose claim to be want ("" : absent).
func checkPurpose(cs claimSet, want string) (string, error) {
	p, ok, err := cs.str("purpose")
	if err != nil {
		return "", err
	}
	switch {
	case want == "" && ok && p != "":
		return "", invalidClaim("purpose", "is set: this is not a sign-in token")
	case want != "" && (!ok || p == ""):
		return "", missingClaim("purpose")
	case want != "" && p != want:
		return "", invalidClaim("purpose", "must be "+want)
	}
	if want == "" {
		return "no purpose: a sign-in token", nil
	}
	return "purpose is " + want, nil
}

// SignEmbedToken makes an HS256 portfolio embed token as Spark would, for
// tests, the sandbox and the docs: iss "spark-lms", sub the Spark user
// looking, purpose portfolio_embed, portfolio the slug, a random nonce, iat
// now and exp now+ttl.
func SignEmbedToken(secret, sub, slug string, ttl time.Duration, now time.Time) (string, error) {
	if secret == "" {
		return "", errors.New("spark: sign embed token: empty secret")
	}
	if ttl <= 0 {
		return "", errors.New("spark: sign embed token: ttl must be positive")
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	now = now.UTC().Truncate(time.Second)
	payload, err := json.Marshal(map[string]any{
		"iss": DefaultIssuer, "sub": sub, "purpose": PurposePortfolioEmbed, "portfolio": slug,
		"nonce": b64url.EncodeToString(b), "iat": now.Unix(), "exp": now.Add(ttl).Unix(),
	})
	if err != nil {
		return "", err
	}
	return signPayload(payload, jwa.HS256(), []byte(secret), "")
}
