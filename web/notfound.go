package web

import (
	"net/http"

	"github.com/optio-edu/optio"
)

// withNotFound answers a path no route serves the way every other miss is
// answered (Server.Error): the styled 404 page for browsers, JSON under
// /api/ and for API clients, rather than the mux's plain-text line. A path
// that another method serves still gets the mux's 405.
func (s *Server) withNotFound(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" && !servedByAnotherMethod(mux, r) {
			s.Error(w, r, optio.Errorf(optio.ENOTFOUND, "There is no page at this address."))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// servedByAnotherMethod reports whether a route serves r's path with a
// method other than r's, which makes the answer a 405, not a 404.
func servedByAnotherMethod(mux *http.ServeMux, r *http.Request) bool {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" {
			return true
		}
	}
	return false
}
