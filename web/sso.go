package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
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
	optio.ESSONotNavigation:      "not_navigation",
	optio.ESSOSwitchUnconfirmed:  "switch_unconfirmed",
	ssoAskedToSwitch:             "asked_to_switch",
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
	spark.ETokenMissing:         "This sign-in link is incomplete. Go back to Spark and click View Portfolio again.",
	spark.ETokenExpired:         "This sign-in link has expired. Go back to Spark and click View Portfolio again.",
	spark.ETokenNotYetValid:     "This sign-in link is not valid yet: Spark's clock and Optio's disagree. Wait a minute, then click View Portfolio in Spark again. If it keeps happening, tell your school.",
	optio.ETokenReplayed:        "This sign-in link was already used, and each link works only once. Go back to Spark and click View Portfolio again.",
	spark.ESSONotConfigured:     "Signing in from Spark is not set up on this Optio yet. Sign in with your Optio email and password instead.",
	optio.EUNAVAILABLE:          "Optio could not reach Spark to check this sign-in link. Try again in a minute.",
	optio.ESSONotNavigation:     "This sign-in link only works when you open it yourself from Spark, not from inside another page. Go back to Spark and click View Portfolio again.",
	optio.ESSOSwitchUnconfirmed: "Optio could not confirm that you asked to switch accounts, so you are still signed in as before. Go back to Spark and click View Portfolio again.",
	spark.ETokenBadSignature:    "Optio could not verify this sign-in link: it was not signed by your school's Spark. Go back to Spark and click View Portfolio again; if it keeps happening, tell your school (reason: bad signature).",
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
	mux.HandleFunc("POST /spark/sso/confirm", s.handleSparkSSOConfirm)
}

// handleSparkSSO signs in a user Spark vouches for: GET
// /spark/sso?token=<jwt>[&return_to=/path]. The token is never logged: the
// request log and metrics record the route, not the query.
//
// Against login CSRF (issue 17) the link works only as a page the browser
// opens (ssoNavigation), and when someone else is signed in on this
// browser it asks before switching accounts (ssoSwitchPage); the same
// person signing in again goes straight through.
func (s *Server) handleSparkSSO(w http.ResponseWriter, r *http.Request) {
	// The URL holds the token: keep it out of Referer headers (the error page
	// loads assets) and out of caches.
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	q := r.URL.Query()
	if err := s.ssoNavigation(r); err != nil {
		s.finishSSO(w, r, nil, nil, err, "")
		return
	}
	c, err := s.ssoVerify(r, q.Get("token"))
	if err != nil {
		s.finishSSO(w, r, nil, nil, err, "")
		return
	}
	if cur := userOf(r); cur != nil {
		same, err := s.ssoSamePerson(r, cur, c)
		if err != nil {
			s.finishSSO(w, r, nil, nil, err, "")
			return
		}
		if !same {
			s.ssoSwitchPage(w, r, cur, c, q.Get("token"), q.Get("return_to"))
			return
		}
	}
	// The session is created inside the login's transaction: one commit.
	session := newSessionToken()
	res, err := s.ssoStore(r, c, session)
	if err == nil {
		s.sessionStarted(w, r, res.User, session)
	}
	s.finishSSO(w, r, res, c, err, q.Get("return_to"))
}

// ssoNavigation lets /spark/sso through only as a navigation the browser
// makes to show a page: a browser that sends Fetch Metadata says so in
// Sec-Fetch-Mode (navigate) and Sec-Fetch-Dest (document; iframe too when
// Optio runs inside Spark's iframe, OPTIO_COOKIE_SAMESITE_NONE). Another
// site's <img>, <script>, fetch() or hidden frame is refused before the
// token is even read. Clients without the headers (older browsers, Spark's
// own tooling) are not refused here; the switch confirmation still guards
// a signed-in browser.
func (s *Server) ssoNavigation(r *http.Request) error {
	mode, dest := r.Header.Get("Sec-Fetch-Mode"), r.Header.Get("Sec-Fetch-Dest")
	destOK := dest == "" || dest == "document" || (dest == "iframe" && s.Config.CookieSameSiteNone)
	if (mode != "" && mode != "navigate") || !destOK {
		return optio.Errorf(optio.ESSONotNavigation, "A sign-in link must be opened as a page (Sec-Fetch-Mode %q, Sec-Fetch-Dest %q).", mode, dest)
	}
	return nil
}

// ssoSamePerson reports whether the token names the signed-in user: the
// account linked to the token's Spark user is cur. Anything else — another
// account, or one this login would create or link — is a different person.
func (s *Server) ssoSamePerson(r *http.Request, cur *optio.User, c *spark.Claims) (bool, error) {
	u, err := s.Store.UserBySparkID(r.Context(), c.Subject)
	switch {
	case optio.ErrorCode(err) == optio.ENOTFOUND:
		return false, nil
	case err != nil:
		return false, err
	}
	return u.ID == cur.ID, nil
}

// ssoSwitch is the confirmation page's data.
type ssoSwitch struct {
	Current  string // who is signed in
	Next     string // who the link signs in
	Stay     string // where "stay" leads
	Token    string
	CSRF     string
	ReturnTo string
}

// ssoAskedToSwitch is the outcome label of a shown confirmation.
const ssoAskedToSwitch = "sso_asked_to_switch"

