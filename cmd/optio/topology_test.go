package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/internal/s3test"
	"github.com/optio-edu/optio/sandbox"
	"github.com/optio-edu/optio/store"
)

// TestTopology runs the production topology of docs/deploy.md on one
// machine: three `optio serve` (no workers) behind nginx balancing round
// robin, two `optio worker`, a private PostgreSQL, evidence files in an S3
// server (gofakes3 in this process, reached through the s3:// driver with
// signed requests). The sandbox plays Spark with a class of
// OPTIO_TOPOLOGY_STUDENTS students (default 1,000, enrolled by about 2,500
// roster webhooks) who send OPTIO_TOPOLOGY_SUBMISSIONS submissions (default
// 2,000), each with a file of its own. The defaults fit CI's time budget;
// the whole class (2,000 students, 10,000 submissions) is the same
// test with both variables set (docs/deploy.md has the timings). A third of
// the way in one serve and one worker are killed with SIGKILL (and started
// again); half way PostgreSQL is restarted.
//
// Afterwards: every submission Spark saw accepted was synced exactly once
// (one sync row per delivery, one completion and XP award per student and
// assignment), every file's blob is in the bucket and reads the same
// through each serve, an SSO token is accepted by one instance only
// whichever instances it is replayed to, no answer was a 5xx except 503
// with Retry-After while PostgreSQL was down, and no sync job is left.
func TestTopology(t *testing.T) {
	t.Parallel()
	n := envInt("OPTIO_TOPOLOGY_SUBMISSIONS", 2000)
	students := envInt("OPTIO_TOPOLOGY_STUDENTS", 1000)
	nginxBin := requireNginx(t)
	started := time.Now()

	pg := startPrivatePG(t)
	s3 := s3test.Start(t)
	bucket := s3.NewBucket(t)
	env := map[string]string{
		"OPTIO_METRICS_ADDR": "off", "OPTIO_BASE_URL": "http://optio.test", "OPTIO_DATABASE_URL": pg.URL,
		"OPTIO_BLOB_URL":   s3.SignedURL(bucket),
		"SPARK_SSO_SECRET": randomSecret(), "SPARK_WEBHOOK_SECRET": randomSecret(), "SPARK_API_KEY": "topology-key",
		"SPARK_WEBHOOK_RATE": "100000", "SPARK_WEBHOOK_BURST": "100000", "SPARK_FILE_ALLOW_PRIVATE": "true",
		"OPTIO_TRUSTED_PROXIES": "127.0.0.1", "OPTIO_JOB_RESCUE_AFTER": "2s", "OPTIO_LOG_LEVEL": "error",
	}
	for _, kv := range s3test.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	with := func(extra ...string) map[string]string {
		m := make(map[string]string, len(env)+len(extra)/2)
		for k, v := range env {
			m[k] = v
		}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}

	// Three web instances, started at once: they race to migrate one
	// database, which goose's lock serialises.
	addrs := make([]string, 3)
	serves := make([]*process, 3)
	for i := range serves {
		addrs[i] = fmt.Sprintf("127.0.0.1:%d", freePortNumber(t))
		serves[i] = startProcess(t, fmt.Sprintf("optio serve %d", i+1), with("OPTIO_ADDR", addrs[i], "OPTIO_DATA_DIR", t.TempDir(), "OPTIO_WORKERS", "0"), "serve")
	}
	for i, p := range serves {
		waitReady(t, p, "http://"+addrs[i])
	}
	workers := make([]*process, 2)
	for i := range workers {
		workers[i] = startProcess(t, fmt.Sprintf("optio worker %d", i+1), with("OPTIO_DATA_DIR", t.TempDir()), "worker")
		waitOutput(t, workers[i], "Optio worker running")
	}
	lb := startNginx(t, nginxBin, addrs)
	waitReady(t, serves[0], lb)

	// Spark, sending through the balancer; every answer is recorded.
	rec := &statusRecorder{next: http.DefaultTransport}
	sb, err := sandbox.New(sandbox.Config{OptioURL: lb, SSOSecret: env["SPARK_SSO_SECRET"],
		WebhookSecret: env["SPARK_WEBHOOK_SECRET"], APIKey: env["SPARK_API_KEY"],
		HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: rec},
		Retry:      sandbox.RetryPolicy{MaxAttempts: 10000, BaseDelay: 20 * time.Millisecond, MaxDelay: 500 * time.Millisecond},
		QueueSize:  n + 4*students + 100, Senders: 12})
	require.NoError(t, err)
	require.NoError(t, sb.Start(listenLoopback(t)))
	t.Cleanup(func() { _ = sb.Close() })
	_, err = sb.SendCourses(context.Background())
	require.NoError(t, err)
	// The class: each student enrols in two or three courses (roster
	// webhooks); the simulation's own submissions are an hour away.
	require.NoError(t, sb.StartSimulation(sandbox.Simulation{Students: students, Every: time.Hour}))
	require.Eventually(t, func() bool {
		return delivered(sb, "roster") >= 2*students
	}, 300*time.Second, 250*time.Millisecond, "the class never enrolled")
	require.NoError(t, sb.WaitIdle(withTimeout(t, 60*time.Second)))
	class := simulatedPairs(sb)
	require.Len(t, class, students)
	t.Logf("topology: class of %d enrolled after %s", students, time.Since(started).Round(time.Millisecond))

	// The submissions: each student in turn, each with a file of its own.
	// Spark holds back at a third until the kills are done and at half until
	// PostgreSQL is down, so deliveries meet both faults however fast the
	// machine is.
	submitted := time.Now()
	var used sync.Map // (student, assignment) → true
	killed, pgDown := make(chan struct{}), make(chan struct{})
	go func() {
		for i := range n {
			switch i {
			case n / 3:
				<-killed
			case n / 2:
				<-pgDown
			}
			pairs := class[i%len(class)]
			p := pairs[(i/len(class))%len(pairs)]
			used.Store(p, true)
			file := sandbox.SampleFile{Name: fmt.Sprintf("notes-%05d.txt", i), ContentType: "text/plain",
				Data: []byte(fmt.Sprintf("Lab notes %d of %s for %s.\n", i, p[0], p[1]))}
			if _, err := sb.Submit(context.Background(), p[0], p[1], fmt.Sprintf("Attempt %d at %s", i, p[1]), []sandbox.SampleFile{file}); err != nil {
				t.Errorf("submit %d: %v", i, err)
				return
			}
		}
	}()

	// SSO through the balancer, and each token replayed to every instance
	// at once: exactly one instance accepts it.
	var ssoTokens, ssoSignedIn atomic.Int64
	ssoDone := make(chan struct{})
	go func() {
		defer close(ssoDone)
		for i := range 30 {
			stu := class[i*len(class)/30][0][0]
			r := ssoRace(t, sb, stu, lb, addrs)
			if r.signedIn > 1 {
				t.Errorf("an SSO token for %s was accepted %d times: %+v", stu, r.signedIn, r)
			}
			// A token meets the restart (503: not used) or an instance
			// killed while answering it (no answer, or the balancer's 502);
			// either may leave it unaccepted, never accepted twice.
			if r.unavailable == 0 && r.down == 0 && r.signedIn != 1 {
				t.Errorf("an SSO token for %s was not accepted once: %+v", stu, r)
			}
			ssoTokens.Add(1)
			ssoSignedIn.Add(int64(r.signedIn))
			time.Sleep(100 * time.Millisecond)
		}
	}()

	// A third in: SIGKILL one serve and one worker, then start them again.
	require.Eventually(t, func() bool { return delivered(sb, "submission") >= n/3 }, 300*time.Second, 100*time.Millisecond)
	serves[1].kill()
	workers[0].kill()
	t.Logf("topology: killed serve 2 and worker 1 at %d deliveries", delivered(sb, "submission"))
	// Started again as systemd's Restart=always would: a process that could
	// not reach PostgreSQL in time at start (a loaded machine) is started
	// once more.
	for attempt := 1; ; attempt++ {
		serves[1] = startProcess(t, "optio serve 2 (restarted)", with("OPTIO_ADDR", addrs[1], "OPTIO_DATA_DIR", t.TempDir(), "OPTIO_WORKERS", "0"), "serve")
		require.Eventually(t, func() bool {
			if serves[1].exited() {
				return true
			}
			resp, err := http.Get("http://" + addrs[1] + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}, 60*time.Second, 50*time.Millisecond)
		if !serves[1].exited() || attempt == 3 {
			break
		}
	}
	for attempt := 1; ; attempt++ {
		workers[0] = startProcess(t, "optio worker 1 (restarted)", with("OPTIO_DATA_DIR", t.TempDir()), "worker")
		require.Eventually(t, func() bool {
			return workers[0].exited() || strings.Contains(workers[0].out.String(), "Optio worker running")
		}, 60*time.Second, 50*time.Millisecond)
		if !workers[0].exited() || attempt == 3 {
			break
		}
	}
	waitReady(t, serves[1], "http://"+addrs[1])
	waitOutput(t, workers[0], "Optio worker running")
	close(killed)

	// Half way: PostgreSQL restarts. While it is down, answers are 503 with
	// Retry-After; the window closes once every instance is ready again.
	require.Eventually(t, func() bool { return delivered(sb, "submission") >= n/2 }, 300*time.Second, 100*time.Millisecond)
	rec.openWindow()
	pg.Stop()
	close(pgDown)
	require.Eventually(t, func() bool { return rec.unavailable.Load() > 0 }, 30*time.Second, 10*time.Millisecond,
		"Spark's deliveries meet the outage")
	pg.Start()
	for i, p := range serves {
		waitReady(t, p, "http://"+addrs[i])
	}
	// The outage ends when traffic flows again: every instance is ready and
	// 200 more answers succeeded. Until then a pooled connection PostgreSQL
	// cut may still answer one more 503 (with Retry-After); after it, any
	// 5xx fails the test.
	flowing := rec.succeeded.Load() + 200
	require.Eventually(t, func() bool {
		return rec.succeeded.Load() >= flowing || delivered(sb, "submission") == n // or Spark has nothing left to send
	}, 120*time.Second, 100*time.Millisecond)
	rec.closeWindow()
	t.Logf("topology: PostgreSQL restarted at %d deliveries; %d answers 503 during it", delivered(sb, "submission"), rec.unavailable.Load())

	<-ssoDone
	require.Eventually(t, func() bool { return len(sb.Submissions()) == n }, 300*time.Second, 100*time.Millisecond)
	require.NoError(t, sb.WaitIdle(withTimeout(t, 300*time.Second)))
	t.Logf("topology: %d submissions delivered in %s", n, time.Since(submitted).Round(time.Millisecond))

	pairs := 0
	used.Range(func(any, any) bool { pairs++; return true })
	requireTopologySynced(t, sb, pg.URL, n, pairs)
	t.Logf("topology: all synced %s after the first submission", time.Since(submitted).Round(time.Millisecond))

	// SSO: no token was accepted twice, and every token that met no 503
	// signed in exactly once (both checked per token above); some did.
	require.Positive(t, ssoSignedIn.Load(), "SSO sign-ins across the run (of %d tokens)", ssoTokens.Load())

	// Blobs: every stored file is in the bucket, and reads the same through
	// every instance (a sample of 60, each through all three).
	db, err := store.Open(context.Background(), pg.URL, nil)
	require.NoError(t, err)
	defer db.Close()
	inBucket := map[string]bool{}
	for _, k := range s3.Keys(t, bucket) {
		inBucket[k] = true
	}
	rows, err := db.R.QueryContext(context.Background(), `SELECT f.id, f.blob_key, f.sha256 FROM files f
		JOIN evidence_document_blocks b ON b.file_id = f.id`)
	require.NoError(t, err)
	type fileRow struct{ id, key, sum string }
	var files []fileRow
	for rows.Next() {
		var f fileRow
		require.NoError(t, rows.Scan(&f.id, &f.key, &f.sum))
		require.True(t, inBucket[f.key], "file %s: blob %s is in the bucket", f.id, f.key)
		files = append(files, f)
	}
	require.NoError(t, rows.Err())
	rows.Close()
	require.Equal(t, pairs, len(files), "one current file per (student, assignment)")

	admin := newClient(t, lb)
	_, err = createAdminIn(pg.URL, "ops@district.test", "a long admin password")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, admin.do("POST", "/api/auth/login", map[string]string{"email": "ops@district.test", "password": "a long admin password"}, nil))
	rng := rand.New(rand.NewPCG(1, 2))
	for range 60 {
		f := files[rng.IntN(len(files))]
		for _, a := range addrs {
			body := admin.getFrom("http://"+a, "/api/files/"+f.id)
			sum := sha256.Sum256(body)
			require.Equal(t, f.sum, hex.EncodeToString(sum[:]), "file %s through %s", f.id, a)
		}
	}

	// No 5xx outside the outage, and only 503 + Retry-After inside it.
	require.Empty(t, rec.problems(), "answers Spark should never see")
	for _, p := range append(serves, workers...) {
		require.False(t, p.exited(), "%s must still be running", p.name)
	}
	t.Logf("topology: %d answers recorded (%d during the outage); whole test %s",
		rec.total.Load(), rec.unavailable.Load(), time.Since(started).Round(time.Millisecond))
}

