package optio

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is every setting Optio reads, loaded once from the environment by
// LoadConfig. Each field's comment names its variable and default.
type Config struct {
	// Addr is where HTTP listens. OPTIO_ADDR, default 127.0.0.1:8080.
	Addr string
	// BaseURL is Optio's public URL; https turns on Secure cookies.
	// OPTIO_BASE_URL, default http://<Addr>.
	BaseURL string
	// DataDir holds the SQLite database and file blobs. OPTIO_DATA_DIR, default ./optio-data.
	DataDir string
	// DatabaseURL selects the store: a postgres:// URL means PostgreSQL,
	// anything else (or empty) SQLite in DataDir. OPTIO_DATABASE_URL.
	DatabaseURL string
	// BlobURL is a gocloud.dev/blob URL for evidence files.
	// OPTIO_BLOB_URL, default file://<DataDir>/blobs.
	BlobURL string
	// MaxUploadBytes caps one uploaded evidence file. OPTIO_MAX_UPLOAD_BYTES, default 100 MB.
	MaxUploadBytes int64
	// SessionTTL is how long a sign-in lasts. OPTIO_SESSION_TTL, default 720h.
	SessionTTL time.Duration
	// CookieSameSiteNone makes the session cookie SameSite=None; Secure so
	// Optio works inside a Spark iframe (needs an https BaseURL).
	// OPTIO_COOKIE_SAMESITE_NONE, default false.
	CookieSameSiteNone bool
	// Workers is the number of background job workers in serve. OPTIO_WORKERS, default 16.
	Workers int
	// LogLevel is debug, info, warn or error. OPTIO_LOG_LEVEL, default info.
	LogLevel string
	// LogFormat is how log lines are written: json (one object a line, for log
	// collectors) or text (a short readable line). OPTIO_LOG_FORMAT, default
	// empty: the command's own default (json for serve and worker, text for demo).
	LogFormat string
	// JobRescueAfter is how long a running job may go unfinished before another
	// process assumes its worker died and runs it again. Shorter recovers faster
	// from a killed process; it must exceed the longest legitimate sync (a large
	// video on a slow link), or a slow job is run twice at once.
	// OPTIO_JOB_RESCUE_AFTER, default 15m, at least 1s.
	JobRescueAfter time.Duration
	// PortfolioCacheMB bounds the memory, in MB, of rendered portfolio pages
	// kept for reuse (each process keeps its own; 0 turns the cache off).
	// OPTIO_PORTFOLIO_CACHE_MB, default 32.
	PortfolioCacheMB int
	// UploadQuotaBytes caps the total size of the files one user keeps (their
	// uploads and the files synced from Spark; synced files count but are never
	// refused). OPTIO_UPLOAD_QUOTA_BYTES, default 2 GB.
	UploadQuotaBytes int64
	// RegistrationsPerHour is how many accounts one client address may create
	// in an hour before sign-up is locked for growing periods.
	// OPTIO_REGISTRATIONS_PER_HOUR, default 20.
	RegistrationsPerHour int
	// TrustedProxies are the addresses (IPs or CIDRs) of reverse proxies whose
	// X-Forwarded-For names the client; without them a request's client is its
	// peer address. OPTIO_TRUSTED_PROXIES, comma-separated, default none.
	TrustedProxies []string
	// MetricsAddr is where a second listener serves only /metrics, for the
	// scraper; "off" serves none. OPTIO_METRICS_ADDR, default 127.0.0.1:9090.
	MetricsAddr string
	// MetricsToken, when set, lets a request with "Authorization: Bearer
	// <token>" read /metrics on the main listener (and is required on
	// MetricsAddr too); without it the main listener answers 404 there.
	// OPTIO_METRICS_TOKEN.
	MetricsToken string
	// AllowInsecureHTTP permits http:// Spark URLs (SPARK_API_URL,
	// SPARK_SSO_JWKS_URL, submission files) while OPTIO_BASE_URL is https;
	// for local set-ups only (the demo and sandbox). SPARK_ALLOW_INSECURE_HTTP,
	// default false.
	AllowInsecureHTTP bool

	// SparkSSOSecrets verify HS256 SSO tokens; several for rotation.
	// SPARK_SSO_SECRET, comma-separated.
	SparkSSOSecrets []string
	// SparkSSOJWKSURL enables RS256/ES256 SSO tokens from a JWKS. SPARK_SSO_JWKS_URL.
	SparkSSOJWKSURL string
	// SparkSSOIssuer is the required iss claim. SPARK_SSO_ISSUER, default spark-lms.
	SparkSSOIssuer string
	// SparkSSOAudience, when set, is the required aud claim. SPARK_SSO_AUDIENCE.
	SparkSSOAudience string
	// SparkSSOAllowAdmin lets a Spark token make an Optio admin. SPARK_SSO_ALLOW_ADMIN, default false.
	SparkSSOAllowAdmin bool
	// SparkTrustConsent records the birthdate and publish_consent claims of
	// Spark SSO tokens (source "spark"); ignored otherwise. SPARK_TRUST_CONSENT, default false.
	SparkTrustConsent bool
	// SparkWebhookSecrets verify webhook signatures (raw or whsec_; several for
	// rotation). SPARK_WEBHOOK_SECRET, comma-separated.
	SparkWebhookSecrets []string
	// SparkWebhookMaxBytes caps a webhook body. SPARK_WEBHOOK_MAX_BYTES, default 25 MB.
	SparkWebhookMaxBytes int64
	// SparkWebhookInflightBytes bounds the memory of webhook bodies being
	// read and handled at once (each counts its Content-Length, or
	// SparkWebhookMaxBytes when unknown); more wait, then get 503.
	// SPARK_WEBHOOK_INFLIGHT_BYTES, default 4 × SPARK_WEBHOOK_MAX_BYTES.
	SparkWebhookInflightBytes int64
	// SparkWebhookRate is the sustained webhooks per second allowed per Spark
	// instance. SPARK_WEBHOOK_RATE, default 500.
	SparkWebhookRate float64
	// SparkWebhookBurst is the token-bucket size. SPARK_WEBHOOK_BURST, default 2000.
	SparkWebhookBurst int
	// SparkAutoMap maps a Spark course to a quest, and its assignments to
	// tasks, the first time Optio sees it (SSO, roster, submission, poll or
	// course webhook). SPARK_AUTO_MAP, default true.
	SparkAutoMap bool
	// SparkAPIURL is Spark's API base, for polling and grade passback. SPARK_API_URL.
	SparkAPIURL string
	// SparkAPIKey is the bearer key for SparkAPIURL. SPARK_API_KEY.
	SparkAPIKey string
	// SparkPollInterval is how often the polling fallback runs. SPARK_POLL_INTERVAL, default 5m.
	SparkPollInterval time.Duration
	// SparkAPIConcurrency caps the requests Optio has in flight to Spark's
	// API at once, per process (polling and grade passback together).
	// SPARK_API_CONCURRENCY, default 2.
	SparkAPIConcurrency int
	// SparkAPIMaxResponseBytes caps one answer from Spark's API; a larger
	// one stops the poll with an error. SPARK_API_MAX_RESPONSE_BYTES, default 10 MB.
	SparkAPIMaxResponseBytes int64
	// SparkPollMaxCourses caps the courses one poll reads. SPARK_POLL_MAX_COURSES, default 1000.
	SparkPollMaxCourses int
	// SparkPollMaxAssignments caps one course's assignments in a poll.
	// SPARK_POLL_MAX_ASSIGNMENTS, default 500.
	SparkPollMaxAssignments int
	// SparkPollMaxSubmissions caps the submissions one poll reads; the next
	// poll resumes where it stopped. SPARK_POLL_MAX_SUBMISSIONS, default 50000.
	SparkPollMaxSubmissions int
	// SparkPollReconcileEvery is how often polling re-reads each assignment's
	// submissions in full (no since), to catch work that appeared in Spark's
	// API later than its submitted_at. SPARK_POLL_RECONCILE_EVERY, default 24h; 0 turns it off.
	SparkPollReconcileEvery time.Duration
	// SparkSyncRetryWindow is how long a sync that fails for a reason that
	// may pass (a file host down) keeps being retried, with exponential
	// backoff, before it is failed for an admin. SPARK_SYNC_RETRY_WINDOW,
	// default 24h, between 1m and 720h.
	SparkSyncRetryWindow time.Duration
	// SparkGradePassback posts grades back to Spark. SPARK_GRADE_PASSBACK, default true when SPARK_API_URL is set.
	SparkGradePassback bool
	// SparkFileHosts, when set, are the only hosts files are downloaded from. SPARK_FILE_HOSTS.
	SparkFileHosts []string
	// SparkFileAllowPrivate permits downloads from private and loopback
	// addresses (the sandbox only). SPARK_FILE_ALLOW_PRIVATE, default false.
	SparkFileAllowPrivate bool
	// SparkFileMaxBytes caps one downloaded file. SPARK_FILE_MAX_BYTES, default 500 MB.
	SparkFileMaxBytes int64
	// SparkAllowedOrigins may frame the embed page and read the public JSON. SPARK_ALLOWED_ORIGINS.
	SparkAllowedOrigins []string
	// SparkCatalogURL links a missing course to the OnFire catalog; {course_id}
	// is replaced. SPARK_CATALOG_URL, default https://onfire.spark.example/courses/{course_id}.
	SparkCatalogURL string

	// GeminiAPIKey enables the AI tutor. GEMINI_API_KEY.
	GeminiAPIKey string
	// GeminiModel is the model name. GEMINI_MODEL, default gemini-2.5-flash.
	GeminiModel string
	// GeminiBaseURL overrides the Gemini endpoint (tests). GEMINI_BASE_URL.
	GeminiBaseURL string
	// TutorDailyLimit is messages per student per day. OPTIO_TUTOR_DAILY_LIMIT, default 50.
	TutorDailyLimit int

	// DeletionCoolingOff is how long a requested deletion waits, cancel-able,
	// before it runs. OPTIO_DELETION_COOLING_OFF, default 72h.
	DeletionCoolingOff time.Duration
	// ExportLinkTTL is how long a finished export can be downloaded before
	// its ZIP is deleted. OPTIO_EXPORT_LINK_TTL, default 24h, 1m to 720h.
	ExportLinkTTL time.Duration
	// RetainTutor: tutor conversations untouched this long are deleted.
	// OPTIO_RETAIN_TUTOR, default 8760h (a year); 0 keeps them.
	RetainTutor time.Duration
	// RetainSSONonces: used SSO nonces are deleted this long after they
	// expire. OPTIO_RETAIN_SSO_NONCES, default 1h; 0 keeps them.
	RetainSSONonces time.Duration
	// RetainWebhookDeliveries: webhook de-duplication records are deleted
	// at this age. OPTIO_RETAIN_WEBHOOK_DELIVERIES, default 720h (30 days),
	// at least 1h (Spark's retries must still be recognised); 0 keeps them.
	RetainWebhookDeliveries time.Duration
	// RetainSessions: sessions are deleted this long after they expire.
	// OPTIO_RETAIN_SESSIONS, default 24h; 0 keeps them.
	RetainSessions time.Duration
	// RetainSyncErrors: error texts of finished syncs are cleared at this
	// age. OPTIO_RETAIN_SYNC_ERRORS, default 2160h (90 days); 0 keeps them.
	RetainSyncErrors time.Duration
	// RetentionInterval is how often the retention job runs.
	// OPTIO_RETENTION_INTERVAL, default 1h, at least 1m.
	RetentionInterval time.Duration
}

