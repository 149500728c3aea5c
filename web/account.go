package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/optio-edu/optio"
)

// The account page and its API: active sessions (list, end one, sign out
// everywhere), password change (ends the other sessions), and linking a
// Spark account with a password account (docs/architecture.md, "Spark
// identity").
func (s *Server) accountRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/me/sessions", s.requireUser(s.handleListSessions))
	mux.HandleFunc("DELETE /api/me/sessions/{id}", s.requireUser(s.handleEndSession))
	mux.HandleFunc("POST /api/auth/logout-everywhere", s.requireUser(s.handleLogoutEverywhere))
	mux.HandleFunc("POST /api/me/password", s.requireUser(s.handleChangePassword))
	mux.HandleFunc("POST /api/me/link-account", s.requireUser(s.handleLinkAccount))

	mux.HandleFunc("GET /account", s.requirePageUser(s.handleAccountPage))
	mux.HandleFunc("POST /account/sessions/{id}/end", s.requirePageUser(s.handleEndSessionForm))
	mux.HandleFunc("POST /account/logout-everywhere", s.requirePageUser(s.handleLogoutEverywhereForm))
	mux.HandleFunc("POST /account/password", s.requirePageUser(s.handleChangePasswordForm))
	mux.HandleFunc("POST /account/link", s.requirePageUser(s.handleLinkAccountForm))
}

// sessionTouches remembers when this process last recorded a session's
// use, so a signed-in request writes last_seen_at at most every few minutes
// per process (the store writes only when its value is stale anyway). It is
// an optimisation only: forgetting it costs a write, never correctness.
type sessionTouches struct {
	mu   sync.Mutex
	last map[string]time.Time
}

var touches = &sessionTouches{last: map[string]time.Time{}}

const touchEvery = 5 * time.Minute

// seen notes that tokenHash's use was recorded at now; it reports whether
// it was already recorded less than touchEvery ago.
func (t *sessionTouches) seen(tokenHash string, now time.Time) (recent bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if at, ok := t.last[tokenHash]; ok && now.Sub(at) < touchEvery && !now.Before(at) {
		return true
	}
	if len(t.last) > 50000 {
		clear(t.last)
	}
	t.last[tokenHash] = now
	return false
}

// touchSession records that the request's session was used now.
func (s *Server) touchSession(r *http.Request, tokenHash string) {
	if touches.seen(tokenHash, s.now()) {
		return
	}
	if err := s.Store.TouchSession(r.Context(), tokenHash, deviceOf(r.UserAgent())); err != nil {
		s.Logger.WarnContext(r.Context(), "record session use", "error", err)
	}
}

// deviceOf describes a User-Agent coarsely ("Firefox on Linux"): enough to
// tell one's own browsers apart, without storing the fingerprint-grade
// string.
func deviceOf(ua string) string {
	has := func(s string) bool { return strings.Contains(ua, s) }
	browser := "Unknown browser"
	switch {
	case has("Edg/"):
		browser = "Edge"
	case has("OPR/"):
		browser = "Opera"
	case has("Firefox/"):
		browser = "Firefox"
	case has("Chrome/") || has("CriOS/"):
		browser = "Chrome"
	case has("Safari/"):
		browser = "Safari"
	case has("curl/"):
		browser = "curl"
	case has("Go-http-client"):
		browser = "Program"
	}
	os := ""
	switch {
	case has("iPhone") || has("iPad"):
		os = "iOS"
	case has("Android"):
		os = "Android"
	case has("CrOS"):
		os = "ChromeOS"
	case has("Windows"):
		os = "Windows"
	case has("Mac OS X") || has("Macintosh"):
		os = "macOS"
	case has("Linux"):
		os = "Linux"
	}
	if os == "" {
		return browser
	}
	return browser + " on " + os
}

func (s *Server) handleListSessions(w http.ResponseWriter, r *http.Request) {
	list, err := s.Store.ListSessions(r.Context(), userOf(r).ID, info(r).tokenHash)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": list})
}

// endSessionByID ends one of the caller's sessions; ending the current one
// signs this browser out too.
func (s *Server) endSessionByID(w http.ResponseWriter, r *http.Request) error {
	u := userOf(r)
	list, err := s.Store.ListSessions(r.Context(), u.ID, info(r).tokenHash)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := s.Store.DeleteUserSession(r.Context(), u.ID, id); err != nil {
		return err
	}
	for _, x := range list {
		if x.ID == id && x.Current {
			http.SetCookie(w, s.sessionCookie("", -1))
			info(r).user, info(r).tokenHash = nil, ""
		}
	}
	return s.Store.Audit(r.Context(), u.ID, "session.end", u.ID, map[string]any{"session_id": id})
}

