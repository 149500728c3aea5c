package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/lti"
)

// LMS platform registration by an administrator (/admin/lti): the same
// validation (optio.LTIPlatform.Normalize) as `optio lti platform add`.

type ltiAdmin struct {
	Platforms []optio.LTIPlatform
	Courses   []optio.LTICourse
	Tool      map[string]string // the URLs a platform admin enters
	Form      optio.LTIPlatform
	Deps      string
	Error     *optio.Error
}

func (s *Server) ltiToolURLs() map[string]string {
	b := s.baseURL()
	return map[string]string{"Login (OIDC initiation) URL": b + lti.LoginPath, "Redirect / launch URL": b + lti.LaunchPath,
		"Public keyset (JWKS) URL": b + lti.JWKSPath, "Dynamic registration URL": b + lti.RegisterPath}
}

func (s *Server) handleLTIAdminPage(w http.ResponseWriter, r *http.Request) {
	s.renderLTIAdmin(w, r, http.StatusOK, ltiAdmin{})
}

func (s *Server) renderLTIAdmin(w http.ResponseWriter, r *http.Request, status int, d ltiAdmin) {
	ps, err := s.Store.LTIPlatforms(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	cs, err := s.Store.LTICourses(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	d.Platforms, d.Courses, d.Tool = ps, cs, s.ltiToolURLs()
	s.renderStatus(w, r, status, "lti_admin", pageData{Title: "LMS platforms (LTI 1.3)", Data: d})
}

func (s *Server) handleLTIAddPlatformForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	p := optio.LTIPlatform{Issuer: r.PostFormValue("issuer"), ClientID: r.PostFormValue("client_id"),
		DeploymentIDs: []string{r.PostFormValue("deployment_ids")}, AuthURL: r.PostFormValue("auth_url"),
		TokenURL: r.PostFormValue("token_url"), JWKSURL: r.PostFormValue("jwks_url"), FrameOrigin: r.PostFormValue("frame_origin")}
	err := p.Normalize(!s.Config.SecureCookies())
	var created *optio.LTIPlatform
	if err == nil {
		created, err = s.Store.CreateLTIPlatform(r.Context(), p)
	}
	if e, ok := err.(*optio.Error); ok && (e.Code == optio.EINVALID || e.Code == optio.ECONFLICT) {
		s.renderLTIAdmin(w, r, statusOf(e.Code), ltiAdmin{Form: p, Deps: r.PostFormValue("deployment_ids"), Error: e})
		return
	}
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.ltiFrames.mu.Lock()
	s.ltiFrames.origins = nil // frame this platform's launches at once on this process
	s.ltiFrames.mu.Unlock()
	http.Redirect(w, r, "/admin/lti?flash="+url.QueryEscape("Registered "+created.Issuer+" (client "+created.ClientID+")."), http.StatusSeeOther)
}

func (s *Server) handleLTIDeletePlatformForm(w http.ResponseWriter, r *http.Request) {
	p, err := s.Store.LTIPlatformByID(r.Context(), r.PathValue("id"))
	if err == nil {
		err = s.Store.DeleteLTIPlatform(r.Context(), p.ID)
	}
	if err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/lti?flash="+url.QueryEscape("Removed "+strings.TrimSpace(p.Issuer)+" (client "+p.ClientID+")."), http.StatusSeeOther)
}