// Retention is the configured retention periods (docs/privacy.md).
func (c *Config) Retention() Retention {
	return Retention{TutorConversations: c.RetainTutor, SSONonces: c.RetainSSONonces, WebhookDeliveries: c.RetainWebhookDeliveries,
		Sessions: c.RetainSessions, SyncErrors: c.RetainSyncErrors}
}

// IsPostgres reports whether the configured store is PostgreSQL.
func (c *Config) IsPostgres() bool {
	return strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

// SQLitePath is the SQLite database file used when the store is not PostgreSQL.
func (c *Config) SQLitePath() string {
	if c.DatabaseURL != "" && !c.IsPostgres() {
		return strings.TrimPrefix(c.DatabaseURL, "sqlite://")
	}
	return filepath.Join(c.DataDir, "optio.db")
}

// SecureCookies reports whether cookies must carry Secure.
func (c *Config) SecureCookies() bool { return strings.HasPrefix(c.BaseURL, "https://") }

// LoadConfig reads the configuration from getenv (os.Getenv in production) and
// validates it. The error names the variable at fault.
func LoadConfig(getenv func(string) string) (*Config, error) {
	l := loader{getenv: getenv}
	c := &Config{
		Addr:                  l.str("OPTIO_ADDR", "127.0.0.1:8080"),
		DataDir:               l.str("OPTIO_DATA_DIR", "./optio-data"),
		DatabaseURL:           l.str("OPTIO_DATABASE_URL", ""),
		MaxUploadBytes:        l.int64("OPTIO_MAX_UPLOAD_BYTES", 100<<20),
		SessionTTL:            l.duration("OPTIO_SESSION_TTL", 720*time.Hour),
		CookieSameSiteNone:    l.bool("OPTIO_COOKIE_SAMESITE_NONE", false),
		Workers:               int(l.int64("OPTIO_WORKERS", 16)),
		LogLevel:              l.str("OPTIO_LOG_LEVEL", "info"),
		LogFormat:             l.str("OPTIO_LOG_FORMAT", ""),
		JobRescueAfter:        l.duration("OPTIO_JOB_RESCUE_AFTER", 15*time.Minute),
		PortfolioCacheMB:      int(l.int64("OPTIO_PORTFOLIO_CACHE_MB", 32)),
		UploadQuotaBytes:      l.int64("OPTIO_UPLOAD_QUOTA_BYTES", DefaultUploadQuotaBytes),
		RegistrationsPerHour:  int(l.int64("OPTIO_REGISTRATIONS_PER_HOUR", DefaultRegistrationsPerHour)),
		TrustedProxies:        l.list("OPTIO_TRUSTED_PROXIES"),
		MetricsAddr:           l.str("OPTIO_METRICS_ADDR", "127.0.0.1:9090"),
		MetricsToken:          l.str("OPTIO_METRICS_TOKEN", ""),
		AllowInsecureHTTP:     l.bool("SPARK_ALLOW_INSECURE_HTTP", false),
		SparkSSOSecrets:       l.list("SPARK_SSO_SECRET"),
		SparkSSOJWKSURL:       l.str("SPARK_SSO_JWKS_URL", ""),
		SparkSSOIssuer:        l.str("SPARK_SSO_ISSUER", "spark-lms"),
		SparkSSOAudience:      l.str("SPARK_SSO_AUDIENCE", ""),
		SparkSSOAllowAdmin:    l.bool("SPARK_SSO_ALLOW_ADMIN", false),
		SparkTrustConsent:     l.bool("SPARK_TRUST_CONSENT", false),
		SparkWebhookSecrets:   l.list("SPARK_WEBHOOK_SECRET"),
		SparkWebhookMaxBytes:  l.int64("SPARK_WEBHOOK_MAX_BYTES", 25<<20),
		SparkWebhookRate:      l.float("SPARK_WEBHOOK_RATE", 500),
		SparkWebhookBurst:     int(l.int64("SPARK_WEBHOOK_BURST", 2000)),
		SparkAutoMap:          l.bool("SPARK_AUTO_MAP", true),
		SparkAPIURL:           l.str("SPARK_API_URL", ""),
		SparkAPIKey:           l.str("SPARK_API_KEY", ""),
		SparkPollInterval:     l.duration("SPARK_POLL_INTERVAL", 5*time.Minute),
		SparkSyncRetryWindow:  l.duration("SPARK_SYNC_RETRY_WINDOW", 24*time.Hour),
		SparkFileHosts:        l.list("SPARK_FILE_HOSTS"),
		SparkFileAllowPrivate: l.bool("SPARK_FILE_ALLOW_PRIVATE", false),
		SparkFileMaxBytes:     l.int64("SPARK_FILE_MAX_BYTES", 500<<20),
		SparkAllowedOrigins:   l.list("SPARK_ALLOWED_ORIGINS"),
		SparkCatalogURL:       l.str("SPARK_CATALOG_URL", "https://onfire.spark.example/courses/{course_id}"),
		GeminiAPIKey:          l.str("GEMINI_API_KEY", ""),
		GeminiModel:           l.str("GEMINI_MODEL", "gemini-2.5-flash"),
		GeminiBaseURL:         l.str("GEMINI_BASE_URL", ""),
		TutorDailyLimit:       int(l.int64("OPTIO_TUTOR_DAILY_LIMIT", 50)),
	}
	c.SparkWebhookInflightBytes = l.int64("SPARK_WEBHOOK_INFLIGHT_BYTES", 4*c.SparkWebhookMaxBytes)
	c.SparkGradePassback = l.bool("SPARK_GRADE_PASSBACK", c.SparkAPIURL != "")
	c.SparkAPIConcurrency = int(l.int64("SPARK_API_CONCURRENCY", 2))
	c.SparkAPIMaxResponseBytes = l.int64("SPARK_API_MAX_RESPONSE_BYTES", 10<<20)
	c.SparkPollMaxCourses = int(l.int64("SPARK_POLL_MAX_COURSES", 1000))
	c.SparkPollMaxAssignments = int(l.int64("SPARK_POLL_MAX_ASSIGNMENTS", 500))
	c.SparkPollMaxSubmissions = int(l.int64("SPARK_POLL_MAX_SUBMISSIONS", 50000))
	c.SparkPollReconcileEvery = l.duration("SPARK_POLL_RECONCILE_EVERY", 24*time.Hour)
	c.DeletionCoolingOff = l.duration("OPTIO_DELETION_COOLING_OFF", 72*time.Hour)
	c.ExportLinkTTL = l.duration("OPTIO_EXPORT_LINK_TTL", 24*time.Hour)
	c.RetainTutor = l.duration("OPTIO_RETAIN_TUTOR", 365*24*time.Hour)
	c.RetainSSONonces = l.duration("OPTIO_RETAIN_SSO_NONCES", time.Hour)
	c.RetainWebhookDeliveries = l.duration("OPTIO_RETAIN_WEBHOOK_DELIVERIES", 30*24*time.Hour)
	c.RetainSessions = l.duration("OPTIO_RETAIN_SESSIONS", 24*time.Hour)
	c.RetainSyncErrors = l.duration("OPTIO_RETAIN_SYNC_ERRORS", 90*24*time.Hour)
	c.RetentionInterval = l.duration("OPTIO_RETENTION_INTERVAL", time.Hour)
	c.BaseURL = l.str("OPTIO_BASE_URL", "http://"+c.Addr)
	c.BlobURL = l.str("OPTIO_BLOB_URL", "")
	if l.err != nil {
		return nil, l.err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.BlobURL == "" {
		abs, err := filepath.Abs(filepath.Join(c.DataDir, "blobs"))
		if err != nil {
			return nil, fmt.Errorf("OPTIO_DATA_DIR: %w", err)
		}
		c.BlobURL = "file://" + filepath.ToSlash(abs) + "?create_dir=true"
	}
	return c, nil
}

// Validate checks the values LoadConfig cannot check one by one.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("OPTIO_ADDR: %q is not host:port", c.Addr)
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("OPTIO_BASE_URL: %q is not an http(s) URL", c.BaseURL)
	}
	if c.DataDir == "" {
		return fmt.Errorf("OPTIO_DATA_DIR: must not be empty")
	}
	if c.DatabaseURL != "" && !c.IsPostgres() && !strings.HasPrefix(c.DatabaseURL, "sqlite://") {
		return fmt.Errorf("OPTIO_DATABASE_URL: %q must start with postgres:// or sqlite://", c.DatabaseURL)
	}
	if c.MaxUploadBytes <= 0 {
		return fmt.Errorf("OPTIO_MAX_UPLOAD_BYTES: must be positive")
	}
	if c.SessionTTL < time.Minute {
		return fmt.Errorf("OPTIO_SESSION_TTL: must be at least 1m")
	}
	if c.CookieSameSiteNone && !c.SecureCookies() {
		return fmt.Errorf("OPTIO_COOKIE_SAMESITE_NONE: needs an https OPTIO_BASE_URL (browsers drop SameSite=None cookies without Secure)")
	}
	if c.Workers < 0 || c.Workers > 256 {
		return fmt.Errorf("OPTIO_WORKERS: must be between 0 and 256")
	}
	if c.JobRescueAfter < time.Second {
		return fmt.Errorf("OPTIO_JOB_RESCUE_AFTER: must be at least 1s")
	}
	if c.PortfolioCacheMB < 0 || c.PortfolioCacheMB > 65536 {
		return fmt.Errorf("OPTIO_PORTFOLIO_CACHE_MB: must be between 0 and 65536")
	}
	if c.UploadQuotaBytes <= 0 {
		return fmt.Errorf("OPTIO_UPLOAD_QUOTA_BYTES: must be positive")
	}
	if c.RegistrationsPerHour < 1 || c.RegistrationsPerHour > 1_000_000 {
		return fmt.Errorf("OPTIO_REGISTRATIONS_PER_HOUR: must be between 1 and 1000000")
	}
	for _, p := range c.TrustedProxies {
		if _, err := ParseAddrPrefix(p); err != nil {
			return fmt.Errorf("OPTIO_TRUSTED_PROXIES: %q is not an IP address or CIDR like 10.0.0.0/8", p)
		}
	}
	if err := c.validatePrivacy(); err != nil {
		return err
	}
	if c.MetricsAddr != "off" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return fmt.Errorf("OPTIO_METRICS_ADDR: %q is not host:port or off", c.MetricsAddr)
		}
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		return fmt.Errorf("OPTIO_METRICS_TOKEN: must be at least 16 characters")
	}
	if err := c.checkSecureSparkURLs(); err != nil {
		return err
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("OPTIO_LOG_LEVEL: %q is not debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "", "json", "text":
	default:
		return fmt.Errorf("OPTIO_LOG_FORMAT: %q is not json or text", c.LogFormat)
	}
	if c.SparkSSOJWKSURL != "" {
		if u, err := url.Parse(c.SparkSSOJWKSURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return fmt.Errorf("SPARK_SSO_JWKS_URL: %q is not an http(s) URL", c.SparkSSOJWKSURL)
		}
	}
	if err := checkSecrets(c.SparkSSOSecrets, c.SparkWebhookSecrets); err != nil {
		return err
	}
	if c.SparkWebhookMaxBytes <= 0 {
		return fmt.Errorf("SPARK_WEBHOOK_MAX_BYTES: must be positive")
	}
	if c.SparkWebhookInflightBytes < c.SparkWebhookMaxBytes {
		return fmt.Errorf("SPARK_WEBHOOK_INFLIGHT_BYTES: must be at least SPARK_WEBHOOK_MAX_BYTES (%d)", c.SparkWebhookMaxBytes)
	}
	if c.SparkWebhookRate <= 0 || c.SparkWebhookBurst <= 0 {
		return fmt.Errorf("SPARK_WEBHOOK_RATE and SPARK_WEBHOOK_BURST: must be positive")
	}
	if c.SparkAPIURL != "" {
		if u, err := url.Parse(c.SparkAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("SPARK_API_URL: %q is not an http(s) URL", c.SparkAPIURL)
		}
	}
	if c.SparkPollInterval < 10*time.Second {
		return fmt.Errorf("SPARK_POLL_INTERVAL: must be at least 10s")
	}
	if err := c.validatePollLimits(); err != nil {
		return err
	}
	if c.SparkSyncRetryWindow < time.Minute || c.SparkSyncRetryWindow > 720*time.Hour {
		return fmt.Errorf("SPARK_SYNC_RETRY_WINDOW: must be between 1m and 720h")
	}
	if c.SparkFileMaxBytes <= 0 {
		return fmt.Errorf("SPARK_FILE_MAX_BYTES: must be positive")
	}
	for _, o := range c.SparkAllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			return fmt.Errorf("SPARK_ALLOWED_ORIGINS: %q is not an origin like https://spark.example", o)
		}
	}
	if !strings.Contains(c.SparkCatalogURL, "{course_id}") {
		return fmt.Errorf("SPARK_CATALOG_URL: must contain {course_id}")
	}
	if c.TutorDailyLimit < 0 {
		return fmt.Errorf("OPTIO_TUTOR_DAILY_LIMIT: must not be negative")
	}
	return nil
}