// requireTopologySynced waits for the sync queue to drain and checks that
// each of the n deliveries Spark saw accepted became one sync, and each of
// the pairs (student, assignment) one completion, one XP award and two
// blocks (its text and its file).
func requireTopologySynced(t *testing.T, sb *sandbox.Sandbox, dbURL string, n, pairs int) {
	t.Helper()
	ids := map[string]bool{}
	for _, del := range sb.Deliveries() {
		require.Equal(t, sandbox.DeliveryDelivered, del.State, "delivery %s: %s", del.WebhookID, del.Error)
		if del.Kind == "submission" {
			ids[del.WebhookID] = true
		}
	}
	require.Len(t, ids, n)
	db, err := store.Open(context.Background(), dbURL, nil)
	require.NoError(t, err)
	defer db.Close()
	count := func(q string) int {
		var c int
		require.NoError(t, db.R.QueryRowContext(context.Background(), q).Scan(&c))
		return c
	}
	require.Eventually(t, func() bool {
		return count(`SELECT COUNT(*) FROM spark_evidence_sync_queue WHERE status <> 'completed'`) == 0
	}, 300*time.Second, 200*time.Millisecond, "syncs never all completed")
	require.Equal(t, n, count(`SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint LIKE '%submission%'`), "one delivery record per accepted submission")
	require.Equal(t, n, count(`SELECT COUNT(*) FROM spark_evidence_sync_queue`), "one sync per accepted submission")
	require.Equal(t, pairs, count(`SELECT COUNT(*) FROM spark_assignment_submissions WHERE synced_to_optio`))
	require.Equal(t, pairs, count(`SELECT COUNT(*) FROM quest_task_completions`), "one completion per (student, task)")
	require.Equal(t, pairs, count(`SELECT COUNT(*) FROM xp_ledger`), "one XP award per (student, task)")
	require.Equal(t, 2*pairs, count(`SELECT COUNT(*) FROM evidence_document_blocks`), "text and file per completion, none duplicated")
	// Jobs that failed while PostgreSQL was down retry (and find their row
	// done); none may be left waiting, running or discarded.
	left := func() string {
		rows, err := db.R.QueryContext(context.Background(), `SELECT state, COUNT(*) FROM river_job
			WHERE kind = 'spark_sync_submission' AND state <> 'completed' GROUP BY state ORDER BY state`)
		require.NoError(t, err)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var st string
			var c int
			require.NoError(t, rows.Scan(&st, &c))
			out = append(out, fmt.Sprintf("%s: %d", st, c))
		}
		return strings.Join(out, ", ")
	}
	require.Eventually(t, func() bool { return left() == "" }, 120*time.Second, 500*time.Millisecond, "sync jobs left: %s", left())
}

