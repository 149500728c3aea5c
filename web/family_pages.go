package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/optio-edu/optio"
)

func init() {
	// dict passes several values to a partial: {{template "comments" dict "Comments" .Comments "Next" "/parent"}}.
	funcs["dict"] = func(kv ...any) map[string]any {
		m := make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			if k, ok := kv[i].(string); ok {
				m[k] = kv[i+1]
			}
		}
		return m
	}
}

// familyPageRoutes are the server-rendered pages of the family features:
// /parent for parents, /family for students, /observer for observers.
func (s *Server) familyPageRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /parent", s.requirePageRole(s.handleParentPage, optio.RoleParent))
	mux.HandleFunc("POST /parent/links", s.requirePageRole(s.handleParentLinkForm, optio.RoleParent))
	mux.HandleFunc("POST /parent/students/{id}/consent", s.requirePageRole(s.handleConsentForm, optio.RoleParent))
	mux.HandleFunc("POST /parent/students/{id}/invitations", s.requirePageRole(s.handleInvitationForm, optio.RoleParent))
	mux.HandleFunc("GET /family", s.requirePageRole(s.handleFamilyPage, optio.RoleStudent))
	mux.HandleFunc("POST /family/link-codes", s.requirePageRole(s.handleLinkCodeForm, optio.RoleStudent))
	mux.HandleFunc("POST /family/invitations", s.requirePageRole(s.handleInvitationForm, optio.RoleStudent))
	mux.HandleFunc("POST /observers/{id}/revoke", s.requirePageRole(s.handleRevokeObserverForm, optio.RoleStudent, optio.RoleParent))
	mux.HandleFunc("POST /comments/{id}/hide", s.requirePageRole(s.handleHideCommentForm, optio.RoleStudent, optio.RoleParent))
	mux.HandleFunc("GET /observer", s.requirePageRole(s.handleObserverPage, optio.RoleObserver))
	mux.HandleFunc("GET /observer/students/{id}", s.requirePageRole(s.handleObserverStudentPage, optio.RoleObserver))
	mux.HandleFunc("POST /observer/completions/{id}/comments", s.requirePageRole(s.handleCommentForm, optio.RoleObserver))
	mux.HandleFunc("GET /observer/accept", s.handleAcceptPage)
	mux.HandleFunc("POST /observer/accept", s.requirePageRole(s.handleAcceptForm, optio.RoleObserver))
}

// parentPage is the data of /parent.
type parentPage struct {
	Children  []parentChild
	LinkError string
}

func (s *Server) renderParentPage(w http.ResponseWriter, r *http.Request, status int, linkError string) {
	u := userOf(r)
	kids, err := s.Store.ChildrenOf(r.Context(), u.ID)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	p := parentPage{LinkError: linkError}
	for i := range kids {
		d, err := s.parentDashboard(r.Context(), &kids[i])
		if err != nil {
			s.Error(w, r, err)
			return
		}
		t, err := s.parentTutorFor(r.Context(), u.ID, kids[i].ID)
		if err != nil {
			s.Error(w, r, err)
			return
		}
		week, err := s.Store.XPSince(r.Context(), kids[i].ID, s.now().Add(-optio.RhythmWindow))
		if err != nil {
			s.Error(w, r, err)
			return
		}
		panel, err := s.privacyPanelFor(r.Context(), u, kids[i].ID)
		if err != nil {
			s.Error(w, r, err)
			return
		}
		p.Children = append(p.Children, parentChild{ParentDashboard: d, Tutor: t, Privacy: panel,
			Visibility: visibilityFormFor(&kids[i], s.now(), true), XPThisWeek: week, NextDue: nextDue(d.Upcoming)})
		s.audit(r, "parent.view_dashboard", kids[i].ID, map[string]any{"page": "/parent"})
	}
	s.renderStatus(w, r, status, "parent", pageData{Title: "Family", Data: p})
}

