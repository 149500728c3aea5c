package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/internal/s3test"
)

var deployDoc = filepath.Join("..", "..", "docs", "deploy.md")

// deployBlocks returns docs/deploy.md's blocks marked <!-- deploy: kind -->.
func deployBlocks(t *testing.T, kind string) []docBlock {
	t.Helper()
	var out []docBlock
	for _, b := range parseDoc(t, deployDoc) {
		if v, ok := b.marker("deploy"); ok && v == kind {
			out = append(out, b)
		}
	}
	require.NotEmpty(t, out, "docs/deploy.md has no block marked deploy: %s", kind)
	return out
}

// TestDeployDoc checks the reference deployment's files: the environment
// file loads as Optio's configuration and names only variables Optio (or
// the AWS SDK) reads; the nginx site has the proxying TestTopology runs
// with and passes `nginx -t`; each systemd unit runs an optio command that
// exists, with the environment file.
func TestDeployDoc(t *testing.T) {
	t.Parallel()

	t.Run("environment file", func(t *testing.T) {
		t.Parallel()
		source, err := os.ReadFile(filepath.Join("..", "..", "config.go"))
		require.NoError(t, err)
		env := map[string]string{"OPTIO_DATA_DIR": t.TempDir()}
		for _, line := range strings.Split(deployBlocks(t, "env")[0].Body, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			require.True(t, ok, "not KEY=VALUE: %q", line)
			if !strings.HasPrefix(k, "AWS_") {
				require.Contains(t, string(source), `"`+k+`"`, "%s is not a variable Optio reads", k)
			}
			env[k] = v
		}
		cfg, err := loadConfig(func(k string) string { return env[k] })
		require.NoError(t, err)
		require.True(t, cfg.IsPostgres())
		require.True(t, strings.HasPrefix(cfg.BlobURL, "s3://"))
		require.True(t, cfg.CookieSameSiteNone)
	})

	t.Run("nginx site", func(t *testing.T) {
		t.Parallel()
		site := deployBlocks(t, "nginx")[0].Body
		for _, l := range strings.Split(nginxOptioLocation, "\n") {
			require.Contains(t, site, strings.TrimSpace(l), "the site proxies as TestTopology's nginx does")
		}
		bin := requireNginx(t)
		dir := t.TempDir()
		cert, key := selfSignedCert(t, dir)
		site = strings.NewReplacer("/etc/ssl/optio/fullchain.pem", cert, "/etc/ssl/optio/privkey.pem", key).Replace(site)
		// Loopback ports instead of 80 and 443; no IPv6 listener (the CI
		// machine may have none).
		site = regexp.MustCompile(`(?m)^\s*listen \[::\].*$`).ReplaceAllString(site, "")
		site = regexp.MustCompile(`listen 80;`).ReplaceAllString(site, fmt.Sprintf("listen 127.0.0.1:%d;", freePortNumber(t)))
		site = regexp.MustCompile(`listen 443 `).ReplaceAllString(site, fmt.Sprintf("listen 127.0.0.1:%d ", freePortNumber(t)))
		user := ""
		if os.Geteuid() == 0 {
			user = "user root;\n"
		}
		conf := user + "pid " + dir + "/nginx.pid;\nerror_log " + dir + "/error.log;\nevents {}\nhttp {\n" +
			"client_body_temp_path " + dir + "/body;\nproxy_temp_path " + dir + "/proxy;\nfastcgi_temp_path " + dir + "/fastcgi;\n" +
			"uwsgi_temp_path " + dir + "/uwsgi;\nscgi_temp_path " + dir + "/scgi;\naccess_log off;\n" + site + "}\n"
		path := filepath.Join(dir, "nginx.conf")
		require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
		out, err := exec.Command(bin, "-t", "-p", dir, "-c", path).CombinedOutput()
		require.NoError(t, err, "nginx -t: %s", out)
		require.Contains(t, string(out), "syntax is ok")
	})

	t.Run("systemd units", func(t *testing.T) {
		t.Parallel()
		units := deployBlocks(t, "unit")
		require.Len(t, units, 2)
		seen := map[string]bool{}
		for _, u := range units {
			require.Contains(t, u.Body, "EnvironmentFile=/etc/optio/optio.env", u.where())
			m := regexp.MustCompile(`(?m)^ExecStart=/usr/local/bin/optio (.*)$`).FindStringSubmatch(u.Body)
			require.NotNil(t, m, "%s: ExecStart runs optio", u.where())
			args := strings.Fields(m[1])
			seen[args[0]] = true
			// The command and its flags exist: --help parses them.
			var out bytes.Buffer
			require.NoError(t, run(context.Background(), append(args, "--help"), &out, &out, func(string) string { return "" }), "%s: %s", u.where(), out.String())
		}
		require.True(t, seen["serve"] && seen["worker"], "a unit for serve and one for worker")
	})
}

