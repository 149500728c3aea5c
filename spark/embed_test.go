package spark_test

import (
	"testing"
	"time"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
	"github.com/stretchr/testify/require"
)

// embedAt is a valid portfolio embed token payload issued at now.
func embedAt(now time.Time) map[string]any {
	return map[string]any{
		"iss":       "spark-lms",
		"sub":       "spark-teacher-1",
		"purpose":   spark.PurposePortfolioEmbed,
		"portfolio": "ada-lovelace",
		"nonce":     "embed-nonce-1",
		"iat":       now.Unix(),
		"exp":       now.Add(5 * time.Minute).Unix(),
	}
}

func TestVerifyEmbed(t *testing.T) {
	t.Parallel()
	v := newVerifier(t, spark.SSOConfig{Secrets: []string{secretA}})
	c, err := v.VerifyEmbed(t.Context(), hs256(secretA, embedAt(t0)))
	require.NoError(t, err)
	require.Equal(t, "ada-lovelace", c.Portfolio)
	require.Equal(t, "spark-teacher-1", c.Subject)
	require.Equal(t, "embed-nonce-1", c.Nonce)
	require.True(t, c.NonceExpiry().After(c.ExpiresAt))

	for _, tc := range []struct {
		name, token, code string
	}{
		{"wrong key", hs256(secretB, embedAt(t0)), spark.ETokenBadSignature},
		{"expired", hs256(secretA, with(embedAt(t0), "iat", t0.Add(-9*time.Minute).Unix(), "exp", t0.Add(-2*time.Minute).Unix())), spark.ETokenExpired},
		{"too long", hs256(secretA, with(embedAt(t0), "exp", t0.Add(20*time.Minute).Unix())), spark.ETokenLifetimeTooLong},
		{"an SSO token", hs256(secretA, claimsAt(t0)), spark.ETokenMissingClaim},
		{"another purpose", hs256(secretA, with(embedAt(t0), "purpose", "sso")), spark.ETokenInvalidClaim},
		{"no slug", hs256(secretA, with(embedAt(t0), "portfolio", nil)), spark.ETokenMissingClaim},
		{"no nonce", hs256(secretA, with(embedAt(t0), "nonce", nil)), spark.ETokenMissingClaim},
	} {
		_, err := v.VerifyEmbed(t.Context(), tc.token)
		require.Equal(t, tc.code, optio.ErrorCode(err), "%s: %v", tc.name, err)
	}
}

// An embed token is never a sign-in token.
func TestSSORefusesEmbedToken(t *testing.T) {
	t.Parallel()
	v := newVerifier(t, spark.SSOConfig{Secrets: []string{secretA}})
	_, err := v.Verify(t.Context(), hs256(secretA, with(embedAt(t0), "role", "student")))
	require.Equal(t, spark.ETokenInvalidClaim, optio.ErrorCode(err))
	require.Contains(t, optio.ErrorMessage(err), "purpose")
}
