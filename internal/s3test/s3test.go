// Package s3test runs an S3-protocol server (gofakes3, objects in memory) on
// a loopback port, so tests exercise Optio's real s3:// path — the AWS SDK
// behind gocloud.dev/blob's s3blob driver, request signing, path-style
// addressing, conditional writes — without a cloud account.
package s3test

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Server is one running S3-protocol server; it lives until the test ends.
type Server struct {
	// Endpoint is the server's base URL, http://127.0.0.1:<port>.
	Endpoint string
	backend  *s3mem.Backend
	faker    *gofakes3.GoFakeS3
	n        atomic.Int64
}

// Start starts a server on 127.0.0.1 and stops it when tb ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	backend := s3mem.New()
	faker := gofakes3.New(backend, gofakes3.WithIntegrityCheck(true))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("s3test: listen: %v", err)
	}
	srv := &http.Server{Handler: faker.Server()}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return &Server{Endpoint: "http://" + ln.Addr().String(), backend: backend, faker: faker}
}

// NewBucket creates a fresh, empty bucket and returns its name.
func (s *Server) NewBucket(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("optio-test-%d", s.n.Add(1))
	if err := s.backend.CreateBucket(name); err != nil {
		tb.Fatalf("s3test: create bucket %s: %v", name, err)
	}
	return name
}

// URL is the s3:// blob URL Optio opens for bucket on this server, exactly
// as an operator writes it for MinIO or another S3-compatible service:
// endpoint, region and path-style addressing in the query, and
// response_checksum_validation=when_required because gofakes3 (like some
// S3-compatible services) answers a range read with the whole object's
// checksum, which the SDK would otherwise reject. anonymous=true
// sends unsigned requests so the test process needs no AWS_* variables;
// child processes get credentials through Env instead (see Env).
func (s *Server) URL(bucket string) string {
	q := url.Values{}
	q.Set("endpoint", s.Endpoint)
	q.Set("region", "us-east-1")
	q.Set("use_path_style", "true")
	q.Set("disable_https", "true")
	q.Set("response_checksum_validation", "when_required")
	q.Set("anonymous", "true")
	return "s3://" + bucket + "?" + q.Encode()
}

// SignedURL is URL without anonymous=true: the SDK signs each request with
// the credentials in the process's AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY (Env), as in production.
func (s *Server) SignedURL(bucket string) string {
	u, _ := url.Parse(s.URL(bucket))
	q := u.Query()
	q.Del("anonymous")
	u.RawQuery = q.Encode()
	return u.String()
}

// Env is the environment a child process needs for SignedURL: fixed test
// credentials (gofakes3 does not check them) and no shared AWS config
// files, so nothing on the machine changes what the SDK does.
func Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=optio-test",
		"AWS_SECRET_ACCESS_KEY=optio-test-secret",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// Keys lists every object key in bucket (for assertions).
func (s *Server) Keys(tb testing.TB, bucket string) []string {
	tb.Helper()
	res, err := s.backend.ListBucket(bucket, nil, gofakes3.ListBucketPage{})
	if err != nil {
		tb.Fatalf("s3test: list %s: %v", bucket, err)
	}
	keys := make([]string, 0, len(res.Contents))
	for _, c := range res.Contents {
		keys = append(keys, c.Key)
	}
	return keys
}

var (
	sharedOnce sync.Once
	shared     *Server
)

// Shared is one server for the whole test binary, started on first use and
// stopped when the process exits; tests isolate themselves by bucket.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	sharedOnce.Do(func() {
		backend := s3mem.New()
		faker := gofakes3.New(backend, gofakes3.WithIntegrityCheck(true))
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic("s3test: listen: " + err.Error())
		}
		go func() { _ = http.Serve(ln, faker.Server()) }()
		shared = &Server{Endpoint: "http://" + ln.Addr().String(), backend: backend, faker: faker}
	})
	return shared
}

// Drivers are the gocloud.dev/blob drivers evidence files are tested on:
// "file" (the embedded default, file://) and "s3" (production's path).
var Drivers = []string{"file", "s3"}

// NewURL returns the blob URL of a fresh, empty bucket on driver: a
// directory under tb.TempDir() for "file", a new bucket on the Shared
// server for "s3".
func NewURL(tb testing.TB, driver string) string {
	tb.Helper()
	switch driver {
	case "file":
		return "file://" + filepath.ToSlash(filepath.Join(tb.TempDir(), "blobs")) + "?create_dir=true"
	case "s3":
		s := Shared(tb)
		return s.URL(s.NewBucket(tb))
	}
	tb.Fatalf("s3test: unknown blob driver %q", driver)
	return ""
}

// EachDriver runs fn as a parallel subtest once per blob driver, each with
// the URL of a fresh, empty bucket.
func EachDriver(t *testing.T, fn func(t *testing.T, blobURL string)) {
	t.Helper()
	for _, d := range Drivers {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, NewURL(t, d))
		})
	}
}

// EnableVersioning turns on versioning for bucket, as docs/deploy.md asks
// of a production bucket: a deleted object leaves a delete marker over its
// last version.
func (s *Server) EnableVersioning(tb testing.TB, bucket string) {
	tb.Helper()
	if err := s.backend.SetVersioningConfiguration(bucket, gofakes3.VersioningConfiguration{Status: gofakes3.VersioningEnabled}); err != nil {
		tb.Fatalf("s3test: versioning %s: %v", bucket, err)
	}
}

// Undelete brings back key's last version when a delete marker hides it,
// by copying that version over the marker — what `aws s3api copy-object
// --copy-source BUCKET/KEY?versionId=V` does (removing the marker instead
// trips a gofakes3 bug) — and reports whether it did.
func (s *Server) Undelete(tb testing.TB, bucket, key string) bool {
	tb.Helper()
	p := gofakes3.NewPrefix(&key, nil)
	res, err := s.backend.ListBucketVersions(bucket, &p, &gofakes3.ListBucketVersionsPage{})
	if err != nil {
		tb.Fatalf("s3test: list versions of %s: %v", key, err)
	}
	var hidden bool
	var last *gofakes3.Version // versions are listed newest first
	for _, v := range res.Versions {
		switch v := v.(type) {
		case *gofakes3.DeleteMarker:
			hidden = hidden || (v.Key == key && v.IsLatest)
		case *gofakes3.Version:
			if v.Key == key && last == nil {
				last = v
			}
		}
	}
	if !hidden || last == nil {
		return false
	}
	obj, err := s.backend.GetObjectVersion(bucket, key, last.VersionID, nil)
	if err != nil {
		tb.Fatalf("s3test: read version %s of %s: %v", last.VersionID, key, err)
	}
	defer obj.Contents.Close()
	if _, err := s.backend.PutObject(bucket, key, obj.Metadata, obj.Contents, obj.Size, nil); err != nil {
		tb.Fatalf("s3test: restore %s: %v", key, err)
	}
	return true
}
