package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// MetricsHandler serves /metrics for the separate metrics listener
// (OPTIO_METRICS_ADDR): open to whoever can reach that address, unless
// OPTIO_METRICS_TOKEN is set, which it then requires too.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metricsAuth(s.metricsHandler, true))
	return mux
}

// metricsAuth guards /metrics. On the main listener (public) it answers
// 404, as if there were no such page, unless the request carries the
// configured bearer token: series names, route patterns and counts are
// operational detail a stranger should not read. On the metrics listener
// (open) a missing token configuration lets every request through.
func (s *Server) metricsAuth(next http.Handler, open bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := s.Config.MetricsToken
		switch {
		case token == "" && open:
		case token == "":
			http.NotFound(w, r)
			return
		case !bearerMatches(r, token):
			if open {
				w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
			} else {
				http.NotFound(w, r)
			}
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearerMatches compares the request's bearer token with want in constant
// time (hashes first, so the length does not leak either).
func bearerMatches(r *http.Request, want string) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	g, w := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
