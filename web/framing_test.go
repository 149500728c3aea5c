package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
	"github.com/optio-edu/optio/web"
)

// TestSignedInPagesFramableBySparkWhenOptedIn: with
// OPTIO_COOKIE_SAMESITE_NONE=true the pages Spark's SSO lands on may be
// framed by SPARK_ALLOWED_ORIGINS; every other page, and every page by
// default, may be framed by Optio only.
func TestSignedInPagesFramableBySparkWhenOptedIn(t *testing.T) {
	t.Parallel()
	const spark = "https://spark.example"
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		student := storetest.MustCreateUser(t, db, optio.RoleStudent, "Ivy", "Moss")
		parent := storetest.MustCreateUser(t, db, optio.RoleParent, "Rae", "Moss")
		session := func(u *optio.User) string {
			token := "tok-" + u.ID
			sum := sha256.Sum256([]byte(token))
			_, err := db.CreateSession(context.Background(), u.ID, hex.EncodeToString(sum[:]), time.Hour)
			require.NoError(t, err)
			return token
		}
		tokens := map[*optio.User]string{student: session(student), parent: session(parent)}
		framers := func(optedIn bool, u *optio.User, path string) string {
			cfg := &optio.Config{BaseURL: "https://optio.example", CookieSameSiteNone: optedIn, SparkAllowedOrigins: []string{spark},
				SessionTTL: time.Hour, MaxUploadBytes: 1 << 20}
			srv := newServer(t, web.Deps{Config: cfg, Store: db, Logger: slog.New(slog.DiscardHandler)})
			req := httptest.NewRequest("GET", path, nil)
			req.Header.Set("Accept", "text/html")
			req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: tokens[u]})
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			csp := rec.Header().Get("Content-Security-Policy")
			_, fa, ok := strings.Cut(csp, "frame-ancestors ")
			require.True(t, ok, "%s: %s", path, csp)
			return fa
		}
		portfolio := "/portfolio/" + student.PortfolioSlug
		for _, p := range []struct {
			u    *optio.User
			path string
		}{{student, "/dashboard"}, {student, "/tutor"}, {student, "/tutor/0190a0b2-0000-7000-8000-000000000000"}, {student, "/badges"},
			{student, portfolio}, {parent, "/parent"}, {parent, portfolio}, {nil, "/spark/sso"}} {
			require.Equal(t, "'self' "+spark, framers(true, p.u, p.path), "opted in: %s", p.path)
			require.Equal(t, "'self'", framers(false, p.u, p.path), "by default: %s", p.path)
		}
		for _, path := range []string{"/quests", "/family", "/login", "/register", "/", "/api/me", portfolio + "/settings", "/tutor/x/y", "/admin"} {
			require.Equal(t, "'self'", framers(true, student, path), "never framed by Spark: %s", path)
		}
	})
}
