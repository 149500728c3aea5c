package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// privatePG is a PostgreSQL server of the test's own, so the test can stop
// and start it without disturbing the shared one other tests use.
type privatePG struct {
	t       *testing.T
	bin     string
	dir     string
	port    int
	asOwner []string // runuser prefix when the test runs as root
	// URL connects to the server's postgres database.
	URL string
}

// startPrivatePG initdb's a throw-away cluster (trust auth, no fsync) on a
// free port and starts it. Without PostgreSQL's server binaries the test is
// skipped, unless OPTIO_REQUIRE_POSTGRES demands PostgreSQL.
func startPrivatePG(t *testing.T) *privatePG {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		if os.Getenv("OPTIO_REQUIRE_POSTGRES") != "" {
			t.Fatal("OPTIO_REQUIRE_POSTGRES is set but PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
		}
		t.Skip("PostgreSQL server binaries not installed")
	}
	p := &privatePG{t: t, bin: filepath.Dir(bins[len(bins)-1])}
	// initdb refuses to run as root: run the server as the postgres user, in
	// a directory it owns (t.TempDir's parents are private to root).
	dir, err := os.MkdirTemp("", "optio-pg-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	p.dir = dir
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		require.NoError(t, err, "running as root needs a postgres user to own the test cluster")
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		require.NoError(t, os.Chown(dir, uid, gid))
		p.asOwner = []string{"runuser", "-u", "postgres", "--"}
	}
	p.port = freePortNumber(t)
	p.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
	p.run("initdb", "-D", p.data(), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
	p.Start()
	t.Cleanup(func() { _ = p.command("pg_ctl", "-D", p.data(), "-m", "immediate", "-w", "stop").Run() })
	return p
}

func (p *privatePG) data() string { return filepath.Join(p.dir, "data") }

func (p *privatePG) command(tool string, args ...string) *exec.Cmd {
	argv := append(append(append([]string{}, p.asOwner...), filepath.Join(p.bin, tool)), args...)
	return exec.Command(argv[0], argv[1:]...)
}

func (p *privatePG) run(tool string, args ...string) {
	p.t.Helper()
	out, err := p.command(tool, args...).CombinedOutput()
	require.NoError(p.t, err, "%s: %s", tool, out)
}

// Start starts the server and waits until it accepts connections.
func (p *privatePG) Start() {
	p.t.Helper()
	p.run("pg_ctl", "-D", p.data(), "-l", filepath.Join(p.dir, "log"), "-w", "start",
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", p.port, p.dir))
}

// Stop stops the server the fast way: sessions are cut, as in a restart.
func (p *privatePG) Stop() {
	p.t.Helper()
	p.run("pg_ctl", "-D", p.data(), "-m", "fast", "-w", "stop")
}

// freePort is a TCP port nothing listens on.
func freePortNumber(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