// RefuseInsecureHTTP reports whether plain http:// Spark URLs are refused:
// Optio's own URL is https and SPARK_ALLOW_INSECURE_HTTP is not set. The
// file fetcher asks it for submission file URLs.
func (c *Config) RefuseInsecureHTTP() bool { return c.SecureCookies() && !c.AllowInsecureHTTP }

// checkSecureSparkURLs refuses http:// for Spark's API and JWKS when Optio
// itself is served over https: a token key set or roster fetched in clear
// text could be swapped on the way.
func (c *Config) checkSecureSparkURLs() error {
	if !c.RefuseInsecureHTTP() {
		return nil
	}
	for _, v := range []struct{ name, url string }{{"SPARK_API_URL", c.SparkAPIURL}, {"SPARK_SSO_JWKS_URL", c.SparkSSOJWKSURL}} {
		if u, err := url.Parse(v.url); err == nil && strings.EqualFold(u.Scheme, "http") {
			return fmt.Errorf("%s: %q is plain http while OPTIO_BASE_URL is https; use https (or SPARK_ALLOW_INSECURE_HTTP=true for a local set-up)", v.name, v.url)
		}
	}
	return nil
}

// Secret sizes: a raw HMAC secret must have at least minSecretBytes bytes;
// a whsec_ secret, which carries random bytes in base64, at least
// minWhsecBytes (the Standard Webhooks minimum, what their generators issue).
const (
	minSecretBytes = 32
	minWhsecBytes  = 24
)