// simulatedPairs returns, per simulated student, the (student, assignment)
// pairs of the courses they are active in.
func simulatedPairs(sb *sandbox.Sandbox) [][][2]string {
	var out [][][2]string
	for _, u := range sb.Users() {
		if !strings.HasPrefix(u.ID, "spark-sim-") {
			continue
		}
		var pairs [][2]string
		enrolled := sb.Enrollments(u.ID)
		for _, c := range sb.Courses() {
			if e, ok := enrolled[c.ID]; ok && e.Status == sandbox.StatusActive {
				for _, a := range c.Assignments {
					pairs = append(pairs, [2]string{u.ID, a.ID})
				}
			}
		}
		if len(pairs) > 0 {
			out = append(out, pairs)
		}
	}
	return out
}

// ssoAnswers counts how the instances answered one SSO token.
type ssoAnswers struct {
	signedIn, replayed, unavailable, down int
}

// ssoRace signs student in through the balancer with a fresh token and, at
// the same moment, replays that token to each instance directly. An
// instance that is not running (killed a moment ago) counts as down.
func ssoRace(t *testing.T, sb *sandbox.Sandbox, student, lb string, addrs []string) ssoAnswers {
	var r ssoAnswers
	link, err := sb.SSOURL(student, "")
	if err != nil {
		t.Errorf("sso url: %v", err)
		return r
	}
	q := link[strings.Index(link, "/spark/sso"):]
	bases := append([]string{lb}, prefixAll("http://", addrs)...)
	codes := make([]int, len(bases))
	var wg sync.WaitGroup
	for i, b := range bases {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, b+q, nil)
			req.Header.Set("Sec-Fetch-Mode", "navigate")
			req.Header.Set("Sec-Fetch-Dest", "document")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			hc := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := hc.Do(req)
			if err != nil {
				return // code 0: the instance is down
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes[i] = resp.StatusCode
		})
	}
	wg.Wait()
	for i, c := range codes {
		switch c {
		case 0:
			r.down++
		case http.StatusBadGateway, http.StatusGatewayTimeout:
			if i != 0 {
				t.Errorf("sso via %s answered %d", bases[i], c)
			}
			r.down++ // the balancer's upstream died while answering
		case http.StatusSeeOther:
			r.signedIn++
		case http.StatusUnauthorized:
			r.replayed++
		case http.StatusServiceUnavailable:
			r.unavailable++ // PostgreSQL restarting: the token was not used
		default:
			t.Errorf("sso via %s answered %d", bases[i], c)
		}
	}
	return r
}

