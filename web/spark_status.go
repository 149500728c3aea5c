package web

import (
	"net/http"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
)

func (s *Server) sparkStatusRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /spark/api/submissions/{spark_user_id}/{spark_assignment_id}", s.handleSparkSubmissionStatus)
}

// handleSparkSubmissionStatus lets Spark learn how the sync of a submission
// went. Spark signs the request as it signs webhooks (Standard Webhooks,
// SPARK_WEBHOOK_SECRET) with the request URI — path and query — as the
// signed content, since a GET has no body: no second secret to share, and
// rotation works as for webhooks.
func (s *Server) handleSparkSubmissionStatus(w http.ResponseWriter, r *http.Request) {
	if len(s.Config.SparkWebhookSecrets) == 0 {
		s.Error(w, r, optio.Errorf(spark.EWebhookNotConfigured, "The status API is not configured: set SPARK_WEBHOOK_SECRET."))
		return
	}
	v := spark.WebhookVerifier{Secrets: s.Config.SparkWebhookSecrets, Clock: s.Clock}
	if _, _, err := v.Verify(r.Header, []byte(r.URL.RequestURI())); err != nil {
		s.Error(w, r, err)
		return
	}
	st, err := s.Store.SparkSubmissionStatus(r.Context(), r.PathValue("spark_user_id"), r.PathValue("spark_assignment_id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, st)
}
