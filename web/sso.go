package web

import (
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
)

// ssoPurgeEvery makes about one successful login in this many purge the
// expired nonces, so sso_nonces stays small without a scheduled job.
const ssoPurgeEvery = 64

// The statuses of the SSO codes decided after the token verified.
func init() {
	codeStatus[optio.ETokenReplayed] = http.StatusUnauthorized
	codeStatus[optio.ESSOAdminNotAllowed] = http.StatusForbidden
	codeStatus[optio.ESSORoleMismatch] = http.StatusForbidden
}

// ssoOutcomes are the outcome labels of optio_sso_attempts_total, by error
// code; "ok" is a signed-in user, "error" anything unexpected.
var ssoOutcomes = map[string]string{
	"":                           "ok",
	spark.ETokenMissing:          "missing_token",
	spark.ETokenMalformed:        "malformed",
	spark.ETokenBadSignature:     "bad_signature",
	spark.ETokenAlgorithmRefused: "algorithm_refused",
	spark.ETokenExpired:          "expired",
	spark.ETokenNotYetValid:      "not_yet_valid",
	spark.ETokenMissingClaim:     "missing_claim",
	spark.ETokenLifetimeTooLong:  "lifetime_too_long",
	spark.ETokenWrongIssuer:      "wrong_issuer",
	spark.ETokenWrongAudience:    "wrong_audience",
	spark.ETokenInvalidClaim:     "invalid_claim",
	spark.ESSONotConfigured:      "not_configured",
	optio.ETokenReplayed:         "replayed",
	optio.ESSOAdminNotAllowed:    "admin_not_allowed",
	optio.ESSORoleMismatch:       "role_mismatch",
	optio.EUNAVAILABLE:           "unavailable",
	optio.EINTERNAL:              "error",
}

func newSSOAttempts(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "optio_sso_attempts_total", Help: "Spark SSO sign-ins by outcome (ok, expired, bad_signature, replayed, …).",
	}, []string{"outcome"})
	for _, o := range ssoOutcomes {
		c.WithLabelValues(o) // every series exists from the start, so rates work
	}
	reg.MustRegister(c)
	return c
}

func ssoOutcome(err error) string {
	if o, ok := ssoOutcomes[optio.ErrorCode(err)]; ok {
		return o
	}
	return "error"
}

// ssoPages are the messages a browser sees for a failed sign-in: what
// happened and what to do. JSON clients get the precise message instead.
var ssoPages = map[string]string{
	spark.ETokenMissing:      "This sign-in link is incomplete. Go back to Spark and click View Portfolio again.",
	spark.ETokenExpired:      "This sign-in link has expired. Go back to Spark and click View Portfolio again.",
	spark.ETokenNotYetValid:  "This sign-in link is not valid yet: Spark's clock and Optio's disagree. Wait a minute, then click View Portfolio in Spark again. If it keeps happening, tell your school.",
	optio.ETokenReplayed:     "This sign-in link was already used, and each link works only once. Go back to Spark and click View Portfolio again.",
	spark.ESSONotConfigured:  "Signing in from Spark is not set up on this Optio yet. Sign in with your Optio email and password instead.",
	optio.EUNAVAILABLE:       "Optio could not reach Spark to check this sign-in link. Try again in a minute.",
	spark.ETokenBadSignature: "Optio could not verify this sign-in link: it was not signed by your school's Spark. Go back to Spark and click View Portfolio again; if it keeps happening, tell your school (reason: bad signature).",
}

// ssoPageMessage is the browser message for a failed sign-in with code.
func ssoPageMessage(code string, err error) string {
	if m, ok := ssoPages[code]; ok {
		return m
	}
	if strings.HasPrefix(code, "token_") {
		return "Optio could not accept this sign-in link from Spark. Go back to Spark and click View Portfolio again; if it keeps happening, tell your school (reason: " +
			strings.ReplaceAll(strings.TrimPrefix(code, "token_"), "_", " ") + ")."
	}
	return optio.ErrorMessage(err) // the role rule's messages are written for people
}

func (s *Server) ssoRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /spark/sso", s.handleSparkSSO)
}

