package web

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/tutor"
)

// TutorService is the AI tutor the handlers ask (capability 7). The app
// package builds it; without a provider the tutor reports it is not set up.
type TutorService = tutor.Service

func (s *Server) tutorRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/tutor/conversations", s.requireRole(s.handleTutorCreate, optio.RoleStudent))
	mux.HandleFunc("GET /api/tutor/conversations", s.requireRole(s.handleTutorList, optio.RoleStudent))
	mux.HandleFunc("GET /api/tutor/conversations/{id}", s.requireRole(s.handleTutorGet, optio.RoleStudent))
	mux.HandleFunc("POST /api/tutor/conversations/{id}/messages", s.requireRole(s.handleTutorMessage, optio.RoleStudent))
	mux.HandleFunc("GET /api/parent/students/{id}/tutor/flagged", s.requireRole(s.handleTutorFlagged, optio.RoleParent))
	mux.HandleFunc("GET /api/parent/students/{id}/tutor/limit", s.requireRole(s.handleTutorGetLimit, optio.RoleParent))
	mux.HandleFunc("PUT /api/parent/students/{id}/tutor/limit", s.requireRole(s.handleTutorSetLimit, optio.RoleParent))
	mux.HandleFunc("POST /parent/students/{id}/tutor/limit", s.requirePageRole(s.handleTutorLimitForm, optio.RoleParent))

	mux.HandleFunc("GET /tutor", s.requirePageRole(s.handleTutorPage, optio.RoleStudent))
	mux.HandleFunc("POST /tutor", s.requirePageRole(s.handleTutorCreateForm, optio.RoleStudent))
	mux.HandleFunc("GET /tutor/{id}", s.requirePageRole(s.handleTutorPage, optio.RoleStudent))
	mux.HandleFunc("POST /tutor/{id}/messages", s.requirePageRole(s.handleTutorMessageForm, optio.RoleStudent))
}

// tutorConfigured reports whether the tutor has an AI provider.
func (s *Server) tutorConfigured() bool { return s.Tutor != nil && s.Tutor.Provider != nil }

func notConfigured() error { return optio.Errorf(optio.ENOTCONFIG, tutor.NotConfiguredMessage) }

// modeLabels name the modes on the page.
var modeLabels = map[tutor.Mode]string{
	tutor.ModeStudyBuddy: "Study buddy", tutor.ModeTeacher: "Teacher", tutor.ModeDiscovery: "Discovery",
	tutor.ModeReview: "Review", tutor.ModeCreative: "Creative",
}

type tutorCreateRequest struct {
	Mode    string `json:"mode"`
	QuestID string `json:"quest_id"`
	TaskID  string `json:"task_id"`
}

// createTutorConversation validates a new conversation: a known mode, and a
// quest or task the student can see (active quests only).
func (s *Server) createTutorConversation(ctx context.Context, u *optio.User, in tutorCreateRequest) (*optio.TutorConversation, error) {
	if !s.tutorConfigured() {
		return nil, notConfigured()
	}
	mode, err := tutor.ParseMode(in.Mode)
	if err != nil {
		return nil, err
	}
	nc := optio.NewTutorConversation{UserID: u.ID, Mode: string(mode), Title: modeLabels[mode]}
	f := optio.FieldErrors{}
	if id := strings.TrimSpace(in.TaskID); id != "" {
		t, err := s.Store.TaskByID(ctx, id)
		switch {
		case optio.ErrorCode(err) == optio.ENOTFOUND:
			f.Add("task_id", "is not a task")
		case err != nil:
			return nil, err
		default:
			nc.TaskID, nc.QuestID, nc.Title = t.ID, t.QuestID, t.Title
		}
	}
	if id := strings.TrimSpace(in.QuestID); id != "" {
		switch {
		case nc.QuestID != "" && nc.QuestID != id:
			f.Add("quest_id", "is not the quest of task_id")
		case nc.QuestID == "":
			nc.QuestID = id
		}
	}
	if nc.QuestID != "" && len(f) == 0 {
		q, err := s.Store.QuestByID(ctx, nc.QuestID)
		switch {
		case optio.ErrorCode(err) == optio.ENOTFOUND || (err == nil && !q.Active):
			f.Add("quest_id", "is not an active quest")
		case err != nil:
			return nil, err
		case nc.TaskID == "":
			nc.Title = q.Title
		}
	}
	if err := f.Err(optio.EINVALID, "The conversation is not valid."); err != nil {
		return nil, err
	}
	return s.Store.CreateTutorConversation(ctx, nc)
}

