// Package web is Optio's HTTP side: routes, middleware, the JSON API and the
// server-rendered pages, with templates and assets embedded.
package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
)

// FileStore keeps evidence files (the filestore package over gocloud blob).
type FileStore interface {
	// Put streams r into storage, sniffing its type and enforcing maxBytes.
	Put(ctx context.Context, r io.Reader, filename string, maxBytes int64) (*StoredObject, error)
	// Open reads a stored object by key; seeking serves range requests.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, error)
	// Thumbnail returns the small JPEG of the image under key, made on first
	// use and kept; EUNSUPPORTED when the image cannot be read.
	Thumbnail(ctx context.Context, key, contentType string) (*StoredObject, error)
}

// StoredObject is what FileStore.Put reports about a stored file.
type StoredObject struct {
	Key         string
	SHA256      string
	Size        int64
	ContentType string
	Kind        string // image, video, audio, document, text
}

// Server holds what the handlers need. Create it with New; its fields are
// set from Deps and not changed once it serves.
type Server struct {
	Store   optio.Store
	Files   FileStore
	Config  *optio.Config
	Logger  *slog.Logger
	Clock   optio.Clock
	Metrics *Metrics
	// BadgeProgress, when set, reports a student's badges for portfolio and
	// dashboard pages (the badges feature provides it). Portfolios are cached
	// by the store's portfolio version, so it must read only store data the
	// version covers.
	BadgeProgress func(ctx context.Context, userID string) ([]optio.BadgeProgress, error)
	// SSO verifies Spark's sign-in tokens; nil answers sso_not_configured.
	// The app builds it once from Config and closes it on shutdown.
	SSO *spark.SSOVerifier
	// Tutor answers students' questions; nil or without a provider means not configured.
	Tutor *TutorService
	// Health counts SSO attempts and webhook deliveries by hour for
	// /admin/health; the app flushes it to the store (optio.HealthTally).
	Health *optio.HealthTally
	// Exports reads finished export ZIPs; nil answers every download 404.
	Exports ExportStore
	// LTI is the LTI 1.3 tool (keys and launch verifier); nil answers the
	// LTI endpoints not_configured. The app builds it from the store's keys.
	LTI *LTI

	ltiFrames ltiFrames

	pages *pages
	// portfolioCache keeps rendered portfolios (nil: off; Config.PortfolioCacheMB).
	portfolioCache *portfolioCache
	// ogImages keeps the portfolios' generated Open Graph pictures.
	ogImages *ogImageCache
	// embedKeyBytes signs embed file grants (embedKey).
	embedKeyOnce   sync.Once
	embedKeyBytes  []byte
	mux            *http.ServeMux
	handler        http.Handler
	metricsHandler http.Handler
}

// Deps is what a Server is built from. Config and Store are required; the
// rest say what happens without them on their fields.
type Deps struct {
	Config *optio.Config
	Store  optio.Store
	// Files keeps evidence files; nil refuses uploads and serves no file.
	Files FileStore
	// Exports reads finished export ZIPs; nil answers every download 404.
	Exports ExportStore
	// SSO verifies Spark's sign-in tokens; nil answers sso_not_configured.
	SSO *spark.SSOVerifier
	// Tutor answers students' questions; nil or without a provider means not configured.
	Tutor *TutorService
	// BadgeProgress reports a student's badges (see Server.BadgeProgress);
	// nil reads the store's progress without catalog links.
	BadgeProgress func(ctx context.Context, userID string) ([]optio.BadgeProgress, error)
	// LTI is the LTI 1.3 tool; nil answers the LTI endpoints not_configured.
	LTI *LTI
	// Logger defaults to slog.Default(); Clock to the system clock.
	Logger *slog.Logger
	Clock  optio.Clock
	// Registerer receives the HTTP metrics; it defaults to a new registry,
	// and /metrics serves it when it is also a Gatherer.
	Registerer prometheus.Registerer
}

// New builds a Server and its routes from d; a missing required dependency
// is an error, so a server never starts half-wired.
func New(d Deps) (*Server, error) {
	switch {
	case d.Config == nil:
		return nil, errors.New("web: no configuration (Deps.Config)")
	case d.Store == nil:
		return nil, errors.New("web: no store (Deps.Store)")
	}
	cfg, st, logger, clock, reg := d.Config, d.Store, d.Logger, d.Clock, d.Registerer
	if clock == nil {
		clock = optio.SystemClock{}
	}
	if logger == nil {
		logger = slog.Default()
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s := &Server{Store: st, Files: d.Files, Exports: d.Exports, SSO: d.SSO, Tutor: d.Tutor, BadgeProgress: d.BadgeProgress,
		LTI: d.LTI, Config: cfg, Logger: logger, Clock: clock, Metrics: NewMetrics(reg), Health: optio.NewHealthTally(clock)}
	registerHealthCollector(reg, st, logger)
	s.pages = mustParsePages()
	s.portfolioCache = newPortfolioCache(int64(cfg.PortfolioCacheMB) << 20)
	s.ogImages = newOGImageCache(64)
	mux := http.NewServeMux()
	s.mux = mux
	s.routes(mux)
	gatherer, _ := reg.(prometheus.Gatherer)
	if gatherer == nil {
		gatherer = prometheus.DefaultGatherer
	}
	s.metricsHandler = promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{})
	mux.Handle("GET /metrics", s.metricsAuth(s.metricsHandler, false))

	csrf := http.NewCrossOriginProtection()
	// The LMS's form posts of an LTI login and launch come from its origin
	// by design; the launch is bound to this browser by its state cookie
	// and to the platform by the signed id_token.
	csrf.AddInsecureBypassPattern("POST /lti/login")
	csrf.AddInsecureBypassPattern("POST /lti/launch")
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Error(w, r, &optio.Error{Code: optio.EFORBIDDEN, Message: "Cross-origin request refused: send it from an Optio page, or without browser cookies."})
	}))
	var h http.Handler = s.withNotFound(mux)
	h = csrf.Handler(h)
	h = s.withSession(h)
	h = s.securityHeaders(h)
	h = s.Metrics.instrument(h)
	h = s.recoverer(h)
	s.handler = h
	return s, nil
}