// checkSecrets refuses SSO and webhook secrets too short to resist guessing
// and whsec_ secrets that are not base64 (every webhook would otherwise be
// refused for ever). Messages name the variable and the position in its
// list, never the secret.
func checkSecrets(sso, webhook []string) error {
	for i, s := range sso {
		if len(s) < minSecretBytes {
			return fmt.Errorf("SPARK_SSO_SECRET: secret %d of %d is %d bytes; use at least %d random bytes (e.g. openssl rand -hex 32)",
				i+1, len(sso), len(s), minSecretBytes)
		}
	}
	for i, s := range webhook {
		if strings.HasPrefix(s, WebhookSecretPrefix) {
			key, err := DecodeWebhookSecret(s)
			switch {
			case err != nil:
				return fmt.Errorf("SPARK_WEBHOOK_SECRET: secret %d of %d starts with whsec_ but the rest is not standard base64", i+1, len(webhook))
			case len(key) < minWhsecBytes:
				return fmt.Errorf("SPARK_WEBHOOK_SECRET: secret %d of %d decodes to %d bytes; a whsec_ secret needs at least %d",
					i+1, len(webhook), len(key), minWhsecBytes)
			}
			continue
		}
		if len(s) < minSecretBytes {
			return fmt.Errorf("SPARK_WEBHOOK_SECRET: secret %d of %d is %d bytes; use at least %d random bytes, or a whsec_ secret",
				i+1, len(webhook), len(s), minSecretBytes)
		}
	}
	return nil
}