// tutorTurn is one finished exchange.
type tutorTurn struct {
	Question  *optio.TutorMessage `json:"question"`
	Answer    *optio.TutorMessage `json:"answer"`
	Refused   bool                `json:"refused"`
	Withheld  bool                `json:"withheld"`
	Flagged   bool                `json:"flagged"`
	Remaining int                 `json:"remaining"` // messages left today; -1: no limit
}

// tutorLimit is the number of messages a student may send today: the
// family's setting when a parent made one (0 pauses the tutor), else the
// server's default (0 there means no limit, reported as -1).
func (s *Server) tutorLimit(ctx context.Context, studentID string) (int, error) {
	l, set, err := s.Store.TutorDailyLimit(ctx, studentID)
	switch {
	case err != nil:
		return 0, err
	case set:
		return l, nil
	case s.Config.TutorDailyLimit <= 0:
		return -1, nil
	}
	return s.Config.TutorDailyLimit, nil
}

func limitError(limit int) error {
	if limit == 0 {
		return optio.Errorf(optio.ERATELIMIT, "Your family has paused the tutor for now. Ask them if you'd like it back.")
	}
	return tutor.DailyLimit(limit).Check(limit)
}

// askTutor runs one exchange: it checks the question (the input safety
// check too) and records it with its verdict while checking the daily
// limit, all before anything streams; then it builds the student's context
// from their own data, asks the tutor (emit receives what the student
// should see as it comes) and stores the answer.
//
// Once recorded, a question stays when the student goes away (a closed
// tab, a dropped stream): it counts against the limit and, if flagged,
// reaches the parents, and what the student was shown is kept as the
// answer (issue 17). Only a failure on Optio's side (the AI resting, the
// database) takes an unflagged question back, so it does not count.
func (s *Server) askTutor(ctx context.Context, u *optio.User, convID, text string, emit func(string) error) (*tutorTurn, *tutor.AskResult, error) {
	if !s.tutorConfigured() {
		return nil, nil, notConfigured()
	}
	conv, err := s.Store.TutorConversation(ctx, u.ID, convID)
	if err != nil {
		return nil, nil, err
	}
	text, err = tutor.CheckText(text)
	if err != nil {
		return nil, nil, err
	}
	limit, err := s.tutorLimit(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	dayStart, dayEnd := tutor.DayWindow(now)
	verdict := tutor.CheckInput(text, tutor.AgeBandFor(u.BirthDate, now))
	q, err := s.Store.AddTutorQuestion(ctx, optio.TutorQuestion{ConversationID: conv.ID, UserID: u.ID, Text: text,
		Limit: limit, DayStart: dayStart, DayEnd: dayEnd,
		Flagged: verdict.Flag, Category: verdict.Category, Refused: !verdict.Allowed})
	if optio.ErrorCode(err) == optio.ERATELIMIT {
		return nil, nil, limitError(limit)
	}
	if err != nil {
		return nil, nil, err
	}
	// The exchange is written with a context the client cannot cancel.
	keep := context.WithoutCancel(ctx)
	undo := func(err error) (*tutorTurn, *tutor.AskResult, error) {
		if ctx.Err() != nil {
			return nil, nil, err // the student left: nothing is taken back
		}
		if derr := s.Store.DeleteTutorQuestion(keep, q.ID); derr != nil {
			s.Logger.Error("tutor: remove unanswered question", slog.Any("error", derr))
		}
		return nil, nil, err
	}
	sc, err := s.tutorContext(ctx, u, conv, now)
	if err != nil {
		return undo(err)
	}
	clientGone := false
	res, err := s.Tutor.Ask(ctx, tutor.AskInput{Context: sc, History: tutorHistory(conv.Messages), Text: text}, func(chunk string) error {
		if err := emit(chunk); err != nil {
			clientGone = true
			return err
		}
		return nil
	})
	if err != nil && (clientGone || ctx.Err() != nil) {
		// The student left: keep the question and what they were shown.
		if strings.TrimSpace(res.Text) != "" {
			if _, aerr := s.Store.AnswerTutorQuestion(keep, optio.TutorAnswer{QuestionID: q.ID, Text: res.Text,
				Flagged: res.Flagged || q.Flagged, Category: cmp.Or(res.Category, q.Category), Refused: res.Refused || q.Refused,
				Withheld: res.Withheld}); aerr != nil {
				s.Logger.Error("tutor: keep the answer of a student who left", slog.Any("error", aerr))
			}
		}
		return nil, nil, err
	}
	if err != nil {
		return undo(err)
	}
	title := ""
	if len(conv.Messages) == 0 && conv.TaskID == "" && conv.QuestID == "" && !res.Refused && !res.Flagged {
		title = shorten(text, 60)
	}
	ans, err := s.Store.AnswerTutorQuestion(keep, optio.TutorAnswer{QuestionID: q.ID, Text: res.Text,
		Flagged: res.Flagged, Category: res.Category, Refused: res.Refused, Withheld: res.Withheld, Title: title})
	if err != nil {
		return undo(err)
	}
	q.Flagged, q.Category, q.Refused = res.Flagged, res.Category, res.Refused
	turn := &tutorTurn{Question: q, Answer: ans, Refused: res.Refused, Withheld: res.Withheld, Flagged: res.Flagged, Remaining: -1}
	if limit >= 0 {
		sent, err := s.Store.TutorMessagesSent(keep, u.ID, dayStart, dayEnd)
		if err != nil {
			return nil, nil, err
		}
		turn.Remaining = tutor.DailyLimit(limit).Remaining(sent)
	}
	return turn, &res, nil
}

// tutorContext is what the tutor knows about u: first name, age band, the
// conversation's mode and focus, and u's own coursework.
func (s *Server) tutorContext(ctx context.Context, u *optio.User, conv *optio.TutorConversation, now time.Time) (tutor.StudentContext, error) {
	sc := tutor.StudentContext{FirstName: u.GivenName, AgeBand: tutor.AgeBandFor(u.BirthDate, now), Mode: tutor.Mode(conv.Mode)}
	switch {
	case conv.TaskID != "":
		if t, err := s.Store.TaskByID(ctx, conv.TaskID); err == nil {
			sc.FocusTask = t.Title
		} else if optio.ErrorCode(err) != optio.ENOTFOUND {
			return sc, err
		}
	case conv.QuestID != "":
		if q, err := s.Store.QuestByID(ctx, conv.QuestID); err == nil {
			sc.FocusTask = q.Title
		} else if optio.ErrorCode(err) != optio.ENOTFOUND {
			return sc, err
		}
	}
	f, err := s.Store.TutorFacts(ctx, u.ID, now)
	if err != nil {
		return sc, err
	}
	for _, c := range f.Courses {
		sc.ActiveCourses = append(sc.ActiveCourses, tutor.Course{ID: c.ID, Title: c.Title})
	}
	for _, a := range f.Upcoming {
		sc.Upcoming = append(sc.Upcoming, tutor.Assignment{Title: a.Title, Course: a.Course, DueAt: a.DueAt})
	}
	for _, a := range f.Overdue {
		sc.Overdue = append(sc.Overdue, tutor.Assignment{Title: a.Title, Course: a.Course, DueAt: a.DueAt})
	}
	for _, x := range f.Submissions {
		sc.RecentSubmissions = append(sc.RecentSubmissions, tutor.Submission{Title: x.Title, Course: x.Course, SubmittedAt: x.SubmittedAt})
	}
	for _, q := range f.Quests {
		tq := tutor.Quest{Title: q.Title}
		for _, p := range q.Pillars {
			tq.Pillars = append(tq.Pillars, string(p))
		}
		sc.Quests = append(sc.Quests, tq)
	}
	return sc, nil
}

// tutorHistory is the conversation as the model may see it: refused
// questions (which may hold personal details) and their refusals are left
// out; withheld answers appear as the replacement the student saw.
func tutorHistory(ms []optio.TutorMessage) []tutor.Message {
	refused := map[string]bool{}
	var out []tutor.Message
	for _, m := range ms {
		switch {
		case m.Role == optio.TutorRoleUser && m.Refused:
			refused[m.ID] = true
		case m.Role == optio.TutorRoleModel && refused[m.ReplyTo]:
		default:
			out = append(out, tutor.Message{Role: tutor.Role(m.Role), Text: m.Text})
		}
	}
	return out
}

func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return strings.TrimSpace(string(r[:n-1])) + "…"
	}
	return s
}

