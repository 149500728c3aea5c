package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"github.com/optio-edu/optio/filestore"
	"html/template"
	"io"
	"io/fs"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/optio-edu/optio"
)

//go:embed templates/*.html templates/portfolio/visibility.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	fsrv := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}

// pages holds one template set per page: the shared layout and partials
// plus that page's "content".
type pages struct {
	byName map[string]*template.Template
}

// shared are the templates every page can use.
var shared = []string{"templates/layout.html", "templates/blocks.html", "templates/portfolio/visibility.html", "templates/privacy_panel.html"}

func mustParsePages() *pages {
	p := &pages{byName: map[string]*template.Template{}}
	entries, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		name := strings.TrimSuffix(strings.TrimPrefix(e, "templates/"), ".html")
		if name == "layout" || name == "blocks" || name == "privacy_panel" {
			continue
		}
		t := template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, append(shared, e)...))
		p.byName[name] = t
	}
	return p
}

var funcs = template.FuncMap{
	// pillarName says a pillar (an optio.Pillar or its key) as pages name it.
	"pillarName": func(p any) string { return pillarName(optio.Pillar(fmt.Sprint(p))) },
	// fileType names a file's type in words ("PDF document"), never a MIME type.
	"fileType": fileTypeLabel,
	// questStatus says an enrolment's status in words.
	"questStatus": func(status string, done, total int) string {
		switch {
		case status == optio.EnrollmentCompleted || (total > 0 && done == total):
			return "all done"
		case status == optio.EnrollmentDropped:
			return "dropped"
		}
		return "in progress"
	},
	"date": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			return v.UTC().Format("2 Jan 2006")
		case *time.Time:
			if v != nil {
				return v.UTC().Format("2 Jan 2006")
			}
		}
		return ""
	},
	"bytes":   optio.FormatBytes,
	"xpChart": xpChart,
	"pillars": func() []optio.Pillar { return optio.Pillars },
	"fileURL": func(b optio.EvidenceBlock) string { return "/files/" + b.Content.FileID + "?b=" + b.ID },
	// inlineURL is what an image block shows: its web rendition when it has one.
	"inlineURL": func(b optio.EvidenceBlock) string {
		if b.Content.PreviewFileID != "" {
			return "/files/" + b.Content.PreviewFileID + "?b=" + b.ID
		}
		return "/files/" + b.Content.FileID + "?b=" + b.ID
	},
	"showInline": func(b optio.EvidenceBlock) bool {
		return b.Content.PreviewFileID != "" || filestore.BrowserShows(b.Content.ContentType)
	},
	"pct": func(n, d int) int {
		if d <= 0 {
			return 0
		}
		return int(math.Min(100, float64(n)*100/float64(d)))
	},
	// navCurrent tells the navigation which link is the page's section:
	// the link's own path or a path under it (/admin only for itself, as
	// Spark sync and Badges have their own links).
	"navCurrent": func(path, href string) bool {
		return path == href || (href != "/admin" && strings.HasPrefix(path, href+"/"))
	},
}

