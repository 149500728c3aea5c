package web

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/optio-edu/optio"
)

// familyRoutes are the parent dashboard, parent links, observers and their
// comments (capabilities 5 and 6). Every handler checks the relationship to
// the child, not just the role.
func (s *Server) familyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/student/link-codes", s.requireRole(s.handleCreateLinkCode, optio.RoleStudent))
	mux.HandleFunc("POST /api/parent/links", s.requireRole(s.handleRedeemLinkCode, optio.RoleParent))
	mux.HandleFunc("GET /api/parent/links", s.requireRole(s.handleParentLinks, optio.RoleParent))
	mux.HandleFunc("POST /api/admin/parent-links", s.requireRole(s.handleAdminLinkParent, optio.RoleAdmin))
	mux.HandleFunc("DELETE /api/admin/parent-links/{parent_id}/{student_id}", s.requireRole(s.handleAdminUnlinkParent, optio.RoleAdmin))
	mux.HandleFunc("GET /api/parent/students/{id}/dashboard", s.requireRole(s.handleParentDashboard, optio.RoleParent, optio.RoleAdmin))
	mux.HandleFunc("POST /api/parent/students/{id}/consent", s.requireRole(s.handleParentConsent, optio.RoleParent))
	mux.HandleFunc("POST /api/observer-invitations", s.requireRole(s.handleCreateInvitation, optio.RoleStudent, optio.RoleParent))
	mux.HandleFunc("POST /api/observer-invitations/accept", s.requireRole(s.handleAcceptInvitation, optio.RoleObserver))
	mux.HandleFunc("GET /api/students/{id}/observers", s.requireUser(s.handleListObservers))
	mux.HandleFunc("DELETE /api/observers/{id}", s.requireUser(s.handleRevokeObserver))
	mux.HandleFunc("GET /api/observer/students", s.requireRole(s.handleFollowing, optio.RoleObserver))
	mux.HandleFunc("POST /api/completions/{id}/comments", s.requireUser(s.handleAddComment))
	mux.HandleFunc("GET /api/completions/{id}/comments", s.requireUser(s.handleListComments))
	mux.HandleFunc("POST /api/comments/{id}/hide", s.requireUser(s.handleHideComment))

	s.familyPageRoutes(mux)
}

// access is what one signed-in user may do with one student's data.
type access struct {
	self, parent, admin bool
	observer            *optio.ObserverLink // active link, or nil
}

// family reports whether the user is the student or a linked parent: the
// people who manage observers and comments.
func (a access) family() bool { return a.self || a.parent }

// any reports whether the user has any relationship to the student.
func (a access) any() bool { return a.self || a.parent || a.admin || a.observer != nil }

// errNoChild is the answer to any request about a student the caller has no
// relationship with: the same as for a student who does not exist.
var errNoChild = &optio.Error{Code: optio.ENOTFOUND, Message: "Student not found."}

// accessTo works out u's relationship to studentID.
func (s *Server) accessTo(ctx context.Context, u *optio.User, studentID string) (access, error) {
	a := access{self: u.ID == studentID && u.Role == optio.RoleStudent, admin: u.Role == optio.RoleAdmin}
	if a.self || a.admin {
		return a, nil
	}
	rel, err := s.Store.RelationshipOf(ctx, u.ID, studentID)
	if err != nil {
		return a, err
	}
	a.parent = rel.Parent && u.Role == optio.RoleParent
	if u.Role == optio.RoleObserver {
		a.observer = rel.Observer
	}
	return a, nil
}

// student loads a student the caller is related to; anyone else (or a
// non-student id) gets errNoChild.
func (s *Server) student(ctx context.Context, u *optio.User, id string) (*optio.User, access, error) {
	a, err := s.accessTo(ctx, u, id)
	if err != nil {
		return nil, a, err
	}
	if !a.any() {
		return nil, a, errNoChild
	}
	st, err := s.Store.UserByID(ctx, id)
	if err != nil || st.Role != optio.RoleStudent {
		if err != nil && optio.ErrorCode(err) != optio.ENOTFOUND {
			return nil, a, err
		}
		return nil, a, errNoChild
	}
	return st, a, nil
}

