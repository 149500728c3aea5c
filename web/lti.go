package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/fetch"
	"github.com/optio-edu/optio/lti"
)

// LTI 1.3 tool endpoints (issue 23; docs/architecture.md "Two connectors"):
// the OIDC third-party login initiation, the launch (resource link and deep
// linking requests), the tool's JWKS, and the teacher's course page a
// launch lands an instructor on.

// LTI is what the LTI endpoints need: the tool's keys and the id_token
// verifier. Nil answers the LTI endpoints not_configured.
type LTI struct {
	Tool     *lti.Tool
	Verifier *lti.Verifier
	// Fetch reads platforms' configuration and posts the tool's dynamic
	// registration under the SSRF rules of file downloads.
	Fetch *fetch.Client
}

// ltiFrameCookie names the platform whose frame a browser was launched in,
// so the pages it lands on may be framed by that platform's origin (and by
// no other). It selects among registered platforms; it grants nothing.
const ltiFrameCookie = "optio_lti_frame"

// ltiStateCookie is the cookie that binds a login's state to the browser
// that started it; one per state, so two launches in one page (two
// placements) do not overwrite each other.
func ltiStateCookie(stateHash string) string { return "optio_lti_state_" + stateHash[:16] }

func (s *Server) ltiRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /lti/login", s.handleLTILogin)
	mux.HandleFunc("POST /lti/login", s.handleLTILogin)
	mux.HandleFunc("POST /lti/launch", s.handleLTILaunch)
	mux.HandleFunc("GET /lti/jwks", s.handleLTIJWKS)
	mux.HandleFunc("GET /lti/register", s.requirePageRole(s.handleLTIRegister, optio.RoleAdmin))
	mux.HandleFunc("GET /lti/courses/{id}", s.requirePageUser(s.handleLTICoursePage))
	mux.HandleFunc("POST /lti/courses/{id}/tasks", s.requirePageUser(s.handleLTICourseAddTask))
	mux.HandleFunc("POST /lti/deep-link", s.requirePageUser(s.handleLTIDeepLinkForm))
	mux.HandleFunc("GET /admin/lti", s.requirePageRole(s.handleLTIAdminPage, optio.RoleAdmin))
	mux.HandleFunc("POST /admin/lti/platforms", s.requirePageRole(s.handleLTIAddPlatformForm, optio.RoleAdmin))
	mux.HandleFunc("POST /admin/lti/platforms/{id}/delete", s.requirePageRole(s.handleLTIDeletePlatformForm, optio.RoleAdmin))
}