// nextDue is the soonest upcoming assignment with a due date, or nil;
// upcoming is sorted by due date with undated ones last.
func nextDue(upcoming []optio.AssignmentStatus) *optio.AssignmentStatus {
	if len(upcoming) == 0 || upcoming[0].DueAt == nil {
		return nil
	}
	return &upcoming[0]
}

func (s *Server) handleParentPage(w http.ResponseWriter, r *http.Request) {
	s.renderParentPage(w, r, http.StatusOK, "")
}

func (s *Server) handleParentLinkForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	in := codeRequest{Code: r.PostFormValue("code")}
	err := in.validate()
	if err == nil {
		_, err = s.redeemLinkCode(w, r, in.Code)
	}
	if err != nil {
		if statusOf(optio.ErrorCode(err)) >= 500 {
			s.Error(w, r, err)
			return
		}
		s.renderParentPage(w, r, statusOf(optio.ErrorCode(err)), optio.ErrorMessage(err))
		return
	}
	http.Redirect(w, r, "/parent?flash="+url.QueryEscape("Your child is linked."), http.StatusSeeOther)
}

func (s *Server) handleConsentForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	consent := r.PostFormValue("consent") == "yes"
	if _, err := s.setConsent(r, r.PathValue("id"), consentRequest{Consent: &consent, BirthDate: r.PostFormValue("birth_date")}); err != nil {
		s.Error(w, r, err)
		return
	}
	msg := "Consent withdrawn: the portfolio is not public."
	if consent {
		msg = "Consent given: the portfolio may be public."
	}
	http.Redirect(w, r, "/parent?flash="+url.QueryEscape(msg)+"#child-"+r.PathValue("id"), http.StatusSeeOther)
}

// invitationPage shows a new invitation's code and link, once.
type invitationPage struct {
	Invitation *optio.ObserverInvitation
	AcceptURL  string
	Back       string
}

func (s *Server) handleInvitationForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	in := optio.NewInvitation{StudentID: r.PathValue("id"), CanComment: r.PostFormValue("can_comment") == "yes", Note: r.PostFormValue("note")}
	if v := r.PostFormValue("expires_in_days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			n = -1
		}
		in.ExpiresInDays = n
	}
	inv, err := s.createInvitation(r, in)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	back := "/family"
	if userOf(r).Role == optio.RoleParent {
		back = "/parent#child-" + inv.StudentID
	}
	s.renderStatus(w, r, http.StatusCreated, "invitation", pageData{Title: "Invitation ready",
		Data: invitationPage{Invitation: inv, AcceptURL: s.acceptURL(inv.Code), Back: back}})
}

// familyPage is the data of /family, the student's own view of their
// parents' link code, observers and the comments on their work.
type familyPage struct {
	LinkCode  *optio.LinkCode
	Observers []optio.ObserverLink
	Work      []commentedWork
}

func (s *Server) renderFamilyPage(w http.ResponseWriter, r *http.Request, status int, lc *optio.LinkCode) {
	u := userOf(r)
	obs, err := s.Store.ObserverLinksOf(r.Context(), u.ID)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	work, err := s.recentWork(r.Context(), u.ID, true, true)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.renderStatus(w, r, status, "family", pageData{Title: "Family & observers", Data: familyPage{LinkCode: lc, Observers: obs, Work: work}})
}

func (s *Server) handleFamilyPage(w http.ResponseWriter, r *http.Request) {
	s.renderFamilyPage(w, r, http.StatusOK, nil)
}

func (s *Server) handleLinkCodeForm(w http.ResponseWriter, r *http.Request) {
	lc, err := s.Store.CreateLinkCode(r.Context(), userOf(r).ID)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.renderFamilyPage(w, r, http.StatusCreated, lc)
}

// backTo is where a family form returns: the form's next field when it is a
// same-origin path, else the user's home.
func backTo(r *http.Request, flash string) string {
	dest := safeNext(r.PostFormValue("next"))
	if dest == "" {
		dest = homeFor(userOf(r))
		if userOf(r).Role == optio.RoleStudent {
			dest = "/family"
		}
	}
	u, err := url.Parse(dest)
	if err != nil {
		return "/"
	}
	q := u.Query()
	q.Set("flash", flash)
	u.RawQuery = q.Encode()
	return u.String()
}

