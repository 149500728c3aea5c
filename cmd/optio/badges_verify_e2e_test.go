package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/app"
	"github.com/optio-edu/optio/internal/apptest"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// TestBadgesVerifyCommand: `optio badges verify` is an outside verifier — it
// reads a baked PNG, dereferences the kid and the status list over HTTP from
// a real Optio whose OPTIO_BASE_URL is where it listens, and reports
// verified; after `optio badges rotate-key` the old badge still verifies;
// after an admin revokes it, it reports revoked and fails.
func TestBadgesVerifyCommand(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		base := "http://" + ln.Addr().String()
		getenv := testEnv(t, d, map[string]string{"OPTIO_BASE_URL": base})
		var out bytes.Buffer
		require.NoError(t, run(ctx, []string{"admin", "create", "--email", "head@school.test", "--password", "correct horse"}, &out, &out, getenv))
		a := apptest.Start(t, getenv, app.Options{}, ln)

		admin := newClient(t, base)
		require.Equal(t, 200, admin.do("POST", "/api/auth/login", map[string]string{"email": "head@school.test", "password": "correct horse"}, nil))
		student := newClient(t, base)
		var me optio.User
		require.Equal(t, 201, student.do("POST", "/api/auth/register", map[string]string{"email": "ana@family.test", "password": "physics2026",
			"given_name": "Ana", "family_name": "Ruiz", "role": "student"}, &me))
		sparkRows(t, a.Store, me.ID, "spark-physics", 100)
		require.Equal(t, 201, admin.do("POST", "/api/admin/badges", `{"name":"Physics Starter","required_courses":["spark-physics"]}`, nil))
		var prog struct {
			Badges []optio.BadgeProgress `json:"badges"`
		}
		require.Equal(t, 200, student.do("GET", "/api/badges", nil, &prog))
		require.Len(t, prog.Badges, 1)
		credID := prog.Badges[0].CredentialID
		require.NotEmpty(t, credID)

		resp, png := newClient(t, base).raw("GET", "/credentials/"+credID+"/badge.png", nil, "")
		require.Equal(t, 200, resp.StatusCode)
		file := filepath.Join(t.TempDir(), "badge.png")
		require.NoError(t, os.WriteFile(file, []byte(png), 0o600))

		verify := func() (string, error) {
			var out bytes.Buffer
			err := run(ctx, []string{"badges", "verify", file}, &out, &out, getenv)
			return out.String(), err
		}
		got, err := verify()
		require.NoError(t, err, got)
		require.Contains(t, got, "verified — signed by the issuer, not revoked")
		require.Contains(t, got, "Physics Starter")
		require.Contains(t, got, base+"/issuer")

		out.Reset()
		require.NoError(t, run(ctx, []string{"badges", "rotate-key"}, &out, &out, getenv))
		require.Contains(t, out.String(), "new signing key")
		got, err = verify()
		require.NoError(t, err, "a badge signed before the rotation still verifies: %s", got)

		require.Equal(t, 200, admin.do("POST", "/api/admin/badge-awards/"+credID+"/revoke", `{"reason":"Awarded in error"}`, nil))
		got, err = verify()
		require.Error(t, err)
		require.Contains(t, got, "REVOKED")

		tampered := bytes.Replace([]byte(png), []byte("openbadgecredential\x00\x00\x00\x00\x00ey"), []byte("openbadgecredential\x00\x00\x00\x00\x00eX"), 1)
		require.NoError(t, os.WriteFile(file, tampered, 0o600))
		got, err = verify()
		require.Error(t, err, "a tampered badge fails (bad CRC or bad signature): %s", got)
	})
}
