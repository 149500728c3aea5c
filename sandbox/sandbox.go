// Package sandbox is a runnable fake Spark LMS: it serves the Spark API
// Optio polls, the submission files Optio downloads, and a small web UI
// where you act as a seeded student, parent or admin to sign in to Optio
// by SSO, submit assignments and change enrolments, which it reports to
// Optio with signed webhooks. Tests, `optio sandbox` and `optio demo` run it.
//
// It is also an LTI 1.3 platform at /lti (lti*.go): a Canvas-like LMS that
// registers Optio as a tool, launches it into its courses and serves it the
// LTI Advantage services, with faults for tests (docs/lti).
//
// State lives in memory and is lost on exit; courses, users and sample
// files are seeded afresh by New.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/optio-edu/optio"
)

// Config configures a Sandbox.
type Config struct {
	// OptioURL is Optio's base URL: SSO goes to OptioURL/spark/sso and
	// webhooks to OptioURL/spark/webhook/<kind>. Required.
	OptioURL string
	// SSOSecret signs the HS256 SSO tokens (Optio's SPARK_SSO_SECRET). Required.
	SSOSecret string
	// WebhookSecret signs webhooks, raw or whsec_ (Optio's SPARK_WEBHOOK_SECRET). Required.
	WebhookSecret string
	// APIKey is the bearer key the Spark API requires (Optio's SPARK_API_KEY). Required.
	APIKey string
	// PublicURL is the sandbox's own base URL, used in file URLs sent to
	// Optio. Default: set by Start from the listener's address.
	PublicURL string
	// Clock tells the time for due dates, tokens and webhook timestamps. Default optio.SystemClock.
	Clock optio.Clock
	// Logger logs deliveries and requests. Default: discard.
	Logger *slog.Logger
	// HTTPClient sends webhooks. Default: a client with a 10s timeout.
	HTTPClient *http.Client
	// Retry governs webhook retries. Zero fields take their defaults.
	Retry RetryPolicy
	// QueueSize bounds the webhooks waiting to be sent. Default 1000.
	QueueSize int
	// Senders is the number of webhooks sent in parallel. Default 4.
	Senders int
	// PageSize is the page length of paged API lists. Default 50.
	PageSize int
	// OptioExtras makes the sandbox also speak what Optio adds to the plan's
	// contract: the course webhook (a button in the UI; SendCourses sends it
	// whatever this says) and the roster webhook's occurred_at, email and
	// names. Off by default: the sandbox is a Spark built exactly to the
	// plan (SSO, the submission and roster webhooks with the plan's fields,
	// the API list).
	OptioExtras bool
	// WebhooksOff stops the sandbox sending webhooks at all: submissions and
	// roster changes are only stored and served by the API, so Optio learns
	// them by polling alone (`optio sandbox --webhooks=off`).
	WebhooksOff bool
}

// Sandbox is a fake Spark LMS. It is an http.Handler; Start serves it on a
// listener and Close stops it and its webhook sender.
type Sandbox struct {
	cfg    Config
	clock  optio.Clock
	log    *slog.Logger
	mux    *http.ServeMux
	sender *sender
	lti    *ltiPlatform

	mu          sync.Mutex
	publicURL   string
	courses     []*Course
	courseByID  map[string]*Course
	assignByID  map[string]*Assignment
	users       []*User
	userByID    map[string]*User
	enrollments map[string]map[string]*Enrollment // student → course → enrolment
	submissions []*SubmissionRecord
	files       map[string]*storedFile
	grades      []*Grade
	gradeByKey  map[string]*Grade
	seq         int

	// filesDown: the file host answers 503 (SetFilesDown).
	filesDown atomic.Bool

	srv     *http.Server
	stopSim context.CancelFunc
	wg      sync.WaitGroup
}

// Enrollment is a student's place in a course.
type Enrollment struct {
	CourseID  string
	Status    string // active, dropped or completed
	UpdatedAt time.Time
}

// Enrollment statuses, as the API reports them.
const (
	StatusActive    = "active"
	StatusDropped   = "dropped"
	StatusCompleted = "completed"
)

// SubmissionRecord is a submission the sandbox stored and reported.
type SubmissionRecord struct {
	ID           string
	StudentID    string
	AssignmentID string
	CourseID     string
	Text         string
	Files        []FileRef
	SubmittedAt  time.Time
	// UpdatedAt is when the submission appeared in the API (what
	// updated_since filters on); SubmitAt can make it later than SubmittedAt.
	UpdatedAt time.Time
	// WebhookID is the webhook-id of the submission webhook sent for it
	// ("" when webhooks are off).
	WebhookID string
}

// FileRef is one file of a submission, served at URL.
type FileRef struct {
	ID          string
	Name        string
	ContentType string
	Size        int
	URL         string
}

// Grade is a grade Optio passed back through POST /api/grades.
type Grade struct {
	SparkUserID           string
	SparkAssignmentID     string
	Grade                 string
	OptioTaskCompletionID string
	GradedAt              time.Time
	ReceivedAt            time.Time
}