func (s *Server) audit(r *http.Request, action, subjectID string, detail map[string]any) {
	if err := s.Store.Audit(r.Context(), userOf(r).ID, action, subjectID, detail); err != nil {
		s.Logger.ErrorContext(r.Context(), "audit", "action", action, "error", err)
	}
}

// auditView records that a parent, observer or admin looked at a child's data.
func (s *Server) auditView(r *http.Request, a access, what, studentID string) {
	switch {
	case a.parent:
		s.audit(r, "parent.view_"+what, studentID, nil)
	case a.observer != nil:
		s.audit(r, "observer.view_"+what, studentID, map[string]any{"link_id": a.observer.ID})
	case a.admin:
		s.audit(r, "admin.view_"+what, studentID, nil)
	}
}

func (s *Server) handleCreateLinkCode(w http.ResponseWriter, r *http.Request) {
	lc, err := s.Store.CreateLinkCode(r.Context(), userOf(r).ID)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, lc)
}

type codeRequest struct {
	Code string `json:"code"`
}

func (c codeRequest) validate() error {
	f := optio.FieldErrors{}
	if n := len(optio.NormalizeCode(c.Code)); n == 0 || n > 64 {
		f.Add("code", "is required")
	}
	return f.Err(optio.EINVALID, "Enter the code you were given.")
}

func (s *Server) handleRedeemLinkCode(w http.ResponseWriter, r *http.Request) {
	var in codeRequest
	if err := decodeJSON(w, r, 4<<10, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	if err := in.validate(); err != nil {
		s.Error(w, r, err)
		return
	}
	l, err := s.redeemLinkCode(w, r, in.Code)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, l)
}

// handleParentLinks lists the signed-in parent's own links (a parent from
// Spark SSO has no other way to find their children's ids).
func (s *Server) handleParentLinks(w http.ResponseWriter, r *http.Request) {
	kids, err := s.Store.LinkedChildren(r.Context(), userOf(r).ID)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"links": kids})
}

func (s *Server) handleAdminLinkParent(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ParentID  string `json:"parent_id"`
		StudentID string `json:"student_id"`
	}
	if err := decodeJSON(w, r, 4<<10, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	l, err := s.Store.LinkParent(r.Context(), userOf(r).ID, in.ParentID, in.StudentID, optio.LinkedViaAdmin)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, l)
}