// ssoSwitchPage asks a browser where cur is signed in whether to continue
// as the person the token names. Nothing is spent or changed: the token's
// nonce is used only when the form is sent (handleSparkSSOConfirm), so a
// replayed link shows this page again and a sent form signs in once.
func (s *Server) ssoSwitchPage(w http.ResponseWriter, r *http.Request, cur *optio.User, c *spark.Claims, token, returnTo string) {
	s.Metrics.SSO.WithLabelValues(ssoOutcomes[ssoAskedToSwitch]).Inc()
	s.Health.Add(optio.HealthSSO, "", ssoOutcomes[ssoAskedToSwitch])
	cookie, _ := r.Cookie(SessionCookie) // present: cur came from it
	next := strings.TrimSpace(c.GivenName + " " + c.FamilyName)
	switch {
	case next != "" && c.Email != "":
		next += " (" + c.Email + ")"
	case next == "" && c.Email != "":
		next = c.Email
	case next == "":
		next = "another Spark account"
	}
	current := cur.DisplayName()
	if cur.Email != "" {
		current += " (" + cur.Email + ")"
	}
	if wantsJSON(r) {
		s.Error(w, r, optio.Errorf(optio.ESSOSwitchUnconfirmed, "You are signed in as %s; open this link in a browser to choose whether to continue as %s.", current, next))
		return
	}
	s.render(w, r, "sso_switch", pageData{Title: "Switch accounts?", Data: ssoSwitch{
		Current: current, Next: next, Stay: homeFor(cur), Token: token,
		CSRF: ssoSwitchCSRF(cookie.Value, token), ReturnTo: ssoReturnTo(returnTo)}})
}

// ssoSwitchCSRF binds a confirmation to this browser's session and to this
// token: an HMAC keyed with the session cookie, which another site can
// neither read nor guess.
func ssoSwitchCSRF(session, token string) string {
	m := hmac.New(sha256.New, []byte(session))
	m.Write([]byte("optio sso switch\x00" + token))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// handleSparkSSOConfirm completes a sign-in the switch page asked about:
// POST /spark/sso/confirm with the token, the confirmation's CSRF value
// and return_to. It signs the previous person out on this browser (their
// session ends) and signs in the token's person, using the nonce then.
func (s *Server) handleSparkSSOConfirm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, 32<<10)
	token, returnTo := r.PostFormValue("token"), r.PostFormValue("return_to")
	cookie, err := r.Cookie(SessionCookie)
	if err != nil || cookie.Value == "" || userOf(r) == nil ||
		!hmac.Equal([]byte(ssoSwitchCSRF(cookie.Value, token)), []byte(r.PostFormValue("csrf"))) {
		s.finishSSO(w, r, nil, nil, optio.Errorf(optio.ESSOSwitchUnconfirmed, "The account switch was not confirmed from this browser's Optio page."), "")
		return
	}
	c, err := s.ssoVerify(r, token)
	if err != nil {
		s.finishSSO(w, r, nil, nil, err, "")
		return
	}
	session := newSessionToken()
	res, err := s.ssoStore(r, c, session)
	if err == nil {
		if derr := s.Store.DeleteSession(r.Context(), hashToken(cookie.Value)); derr != nil {
			s.Logger.WarnContext(r.Context(), "end the previous session on an sso switch", slog.Any("error", derr))
		}
		s.sessionStarted(w, r, res.User, session)
	}
	s.finishSSO(w, r, res, c, err, returnTo)
}

// finishSSO records the outcome of a sign-in and answers it: the error
// (a page written for people, or JSON), or a redirect to return_to or the
// user's home.
func (s *Server) finishSSO(w http.ResponseWriter, r *http.Request, res *optio.SSOResult, claims *spark.Claims, err error, returnTo string) {
	outcome := ssoOutcome(err)
	s.Metrics.SSO.WithLabelValues(outcome).Inc()
	s.Health.Add(optio.HealthSSO, "", outcome)
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
	dest := ssoReturnTo(returnTo)
	if dest == "" {
		dest = homeFor(res.User)
	}
	http.Redirect(w, r, dest, http.StatusSeeOther)
}

// ssoVerify checks a token without touching the store: configured,
// present, verified, and the role rule's admin check.
func (s *Server) ssoVerify(r *http.Request, token string) (*spark.Claims, error) {
	if s.SSO == nil || !s.SSO.Configured() {
		return nil, optio.Errorf(spark.ESSONotConfigured, "Spark SSO is not configured: set SPARK_SSO_SECRET or SPARK_SSO_JWKS_URL.")
	}
	if strings.TrimSpace(token) == "" {
		return nil, optio.Errorf(spark.ETokenMissing, "The token query parameter is missing.")
	}
	c, err := s.SSO.Verify(r.Context(), token)
	if err != nil {
		return nil, err
	}
	// Checked before the store so a refused admin never touches the database.
	if _, err := optio.SSORole("", c.Role, s.Config.SparkSSOAllowAdmin); err != nil {
		return nil, err
	}
	return c, nil
}

// ssoStore carries out the login of verified claims in the store (the
// nonce is used here), opening a session for the session token.
func (s *Server) ssoStore(r *http.Request, c *spark.Claims, session string) (*optio.SSOResult, error) {
	in := optio.SSOLogin{
		Identity:         optio.SparkIdentity{SparkUserID: c.Subject, Email: c.Email, GivenName: c.GivenName, FamilyName: c.FamilyName, Role: c.Role},
		Nonce:            c.Nonce,
		NonceExpiry:      c.NonceExpiry(),
		AllowAdmin:       s.Config.SparkSSOAllowAdmin,
		SparkCourseIDs:   c.SparkCourseIDs,
		SparkStudentIDs:  c.SparkStudentIDs,
		SessionTokenHash: hashToken(session),
		SessionDevice:    deviceOf(r.UserAgent()),
		SessionTTL:       s.Config.SessionTTL,
	}
	if s.Config.SparkTrustConsent {
		in.BirthDate, in.PublishConsent = c.BirthDate, c.PublishConsent
	}
	return s.Store.SparkSSOLogin(r.Context(), in)
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