// ltiCookie is a cookie that must reach Optio inside a platform's iframe:
// SameSite=None; Secure; Partitioned (CHIPS, keyed to the platform's site)
// on an https Optio. A plain-http Optio (local use, the demo) cannot set
// Secure cookies, so it uses Lax: the demo's platform and Optio are both on
// 127.0.0.1, one site (ports do not count), so Lax cookies reach the frame
// and the platform's form post to /lti/launch.
func (s *Server) ltiCookie(name, value, path string, maxAge int) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if s.Config.SecureCookies() {
		c.SameSite, c.Secure, c.Partitioned = http.SameSiteNoneMode, true, true
	}
	return c
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// handleLTILogin is the OIDC third-party login initiation (LTI Core 1.3
// §5.1.1, Security Framework §5.1.1): find the registration, remember a
// fresh state and nonce, bind the state to this browser, and send the
// browser to the platform's authorization endpoint.
func (s *Server) handleLTILogin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, 32<<10)
	if s.LTI == nil {
		s.Error(w, r, optio.Errorf(optio.ENOTCONFIG, "LTI is not set up on this Optio."))
		return
	}
	iss, hint, target := r.FormValue("iss"), r.FormValue("login_hint"), r.FormValue("target_link_uri")
	if iss == "" || hint == "" || target == "" {
		s.Error(w, r, optio.Errorf(optio.ELTIClaimInvalid, "A login initiation needs iss, login_hint and target_link_uri."))
		return
	}
	p, err := s.ltiPlatformFor(r, iss, r.FormValue("client_id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if d := r.FormValue("lti_deployment_id"); d != "" && !p.HasDeployment(d) {
		s.Error(w, r, optio.Errorf(optio.ELTIUnknownDeployment, "Deployment %q is not registered for this platform in Optio.", d))
		return
	}
	if !s.ownURL(target) {
		s.Error(w, r, optio.Errorf(optio.ELTIClaimInvalid, "target_link_uri must be an Optio URL (%s…).", s.Config.BaseURL))
		return
	}
	state, nonce := randomToken(), randomToken()
	hash := sha256Hex(state)
	if err := s.Store.SaveLTIState(r.Context(), optio.LTIState{StateHash: hash, Nonce: nonce, PlatformID: p.ID,
		ExpiresAt: s.now().Add(optio.LTIStateTTL)}); err != nil {
		s.Error(w, r, err)
		return
	}
	http.SetCookie(w, s.ltiCookie(ltiStateCookie(hash), state, lti.LaunchPath, int(optio.LTIStateTTL.Seconds())))
	q := url.Values{
		"scope": {"openid"}, "response_type": {"id_token"}, "response_mode": {"form_post"}, "prompt": {"none"},
		"client_id": {p.ClientID}, "redirect_uri": {s.baseURL() + lti.LaunchPath}, "login_hint": {hint},
		"state": {state}, "nonce": {nonce},
	}
	if m := r.FormValue("lti_message_hint"); m != "" {
		q.Set("lti_message_hint", m)
	}
	sep := "?"
	if strings.Contains(p.AuthURL, "?") {
		sep = "&"
	}
	http.Redirect(w, r, p.AuthURL+sep+q.Encode(), http.StatusFound)
}

// ltiPlatformFor finds the registration a login names: by issuer, and by
// client id when the platform sends one (it must when one issuer has several
// registrations).
func (s *Server) ltiPlatformFor(r *http.Request, iss, clientID string) (*optio.LTIPlatform, error) {
	ps, err := s.Store.LTIPlatformsByIssuer(r.Context(), iss)
	if err != nil {
		return nil, err
	}
	var match []optio.LTIPlatform
	for _, p := range ps {
		if clientID == "" || p.ClientID == clientID {
			match = append(match, p)
		}
	}
	switch len(match) {
	case 0:
		return nil, optio.Errorf(optio.ELTIUnknownPlatform, "No LMS with issuer %q and client id %q is registered in Optio; an Optio administrator registers it at /admin/lti.", iss, clientID)
	case 1:
		return &match[0], nil
	}
	return nil, optio.Errorf(optio.ELTIUnknownPlatform, "Issuer %q has several registrations in Optio; the login must name its client_id.", iss)
}

func (s *Server) baseURL() string { return strings.TrimRight(s.Config.BaseURL, "/") }

// ownURL reports whether u is on Optio's own origin.
func (s *Server) ownURL(u string) bool {
	base, err1 := url.Parse(s.baseURL())
	t, err2 := url.Parse(u)
	return err1 == nil && err2 == nil && t.Scheme == base.Scheme && t.Host == base.Host && t.User == nil
}