func (s *Server) handleAdminUnlinkParent(w http.ResponseWriter, r *http.Request) {
	if err := s.Store.UnlinkParent(r.Context(), userOf(r).ID, r.PathValue("parent_id"), r.PathValue("student_id")); err != nil {
		s.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ParentDashboard is the read-only view of one child a parent sees.
type ParentDashboard struct {
	Student    childSummary                `json:"student"`
	Rhythm     optio.RhythmStatus          `json:"rhythm"`
	Courses    []optio.StudentCourseStatus `json:"courses"`
	Upcoming   []optio.AssignmentStatus    `json:"upcoming"`
	Overdue    []optio.AssignmentStatus    `json:"overdue"`
	Submitted  []optio.AssignmentStatus    `json:"submitted"`
	RecentWork []commentedWork             `json:"recent_work"`
	XP         *optio.XPSummary            `json:"xp"`
	Badges     []optio.BadgeProgress       `json:"badges"`
	Observers  []optio.ObserverLink        `json:"observers"`
}

// childSummary is the part of a student's account their family sees.
type childSummary struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	PortfolioSlug string     `json:"portfolio_slug"`
	Visibility    string     `json:"portfolio_visibility"`
	BirthDate     *time.Time `json:"birth_date,omitempty"`
	Minor         bool       `json:"minor"`
	ParentConsent bool       `json:"parent_consent"`
	// BirthDateFact and ConsentFact say who recorded them, and when.
	BirthDateFact *optio.FactSource `json:"birth_date_recorded,omitempty"`
	ConsentFact   *optio.FactSource `json:"parent_consent_recorded,omitempty"`
}

// childSummaryOf is the family's view of a student's account.
func childSummaryOf(st *optio.User, now time.Time) childSummary {
	return childSummary{ID: st.ID, Name: st.DisplayName(), PortfolioSlug: st.PortfolioSlug, Visibility: string(st.Visibility),
		BirthDate: st.BirthDate, Minor: st.IsMinor(now), ParentConsent: st.ParentConsent, BirthDateFact: st.BirthDateFact, ConsentFact: st.ConsentFact}
}

// commentedWork is a completed piece of work with the comments on it.
type commentedWork struct {
	optio.CompletionView
	Comments []optio.Comment `json:"comments"`
}

const recentWorkLimit = 10

// parentDashboard gathers everything a parent sees about one child.
func (s *Server) parentDashboard(ctx context.Context, st *optio.User) (*ParentDashboard, error) {
	now := s.now()
	act, err := s.Store.StudentActivity(ctx, st.ID)
	if err != nil {
		return nil, err
	}
	d := &ParentDashboard{
		Student: childSummaryOf(st, now),
		Courses: act.Courses, Upcoming: []optio.AssignmentStatus{}, Overdue: []optio.AssignmentStatus{}, Submitted: []optio.AssignmentStatus{},
		RecentWork: []commentedWork{}, Badges: []optio.BadgeProgress{},
	}
	for _, a := range act.Assignments {
		switch {
		case a.SubmittedAt != nil:
			d.Submitted = append(d.Submitted, a)
		case a.Overdue(now):
			d.Overdue = append(d.Overdue, a)
		default:
			d.Upcoming = append(d.Upcoming, a)
		}
	}
	byDue := func(list []optio.AssignmentStatus) {
		sort.SliceStable(list, func(i, j int) bool {
			a, b := list[i].DueAt, list[j].DueAt
			if a == nil || b == nil {
				return a != nil
			}
			return a.Before(*b)
		})
	}
	byDue(d.Upcoming)
	byDue(d.Overdue)
	sort.SliceStable(d.Submitted, func(i, j int) bool { return d.Submitted[i].SubmittedAt.After(*d.Submitted[j].SubmittedAt) })
	last, kind := act.Latest()
	d.Rhythm = optio.Rhythm(now, last, kind, len(d.Overdue))

	if d.RecentWork, err = s.recentWork(ctx, st.ID, true, true); err != nil {
		return nil, err
	}
	if d.XP, err = s.Store.XPSummary(ctx, st.ID); err != nil {
		return nil, err
	}
	if s.BadgeProgress != nil {
		b, err := s.BadgeProgress(ctx, st.ID)
		if err != nil {
			return nil, err
		}
		if b != nil {
			d.Badges = b
		}
	}
	if d.Observers, err = s.Store.ObserverLinksOf(ctx, st.ID); err != nil {
		return nil, err
	}
	return d, nil
}

// recentWork lists a student's latest completions with their comments.
// Family see hidden comments and private evidence; observers do not.
func (s *Server) recentWork(ctx context.Context, studentID string, family, includeHidden bool) ([]commentedWork, error) {
	cs, err := s.Store.RecentCompletions(ctx, studentID, recentWorkLimit, 0)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.Completion.ID
	}
	comments, err := s.Store.CommentsOn(ctx, ids, includeHidden)
	if err != nil {
		return nil, err
	}
	byCompletion := map[string][]optio.Comment{}
	for _, c := range comments {
		byCompletion[c.CompletionID] = append(byCompletion[c.CompletionID], c)
	}
	out := make([]commentedWork, 0, len(cs))
	for _, c := range cs {
		if !family && c.Evidence != nil {
			c.Evidence = publicEvidence(c.Evidence)
		}
		list := byCompletion[c.Completion.ID]
		if list == nil {
			list = []optio.Comment{}
		}
		out = append(out, commentedWork{CompletionView: c, Comments: list})
	}
	return out, nil
}

// publicEvidence drops the blocks a student marked private.
func publicEvidence(doc *optio.EvidenceDocument) *optio.EvidenceDocument {
	cp := *doc
	cp.Blocks = make([]optio.EvidenceBlock, 0, len(doc.Blocks))
	for _, b := range doc.Blocks {
		if !b.Private {
			cp.Blocks = append(cp.Blocks, b)
		}
	}
	return &cp
}

func (s *Server) handleParentDashboard(w http.ResponseWriter, r *http.Request) {
	st, a, err := s.student(r.Context(), userOf(r), r.PathValue("id"))
	if err == nil && !a.parent && !a.admin {
		err = errNoChild
	}
	if err != nil {
		s.Error(w, r, err)
		return
	}
	d, err := s.parentDashboard(r.Context(), st)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.auditView(r, a, "dashboard", st.ID)
	writeJSON(w, http.StatusOK, d)
}

