package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/optio-edu/optio"
)

// SessionCookie is the name of Optio's session cookie.
const SessionCookie = "optio_session"

// reqInfo travels in the request context from the outermost middleware so
// inner layers can fill it without cloning the request.
type reqInfo struct {
	user *optio.User
	// tokenHash is the hash of the request's session token, when signed in.
	tokenHash string
}

type ctxKey struct{}

func info(r *http.Request) *reqInfo {
	if ri, ok := r.Context().Value(ctxKey{}).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

// userOf returns the signed-in user, or nil.
func userOf(r *http.Request) *optio.User { return info(r).user }

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// withSession resolves the session cookie to a user for every request.
func (s *Server) withSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri, ok := r.Context().Value(ctxKey{}).(*reqInfo)
		if !ok {
			ri = &reqInfo{}
			r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, ri))
		}
		if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" && len(c.Value) < 200 {
			h := hashToken(c.Value)
			if u, err := s.Store.SessionUser(r.Context(), h); err == nil {
				ri.user, ri.tokenHash = u, h
				s.touchSession(r, h)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// StartSession signs a user in: it stores a new session and sets the cookie.
func (s *Server) StartSession(w http.ResponseWriter, r *http.Request, u *optio.User) error {
	token := newSessionToken()
	if _, err := s.Store.CreateSession(r.Context(), u.ID, hashToken(token), s.Config.SessionTTL); err != nil {
		return err
	}
	if err := s.Store.TouchSession(r.Context(), hashToken(token), deviceOf(r.UserAgent())); err != nil {
		return err
	}
	s.sessionStarted(w, r, u, token)
	return nil
}

// newSessionToken is a random 256-bit session token; the database keeps
// only its hash (hashToken).
func newSessionToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// sessionStarted sets the cookie of a session the store has already
// created for token (StartSession, or an SSO login that created it in its
// own transaction) and makes u the request's user.
func (s *Server) sessionStarted(w http.ResponseWriter, r *http.Request, u *optio.User, token string) {
	http.SetCookie(w, s.sessionCookie(token, int(s.Config.SessionTTL.Seconds())))
	ri := info(r)
	ri.user, ri.tokenHash = u, hashToken(token)
	touches.seen(ri.tokenHash, s.now()) // stored with its device just now
}

func (s *Server) sessionCookie(value string, maxAge int) *http.Cookie {
	c := &http.Cookie{Name: SessionCookie, Value: value, Path: "/", HttpOnly: true, MaxAge: maxAge,
		Secure: s.Config.SecureCookies(), SameSite: http.SameSiteLaxMode}
	if s.Config.CookieSameSiteNone {
		c.SameSite, c.Secure, c.Partitioned = http.SameSiteNoneMode, true, true
	}
	return c
}

func (s *Server) endSession(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		if err := s.Store.DeleteSession(r.Context(), hashToken(c.Value)); err != nil {
			return err
		}
	}
	http.SetCookie(w, s.sessionCookie("", -1))
	info(r).user, info(r).tokenHash = nil, ""
	return nil
}

// requireUser lets only signed-in users through (401 otherwise).
func (s *Server) requireUser(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if userOf(r) == nil {
			s.Error(w, r, &optio.Error{Code: optio.EUNAUTHORIZED, Message: "Please sign in."})
			return
		}
		h(w, r)
	}
}

// requireRole lets only signed-in users with one of roles through: 401
// without a session, 403 with the wrong role.
func (s *Server) requireRole(h http.HandlerFunc, roles ...optio.Role) http.HandlerFunc {
	return s.requireUser(func(w http.ResponseWriter, r *http.Request) {
		if !slices.Contains(roles, userOf(r).Role) {
			s.Error(w, r, &optio.Error{Code: optio.EFORBIDDEN, Message: "Your account cannot do this."})
			return
		}
		h(w, r)
	})
}

// requirePageUser sends browsers without a session to the login page.
func (s *Server) requirePageUser(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if userOf(r) == nil {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		h(w, r)
	}
}