func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return ln
}

func mustParseURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u
}

func prefixAll(p string, xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = p + x
	}
	return out
}

// getFrom fetches base+path with the client's cookies and returns the body,
// requiring 200.
func (c *client) getFrom(base, path string) []byte {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	require.NoError(c.t, err)
	for _, ck := range c.http.Jar.Cookies(mustParseURL(c.t, c.base)) {
		req.AddCookie(ck)
	}
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	require.Equal(c.t, http.StatusOK, resp.StatusCode, "GET %s%s: %s", base, path, body)
	return body
}

// createAdminIn creates an admin in the database at dbURL, as `optio admin
// create` does.
func createAdminIn(dbURL, email, password string) (string, error) {
	db, err := store.Open(context.Background(), dbURL, nil)
	if err != nil {
		return "", err
	}
	defer db.Close()
	u, err := createAdmin(context.Background(), db, email, password, "Ops", "Team")
	if err != nil {
		return "", err
	}
	return u.ID, nil
}

// statusRecorder records the status of every answer Spark gets. Between
// openWindow and closeWindow (PostgreSQL down) a 503 with Retry-After is
// expected; any other 5xx, at any time, is a problem.
type statusRecorder struct {
	next        http.RoundTripper
	window      atomic.Bool
	total       atomic.Int64
	succeeded   atomic.Int64
	unavailable atomic.Int64
	mu          sync.Mutex
	bad         []string
}