type storedFile struct {
	name, contentType string
	data              []byte
	modTime           time.Time
}

// New seeds a sandbox from cfg. It starts the webhook sender; call Close
// to stop it.
func New(cfg Config) (*Sandbox, error) {
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"OptioURL", cfg.OptioURL}, {"SSOSecret", cfg.SSOSecret}, {"WebhookSecret", cfg.WebhookSecret}, {"APIKey", cfg.APIKey},
	} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("sandbox: %s required", strings.Join(missing, ", "))
	}
	if u, err := url.Parse(cfg.OptioURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sandbox: OptioURL %q is not an http(s) URL", cfg.OptioURL)
	}
	if cfg.Clock == nil {
		cfg.Clock = optio.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 50
	}
	cfg.OptioURL = strings.TrimRight(cfg.OptioURL, "/")
	s := &Sandbox{
		cfg:         cfg,
		clock:       cfg.Clock,
		log:         cfg.Logger,
		publicURL:   strings.TrimRight(cfg.PublicURL, "/"),
		courseByID:  map[string]*Course{},
		assignByID:  map[string]*Assignment{},
		userByID:    map[string]*User{},
		enrollments: map[string]map[string]*Enrollment{},
		files:       map[string]*storedFile{},
		gradeByKey:  map[string]*Grade{},
	}
	now := s.clock.Now()
	s.seedSampleFiles(now)
	s.courses = seedCourses(now)
	for _, c := range s.courses {
		s.courseByID[c.ID] = c
		for i := range c.Assignments {
			s.assignByID[c.Assignments[i].ID] = &c.Assignments[i]
		}
	}
	var enrolled map[string][]string
	s.users, enrolled = seedUsers()
	for _, u := range s.users {
		s.userByID[u.ID] = u
	}
	for sid, cids := range enrolled {
		s.enrollments[sid] = map[string]*Enrollment{}
		for _, cid := range cids {
			s.enrollments[sid][cid] = &Enrollment{CourseID: cid, Status: StatusActive, UpdatedAt: now.AddDate(0, 0, -21)}
		}
	}
	lti, err := newLTIPlatform()
	if err != nil {
		return nil, err
	}
	s.lti = lti
	sender, err := newSender(cfg)
	if err != nil {
		return nil, err
	}
	s.sender = sender
	s.mux = http.NewServeMux()
	s.apiRoutes(s.mux)
	s.uiRoutes(s.mux)
	s.ltiRoutes(s.mux)
	return s, nil
}

// ServeHTTP serves the API, the files and the UI.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Start serves the sandbox on ln in the background. When PublicURL was not
// configured it becomes http://<ln address>.
func (s *Sandbox) Start(ln net.Listener) error {
	s.mu.Lock()
	if s.srv != nil {
		s.mu.Unlock()
		return errors.New("sandbox: already started")
	}
	if s.publicURL == "" {
		s.publicURL = "http://" + ln.Addr().String()
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	srv := s.srv
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("sandbox server stopped", "err", err)
		}
	}()
	return nil
}

// URL is the sandbox's public base URL ("" before Start when none was configured).
func (s *Sandbox) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publicURL
}

// Close stops the simulation, the HTTP server and the webhook sender;
// webhooks still queued are dropped.
func (s *Sandbox) Close() error {
	s.mu.Lock()
	srv, stop := s.srv, s.stopSim
	s.stopSim = nil
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
	var err error
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = srv.Shutdown(ctx)
		cancel()
	}
	s.sender.close()
	s.wg.Wait()
	return err
}

// Courses returns the catalogue.
func (s *Sandbox) Courses() []Course {
	out := make([]Course, len(s.courses))
	for i, c := range s.courses {
		out[i] = *c
	}
	return out
}

// Users returns the seeded (and simulated) users in display order.
func (s *Sandbox) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, len(s.users))
	for i, u := range s.users {
		out[i] = *u
	}
	return out
}

// Submissions returns every stored submission, oldest first.
func (s *Sandbox) Submissions() []SubmissionRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SubmissionRecord, len(s.submissions))
	for i, r := range s.submissions {
		out[i] = *r
	}
	return out
}

// Grades returns the grades Optio passed back, oldest first.
func (s *Sandbox) Grades() []Grade {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Grade, len(s.grades))
	for i, g := range s.grades {
		out[i] = *g
	}
	return out
}

// Enrollments returns a student's enrolments by course id.
func (s *Sandbox) Enrollments(studentID string) map[string]Enrollment {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Enrollment{}
	for id, e := range s.enrollments[studentID] {
		out[id] = *e
	}
	return out
}

// nextID returns a unique id with prefix, e.g. "sub_000042".
func (s *Sandbox) nextID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s_%06d", prefix, s.seq)
}

func notFound(what, id string) error {
	return optio.Errorf(optio.ENOTFOUND, "No %s %q in the sandbox.", what, id)
}
