package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/optio-edu/optio"
)

// parentChild is one child's section of /parent: the dashboard, plus the
// tutor's flagged exchanges and daily limit (API: /api/parent/students/{id}/tutor/…).
type parentChild struct {
	*ParentDashboard
	Tutor parentTutor
	// Visibility is the child's portfolio visibility form.
	Visibility visibilityForm
	// Privacy is the child's export and deletion box.
	Privacy *privacyPanel
	// XPThisWeek and NextDue fill the summary row at the top of the section.
	XPThisWeek int
	NextDue    *optio.AssignmentStatus
}

// parentTutor is what a parent sees and sets of a child's AI tutor.
type parentTutor struct {
	Flagged []optio.TutorFlaggedExchange
	Limit   tutorLimitView
	Max     int
}

// parentTutorFor reads a linked child's flagged exchanges and daily limit.
func (s *Server) parentTutorFor(ctx context.Context, parentID, studentID string) (parentTutor, error) {
	xs, err := s.Store.TutorFlaggedExchanges(ctx, parentID, studentID)
	if err != nil {
		return parentTutor{}, err
	}
	l, err := s.parentTutorLimit(ctx, parentID, studentID)
	if err != nil {
		return parentTutor{}, err
	}
	return parentTutor{Flagged: xs, Limit: l, Max: optio.MaxTutorDailyLimit}, nil
}

// handleTutorLimitForm sets a child's daily tutor limit from the /parent
// page (0 pauses the tutor) and returns to the child's section.
func (s *Server) handleTutorLimitForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	id := r.PathValue("id")
	n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("daily_limit")))
	if err != nil {
		s.Error(w, r, &optio.Error{Code: optio.EINVALID, Message: "The daily limit must be a whole number.",
			Fields: map[string]string{"daily_limit": "must be a number from 0 to " + strconv.Itoa(optio.MaxTutorDailyLimit)}})
		return
	}
	if err := s.Store.SetTutorDailyLimit(r.Context(), userOf(r).ID, id, n); err != nil {
		s.Error(w, r, err)
		return
	}
	msg := "Tutor limit saved: " + strconv.Itoa(n) + " messages a day."
	if n == 0 {
		msg = "The tutor is paused."
	}
	http.Redirect(w, r, "/parent?flash="+url.QueryEscape(msg)+"#child-"+url.PathEscape(id), http.StatusSeeOther)
}