func (r *statusRecorder) openWindow()  { r.window.Store(true) }
func (r *statusRecorder) closeWindow() { r.window.Store(false) }

func (r *statusRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	inWindow := r.window.Load()
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	r.total.Add(1)
	if resp.StatusCode < 500 {
		r.succeeded.Add(1)
	}
	if resp.StatusCode >= 500 {
		ok := (inWindow || r.window.Load()) && resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != ""
		if ok {
			r.unavailable.Add(1)
		} else {
			r.mu.Lock()
			r.bad = append(r.bad, fmt.Sprintf("%s %s: %d (Retry-After %q, during outage %v)", req.Method, req.URL.Path, resp.StatusCode, resp.Header.Get("Retry-After"), inWindow))
			r.mu.Unlock()
		}
	}
	return resp, nil
}

func (r *statusRecorder) problems() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bad...)
}

// requireNginx returns the path of Debian's nginx; without it the test is
// skipped, unless OPTIO_REQUIRE_NGINX (set by .ci/run, which installs it)
// demands it.
func requireNginx(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("OPTIO_REQUIRE_NGINX") != "" {
		t.Fatal("OPTIO_REQUIRE_NGINX is set but nginx is not installed (apt-get install nginx-light)")
	}
	t.Skip("nginx not installed (apt-get install nginx-light)")
	return ""
}