// handleSparkSSO signs in a user Spark vouches for: GET
// /spark/sso?token=<jwt>[&return_to=/path]. The token is never logged: the
// request log and metrics record the route, not the query.
func (s *Server) handleSparkSSO(w http.ResponseWriter, r *http.Request) {
	// The URL holds the token: keep it out of Referer headers (the error page
	// loads assets) and out of caches.
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	q := r.URL.Query()
	// The session is created inside the login's transaction: one commit.
	session := newSessionToken()
	res, claims, err := s.ssoLogin(r, q.Get("token"), session)
	if err == nil {
		s.sessionStarted(w, r, res.User, session)
	}
	outcome := ssoOutcome(err)
	s.Metrics.SSO.WithLabelValues(outcome).Inc()
	if err != nil {
		code := optio.ErrorCode(err)
		if code != optio.EINTERNAL {
			s.Logger.InfoContext(r.Context(), "spark sso refused", slog.String("outcome", outcome), slog.String("code", code))
		}
		if !wantsJSON(r) && code != optio.EINTERNAL {
			err = &optio.Error{Code: code, Message: ssoPageMessage(code, err)}
		}
		s.Error(w, r, err)
		return
	}
	s.Logger.InfoContext(r.Context(), "spark sso", slog.String("outcome", outcome), slog.String("user_id", res.User.ID),
		slog.String("role", string(res.User.Role)), slog.Bool("created", res.Created), slog.String("alg", claims.Method),
		slog.Int("quests_enrolled", res.QuestsEnrolled), slog.Int("children_linked", len(res.LinkedChildren)))
	if rand.IntN(ssoPurgeEvery) == 0 {
		if _, err := s.Store.PurgeExpiredSSONonces(r.Context()); err != nil {
			s.Logger.WarnContext(r.Context(), "purge sso nonces", slog.Any("error", err))
		}
	}
	dest := ssoReturnTo(q.Get("return_to"))
	if dest == "" {
		dest = homeFor(res.User)
	}
	http.Redirect(w, r, dest, http.StatusSeeOther)
}

// ssoLogin verifies token and carries out the login in the store, opening
// a session for the session token.
func (s *Server) ssoLogin(r *http.Request, token, session string) (*optio.SSOResult, *spark.Claims, error) {
	if s.SSO == nil || !s.SSO.Configured() {
		return nil, nil, optio.Errorf(spark.ESSONotConfigured, "Spark SSO is not configured: set SPARK_SSO_SECRET or SPARK_SSO_JWKS_URL.")
	}
	if strings.TrimSpace(token) == "" {
		return nil, nil, optio.Errorf(spark.ETokenMissing, "The token query parameter is missing.")
	}
	c, err := s.SSO.Verify(r.Context(), token)
	if err != nil {
		return nil, nil, err
	}
	// Checked before the store so a refused admin never touches the database.
	if _, err := optio.SSORole("", c.Role, s.Config.SparkSSOAllowAdmin); err != nil {
		return nil, nil, err
	}
	res, err := s.Store.SparkSSOLogin(r.Context(), optio.SSOLogin{
		Identity:         optio.SparkIdentity{SparkUserID: c.Subject, Email: c.Email, GivenName: c.GivenName, FamilyName: c.FamilyName, Role: c.Role},
		Nonce:            c.Nonce,
		NonceExpiry:      c.NonceExpiry(),
		AllowAdmin:       s.Config.SparkSSOAllowAdmin,
		SparkCourseIDs:   c.SparkCourseIDs,
		SparkStudentIDs:  c.SparkStudentIDs,
		SessionTokenHash: hashToken(session),
		SessionDevice:    deviceOf(r.UserAgent()),
		SessionTTL:       s.Config.SessionTTL,
	})
	if err != nil {
		return nil, nil, err
	}
	return res, c, nil
}

// ssoReturnTo accepts return_to only as a same-origin relative path; any
// other value (absolute or scheme-relative URLs, backslashes, control
// characters, or slashes that appear only after percent-decoding) is
// ignored, so /spark/sso can never redirect off Optio.
func ssoReturnTo(raw string) string {
	next := safeNext(raw)
	if next == "" || len(next) > 2048 || strings.IndexFunc(next, unicode.IsControl) >= 0 {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	if strings.HasPrefix(u.Path, "//") || strings.Contains(u.Path, `\`) || strings.IndexFunc(u.Path, unicode.IsControl) >= 0 {
		return ""
	}
	return next
}