// handleLTILaunch is the redirect_uri: the platform's form post of
// id_token and state. The state must be this browser's (its cookie), unused
// and unexpired; the id_token must verify against the platform the login
// started with; then the store signs the person in and maps the course in
// one transaction, and the browser lands where their role belongs.
func (s *Server) handleLTILaunch(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	r.Body = http.MaxBytesReader(w, r.Body, 128<<10)
	if s.LTI == nil {
		s.Error(w, r, optio.Errorf(optio.ENOTCONFIG, "LTI is not set up on this Optio."))
		return
	}
	if e := r.PostFormValue("error"); e != "" {
		s.ltiRefused(w, r, optio.Errorf(optio.ELTIClaimInvalid, "The LMS did not launch Optio: %s %s", e, r.PostFormValue("error_description")))
		return
	}
	state := r.PostFormValue("state")
	if state == "" || len(state) > 256 {
		s.ltiRefused(w, r, optio.Errorf(optio.ELTIStateInvalid, "The launch has no state."))
		return
	}
	hash := sha256Hex(state)
	c, err := r.Cookie(ltiStateCookie(hash))
	if err != nil || !hmac.Equal([]byte(c.Value), []byte(state)) {
		s.ltiRefused(w, r, optio.Errorf(optio.ELTIStateNotOurs, "This launch was not started from this browser (its state cookie is missing). Open Optio from your course again."))
		return
	}
	http.SetCookie(w, s.ltiCookie(ltiStateCookie(hash), "", lti.LaunchPath, -1))
	st, err := s.Store.TakeLTIState(r.Context(), hash)
	if err != nil {
		s.ltiRefused(w, r, err)
		return
	}
	p, err := s.Store.LTIPlatformByID(r.Context(), st.PlatformID)
	if err != nil {
		s.ltiRefused(w, r, err)
		return
	}
	claims, err := s.LTI.Verifier.Verify(r.Context(), p, r.PostFormValue("id_token"), st.Nonce)
	if err != nil {
		s.ltiRefused(w, r, err)
		return
	}
	role := optio.LTICourseRole(*claims.Roles)
	if role == "" {
		s.ltiRefused(w, r, optio.Errorf(optio.ELTIRoleUnsupported, "Optio serves learners, instructors and mentors; this launch's roles are none of them."))
		return
	}
	if claims.MessageType == lti.MessageDeepLinkingRequest && role != optio.LTICourseInstructor {
		s.ltiRefused(w, r, optio.Errorf(optio.ELTIRoleUnsupported, "Only an instructor can choose what to place in a course."))
		return
	}
	in := optio.LTILaunch{Platform: p, Subject: claims.Subject, Email: claims.Email, GivenName: claims.GivenName,
		FamilyName: claims.FamilyName, Role: role, Nonce: claims.Nonce, NonceExpiry: claims.ExpiresAt().Add(lti.Leeway),
		MentorOf: claims.MentorOf, MembershipsURL: claims.MembershipsURL(), LineItemsURL: claims.LineItemsURL(), SessionDevice: deviceOf(r.UserAgent()), SessionTTL: s.Config.SessionTTL}
	if in.GivenName == "" && in.FamilyName == "" && claims.Name != "" {
		in.GivenName, in.FamilyName, _ = strings.Cut(strings.TrimSpace(claims.Name), " ")
	}
	if claims.Context != nil {
		in.ContextID, in.ContextTitle = claims.Context.ID, claims.Context.Title
	}
	session := newSessionToken()
	in.SessionTokenHash = hashToken(session)
	res, err := s.Store.LTILaunch(r.Context(), in)
	if err != nil {
		s.ltiRefused(w, r, err)
		return
	}
	if cur := userOf(r); cur != nil {
		// The platform vouched for who this browser is now: the session it
		// replaces ends, as a confirmed Spark switch does. (A launch cannot be
		// forced on a browser: the state cookie binds it to the browser that
		// started the login, and the platform signs in its own user.)
		if err := s.Store.DeleteSession(r.Context(), info(r).tokenHash); err != nil {
			s.Logger.WarnContext(r.Context(), "end the previous session on an lti launch", slog.Any("error", err))
		}
	}
	http.SetCookie(w, s.ltiCookie(SessionCookie, session, "/", int(s.Config.SessionTTL.Seconds())))
	http.SetCookie(w, s.ltiCookie(ltiFrameCookie, p.ID, "/", int(s.Config.SessionTTL.Seconds())))
	ri := info(r)
	ri.user, ri.tokenHash = res.User, in.SessionTokenHash
	s.Logger.InfoContext(r.Context(), "lti launch", slog.String("platform_id", p.ID), slog.String("user_id", res.User.ID),
		slog.String("message_type", claims.MessageType), slog.String("course_role", role), slog.Bool("created", res.Created))
	if claims.MessageType == lti.MessageDeepLinkingRequest {
		s.ltiDeepLinkPicker(w, r, p, claims, res)
		return
	}
	http.Redirect(w, r, s.ltiLanding(r, res, role, claims), http.StatusSeeOther)
}