// requirePageRole is requireRole for pages.
func (s *Server) requirePageRole(h http.HandlerFunc, roles ...optio.Role) http.HandlerFunc {
	return s.requirePageUser(func(w http.ResponseWriter, r *http.Request) {
		if !slices.Contains(roles, userOf(r).Role) {
			s.Error(w, r, &optio.Error{Code: optio.EFORBIDDEN, Message: "This page is not for your account."})
			return
		}
		h(w, r)
	})
}

// HashPassword hashes a password for storage (bcrypt).
func HashPassword(pw string) (string, error) {
	if err := validatePassword(pw); err != nil {
		return "", err
	}
	b, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	return string(b), err
}

func validatePassword(pw string) error {
	if len(pw) < 8 || len(pw) > 72 {
		return &optio.Error{Code: optio.EINVALID, Message: "The password is not valid.",
			Fields: map[string]string{"password": "must be 8 to 72 characters"}}
	}
	return nil
}

// dummyHash makes failed logins for unknown emails cost the same as for known ones.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not-a-real-password"), bcrypt.DefaultCost)

type registerRequest struct {
	Email      string     `json:"email"`
	Password   string     `json:"password"`
	GivenName  string     `json:"given_name"`
	FamilyName string     `json:"family_name"`
	Role       optio.Role `json:"role"`
}

// register creates a student or parent account (observers arrive through
// invitations, admins through the CLI).
func (s *Server) register(ctx context.Context, in registerRequest) (*optio.User, error) {
	f := optio.FieldErrors{}
	if in.Role == "" {
		in.Role = optio.RoleStudent
	}
	if in.Role != optio.RoleStudent && in.Role != optio.RoleParent && in.Role != optio.RoleObserver {
		f.Add("role", "must be student, parent or observer")
	}
	if e, err := optio.NormalizeEmail("email", in.Email); err != nil {
		f.Add("email", err.(*optio.Error).Fields["email"])
	} else {
		in.Email = e
	}
	if strings.TrimSpace(in.GivenName) == "" {
		f.Add("given_name", "is required")
	}
	if strings.TrimSpace(in.FamilyName) == "" {
		f.Add("family_name", "is required")
	}
	if err := validatePassword(in.Password); err != nil {
		f.Add("password", "must be 8 to 72 characters")
	}
	if err := f.Err(optio.EINVALID, "Some fields need attention."); err != nil {
		return nil, err
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	return s.Store.CreateUser(ctx, optio.NewUser{Email: in.Email, PasswordHash: hash, GivenName: in.GivenName, FamilyName: in.FamilyName, Role: in.Role})
}

// authenticate checks an email and password.
func (s *Server) authenticate(ctx context.Context, email, password string) (*optio.User, error) {
	u, hash, err := s.Store.UserCredentials(ctx, email)
	if err != nil && optio.ErrorCode(err) != optio.ENOTFOUND {
		return nil, err
	}
	if u == nil || hash == "" {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		s.Metrics.Logins.WithLabelValues("refused").Inc()
		return nil, &optio.Error{Code: optio.EUNAUTHORIZED, Message: "Email or password is wrong."}
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		s.Metrics.Logins.WithLabelValues("refused").Inc()
		return nil, &optio.Error{Code: optio.EUNAUTHORIZED, Message: "Email or password is wrong."}
	}
	s.Metrics.Logins.WithLabelValues("ok").Inc()
	return u, nil
}

func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	var in registerRequest
	if err := decodeJSON(w, r, 64<<10, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	u, err := s.signUp(w, r, in)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if err := s.StartSession(w, r, u); err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, u)
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decodeJSON(w, r, 64<<10, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	u, err := s.login(w, r, in.Email, in.Password)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if err := s.StartSession(w, r, u); err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if err := s.endSession(w, r); err != nil {
		s.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, userOf(r))
}

func (s *Server) handleUpdateMe(w http.ResponseWriter, r *http.Request) {
	var in optio.ProfileUpdate
	if err := decodeJSON(w, r, 16<<10, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	u, err := s.Store.UpdateProfile(r.Context(), userOf(r).ID, in)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}