func (s *Server) handleTutorCreate(w http.ResponseWriter, r *http.Request) {
	var in tutorCreateRequest
	if err := decodeJSON(w, r, 16<<10, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	c, err := s.createTutorConversation(r.Context(), userOf(r), in)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

func (s *Server) handleTutorList(w http.ResponseWriter, r *http.Request) {
	cs, err := s.Store.TutorConversations(r.Context(), userOf(r).ID)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"configured": s.tutorConfigured(), "conversations": cs})
}

func (s *Server) handleTutorGet(w http.ResponseWriter, r *http.Request) {
	c, err := s.Store.TutorConversation(r.Context(), userOf(r).ID, r.PathValue("id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// handleTutorMessage answers a student's message: as server-sent events
// (chunk, withheld, error, done) when the client accepts text/event-stream,
// else as one JSON answer. The event stream starts with the first chunk, so
// errors before it (not configured, invalid, rate limited, the AI resting)
// are ordinary JSON errors with their status.
func (s *Server) handleTutorMessage(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Text string `json:"text"`
	}
	if err := decodeJSON(w, r, 32<<10, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	u := userOf(r)
	if !strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		turn, _, err := s.askTutor(r.Context(), u, r.PathValue("id"), in.Text, func(string) error { return nil })
		if err != nil {
			s.Error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, turn)
		return
	}

	started := false
	rc := http.NewResponseController(w)
	send := func(event string, v any) error {
		if !started {
			started = true
			h := w.Header()
			h.Set("Content-Type", "text/event-stream")
			h.Set("Cache-Control", "no-cache")
			h.Set("X-Accel-Buffering", "no")
			w.WriteHeader(http.StatusOK)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return err
		}
		return rc.Flush()
	}
	turn, res, err := s.askTutor(r.Context(), u, r.PathValue("id"), in.Text, func(chunk string) error {
		return send("chunk", map[string]string{"text": chunk})
	})
	switch {
	case err != nil && !started:
		s.Error(w, r, err)
		return
	case err != nil:
		code := optio.ErrorCode(err)
		if statusOf(code) >= 500 && code != optio.EUNAVAILABLE {
			s.Logger.ErrorContext(r.Context(), "tutor stream failed", slog.Any("error", err))
		}
		_ = send("error", errorDetail{Code: code, Message: optio.ErrorMessage(err)})
		return
	case res.Withheld:
		_ = send("withheld", map[string]string{"text": res.Text})
	}
	_ = send("done", turn)
}

func (s *Server) handleTutorFlagged(w http.ResponseWriter, r *http.Request) {
	xs, err := s.Store.TutorFlaggedExchanges(r.Context(), userOf(r).ID, r.PathValue("id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"student_id": r.PathValue("id"), "exchanges": xs})
}

// tutorLimitView is a child's daily tutor limit as a parent sees it.
type tutorLimitView struct {
	StudentID  string `json:"student_id"`
	DailyLimit int    `json:"daily_limit"` // 0: paused; -1: no limit
	Custom     bool   `json:"custom"`      // set by a parent rather than the server default
}

func (s *Server) handleTutorGetLimit(w http.ResponseWriter, r *http.Request) {
	v, err := s.parentTutorLimit(r.Context(), userOf(r).ID, r.PathValue("id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// parentTutorLimit is a linked parent's view of a child's daily limit:
// theirs when a parent set one, else the server default.
func (s *Server) parentTutorLimit(ctx context.Context, parentID, studentID string) (tutorLimitView, error) {
	l, set, err := s.Store.ParentTutorDailyLimit(ctx, parentID, studentID)
	if err != nil {
		return tutorLimitView{}, err
	}
	v := tutorLimitView{StudentID: studentID, DailyLimit: l, Custom: set}
	if !set {
		v.DailyLimit = s.Config.TutorDailyLimit
		if v.DailyLimit <= 0 {
			v.DailyLimit = -1
		}
	}
	return v, nil
}

func (s *Server) handleTutorSetLimit(w http.ResponseWriter, r *http.Request) {
	var in struct {
		DailyLimit *int `json:"daily_limit"`
	}
	if err := decodeJSON(w, r, 4<<10, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	if in.DailyLimit == nil {
		s.Error(w, r, &optio.Error{Code: optio.EINVALID, Message: "The daily limit is missing.",
			Fields: map[string]string{"daily_limit": fmt.Sprintf("is required: a number from 0 to %d", optio.MaxTutorDailyLimit)}})
		return
	}
	id := r.PathValue("id")
	if err := s.Store.SetTutorDailyLimit(r.Context(), userOf(r).ID, id, *in.DailyLimit); err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tutorLimitView{StudentID: id, DailyLimit: *in.DailyLimit, Custom: true})
}