// ltiLanding is where a launch leads: an instructor to the course's
// teacher page, a mentor to the parent page, a learner to the quest a
// placement named (optio_quest_id), their portfolio (optio_target=
// portfolio) or their dashboard.
func (s *Server) ltiLanding(r *http.Request, res *optio.LTILaunchResult, role string, c *lti.Claims) string {
	u := res.User
	switch {
	case role == optio.LTICourseInstructor && res.Course != nil:
		return "/lti/courses/" + res.Course.ID
	case role == optio.LTICourseMentor && u.Role == optio.RoleParent:
		return "/parent"
	case u.Role != optio.RoleStudent:
		return homeFor(u)
	}
	if id := c.CustomString("optio_quest_id"); id != "" {
		if q, err := s.Store.QuestByID(r.Context(), id); err == nil && q.Active {
			return "/quests/" + q.ID
		}
	}
	if c.CustomString("optio_target") == "portfolio" && u.PortfolioSlug != "" {
		return "/portfolio/" + u.PortfolioSlug
	}
	return "/dashboard"
}

// ltiPages are the messages a person sees for a refused launch.
var ltiPages = map[string]string{
	optio.ELTIStateInvalid: "This launch link was already used or has expired. Open Optio from your course again.",
	optio.ELTIStateNotOurs: "Optio could not confirm that this launch was started in this browser. Open Optio from your course again; if your browser blocks cookies in embedded pages, open Optio in a new window.",
	optio.EUNAVAILABLE:     "Optio could not reach your LMS to check this launch. Try again in a minute.",
}

// ltiRefused answers a refused launch: JSON with the precise message, or a
// page for people that still carries the code and the reason.
func (s *Server) ltiRefused(w http.ResponseWriter, r *http.Request, err error) {
	code := optio.ErrorCode(err)
	if code != optio.EINTERNAL {
		s.Logger.InfoContext(r.Context(), "lti launch refused", slog.String("code", code), slog.String("reason", optio.ErrorMessage(err)))
		if m, ok := ltiPages[code]; ok && !wantsJSON(r) {
			err = &optio.Error{Code: code, Message: m + " (" + optio.ErrorMessage(err) + ")"}
		}
	}
	s.Error(w, r, err)
}

// handleLTIJWKS serves the tool's public keys: platforms verify Optio's
// deep linking responses and client assertions with them.
func (s *Server) handleLTIJWKS(w http.ResponseWriter, r *http.Request) {
	if s.LTI == nil {
		s.Error(w, r, optio.Errorf(optio.ENOTCONFIG, "LTI is not set up on this Optio."))
		return
	}
	b, err := json.Marshal(s.LTI.Tool.JWKS())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(b)
}

// ltiCourse is the teacher page's data.
type ltiCourse struct {
	Course  *optio.LTICourse
	Quest   *optio.Quest
	Roster  []optio.LTIRosterEntry
	Placing string
}

// handleLTICoursePage is the teacher view of an LMS course: each learner
// with their progress in the course's quest. Only the course's instructors
// (as the platform said at launch) and admins see it; anyone else gets the
// same 404 as a course that does not exist.
// taughtCourse is the LTI course of the request's path when the viewer
// teaches it (an instructor of the course) or is an admin; anyone else is
// told it does not exist.
func (s *Server) taughtCourse(r *http.Request) (*optio.LTICourse, error) {
	u := userOf(r)
	c, err := s.Store.LTICourseByID(r.Context(), r.PathValue("id"))
	if err == nil && u.Role != optio.RoleAdmin {
		var role string
		if role, err = s.Store.LTICourseRole(r.Context(), c.ID, u.ID); err == nil && role != optio.LTICourseInstructor {
			err = optio.Errorf(optio.ENOTFOUND, "Course not found.")
		}
	}
	return c, err
}

