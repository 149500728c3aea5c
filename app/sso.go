package app

import (
	"context"
	"fmt"

	"github.com/optio-edu/optio/spark"
)

// startSSO builds the one Spark SSO verifier the web server uses, from the
// SPARK_SSO_* configuration, and registers its shutdown. Without a secret or
// JWKS URL the verifier answers sso_not_configured.
func (a *App) startSSO(ctx context.Context) (*spark.SSOVerifier, error) {
	v, err := spark.NewSSOVerifier(context.WithoutCancel(ctx), spark.SSOConfig{
		Secrets:  a.Config.SparkSSOSecrets,
		JWKSURL:  a.Config.SparkSSOJWKSURL,
		Issuer:   a.Config.SparkSSOIssuer,
		Audience: a.Config.SparkSSOAudience,
		Clock:    a.Clock,
	})
	if err != nil {
		return nil, fmt.Errorf("SPARK_SSO_SECRET / SPARK_SSO_JWKS_URL: %w", err)
	}
	a.closers = append(a.closers, v.Close)
	return v, nil
}
