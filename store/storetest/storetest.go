// Package storetest opens real, isolated stores for tests: a fresh SQLite
// file per test, and a fresh PostgreSQL schema per test when
// OPTIO_TEST_POSTGRES_URL is set. With OPTIO_REQUIRE_POSTGRES=1 (as in CI) a
// missing PostgreSQL fails the test instead of skipping it.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
)

// Dialects are the engines every store test runs on.
var Dialects = []store.Dialect{store.SQLite, store.Postgres}

// EachDialect runs fn as a parallel subtest once per engine, for tests that
// set up their own database (a URL for the whole program, several pools).
func EachDialect(t *testing.T, fn func(t *testing.T, d store.Dialect)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, d)
		})
	}
}

// Each runs fn as a parallel subtest once per engine, each with its own
// freshly migrated store.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	EachDialect(t, func(t *testing.T, d store.Dialect) { fn(t, Open(t, d, nil)) })
}

// URL returns a database URL for a fresh, empty database of dialect d that is
// dropped when the test ends. Tests that start the whole program use it.
func URL(tb testing.TB, d store.Dialect) string {
	tb.Helper()
	if d == store.SQLite {
		return filepath.Join(tb.TempDir(), "optio.db")
	}
	base := os.Getenv("OPTIO_TEST_POSTGRES_URL")
	if base == "" {
		if os.Getenv("OPTIO_REQUIRE_POSTGRES") != "" {
			tb.Fatal("OPTIO_TEST_POSTGRES_URL is not set but OPTIO_REQUIRE_POSTGRES is: the PostgreSQL suite must run")
		}
		tb.Skip("OPTIO_TEST_POSTGRES_URL not set; skipping PostgreSQL (set it, or run .ci/run)")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		tb.Fatalf("postgres at OPTIO_TEST_POSTGRES_URL is not usable: %v", err)
	}
	tb.Cleanup(func() {
		if db, err := sql.Open("pgx", base); err == nil {
			_, _ = db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
			db.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("OPTIO_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open returns a migrated store of dialect d, closed when the test ends.
func Open(tb testing.TB, d store.Dialect, clock optio.Clock) *store.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, URL(tb, d), clock)
	if err != nil {
		tb.Fatalf("open %s: %v", d, err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		tb.Fatalf("migrate %s: %v", d, err)
	}
	return db
}

// MustCreateUser creates a user with the role and a name, failing the test on
// error. Its email counts as verified, as for an account an administrator
// creates (so Spark may link it by email); a self-registered account is made
// through the API, or with EmailVerified false.
func MustCreateUser(tb testing.TB, db optio.Store, role optio.Role, given, family string) *optio.User {
	tb.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	u, err := db.CreateUser(context.Background(), optio.NewUser{
		Email: given + "." + hex.EncodeToString(b) + "@example.com", GivenName: given, FamilyName: family, Role: role,
		EmailVerified: true,
	})
	if err != nil {
		tb.Fatalf("create user: %v", err)
	}
	return u
}

// MustCreateQuest creates an active Optio quest with one task per pillar
// given, each worth xp, failing the test on error.
func MustCreateQuest(tb testing.TB, db optio.Store, title string, xp int, pillars ...optio.Pillar) *optio.Quest {
	tb.Helper()
	in := optio.QuestInput{Title: title}
	for _, p := range pillars {
		v := xp
		in.Tasks = append(in.Tasks, optio.TaskInput{Title: title + " " + string(p), Pillar: p, XPValue: &v})
	}
	q, err := db.CreateQuest(context.Background(), in)
	if err != nil {
		tb.Fatalf("create quest: %v", err)
	}
	return q
}
