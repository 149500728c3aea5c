package web

import (
	"net/http"

	"github.com/optio-edu/optio"
)

// portfolioAdminRoutes are the admin's setting of the visibility new Spark
// students get: a page with a form, and the same as JSON.
func (s *Server) portfolioAdminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/portfolio-default", s.requirePageRole(s.handlePortfolioDefaultPage, optio.RoleAdmin))
	mux.HandleFunc("POST /admin/portfolio-default", s.requirePageRole(s.handlePortfolioDefaultForm, optio.RoleAdmin))
	mux.HandleFunc("GET /api/admin/portfolio-default", s.requireRole(s.handlePortfolioDefaultJSON, optio.RoleAdmin))
	mux.HandleFunc("PUT /api/admin/portfolio-default", s.requireRole(s.handlePortfolioDefaultPut, optio.RoleAdmin))
	mux.HandleFunc("PUT /api/parent/students/{id}/portfolio-visibility", s.requireRole(s.handleParentVisibility, optio.RoleParent))
}

// handleParentVisibility lets a linked parent choose who sees their child's
// portfolio, as the student can (audited). Anyone else: 404.
func (s *Server) handleParentVisibility(w http.ResponseWriter, r *http.Request) {
	var in portfolioDefault
	if err := decodeJSON(w, r, 4<<10, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	studentID := r.PathValue("id")
	a, err := s.accessTo(r.Context(), userOf(r), studentID)
	if err != nil || !a.parent {
		s.Error(w, r, errOr(err, errNoChild))
		return
	}
	if !in.Visibility.Valid() {
		s.Error(w, r, &optio.Error{Code: optio.EINVALID, Message: "The visibility is not valid.",
			Fields: map[string]string{"visibility": "must be public, unlisted, school or private"}})
		return
	}
	if _, err := s.Store.UpdateProfile(r.Context(), studentID, optio.ProfileUpdate{Visibility: &in.Visibility}); err != nil {
		s.Error(w, r, err)
		return
	}
	s.audit(r, "parent.portfolio_visibility", studentID, map[string]any{"visibility": in.Visibility})
	writeJSON(w, http.StatusOK, in)
}

func errOr(err error, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

type portfolioDefault struct {
	Visibility optio.Visibility `json:"visibility"`
}

func (s *Server) handlePortfolioDefaultPage(w http.ResponseWriter, r *http.Request) {
	v, err := s.Store.SparkDefaultVisibility(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.render(w, r, "admin_portfolio", pageData{Title: "Portfolio visibility for new Spark students", Data: portfolioDefault{v}})
}

func (s *Server) handlePortfolioDefaultForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := s.Store.SetSparkDefaultVisibility(r.Context(), userOf(r).ID, optio.Visibility(r.PostFormValue("visibility"))); err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/portfolio-default?flash=Saved", http.StatusSeeOther)
}

func (s *Server) handlePortfolioDefaultJSON(w http.ResponseWriter, r *http.Request) {
	v, err := s.Store.SparkDefaultVisibility(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, portfolioDefault{v})
}

func (s *Server) handlePortfolioDefaultPut(w http.ResponseWriter, r *http.Request) {
	var in portfolioDefault
	if err := decodeJSON(w, r, 4<<10, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	if err := s.Store.SetSparkDefaultVisibility(r.Context(), userOf(r).ID, in.Visibility); err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, in)
}
