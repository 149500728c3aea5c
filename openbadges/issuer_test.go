package openbadges_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/openbadges"
)

// memKeys is an in-memory KeyStore: the first generated key is kept.
type memKeys struct {
	mu            sync.Mutex
	kid, alg, key string
}

func (m *memKeys) SigningKey(_ context.Context, _ string, gen func() (string, string, string, error)) (string, string, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.key == "" {
		var err error
		if m.kid, m.alg, m.key, err = gen(); err != nil {
			return "", "", "", err
		}
	}
	return m.kid, m.alg, m.key, nil
}

func TestCredentialVerifiesOnlyWithItsIssuersKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	keys := &memKeys{}
	is, err := openbadges.LoadIssuer(ctx, keys, "https://optio.test/")
	require.NoError(t, err)
	again, err := openbadges.LoadIssuer(ctx, keys, "https://optio.test")
	require.NoError(t, err)
	award := &optio.BadgeAward{ID: "0190a0a0-0000-7000-8000-000000000001", UserID: "0190a0a0-0000-7000-8000-000000000002",
		EarnedAt: time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC),
		Badge:    optio.Badge{ID: "0190a0a0-0000-7000-8000-000000000003", Name: "STEM Scholar", RequiredCourses: []string{"spark-physics"}, XPRequired: 1500}}
	jwt, err := is.Sign(award)
	require.NoError(t, err)

	cred, err := openbadges.Verify(jwt, again.JWKS())
	require.NoError(t, err, "a second issuer on the same stored key verifies")
	require.Equal(t, "https://optio.test", cred.Issuer.ID)
	require.Equal(t, "2026-03-03T10:00:00Z", cred.ValidFrom)
	require.Equal(t, "STEM Scholar", cred.CredentialSubject.Achievement.Name)
	require.Equal(t, "STEM Scholar", cred.CredentialSubject.Achievement.Description, "the name stands in for a missing description")
	require.Contains(t, cred.CredentialSubject.Achievement.Criteria.Narrative, "earn 1500 XP")

	other, err := openbadges.LoadIssuer(ctx, &memKeys{}, "https://optio.test")
	require.NoError(t, err)
	_, err = openbadges.Verify(jwt, other.JWKS())
	require.Error(t, err, "another key does not verify it")
}