func (s *Server) handleRevokeObserverForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	l, err := s.revokeObserver(r, r.PathValue("id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, backTo(r, l.ObserverName+" no longer follows "+l.StudentName+"."), http.StatusSeeOther)
}

func (s *Server) handleHideCommentForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if _, err := s.hideComment(r, r.PathValue("id")); err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, backTo(r, "Comment hidden."), http.StatusSeeOther)
}

func (s *Server) handleObserverPage(w http.ResponseWriter, r *http.Request) {
	links, err := s.Store.FollowedBy(r.Context(), userOf(r).ID)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.render(w, r, "observer", pageData{Title: "Following", Data: links})
}

// observerStudentPage is what an observer sees of one student they follow:
// recent work (public evidence only) and its visible comments.
type observerStudentPage struct {
	Link  *optio.ObserverLink
	Work  []commentedWork
	Error string
}

func (s *Server) renderObserverStudent(w http.ResponseWriter, r *http.Request, status int, studentID, formError string) {
	st, a, err := s.student(r.Context(), userOf(r), studentID)
	if err == nil && a.observer == nil {
		err = errNoChild
	}
	if err != nil {
		s.Error(w, r, err)
		return
	}
	work, err := s.recentWork(r.Context(), st.ID, false, false)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.auditView(r, a, "work", st.ID)
	s.renderStatus(w, r, status, "observer_student", pageData{Title: st.DisplayName(),
		Data: observerStudentPage{Link: a.observer, Work: work, Error: formError}})
}

func (s *Server) handleObserverStudentPage(w http.ResponseWriter, r *http.Request) {
	s.renderObserverStudent(w, r, http.StatusOK, r.PathValue("id"), "")
}

func (s *Server) handleCommentForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	cm, c, err := s.addComment(r, r.PathValue("id"), r.PostFormValue("body"))
	if err != nil {
		if code := optio.ErrorCode(err); c != nil && (code == optio.EINVALID || code == optio.ERATELIMIT) {
			s.renderObserverStudent(w, r, statusOf(code), c.Completion.UserID, optio.ErrorMessage(err))
			return
		}
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/observer/students/"+cm.StudentID+"?flash="+url.QueryEscape("Comment posted.")+"#work-"+cm.CompletionID, http.StatusSeeOther)
}

// acceptPage is the data of /observer/accept.
type acceptPage struct {
	Code  string
	Next  string
	Error string
}

func (s *Server) handleAcceptPage(w http.ResponseWriter, r *http.Request) {
	code := optio.NormalizeCode(r.URL.Query().Get("code"))
	if len(code) > 64 {
		code = ""
	}
	s.render(w, r, "observer_accept", pageData{Title: "Accept invitation",
		Data: acceptPage{Code: code, Next: "/observer/accept?code=" + url.QueryEscape(code)}})
}

func (s *Server) handleAcceptForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	in := codeRequest{Code: r.PostFormValue("code")}
	err := in.validate()
	var l *optio.ObserverLink
	if err == nil {
		l, err = s.acceptInvitation(w, r, in.Code)
	}
	if err != nil {
		status := statusOf(optio.ErrorCode(err))
		if status >= 500 {
			s.Error(w, r, err)
			return
		}
		code := optio.NormalizeCode(in.Code)
		s.renderStatus(w, r, status, "observer_accept", pageData{Title: "Accept invitation",
			Data: acceptPage{Code: code, Next: "/observer/accept?code=" + url.QueryEscape(code), Error: optio.ErrorMessage(err)}})
		return
	}
	http.Redirect(w, r, "/observer?flash="+url.QueryEscape("You now follow "+l.StudentName+"."), http.StatusSeeOther)
}