func (s *Server) handleEndSession(w http.ResponseWriter, r *http.Request) {
	if err := s.endSessionByID(w, r); err != nil {
		s.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleEndSessionForm(w http.ResponseWriter, r *http.Request) {
	if err := s.endSessionByID(w, r); err != nil {
		s.Error(w, r, err)
		return
	}
	if userOf(r) == nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/account?flash="+url.QueryEscape("That session has been signed out."), http.StatusSeeOther)
}

// logoutEverywhere ends every session of the caller, this one included.
func (s *Server) logoutEverywhere(w http.ResponseWriter, r *http.Request) (int64, error) {
	u := userOf(r)
	n, err := s.Store.DeleteOtherSessions(r.Context(), u.ID, "")
	if err != nil {
		return 0, err
	}
	if err := s.Store.Audit(r.Context(), u.ID, "session.end_all", u.ID, map[string]any{"sessions_ended": n}); err != nil {
		return 0, err
	}
	http.SetCookie(w, s.sessionCookie("", -1))
	info(r).user, info(r).tokenHash = nil, ""
	return n, nil
}

func (s *Server) handleLogoutEverywhere(w http.ResponseWriter, r *http.Request) {
	n, err := s.logoutEverywhere(w, r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int64{"sessions_ended": n})
}

func (s *Server) handleLogoutEverywhereForm(w http.ResponseWriter, r *http.Request) {
	if _, err := s.logoutEverywhere(w, r); err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/login?flash="+url.QueryEscape("You are signed out on every device."), http.StatusSeeOther)
}

// passwordChange is the body of POST /api/me/password.
type passwordChange struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// changePassword checks the current password, stores the new one and ends
// every other session of the account.
// The current password is checked behind the same per-account and
// per-address throttle as a sign-in, so a stolen session cannot guess it.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, in passwordChange) error {
	u := userOf(r)
	hash, err := s.Store.PasswordHash(r.Context(), u.ID)
	if err != nil {
		return err
	}
	if hash == "" {
		return optio.Errorf(optio.ECONFLICT, "Your account signs in through Spark and has no password to change.")
	}
	_, err = s.checkPassword(w, r, u.Email, func() (*optio.User, error) {
		if bcrypt.CompareHashAndPassword([]byte(hash), []byte(in.CurrentPassword)) != nil {
			return nil, &optio.Error{Code: optio.EUNAUTHORIZED, Message: "The current password is wrong.",
				Fields: map[string]string{"current_password": "is wrong"}}
		}
		return u, nil
	})
	if err != nil {
		return err
	}
	if err := validatePassword(in.NewPassword); err != nil {
		return &optio.Error{Code: optio.EINVALID, Message: "The new password is not valid.",
			Fields: map[string]string{"new_password": "must be 8 to 72 characters"}}
	}
	newHash, err := HashPassword(in.NewPassword)
	if err != nil {
		return err
	}
	return s.Store.SetPassword(r.Context(), u.ID, newHash, info(r).tokenHash)
}

func (s *Server) handleChangePassword(w http.ResponseWriter, r *http.Request) {
	var in passwordChange
	if err := decodeJSON(w, r, 4<<10, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	if err := s.changePassword(w, r, in); err != nil {
		s.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleChangePasswordForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	err := s.changePassword(w, r, passwordChange{CurrentPassword: r.PostFormValue("current_password"), NewPassword: r.PostFormValue("new_password")})
	if err != nil {
		s.renderAccount(w, r, statusOf(optio.ErrorCode(err)), accountForm{PasswordError: optio.ErrorMessage(err)})
		return
	}
	http.Redirect(w, r, "/account?flash="+url.QueryEscape("Password changed. Every other device has been signed out."), http.StatusSeeOther)
}

// linkRequest is the body of POST /api/me/link-account: the email and
// password of the Optio password account to join to the signed-in Spark
// account.
type linkRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// linkAccount joins the signed-in Spark account with a password account
// whose password the caller proves now; the surviving account is signed in.
// Signing in through Spark proves the one, the password the other, so
// neither alone lets anybody take over an account.
func (s *Server) linkAccount(w http.ResponseWriter, r *http.Request, in linkRequest) (*optio.User, error) {
	me := userOf(r)
	other, err := s.login(w, r, in.Email, in.Password)
	if err != nil {
		return nil, err
	}
	u, err := s.Store.LinkAccounts(r.Context(), me.ID, other.ID)
	if err != nil {
		return nil, err
	}
	if u.ID != me.ID {
		// This account was folded into the other and its sessions went with it.
		if err := s.StartSession(w, r, u); err != nil {
			return nil, err
		}
	}
	info(r).user = u
	return u, nil
}

func (s *Server) handleLinkAccount(w http.ResponseWriter, r *http.Request) {
	var in linkRequest
	if err := decodeJSON(w, r, 4<<10, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	u, err := s.linkAccount(w, r, in)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) handleLinkAccountForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	in := linkRequest{Email: r.PostFormValue("email"), Password: r.PostFormValue("password")}
	if _, err := s.linkAccount(w, r, in); err != nil {
		s.renderAccount(w, r, statusOf(optio.ErrorCode(err)), accountForm{LinkError: optio.ErrorMessage(err), LinkEmail: in.Email})
		return
	}
	http.Redirect(w, r, "/account?flash="+url.QueryEscape("Your accounts are linked."), http.StatusSeeOther)
}

// accountForm carries a form's error back to the account page.
type accountForm struct {
	PasswordError, LinkError, LinkEmail string
}

// accountPage is what the account page shows.
type accountPage struct {
	accountForm
	Sessions    []optio.SessionInfo
	SparkLinked bool
	// Privacy is the student's own "Your data" box (nil for other roles).
	Privacy *privacyPanel
}

func (s *Server) accountData(ctx context.Context, u *optio.User, tokenHash string, f accountForm) (*accountPage, error) {
	list, err := s.Store.ListSessions(ctx, u.ID, tokenHash)
	if err != nil {
		return nil, err
	}
	linked, err := s.Store.SparkLinked(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	var panel *privacyPanel
	if u.Role == optio.RoleStudent {
		if panel, err = s.privacyPanelFor(ctx, u, u.ID); err != nil {
			return nil, err
		}
	}
	return &accountPage{accountForm: f, Sessions: list, SparkLinked: linked, Privacy: panel}, nil
}

func (s *Server) renderAccount(w http.ResponseWriter, r *http.Request, status int, f accountForm) {
	d, err := s.accountData(r.Context(), userOf(r), info(r).tokenHash, f)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.renderStatus(w, r, status, "account", pageData{Title: "Your account", Data: d})
}

func (s *Server) handleAccountPage(w http.ResponseWriter, r *http.Request) {
	s.renderAccount(w, r, http.StatusOK, accountForm{})
}