// TestDeployRestore follows docs/deploy.md's backup and restore: a running
// Optio on PostgreSQL with its files in a versioned S3 bucket; the
// documented pg_dump; then the database is lost and a file's blob deleted;
// the documented pg_restore into a new database, the listed blob brought
// back from its version, and Optio started on the restored database serves
// the student's file to the student's old session.
func TestDeployRestore(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"pg_dump", "pg_restore", "psql"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("OPTIO_REQUIRE_POSTGRES") != "" {
				t.Fatalf("%s is not installed", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
	src, dst := scratchDatabase(t), scratchDatabase(t)
	s3 := s3test.Start(t)
	bucket := s3.NewBucket(t)
	s3.EnableVersioning(t, bucket)
	env := map[string]string{"OPTIO_DATA_DIR": t.TempDir(), "OPTIO_DATABASE_URL": src, "OPTIO_ADDR": "127.0.0.1:0",
		"OPTIO_METRICS_ADDR": "off", "OPTIO_BLOB_URL": s3.URL(bucket), "OPTIO_LOG_LEVEL": "error"}
	a := startApp(t, func(k string) string { return env[k] })
	student := newClient(t, a.URL())
	require.Equal(t, 201, student.do("POST", "/api/auth/register", map[string]string{"email": "ana@family.test", "password": "restore2026",
		"given_name": "Ana", "family_name": "Reyes", "role": "student"}, nil))
	content := []byte("My lab notes, kept safe.\n")
	var file optio.File
	require.Equal(t, 201, student.do("POST", "/api/uploads", fileUpload(t, "file", "notes.txt", content), &file))

	require.NoError(t, a.Store.R.QueryRowContext(context.Background(), `SELECT blob_key FROM files WHERE id = $1`, file.ID).Scan(&file.BlobKey))
	backupDir := t.TempDir()
	shell := func(block docBlock, dbURL string) {
		t.Helper()
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", block.Body)
		cmd.Env = append(os.Environ(), "OPTIO_DATABASE_URL="+dbURL, "BACKUP_DIR="+backupDir)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s: %s", block.where(), out)
	}
	shell(deployBlocks(t, "backup")[0], src)

	// The disaster: the database is gone, and so is the file's blob.
	ctx := context.Background()
	cancelCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, a.Shutdown(cancelCtx))
	fs, err := blob.OpenBucket(ctx, s3.URL(bucket))
	require.NoError(t, err)
	defer fs.Close()
	require.NoError(t, fs.Delete(ctx, file.BlobKey))

	// The restore, into a fresh database, then the blobs it names.
	shell(deployBlocks(t, "restore")[0], dst)
	listed, err := os.ReadFile(filepath.Join(backupDir, "referenced-blobs.txt"))
	require.NoError(t, err)
	keys := strings.Fields(string(listed))
	require.Equal(t, []string{file.BlobKey}, keys)
	for _, k := range keys {
		if ok, _ := fs.Exists(ctx, k); !ok {
			require.True(t, s3.Undelete(t, bucket, k), "%s has a delete marker to remove", k)
		}
	}

	env["OPTIO_DATABASE_URL"] = dst
	b := startApp(t, func(k string) string { return env[k] })
	body := student.getFrom(b.URL(), "/api/files/"+file.ID)
	require.Equal(t, content, body, "the restored Optio serves the file to the student's session from before")
}

// scratchDatabase creates an empty database on the shared PostgreSQL
// (pg_dump and pg_restore need a whole database, not a schema) and drops
// it when the test ends.
func scratchDatabase(t *testing.T) string {
	t.Helper()
	base := os.Getenv("OPTIO_TEST_POSTGRES_URL")
	if base == "" {
		if os.Getenv("OPTIO_REQUIRE_POSTGRES") != "" {
			t.Fatal("OPTIO_TEST_POSTGRES_URL is not set but OPTIO_REQUIRE_POSTGRES is")
		}
		t.Skip("OPTIO_TEST_POSTGRES_URL not set")
	}
	admin, err := sql.Open("pgx", base)
	require.NoError(t, err)
	defer admin.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "optio_restore_" + hex.EncodeToString(b)
	_, err = admin.Exec(`CREATE DATABASE ` + name)
	require.NoError(t, err)
	t.Cleanup(func() {
		if db, err := sql.Open("pgx", base); err == nil {
			_, _ = db.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
			db.Close()
		}
	})
	u, err := url.Parse(base)
	require.NoError(t, err)
	u.Path = "/" + name
	return u.String()
}

// selfSignedCert writes a certificate and key for nginx -t.
func selfSignedCert(t *testing.T, dir string) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "optio.district.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"optio.district.example"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	return certPath, keyPath
}
