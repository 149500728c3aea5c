package sandbox_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/sandbox"
	"github.com/optio-edu/optio/spark"
)

func TestSSOURLTokensVerify(t *testing.T) {
	t.Parallel()
	clock := optio.NewFakeClock(time.Date(2025, 9, 1, 9, 0, 0, 0, time.UTC))
	b := setup(t, func(c *sandbox.Config) { c.Clock = clock })
	v, err := spark.NewSSOVerifier(context.Background(), spark.SSOConfig{Secrets: []string{testSSOSecret}, Clock: clock})
	require.NoError(t, err)

	claims := func(userID, next string) *spark.Claims {
		t.Helper()
		raw, err := b.sb.SSOURL(userID, next)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(raw, b.optio.URL+"/spark/sso?"), raw)
		u, err := url.Parse(raw)
		require.NoError(t, err)
		require.Equal(t, next, u.Query().Get("return_to"))
		c, err := v.Verify(context.Background(), u.Query().Get("token"))
		require.NoError(t, err)
		return c
	}

	c := claims("spark-stu-maya", "")
	require.Equal(t, "spark-lms", c.Issuer)
	require.Equal(t, "spark-stu-maya", c.Subject)
	require.Equal(t, optio.RoleStudent, c.Role)
	require.Equal(t, "maya.chen@spark.example", c.Email)
	require.Equal(t, "Maya", c.GivenName)
	require.Equal(t, "Chen", c.FamilyName)
	require.Equal(t, []string{"spark-physics", "spark-chemistry", "spark-advanced-math"}, c.SparkCourseIDs)
	require.Equal(t, 5*time.Minute, c.ExpiresAt.Sub(c.IssuedAt))
	require.NotEmpty(t, c.Nonce)
	require.NotEqual(t, c.Nonce, claims("spark-stu-maya", "").Nonce, "a fresh nonce each time")

	p := claims("spark-par-lin", "/parent")
	require.Equal(t, optio.RoleParent, p.Role)
	require.Equal(t, []string{"spark-stu-maya"}, p.SparkStudentIDs)
	require.Equal(t, []string{"spark-physics", "spark-chemistry", "spark-advanced-math"}, p.SparkCourseIDs)

	a := claims("spark-admin", "")
	require.Equal(t, optio.RoleAdmin, a.Role)
	require.Len(t, a.SparkCourseIDs, 9)

	clock.Advance(6 * time.Minute)
	raw, err := b.sb.SSOURL("spark-stu-noah", "")
	require.NoError(t, err)
	u, _ := url.Parse(raw)
	clock.Advance(6 * time.Minute)
	_, err = v.Verify(context.Background(), u.Query().Get("token"))
	require.Error(t, err, "the token expires after five minutes")

	_, err = b.sb.SSOURL("spark-nobody", "")
	require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err))
}