// consentRequest gives or withdraws consent to a minor's public portfolio,
// optionally with the child's birth date (YYYY-MM-DD).
type consentRequest struct {
	Consent   *bool  `json:"consent"`
	BirthDate string `json:"birth_date"`
}

func (c consentRequest) parse(now time.Time) (bool, *time.Time, error) {
	f := optio.FieldErrors{}
	if c.Consent == nil {
		f.Add("consent", "is required (true or false)")
	}
	var birth *time.Time
	if v := strings.TrimSpace(c.BirthDate); v != "" {
		t, err := time.Parse(time.DateOnly, v)
		switch {
		case err != nil:
			f.Add("birth_date", "must be a date like 2012-05-31")
		case t.After(now) || t.Before(now.AddDate(-120, 0, 0)):
			f.Add("birth_date", "must be a real birth date")
		default:
			birth = &t
		}
	}
	if err := f.Err(optio.EINVALID, "The consent form needs attention."); err != nil {
		return false, nil, err
	}
	return *c.Consent, birth, nil
}

func (s *Server) handleParentConsent(w http.ResponseWriter, r *http.Request) {
	var in consentRequest
	if err := decodeJSON(w, r, 4<<10, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	u, err := s.setConsent(r, r.PathValue("id"), in)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, childSummaryOf(u, s.now()))
}

func (s *Server) setConsent(r *http.Request, studentID string, in consentRequest) (*optio.User, error) {
	_, a, err := s.student(r.Context(), userOf(r), studentID)
	if err == nil && !a.parent {
		err = errNoChild
	}
	if err != nil {
		return nil, err
	}
	consent, birth, err := in.parse(s.now())
	if err != nil {
		return nil, err
	}
	return s.Store.SetParentConsent(r.Context(), userOf(r).ID, studentID, consent, birth)
}

func (s *Server) handleCreateInvitation(w http.ResponseWriter, r *http.Request) {
	var in optio.NewInvitation
	if err := decodeJSON(w, r, 8<<10, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	inv, err := s.createInvitation(r, in)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, invitationAnswer{ObserverInvitation: inv, AcceptURL: s.acceptURL(inv.Code)})
}

type invitationAnswer struct {
	*optio.ObserverInvitation
	AcceptURL string `json:"accept_url"`
}

func (s *Server) acceptURL(code string) string {
	return strings.TrimRight(s.Config.BaseURL, "/") + "/observer/accept?code=" + code
}

// createInvitation lets a student invite observers to follow them, and a
// parent to follow a linked child.
func (s *Server) createInvitation(r *http.Request, in optio.NewInvitation) (*optio.ObserverInvitation, error) {
	u := userOf(r)
	if u.Role == optio.RoleStudent && in.StudentID == "" {
		in.StudentID = u.ID
	}
	if in.StudentID == "" {
		return nil, &optio.Error{Code: optio.EINVALID, Message: "Choose the child to invite an observer for.",
			Fields: map[string]string{"student_id": "is required"}}
	}
	_, a, err := s.student(r.Context(), u, in.StudentID)
	if err == nil && !a.family() {
		err = errNoChild
	}
	if err != nil {
		return nil, err
	}
	in.CreatedBy = u.ID
	return s.Store.CreateInvitation(r.Context(), in)
}

func (s *Server) handleAcceptInvitation(w http.ResponseWriter, r *http.Request) {
	var in codeRequest
	if err := decodeJSON(w, r, 4<<10, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	if err := in.validate(); err != nil {
		s.Error(w, r, err)
		return
	}
	l, err := s.acceptInvitation(w, r, in.Code)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, l)
}

func (s *Server) handleListObservers(w http.ResponseWriter, r *http.Request) {
	st, a, err := s.student(r.Context(), userOf(r), r.PathValue("id"))
	if err == nil && !a.family() && !a.admin {
		err = &optio.Error{Code: optio.EFORBIDDEN, Message: "Only the student and their parents see who follows them."}
	}
	if err != nil {
		s.Error(w, r, err)
		return
	}
	links, err := s.Store.ObserverLinksOf(r.Context(), st.ID)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.auditView(r, a, "observers", st.ID)
	writeJSON(w, http.StatusOK, map[string]any{"observers": links})
}

