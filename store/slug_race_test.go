package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

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

// A first sign-in does not wait for another one with the same name that is
// still open: the open one holds "samlee" uncommitted (here it is stopped
// where it records its new course, after taking its slug; a course Optio
// has not recorded keeps it out of the one-statement first login), and the second takes
// "samlee-2" and commits at once instead of queueing behind it on the slug's
// unique index. PostgreSQL only: SQLite has one writer, so there a second
// sign-in always waits for the first.
func TestSparkSignInDoesNotWaitForAnOpenSignInWithTheSameName(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, store.Postgres, nil)
	ctx := context.Background()
	for _, id := range []string{"sam-a", "sam-b"} {
		_, err := db.ResolveSparkUser(ctx, optio.SparkIdentity{SparkUserID: id}, optio.LinkedViaWebhook)
		require.NoError(t, err)
	}

	hold, err := db.W.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer hold.Rollback() //nolint:errcheck // released below
	_, err = hold.ExecContext(ctx, `LOCK TABLE spark_course_mappings IN SHARE MODE`)
	require.NoError(t, err)
	type result struct {
		res *optio.SSOResult
		err error
	}
	first := make(chan result, 1)
	go func() {
		res, err := db.SparkSSOLogin(ctx, optio.SSOLogin{Identity: optio.SparkIdentity{SparkUserID: "sam-a", Email: "sam-a@school.test",
			GivenName: "Sam", FamilyName: "Lee", Role: optio.RoleStudent}, Nonce: "n-a", NonceExpiry: time.Now().Add(time.Hour),
			SparkCourseIDs: []string{"course-1"}, SessionTokenHash: "hash-a", SessionTTL: time.Hour})
		first <- result{res, err}
	}()
	require.Eventually(t, func() bool {
		var waiting bool
		require.NoError(t, db.R.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks
			WHERE NOT granted AND relation = 'spark_course_mappings'::regclass)`).Scan(&waiting))
		return waiting
	}, 30*time.Second, 10*time.Millisecond, "the first sign-in reaches its new course")

	ctx2, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	second, err := db.ResolveSparkUser(ctx2, optio.SparkIdentity{SparkUserID: "sam-b", Email: "sam-b@school.test",
		GivenName: "Sam", FamilyName: "Lee", Role: optio.RoleStudent}, optio.LinkedViaSSO)
	require.NoError(t, err, "the second sign-in completes while the first is open")
	require.Equal(t, "samlee-2", second.PortfolioSlug)

	require.NoError(t, hold.Rollback())
	r := <-first
	require.NoError(t, r.err)
	require.Equal(t, "samlee", r.res.User.PortfolioSlug)
}
