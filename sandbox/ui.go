package sandbox

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
)

//go:embed templates/*.html
var templateFS embed.FS

var pages = func() map[string]*template.Template {
	funcs := template.FuncMap{
		"date": func(t time.Time) string { return t.UTC().Format("Mon 2 Jan 2006") },
		"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
	}
	out := map[string]*template.Template{}
	for _, name := range []string{"home", "user", "submit", "deliveries", "grades", "error", "lti", "ltiregister", "lticourse", "ltigradebook", "ltidone"} {
		out[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return out
}()

// doneMessages are the confirmations a redirect may ask for (?done=…).
var doneMessages = map[string]string{
	"submitted":    "Submitted. The submission webhook is on its way to Optio.",
	"enroll":       "Enrolled. The roster webhook is on its way to Optio.",
	"drop":         "Dropped. The roster webhook is on its way to Optio.",
	"complete":     "Marked complete. The roster webhook is on its way to Optio.",
	"courses":      "Course webhooks queued for every course.",
	"registered":   "The tool registered itself: it is in the list below, with its client id and deployment.",
	"unregistered": "The tool's page closed without registering. Its page should have said why.",
	"tool":         "Tool registered. Every course now has a link to it.",
	"faults":       "LTI faults updated.",
}

// uiRoutes registers the web UI. Forms post without cookies: the acting
// user is in the URL, as in a demo LMS. Cross-origin posts are refused.
func (s *Sandbox) uiRoutes(mux *http.ServeMux) {
	cop := http.NewCrossOriginProtection()
	post := func(h http.HandlerFunc) http.Handler { return cop.Handler(h) }
	mux.HandleFunc("GET /{$}", s.handleHome)
	mux.HandleFunc("GET /users/{id}", s.handleUser)
	mux.Handle("POST /users/{id}/sso", post(s.handleSSO))
	mux.Handle("POST /users/{id}/roster", post(s.handleRoster))
	mux.HandleFunc("GET /users/{id}/assignments/{aid}", s.handleSubmitForm)
	mux.Handle("POST /users/{id}/assignments/{aid}", post(s.handleSubmit))
	mux.Handle("POST /courses/send", post(s.handleSendCourses))
	mux.HandleFunc("GET /deliveries", s.handleDeliveries)
	mux.HandleFunc("GET /grades", s.handleGrades)
}

type pageData struct {
	Title    string
	OptioURL string
	Notice   string
	Data     any
}

func (s *Sandbox) render(w http.ResponseWriter, status int, name, title, notice string, data any) {
	var b strings.Builder
	if err := pages[name].Execute(&b, pageData{Title: title, OptioURL: s.cfg.OptioURL, Notice: notice, Data: data}); err != nil {
		s.log.Error("sandbox: render", "page", name, "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, b.String())
}

// pageError renders an error page with the status for err's code.
func (s *Sandbox) pageError(w http.ResponseWriter, err error) {
	status := statusFor(optio.ErrorCode(err))
	msg := optio.ErrorMessage(err)
	if status == http.StatusInternalServerError {
		s.log.Error("sandbox: page failed", "err", err)
		msg = "Something went wrong."
	}
	s.render(w, status, "error", http.StatusText(status), "", msg)
}

func (s *Sandbox) handleHome(w http.ResponseWriter, r *http.Request) {
	users := s.Users()
	byRole := map[string][]User{}
	for _, u := range users {
		byRole[u.Role] = append(byRole[u.Role], u)
	}
	s.render(w, http.StatusOK, "home", "Spark LMS sandbox", doneMessages[r.URL.Query().Get("done")], map[string]any{
		"Students": byRole[RoleStudent], "Parents": byRole[RoleParent], "Admins": byRole[RoleAdmin],
		"Courses": s.courses, "Samples": SampleFiles(), "CourseWebhooks": s.cfg.OptioExtras,
	})
}

// courseView is a course as the user page shows it to a student.
type courseView struct {
	Course      *Course
	Status      string // "", active, dropped, completed
	Assignments []assignmentView
}

type assignmentView struct {
	Assignment
	Past        bool
	Submissions int
	Grade       string
}

type childView struct {
	User    User
	Courses []courseView
}

// studentCourses is every course with the student's status and, for
// active ones, assignments with submission counts and grades.
func (s *Sandbox) studentCourses(studentID string) []courseView {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []courseView
	for _, c := range s.courses {
		cv := courseView{Course: c}
		if e := s.enrollments[studentID][c.ID]; e != nil {
			cv.Status = e.Status
		}
		for _, a := range c.Assignments {
			av := assignmentView{Assignment: a, Past: a.DueAt.Before(now)}
			for _, sub := range s.submissions {
				if sub.StudentID == studentID && sub.AssignmentID == a.ID {
					av.Submissions++
				}
			}
			for _, g := range s.grades {
				if g.SparkUserID == studentID && g.SparkAssignmentID == a.ID {
					av.Grade = g.Grade
				}
			}
			cv.Assignments = append(cv.Assignments, av)
		}
		out = append(out, cv)
	}
	return out
}

func (s *Sandbox) user(id string) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByID[id]
	if u == nil {
		return User{}, notFound("user", id)
	}
	return *u, nil
}

func (s *Sandbox) handleUser(w http.ResponseWriter, r *http.Request) {
	u, err := s.user(r.PathValue("id"))
	if err != nil {
		s.pageError(w, err)
		return
	}
	data := map[string]any{"User": u, "CourseWebhooks": s.cfg.OptioExtras}
	switch u.Role {
	case RoleStudent:
		data["Courses"] = s.studentCourses(u.ID)
		var subs []SubmissionRecord
		for _, sub := range s.Submissions() {
			if sub.StudentID == u.ID {
				subs = append(subs, sub)
			}
		}
		slices.Reverse(subs)
		data["Submissions"] = subs
		data["Titles"] = s.assignmentTitles()
	case RoleParent:
		var kids []childView
		for _, id := range u.ChildIDs {
			if c, err := s.user(id); err == nil {
				kids = append(kids, childView{User: c, Courses: s.studentCourses(id)})
			}
		}
		data["Children"] = kids
	case RoleAdmin:
		data["AllCourses"] = s.courses
	}
	s.render(w, http.StatusOK, "user", u.Name(), doneMessages[r.URL.Query().Get("done")], data)
}

func (s *Sandbox) assignmentTitles() map[string]string {
	out := map[string]string{}
	for id, a := range s.assignByID {
		out[id] = a.Title
	}
	return out
}

func (s *Sandbox) handleSSO(w http.ResponseWriter, r *http.Request) {
	u, err := s.SSOURL(r.PathValue("id"), r.PostFormValue("next"))
	if err != nil {
		s.pageError(w, err)
		return
	}
	http.Redirect(w, r, u, http.StatusFound)
}

func (s *Sandbox) handleRoster(w http.ResponseWriter, r *http.Request) {
	id, action := r.PathValue("id"), r.PostFormValue("action")
	if _, err := s.Roster(r.Context(), id, r.PostFormValue("course"), spark.RosterAction(action)); err != nil {
		s.pageError(w, err)
		return
	}
	http.Redirect(w, r, "/users/"+id+"?done="+action, http.StatusSeeOther)
}

type submitForm struct {
	User       User
	Assignment Assignment
	Course     *Course
	Samples    []SampleFile
	Text       string
	Sample     string
	Error      string
	Fields     map[string]string
}

func (s *Sandbox) submitForm(r *http.Request) (*submitForm, error) {
	u, err := s.user(r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	a := s.assignByID[r.PathValue("aid")]
	if a == nil {
		return nil, notFound("assignment", r.PathValue("aid"))
	}
	return &submitForm{User: u, Assignment: *a, Course: s.courseByID[a.CourseID], Samples: SampleFiles()}, nil
}

func (s *Sandbox) handleSubmitForm(w http.ResponseWriter, r *http.Request) {
	f, err := s.submitForm(r)
	if err != nil {
		s.pageError(w, err)
		return
	}
	s.render(w, http.StatusOK, "submit", "Submit: "+f.Assignment.Title, "", f)
}

func (s *Sandbox) handleSubmit(w http.ResponseWriter, r *http.Request) {
	f, err := s.submitForm(r)
	if err != nil {
		s.pageError(w, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxUploadBytes+1<<20)
	var files []SampleFile
	err = r.ParseMultipartForm(8 << 20)
	if errors.Is(err, http.ErrNotMultipart) {
		err = r.ParseForm()
	}
	if err == nil {
		f.Text, f.Sample = r.PostFormValue("text"), r.PostFormValue("sample")
		files, err = formFiles(r)
	}
	if err == nil {
		_, err = s.Submit(r.Context(), f.User.ID, f.Assignment.ID, f.Text, files)
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			err = optio.Errorf(optio.ETOOLARGE, "The upload is larger than %d MB.", MaxUploadBytes>>20)
		}
		var oe *optio.Error
		if !errors.As(err, &oe) || statusFor(oe.Code) == http.StatusInternalServerError {
			s.pageError(w, err)
			return
		}
		f.Error, f.Fields = oe.Message, oe.Fields
		s.render(w, statusFor(oe.Code), "submit", "Submit: "+f.Assignment.Title, "", f)
		return
	}
	http.Redirect(w, r, "/users/"+f.User.ID+"?done=submitted", http.StatusSeeOther)
}

// formFiles collects the chosen sample and the uploaded file, if any.
func formFiles(r *http.Request) ([]SampleFile, error) {
	var files []SampleFile
	if key := r.PostFormValue("sample"); key != "" {
		sf, ok := Sample(key)
		if !ok {
			return nil, &optio.Error{Code: optio.EINVALID, Message: "The submission is invalid.", Fields: map[string]string{"sample": "choose one of " + sampleKeys()}}
		}
		files = append(files, sf)
	}
	if r.MultipartForm == nil {
		return files, nil
	}
	for _, fh := range r.MultipartForm.File["file"] {
		if fh.Filename == "" && fh.Size == 0 {
			continue
		}
		rd, err := fh.Open()
		if err != nil {
			return nil, fmt.Errorf("open upload: %w", err)
		}
		data, err := io.ReadAll(io.LimitReader(rd, MaxUploadBytes+1))
		_ = rd.Close()
		if err != nil {
			return nil, fmt.Errorf("read upload: %w", err)
		}
		ct := fh.Header.Get("Content-Type")
		if ct == "" || ct == "application/octet-stream" {
			ct = "" // infer from the file name
		}
		files = append(files, SampleFile{Name: fh.Filename, ContentType: ct, Data: data})
	}
	return files, nil
}

func (s *Sandbox) handleSendCourses(w http.ResponseWriter, r *http.Request) {
	if _, err := s.SendCourses(r.Context()); err != nil {
		s.pageError(w, err)
		return
	}
	http.Redirect(w, r, "/deliveries?done=courses", http.StatusSeeOther)
}

func (s *Sandbox) handleDeliveries(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "deliveries", "Webhook deliveries", doneMessages[r.URL.Query().Get("done")], s.Deliveries())
}

func (s *Sandbox) handleGrades(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "grades", "Grades from Optio", "", map[string]any{"Grades": s.Grades(), "Titles": s.assignmentTitles(), "Users": s.userNames()})
}

func (s *Sandbox) userNames() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for _, u := range s.users {
		out[u.ID] = u.Name()
	}
	return out
}