// handleLTICourseAddTask: the course's teacher adds a task to the course's
// quest (an LTI platform sends no assignments, unlike Spark); learners see
// it at their next visit, and finishing it counts towards the score posted
// to the platform's gradebook.
func (s *Server) handleLTICourseAddTask(w http.ResponseWriter, r *http.Request) {
	c, err := s.taughtCourse(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	in := optio.TaskInput{Title: r.PostFormValue("title"), Description: r.PostFormValue("description"), Pillar: optio.Pillar(r.PostFormValue("pillar"))}
	if xp, err := strconv.Atoi(r.PostFormValue("xp_value")); err == nil {
		in.XPValue = &xp
	}
	t, err := s.Store.CreateTask(r.Context(), c.QuestID, in)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/lti/courses/"+c.ID+"?flash="+url.QueryEscape("Task added: "+t.Title), http.StatusSeeOther)
}

func (s *Server) handleLTICoursePage(w http.ResponseWriter, r *http.Request) {
	c, err := s.taughtCourse(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	q, err := s.Store.QuestByID(r.Context(), c.QuestID)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	roster, err := s.Store.LTICourseRoster(r.Context(), c.ID)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"course": c, "quest_id": q.ID, "roster": roster})
		return
	}
	s.render(w, r, "lti_course", pageData{Title: c.Title, Data: ltiCourse{Course: c, Quest: q, Roster: roster}})
}

// ltiFrames maps platform ids to their frame origins for the CSP, read from
// the store at most every ltiFramesTTL (a removed platform stops framing
// within that time on every process).
type ltiFrames struct {
	mu      sync.Mutex
	loaded  time.Time
	origins map[string]string
}

const ltiFramesTTL = 30 * time.Second

func (s *Server) ltiFrameOrigins(r *http.Request) map[string]string {
	f := &s.ltiFrames
	f.mu.Lock()
	defer f.mu.Unlock()
	now := s.now()
	if f.origins == nil || now.Sub(f.loaded) >= ltiFramesTTL {
		ps, err := s.Store.LTIPlatforms(r.Context())
		if err != nil {
			s.Logger.WarnContext(r.Context(), "lti frame origins", slog.Any("error", err))
			return f.origins
		}
		f.origins = map[string]string{}
		for _, p := range ps {
			f.origins[p.ID] = p.FrameOrigin
		}
		f.loaded = now
	}
	return f.origins
}

// ltiCSP is the page policy with frame-ancestors opened to the platform
// this browser was launched from (its optio_lti_frame cookie) on the pages
// a launch lands on, and to every registered platform on /lti/launch
// itself (the platform is known only once the state is read). "" when the
// request is none of these.
func (s *Server) ltiCSP(r *http.Request) string {
	path := r.URL.Path
	if path == lti.LaunchPath || path == "/lti/deep-link" {
		origins := s.ltiFrameOrigins(r)
		if len(origins) == 0 {
			return ""
		}
		csp := selfCSP
		for _, o := range origins {
			csp += " " + o
		}
		return csp
	}
	if !ltiFramable(path) {
		return ""
	}
	c, err := r.Cookie(ltiFrameCookie)
	if err != nil {
		return ""
	}
	if o := s.ltiFrameOrigins(r)[c.Value]; o != "" {
		return selfCSP + " " + o
	}
	return ""
}

// ltiFramable reports whether path is a page an LTI launch leads to (or one
// reached from there by a click): the landings, quests and the teacher page.
func ltiFramable(path string) bool {
	if sparkFramable(path) || path == "/quests" {
		return true
	}
	for _, prefix := range []string{"/quests/", "/lti/courses/"} {
		if rest, ok := strings.CutPrefix(path, prefix); ok {
			return rest != "" && !strings.Contains(rest, "/")
		}
	}
	return false
}
