package web

import (
	"net/http"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/tutor"
)

// tutorModeOption is one choice in the page's mode picker.
type tutorModeOption struct {
	Value, Label string
}

// tutorPage is the chat page: the student's conversations, the open one
// and the form to continue it. It works without JavaScript; tutor.js
// streams answers when it can.
type tutorPage struct {
	Configured    bool
	NotConfigured string
	Modes         []tutorModeOption
	Conversations []optio.TutorConversation
	Current       *optio.TutorConversation
	Error         string
	Draft         string
	MaxRunes      int
}

func (s *Server) tutorPageData(r *http.Request, current string) (*tutorPage, error) {
	u := userOf(r)
	p := &tutorPage{Configured: s.tutorConfigured(), NotConfigured: tutor.NotConfiguredMessage, MaxRunes: tutor.MaxMessageRunes}
	for _, m := range tutor.Modes {
		p.Modes = append(p.Modes, tutorModeOption{Value: string(m), Label: modeLabels[m]})
	}
	var err error
	if p.Conversations, err = s.Store.TutorConversations(r.Context(), u.ID); err != nil {
		return nil, err
	}
	if current != "" {
		if p.Current, err = s.Store.TutorConversation(r.Context(), u.ID, current); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (s *Server) renderTutor(w http.ResponseWriter, r *http.Request, status int, p *tutorPage) {
	title := "Tutor"
	if p.Current != nil && p.Current.Title != "" {
		title = p.Current.Title + " · Tutor"
	}
	s.renderStatus(w, r, status, "tutor", pageData{Title: title, Data: p})
}

func (s *Server) handleTutorPage(w http.ResponseWriter, r *http.Request) {
	p, err := s.tutorPageData(r, r.PathValue("id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.renderTutor(w, r, http.StatusOK, p)
}

func (s *Server) handleTutorCreateForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	c, err := s.createTutorConversation(r.Context(), userOf(r), tutorCreateRequest{Mode: r.PostFormValue("mode"),
		QuestID: r.PostFormValue("quest_id"), TaskID: r.PostFormValue("task_id")})
	if err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/tutor/"+c.ID, http.StatusSeeOther)
}

// handleTutorMessageForm is the no-JavaScript path: the whole answer, then
// back to the conversation. A failure shows the page again with the message
// kept and the reason, under the error's status.
func (s *Server) handleTutorMessageForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 32<<10)
	text := r.PostFormValue("text")
	id := r.PathValue("id")
	turn, _, err := s.askTutor(r.Context(), userOf(r), id, text, func(string) error { return nil })
	if err != nil {
		code := optio.ErrorCode(err)
		if code == optio.ENOTFOUND || statusOf(code) == http.StatusInternalServerError {
			s.Error(w, r, err)
			return
		}
		p, perr := s.tutorPageData(r, id)
		if perr != nil {
			s.Error(w, r, perr)
			return
		}
		p.Error, p.Draft = optio.ErrorMessage(err), text
		s.renderTutor(w, r, statusOf(code), p)
		return
	}
	http.Redirect(w, r, "/tutor/"+id+"#m-"+turn.Answer.ID, http.StatusSeeOther)
}