// xpChart draws XP by pillar as an accessible horizontal bar chart (SVG),
// each bar coloured by its pillar's design token (optio.css: .xp-bar-<key>).
func xpChart(xp *optio.XPSummary) template.HTML {
	if xp == nil {
		return ""
	}
	maxV := 1
	for _, p := range optio.Pillars {
		maxV = max(maxV, xp.ByPillar[p])
	}
	var b bytes.Buffer
	h := 28*len(optio.Pillars) + 4
	fmt.Fprintf(&b, `<svg class="xp-chart" role="img" viewBox="0 0 360 %d" width="100%%" aria-labelledby="xp-title"><title id="xp-title">XP by pillar:`, h)
	for _, p := range optio.Pillars {
		fmt.Fprintf(&b, " %s %d;", pillarName(p), xp.ByPillar[p])
	}
	b.WriteString(`</title>`)
	for i, p := range optio.Pillars {
		y := 4 + i*28
		w := int(float64(xp.ByPillar[p]) / float64(maxV) * 180)
		const x0 = 122 // room for the longest label, "communication"
		fmt.Fprintf(&b, `<text x="0" y="%d" font-size="13" fill="#1f2937">%s</text>`, y+15, template.HTMLEscapeString(pillarName(p)))
		fmt.Fprintf(&b, `<rect class="xp-bar-%s" x="%d" y="%d" width="%d" height="18" rx="3"></rect>`, p, x0, y+2, max(w, 2))
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="13" fill="#1f2937">%d</text>`, x0+max(w, 2)+6, y+15, xp.ByPillar[p])
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // built only from numbers and escaped pillar names
}

// pageData is what every page template receives.
type pageData struct {
	Title string
	User  *optio.User
	Flash string
	Data  any
	// Path is the request's path, so the navigation can mark where you are.
	Path string
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, d pageData) {
	s.renderStatus(w, r, http.StatusOK, name, d)
}

func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	t, ok := s.pages.byName[name]
	if !ok {
		panic("no page template " + name)
	}
	if d.User == nil {
		d.User = userOf(r)
	}
	d.Path = r.URL.Path
	if d.Flash == "" {
		d.Flash = r.URL.Query().Get("flash")
		if len(d.Flash) > 200 {
			d.Flash = ""
		}
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", d); err != nil {
		s.Logger.Error("render page", "page", name, "error", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// homeFor is where a signed-in user lands.
func homeFor(u *optio.User) string {
	switch u.Role {
	case optio.RoleParent:
		return "/parent"
	case optio.RoleObserver:
		return "/observer"
	case optio.RoleAdmin:
		return "/admin"
	}
	return "/dashboard"
}

// safeNext accepts only same-origin relative paths as redirect targets.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, `/\`) ||
		strings.ContainsAny(next, "\\\r\n\t") {
		return ""
	}
	return next
}

func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	if u := userOf(r); u != nil {
		http.Redirect(w, r, homeFor(u), http.StatusSeeOther)
		return
	}
	s.render(w, r, "home", pageData{Title: "Welcome"})
}

type loginForm struct {
	Email, Next, Error string
}

func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "login", pageData{Title: "Sign in", Data: loginForm{Next: safeNext(r.URL.Query().Get("next"))}})
}

func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	f := loginForm{Email: r.PostFormValue("email"), Next: safeNext(r.PostFormValue("next"))}
	u, err := s.login(w, r, f.Email, r.PostFormValue("password"))
	if err != nil {
		f.Error = optio.ErrorMessage(err)
		s.renderStatus(w, r, statusOf(optio.ErrorCode(err)), "login", pageData{Title: "Sign in", Data: f})
		return
	}
	if err := s.StartSession(w, r, u); err != nil {
		s.Error(w, r, err)
		return
	}
	dest := f.Next
	if dest == "" {
		dest = homeFor(u)
	}
	http.Redirect(w, r, dest, http.StatusSeeOther)
}

type registerForm struct {
	registerRequest
	Next   string
	Error  string
	Fields map[string]string
}

// handleRegisterPage shows the sign-up form. ?role= preselects student,
// parent or observer (an invitation link asks for observer; admin is never
// offered), and ?next= is carried through to where sign-up lands.
func (s *Server) handleRegisterPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := registerForm{Next: safeNext(q.Get("next"))}
	switch role := optio.Role(q.Get("role")); role {
	case optio.RoleStudent, optio.RoleParent, optio.RoleObserver:
		f.Role = role
	}
	s.render(w, r, "register", pageData{Title: "Create account", Data: f})
}

func (s *Server) handleRegisterForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	f := registerForm{registerRequest: registerRequest{Email: r.PostFormValue("email"), Password: r.PostFormValue("password"),
		GivenName: r.PostFormValue("given_name"), FamilyName: r.PostFormValue("family_name"), Role: optio.Role(r.PostFormValue("role"))},
		Next: safeNext(r.PostFormValue("next"))}
	u, err := s.signUp(w, r, f.registerRequest)
	if err != nil {
		f.Error = optio.ErrorMessage(err)
		if oe, ok := err.(*optio.Error); ok {
			f.Fields = oe.Fields
		}
		f.Password = ""
		s.renderStatus(w, r, statusOf(optio.ErrorCode(err)), "register", pageData{Title: "Create account", Data: f})
		return
	}
	if err := s.StartSession(w, r, u); err != nil {
		s.Error(w, r, err)
		return
	}
	dest := f.Next
	if dest == "" {
		dest = homeFor(u)
	}
	http.Redirect(w, r, dest, http.StatusSeeOther)
}

func (s *Server) handleLogoutForm(w http.ResponseWriter, r *http.Request) {
	if err := s.endSession(w, r); err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) handleDashboardPage(w http.ResponseWriter, r *http.Request) {
	d, err := s.dashboard(r.Context(), userOf(r))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	d.Visibility = visibilityFormFor(d.User, s.now(), false)
	s.render(w, r, "dashboard", pageData{Title: "Dashboard", Data: d})
}

func (s *Server) handleQuestsPage(w http.ResponseWriter, r *http.Request) {
	qs, err := s.Store.ListQuests(r.Context(), userOf(r).Role != optio.RoleAdmin)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.render(w, r, "quests", pageData{Title: "Quests", Data: qs})
}

type questPage struct {
	Quest    *optio.Quest
	Enrolled bool
	Done     map[string]bool
}

func (s *Server) handleQuestPage(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	q, err := s.questFor(r.Context(), u, r.PathValue("id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	qp := questPage{Quest: q, Done: map[string]bool{}}
	if u.Role == optio.RoleStudent {
		st, err := s.Store.QuestStanding(r.Context(), u.ID, q.ID)
		if err != nil {
			s.Error(w, r, err)
			return
		}
		qp.Enrolled, qp.Done = st.Enrolled, st.Done
	}
	s.render(w, r, "quest", pageData{Title: q.Title, Data: qp})
}

func (s *Server) handleStartQuestForm(w http.ResponseWriter, r *http.Request) {
	if _, err := s.Store.StartQuest(r.Context(), userOf(r).ID, r.PathValue("id")); err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/quests/"+r.PathValue("id")+"?flash=Quest+started", http.StatusSeeOther)
}

// handleCompleteTaskForm completes a task from the quest page: text, an
// optional link and an optional file, all in one multipart form.
func (s *Server) handleCompleteTaskForm(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	task, err := s.Store.TaskByID(r.Context(), r.PathValue("id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.Config.MaxUploadBytes+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		s.Error(w, r, optio.Errorf(optio.EINVALID, "The form must be sent as multipart/form-data."))
		return
	}
	var blocks []optio.BlockInput
	for {
		part, err := mr.NextPart()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				s.Error(w, r, uploadErr(err, s.Config.MaxUploadBytes))
				return
			}
			break
		}
		switch part.FormName() {
		case "text", "link":
			raw, err := io.ReadAll(io.LimitReader(part, 100001))
			if err != nil {
				s.Error(w, r, uploadErr(err, s.Config.MaxUploadBytes))
				return
			}
			if len(raw) > 100000 {
				s.Error(w, r, optio.Errorf(optio.ETOOLARGE, "The text is too long (100000 characters at most)."))
				return
			}
			v := strings.TrimSpace(string(raw))
			if v == "" {
				continue
			}
			if part.FormName() == "text" {
				blocks = append(blocks, optio.BlockInput{BlockType: optio.BlockText, Content: optio.BlockContent{Text: v}})
			} else {
				blocks = append(blocks, optio.BlockInput{BlockType: optio.BlockLink, Content: optio.BlockContent{URL: v}})
			}
		case "file":
			if part.FileName() == "" {
				continue
			}
			f, err := s.storeUpload(r.Context(), u, part, part.FileName())
			if err != nil {
				s.Error(w, r, err)
				return
			}
			blocks = append(blocks, optio.BlockInput{BlockType: blockTypeFor(f.ContentType), File: f,
				Content: optio.BlockContent{Filename: f.Filename, ContentType: f.ContentType, Size: f.Size}})
		}
		part.Close()
	}
	if _, err := s.completeTask(r.Context(), u, task.ID, blocks); err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/quests/"+task.QuestID+"?flash=Task+completed+%E2%80%94+XP+earned%21", http.StatusSeeOther)
}

func (s *Server) handleAdminPage(w http.ResponseWriter, r *http.Request) {
	qs, err := s.Store.QuestsWithTasks(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.render(w, r, "admin", pageData{Title: "Admin", Data: qs})
}

func (s *Server) handleAdminCreateQuestForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	q, err := s.Store.CreateQuest(r.Context(), optio.QuestInput{Title: r.PostFormValue("title"), Description: r.PostFormValue("description")})
	if err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin?flash=Quest+created#"+q.ID, http.StatusSeeOther)
}

func (s *Server) handleAdminCreateTaskForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	in := optio.TaskInput{Title: r.PostFormValue("title"), Description: r.PostFormValue("description"), Pillar: optio.Pillar(r.PostFormValue("pillar"))}
	if xp, err := strconv.Atoi(r.PostFormValue("xp_value")); err == nil {
		in.XPValue = &xp
	}
	if _, err := s.Store.CreateTask(r.Context(), r.PathValue("id"), in); err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin?flash=Task+added", http.StatusSeeOther)
}

func (s *Server) handleAdminToggleQuestForm(w http.ResponseWriter, r *http.Request) {
	q, err := s.Store.QuestByID(r.Context(), r.PathValue("id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	active := !q.Active
	if _, err := s.Store.UpdateQuest(r.Context(), q.ID, optio.QuestInput{Title: q.Title, Description: q.Description, Active: &active}); err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}
