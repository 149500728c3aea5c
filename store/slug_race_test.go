package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// signUpAll runs fn for 10 students at once and returns the slugs they got;
// every one must succeed.
func signUpAll(t *testing.T, fn func(i int) (*optio.User, error)) []string {
	t.Helper()
	const n = 10
	var wg sync.WaitGroup
	users := make([]*optio.User, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { users[i], errs[i] = fn(i) })
	}
	wg.Wait()
	slugs := map[string]bool{}
	for i := range n {
		require.NoError(t, errs[i], "student %d", i)
		slugs[users[i].PortfolioSlug] = true
	}
	require.Len(t, slugs, n, "every student has their own slug")
	want := []string{}
	got := []string{}
	for i := range n {
		s := "samlee"
		if i > 0 {
			s = fmt.Sprintf("samlee-%d", i+1)
		}
		want = append(want, s)
		if slugs[s] {
			got = append(got, s)
		}
	}
	require.Equal(t, want, got, "slugs are the name, then -2, -3…")
	return want
}

func TestConcurrentSignUpsWithOneNameGetDistinctSlugs(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		signUpAll(t, func(i int) (*optio.User, error) {
			return db.CreateUser(ctx, optio.NewUser{Email: fmt.Sprintf("sam%d@example.com", i), GivenName: "Sam", FamilyName: "Lee", Role: optio.RoleStudent})
		})

		// An email conflict is still reported as one.
		_, err := db.CreateUser(ctx, optio.NewUser{Email: "sam3@example.com", GivenName: "Sam", FamilyName: "Lee", Role: optio.RoleStudent})
		require.Equal(t, optio.ECONFLICT, optio.ErrorCode(err))
		require.Contains(t, err.Error(), "email")
	})
}

func TestConcurrentSparkSignInsWithOneNameGetDistinctSlugs(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// Known first from webhooks (no names, no slug), then all sign in at once.
		for i := range 10 {
			_, err := db.ResolveSparkUser(ctx, optio.SparkIdentity{SparkUserID: fmt.Sprintf("sam-%d", i)}, optio.LinkedViaWebhook)
			require.NoError(t, err)
		}
		signUpAll(t, func(i int) (*optio.User, error) {
			return db.ResolveSparkUser(ctx, optio.SparkIdentity{SparkUserID: fmt.Sprintf("sam-%d", i),
				Email: fmt.Sprintf("sam%d@school.test", i), GivenName: "Sam", FamilyName: "Lee", Role: optio.RoleStudent}, optio.LinkedViaSSO)
		})
	})
}