// RoutePattern is the registered pattern that serves method and path, or ""
// when none does; the docs tests use it to prove documented routes exist.
func (s *Server) RoutePattern(method, path string) string {
	_, pattern := s.mux.Handler(&http.Request{Method: method, Host: "optio", URL: &url.URL{Path: path}})
	return pattern
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticHandler()))
	mux.Handle("GET /favicon.ico", staticHandler())

	// Auth.
	mux.HandleFunc("POST /api/auth/register", s.handleRegister)
	mux.HandleFunc("POST /api/auth/login", s.handleLogin)
	mux.HandleFunc("POST /api/auth/logout", s.handleLogout)
	mux.HandleFunc("GET /api/me", s.requireUser(s.handleMe))
	mux.HandleFunc("PATCH /api/me", s.requireUser(s.handleUpdateMe))

	// Quests (capability 8).
	mux.HandleFunc("GET /api/quests", s.requireUser(s.handleListQuests))
	mux.HandleFunc("GET /api/quests/{id}", s.requireUser(s.handleGetQuest))
	mux.HandleFunc("POST /api/quests/{id}/start", s.requireRole(s.handleStartQuest, optio.RoleStudent))
	mux.HandleFunc("POST /api/tasks/{id}/complete", s.requireRole(s.handleCompleteTask, optio.RoleStudent))
	mux.HandleFunc("POST /api/uploads", s.requireRole(s.handleUpload, optio.RoleStudent))
	mux.HandleFunc("GET /api/dashboard", s.requireRole(s.handleDashboard, optio.RoleStudent))
	mux.HandleFunc("GET /api/files/{id}", s.requireUser(s.handleFile))
	mux.HandleFunc("POST /api/admin/quests", s.requireRole(s.handleCreateQuest, optio.RoleAdmin))
	mux.HandleFunc("PATCH /api/admin/quests/{id}", s.requireRole(s.handleUpdateQuest, optio.RoleAdmin))
	mux.HandleFunc("POST /api/admin/quests/{id}/tasks", s.requireRole(s.handleCreateTask, optio.RoleAdmin))
	mux.HandleFunc("PATCH /api/admin/tasks/{id}", s.requireRole(s.handleUpdateTask, optio.RoleAdmin))

	// Pages.
	mux.HandleFunc("GET /{$}", s.handleHome)
	mux.HandleFunc("GET /login", s.handleLoginPage)
	mux.HandleFunc("POST /login", s.handleLoginForm)
	mux.HandleFunc("GET /register", s.handleRegisterPage)
	mux.HandleFunc("POST /register", s.handleRegisterForm)
	mux.HandleFunc("POST /logout", s.handleLogoutForm)
	mux.HandleFunc("GET /dashboard", s.requirePageRole(s.handleDashboardPage, optio.RoleStudent))
	mux.HandleFunc("GET /quests", s.requirePageUser(s.handleQuestsPage))
	mux.HandleFunc("GET /quests/{id}", s.requirePageUser(s.handleQuestPage))
	mux.HandleFunc("POST /quests/{id}/start", s.requirePageRole(s.handleStartQuestForm, optio.RoleStudent))
	mux.HandleFunc("POST /tasks/{id}/complete", s.requirePageRole(s.handleCompleteTaskForm, optio.RoleStudent))
	mux.HandleFunc("GET /admin", s.requirePageRole(s.handleAdminPage, optio.RoleAdmin))
	mux.HandleFunc("POST /admin/quests", s.requirePageRole(s.handleAdminCreateQuestForm, optio.RoleAdmin))
	mux.HandleFunc("POST /admin/quests/{id}/tasks", s.requirePageRole(s.handleAdminCreateTaskForm, optio.RoleAdmin))
	mux.HandleFunc("POST /admin/quests/{id}/toggle", s.requirePageRole(s.handleAdminToggleQuestForm, optio.RoleAdmin))
	s.ssoRoutes(mux)
	s.tutorRoutes(mux)
	s.familyRoutes(mux)
	s.privacyRoutes(mux)
	s.sparkWebhookRoutes(mux)
	s.sparkStatusRoutes(mux)
	s.portfolioRoutes(mux)
	s.badgeRoutes(mux)
	s.syncAdminRoutes(mux)
	s.accountRoutes(mux)
	s.healthRoutes(mux)
	s.ltiRoutes(mux)
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if err := s.Store.Ping(r.Context()); err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// securityHeaders sets the headers every answer carries. The CSP's
// frame-ancestors is 'self' except on the pages Spark may frame (framing.go).
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("Content-Security-Policy", s.pageCSP(r))
		if s.Config.SecureCookies() {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.ErrorContext(r.Context(), "panic", slog.Any("panic", v), slog.String("path", r.URL.Path))
				s.Error(w, r, optio.Errorf(optio.EINTERNAL, "panic"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// now is the server's clock.
func (s *Server) now() time.Time { return s.Clock.Now() }