// startNginx runs nginx in the foreground as a round-robin balancer over
// the serve processes at addrs, with the upstream settings docs/deploy.md
// recommends, and returns its base URL.
func startNginx(t *testing.T, bin string, addrs []string) string {
	t.Helper()
	dir := t.TempDir()
	port := freePortNumber(t)
	var ups strings.Builder
	for _, a := range addrs {
		fmt.Fprintf(&ups, "    server %s max_fails=1 fail_timeout=2s;\n", a)
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n" // its workers write temporary files under the test's private directory
	}
	conf := user + `worker_processes 2;
pid ` + dir + `/nginx.pid;
error_log ` + dir + `/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ` + dir + `/body;
  proxy_temp_path ` + dir + `/proxy;
  fastcgi_temp_path ` + dir + `/fastcgi;
  uwsgi_temp_path ` + dir + `/uwsgi;
  scgi_temp_path ` + dir + `/scgi;
  upstream optio {
` + ups.String() + `    keepalive 64;
  }
  server {
    listen 127.0.0.1:` + fmt.Sprint(port) + `;
` + nginxOptioLocation + `  }
}
`
	path := filepath.Join(dir, "nginx.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
	cmd := exec.Command(bin, "-p", dir, "-c", path, "-g", "daemon off;")
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so the workers go with the master; and Wait
	// does not wait for a worker that still holds the output pipe.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) // fast shutdown: the master stops its workers
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			logs, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("--- nginx:\n%s%s", out.String(), logs)
		}
	})
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

// nginxOptioLocation is the proxying part of docs/deploy.md's site, the
// same text (TestDeployDocNginxSite checks it is there): retry another
// instance when one is gone (webhooks are idempotent by webhook-id, so a
// POST may be retried too), keep connections to the instances open, and
// pass the client's address and scheme.
const nginxOptioLocation = `    client_max_body_size 64m;
    location / {
      proxy_pass http://optio;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_next_upstream error timeout non_idempotent;
      proxy_next_upstream_tries 3;
      proxy_read_timeout 120s;
    }
`