// mayModerate is the one rule for moderating what observers do around a
// student: the student, a linked parent or an admin may; an observer is
// refused (403); anyone else is told the thing does not exist (404).
func (s *Server) mayModerate(r *http.Request, studentID, action, thing string) error {
	a, err := s.accessTo(r.Context(), userOf(r), studentID)
	switch {
	case err != nil:
		return err
	case a.observer != nil:
		return &optio.Error{Code: optio.EFORBIDDEN, Message: "Only the student or a parent can " + action + "."}
	case !a.family() && !a.admin:
		return &optio.Error{Code: optio.ENOTFOUND, Message: thing + " not found."}
	}
	return nil
}

// revokeObserver ends an observer link: the student, a linked parent or an
// admin may; the observer themselves and strangers may not.
func (s *Server) revokeObserver(r *http.Request, linkID string) (*optio.ObserverLink, error) {
	l, err := s.Store.ObserverLinkByID(r.Context(), linkID)
	if err != nil {
		return nil, err
	}
	if err := s.mayModerate(r, l.StudentID, "remove an observer", "Observer link"); err != nil {
		return nil, err
	}
	return l, s.Store.RevokeObserverLink(r.Context(), userOf(r).ID, l.ID)
}

func (s *Server) handleRevokeObserver(w http.ResponseWriter, r *http.Request) {
	if _, err := s.revokeObserver(r, r.PathValue("id")); err != nil {
		s.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleFollowing(w http.ResponseWriter, r *http.Request) {
	links, err := s.Store.FollowedBy(r.Context(), userOf(r).ID)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"students": links})
}

// completionAccess loads a completion and the caller's relationship to its
// student; strangers get ENOTFOUND.
func (s *Server) completionAccess(r *http.Request, completionID string) (*optio.CompletionView, access, error) {
	c, err := s.Store.CompletionByID(r.Context(), completionID)
	if err != nil {
		return nil, access{}, err
	}
	a, err := s.accessTo(r.Context(), userOf(r), c.Completion.UserID)
	if err != nil {
		return nil, a, err
	}
	if !a.any() {
		return nil, a, &optio.Error{Code: optio.ENOTFOUND, Message: "Completion not found."}
	}
	return c, a, nil
}

// addComment posts an observer's encouragement; only observers whose link
// allows comments may.
func (s *Server) addComment(r *http.Request, completionID, body string) (*optio.Comment, *optio.CompletionView, error) {
	c, a, err := s.completionAccess(r, completionID)
	if err != nil {
		return nil, nil, err
	}
	if a.observer == nil || !a.observer.CanComment {
		return nil, nil, &optio.Error{Code: optio.EFORBIDDEN, Message: "Only observers invited to comment can post comments."}
	}
	cm, err := s.Store.AddComment(r.Context(), c.Completion.ID, userOf(r).ID, body)
	return cm, c, err
}

func (s *Server) handleAddComment(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Body string `json:"body"`
	}
	if err := decodeJSON(w, r, 16<<10, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	cm, _, err := s.addComment(r, r.PathValue("id"), in.Body)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, cm)
}

func (s *Server) handleListComments(w http.ResponseWriter, r *http.Request) {
	c, a, err := s.completionAccess(r, r.PathValue("id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	list, err := s.Store.CommentsOn(r.Context(), []string{c.Completion.ID}, a.family() || a.admin)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.auditView(r, a, "comments", c.Completion.UserID)
	writeJSON(w, http.StatusOK, map[string]any{"comments": list})
}

// hideComment hides a comment: the student or a linked parent (or an admin) may.
func (s *Server) hideComment(r *http.Request, commentID string) (*optio.Comment, error) {
	cm, err := s.Store.CommentByID(r.Context(), commentID)
	if err != nil {
		return nil, err
	}
	if err := s.mayModerate(r, cm.StudentID, "hide a comment", "Comment"); err != nil {
		return nil, err
	}
	return cm, s.Store.HideComment(r.Context(), userOf(r).ID, cm.ID)
}

func (s *Server) handleHideComment(w http.ResponseWriter, r *http.Request) {
	if _, err := s.hideComment(r, r.PathValue("id")); err != nil {
		s.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
