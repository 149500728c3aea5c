package web

import (
	"net/http"
	"strings"
)

// selfCSP is the policy of every page: nothing from elsewhere, and only
// Optio itself may frame it.
const selfCSP = "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"

// pageCSP is the Content-Security-Policy for a request path. By default
// only Optio may frame its pages (the portfolio embed opens itself to
// Spark). When the operator opted into running Optio inside a Spark iframe
// (OPTIO_COOKIE_SAMESITE_NONE=true, so the session cookie reaches Optio in
// the frame), the signed-in pages Spark's SSO lands on may also be framed
// by SPARK_ALLOWED_ORIGINS.
//
// A browser an LTI platform launched may be framed by that platform on the
// pages the launch leads to (ltiCSP).
func (s *Server) pageCSP(r *http.Request) string {
	path := r.URL.Path
	if csp := s.ltiCSP(r); csp != "" {
		return csp
	}
	if s.Config.CookieSameSiteNone && sparkFramable(path) {
		return s.embedCSP()
	}
	return selfCSP
}

// sparkFramable reports whether path is one of the pages a Spark iframe
// shows after SSO: /spark/sso itself and its account-switch confirmation
// (so their pages show in the frame),
// the landings (/dashboard, /parent, /tutor, /badges, /portfolio/{slug})
// and the tutor's conversation pages, where asking a question leads.
func sparkFramable(path string) bool {
	switch path {
	case "/spark/sso", "/spark/sso/confirm", "/dashboard", "/parent", "/tutor", "/badges":
		return true
	}
	for _, prefix := range []string{"/portfolio/", "/tutor/"} {
		if rest, ok := strings.CutPrefix(path, prefix); ok {
			return rest != "" && !strings.Contains(rest, "/")
		}
	}
	return false
}