type loader struct {
	getenv func(string) string
	err    error
}

func (l *loader) str(name, def string) string {
	if v := strings.TrimSpace(l.getenv(name)); v != "" {
		return v
	}
	return def
}

func (l *loader) list(name string) []string {
	var out []string
	for _, p := range strings.Split(l.getenv(name), ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (l *loader) fail(name, v, want string) {
	if l.err == nil {
		l.err = fmt.Errorf("%s: %q is not %s", name, v, want)
	}
}

func (l *loader) bool(name string, def bool) bool {
	v := strings.TrimSpace(l.getenv(name))
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		l.fail(name, v, "true or false")
	}
	return b
}

func (l *loader) int64(name string, def int64) int64 {
	v := strings.TrimSpace(l.getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		l.fail(name, v, "a whole number")
	}
	return n
}

func (l *loader) float(name string, def float64) float64 {
	v := strings.TrimSpace(l.getenv(name))
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		l.fail(name, v, "a number")
	}
	return f
}

func (l *loader) duration(name string, def time.Duration) time.Duration {
	v := strings.TrimSpace(l.getenv(name))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		l.fail(name, v, "a duration like 30s or 5m")
	}
	return d
}

// validatePrivacy checks the export, deletion and retention settings. A
// Config built by hand (tests) may leave them zero: zero keeps data for ever
// and deletes at once.
func (c *Config) validatePrivacy() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"OPTIO_DELETION_COOLING_OFF", c.DeletionCoolingOff}, {"OPTIO_RETAIN_TUTOR", c.RetainTutor},
		{"OPTIO_RETAIN_SSO_NONCES", c.RetainSSONonces}, {"OPTIO_RETAIN_SESSIONS", c.RetainSessions},
		{"OPTIO_RETAIN_SYNC_ERRORS", c.RetainSyncErrors}, {"OPTIO_RETAIN_WEBHOOK_DELIVERIES", c.RetainWebhookDeliveries}} {
		if d.v < 0 {
			return fmt.Errorf("%s: must not be negative", d.name)
		}
	}
	if c.RetainWebhookDeliveries != 0 && c.RetainWebhookDeliveries < time.Hour {
		return fmt.Errorf("OPTIO_RETAIN_WEBHOOK_DELIVERIES: must be 0 (keep) or at least 1h, so Spark's retries are still recognised")
	}
	if c.ExportLinkTTL != 0 && (c.ExportLinkTTL < time.Minute || c.ExportLinkTTL > 720*time.Hour) {
		return fmt.Errorf("OPTIO_EXPORT_LINK_TTL: must be between 1m and 720h")
	}
	if c.RetentionInterval != 0 && c.RetentionInterval < time.Minute {
		return fmt.Errorf("OPTIO_RETENTION_INTERVAL: must be at least 1m")
	}
	return nil
}
