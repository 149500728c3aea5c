package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"github.com/optio-edu/optio/filestore"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/optio-edu/optio"
)

// portfolioPerPage is how many finished tasks one portfolio page shows, so a
// student with hundreds of items still gets a fast page.
const portfolioPerPage = 50

//go:embed templates/portfolio/*.html
var portfolioFS embed.FS

// portfolioTemplates are the showcase pages: the full page (inside the
// shared layout) and the compact embed, sharing the portfolio partials.
var portfolioTemplates = mustParsePortfolioTemplates()

var portfolioFuncs = template.FuncMap{
	"inc":       func(n int) int { return n + 1 },
	"dec":       func(n int) int { return n - 1 },
	"thousands": thousands,
	// fileExt is a file name's extension in capitals, for a card's type icon.
	"fileExt": func(name string) string {
		e := strings.ToUpper(strings.TrimPrefix(path.Ext(name), "."))
		if e == "" || len(e) > 5 {
			return "FILE"
		}
		return e
	},
}

func mustParsePortfolioTemplates() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range []string{"page", "embed"} {
		t := template.Must(template.New(name).Funcs(funcs).Funcs(portfolioFuncs).ParseFS(templateFS, shared...))
		out[name] = template.Must(t.ParseFS(portfolioFS, "templates/portfolio/parts.html", "templates/portfolio/"+name+".html"))
	}
	return out
}

func (s *Server) portfolioRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /portfolio/{slug}", s.handlePortfolioPage)
	mux.HandleFunc("GET /portfolio/{slug}/embed", s.handlePortfolioEmbed)
	mux.HandleFunc("GET /api/public/portfolio/{slug}", s.handlePortfolioJSON)
	mux.HandleFunc("OPTIONS /api/public/portfolio/{slug}", s.handlePortfolioPreflight)
	mux.HandleFunc("GET /files/{fileID}", s.handleEvidenceFile)
	mux.HandleFunc("GET /files/{fileID}/thumb", s.handleEvidenceThumb)
	mux.HandleFunc("GET /portfolio/{slug}/og.png", s.handlePortfolioOGImage)
	mux.HandleFunc("POST /parent/students/{id}/portfolio-visibility", s.requirePageRole(s.handleParentVisibilityForm, optio.RoleParent))
	mux.HandleFunc("POST /dashboard/portfolio-settings", s.requirePageRole(s.handlePortfolioSettingsForm, optio.RoleStudent))
	s.portfolioAdminRoutes(mux)
}

// portfolioView is a portfolio as pages and the public JSON show it.
type portfolioView struct {
	Student      portfolioStudent      `json:"student"`
	XP           *optio.XPSummary      `json:"xp"`
	Badges       []optio.BadgeProgress `json:"badges,omitempty"`
	SparkCourses []workGroup           `json:"spark_courses"`
	Quests       []workGroup           `json:"quests"`
	Page         int                   `json:"page"`
	PerPage      int                   `json:"per_page"`
	TotalItems   int                   `json:"total_items"`
	TotalPages   int                   `json:"total_pages"`

	// For the pages only.
	BadgesShown bool   `json:"-"`
	Initials    string `json:"-"`
	// EarnedBadges lead the page; Progress (unearned badges, with what is
	// missing) is for the owner and their family only.
	EarnedBadges []badgeCard           `json:"-"`
	Progress     []optio.BadgeProgress `json:"-"`
	Family       bool                  `json:"-"` // the owner, a linked parent or an admin is looking
	OGImageAlt   string                `json:"-"`
	Indexable    bool                  `json:"-"` // public (not unlisted, not private): search engines may index it
	OGImage      string                `json:"-"`
	Embedded     bool                  `json:"-"`
	// For the owner and their family: why strangers do not see it, and where to act.
	Hidden         string `json:"hidden_reason,omitempty"`
	HiddenLink     string `json:"-"`
	HiddenLinkText string `json:"-"`
}

// portfolioStudent is who the portfolio belongs to; never email or age.
type portfolioStudent struct {
	Name         string           `json:"name"`
	GivenName    string           `json:"given_name"`
	Slug         string           `json:"slug"`
	PortfolioURL string           `json:"portfolio_url"`
	Visibility   optio.Visibility `json:"visibility"`
}

// workGroup is a Spark course or an Optio quest with the student's finished
// tasks in it (those on the current page).
type workGroup struct {
	SparkCourseID string     `json:"spark_course_id,omitempty"`
	QuestID       string     `json:"quest_id"`
	Title         string     `json:"title"`
	Items         []workItem `json:"items"`
	// TasksDone of TasksTotal tasks of the course or quest are finished
	// (all of the student's work, not only this page's).
	TasksDone  int `json:"tasks_done"`
	TasksTotal int `json:"tasks_total"`
	Percent    int `json:"-"`
}

// workItem is one finished task with its evidence.
type workItem struct {
	CompletionID string         `json:"completion_id"`
	TaskID       string         `json:"task_id"`
	Title        string         `json:"title"`
	Pillar       optio.Pillar   `json:"pillar"`
	XP           int            `json:"xp"`
	CompletedAt  time.Time      `json:"completed_at"`
	FromSpark    bool           `json:"from_spark"`
	SyncedAt     *time.Time     `json:"synced_at,omitempty"`
	Evidence     []evidenceView `json:"evidence"`
	// Comments are observers' encouragement, shown to the student, their
	// family and observers; never to strangers or Spark.
	Comments []commentView `json:"comments,omitempty"`

	// For the pages: the picture or video the card leads with, and the rest.
	Hero *evidenceView  `json:"-"`
	Rest []evidenceView `json:"-"`
	// Card is the item rendered as its page shows it (renderCards).
	Card template.HTML `json:"-"`
}

// evidenceView is one evidence block as a viewer may see it. Files are
// reached only through FileURL, which checks access on every request.
type evidenceView struct {
	ID          string          `json:"id"`
	Type        optio.BlockType `json:"type"`
	Text        string          `json:"text,omitempty"`
	URL         string          `json:"url,omitempty"`
	Title       string          `json:"title,omitempty"`
	Filename    string          `json:"filename,omitempty"`
	ContentType string          `json:"content_type,omitempty"`
	Size        int64           `json:"size,omitempty"`
	FileURL     string          `json:"file_url,omitempty"`
	Kind        string          `json:"kind,omitempty"` // PDF, Presentation, Document… for documents
	Private     bool            `json:"private,omitempty"`
	Source      string          `json:"source,omitempty"`
	SyncedAt    *time.Time      `json:"synced_at,omitempty"`

	// PreviewURL is a web rendition (JPEG) of an image the browser cannot
	// show; FileURL stays the original, for download.
	PreviewURL string `json:"preview_url,omitempty"`
	// ThumbURL is a small JPEG of an image, or of a PDF's first page, for
	// cards (made once, kept).
	ThumbURL string `json:"thumb_url,omitempty"`
	// KindLabel is the file's type in words ("PowerPoint presentation").
	KindLabel string `json:"kind_label,omitempty"`
	// NotImported is why a submitted file could not be imported; such an
	// entry has no file, and OriginalURL only when it is safe to show.
	NotImported string `json:"not_imported,omitempty"`
	OriginalURL string `json:"original_url,omitempty"`

	Alt        string `json:"-"`
	ThumbPath  string `json:"-"` // the card's thumbnail; "" when there is none
	ShowPath   string `json:"-"` // what the page shows inline (the rendition, or the file); "" when the browser cannot show it
	Path       string `json:"-"` // FileURL relative to Optio, for pages
	Previewok  bool   `json:"-"` // the browser can show the file itself
	SafeLinkOK bool   `json:"-"`
}

var errPortfolioNotFound = &optio.Error{Code: optio.EPortfolioPrivate, Message: "This portfolio is private, or the link is not right. If it is yours, sign in to see it."}

// loadPortfolio finds the student behind slug, the version of what their
// portfolio shows and the viewer's access, answering ENOTFOUND both when
// there is no such portfolio and when the viewer may not see it, so private
// portfolios do not reveal they exist.
func (s *Server) loadPortfolio(r *http.Request) (*optio.User, optio.PortfolioVersion, portfolioAccess, error) {
	var ver optio.PortfolioVersion
	slug := r.PathValue("slug")
	if slug == "" || len(slug) > 80 {
		return nil, ver, accessNone, errPortfolioNotFound
	}
	student, ver, err := s.Store.PortfolioOwner(r.Context(), slug)
	if err != nil {
		if optio.ErrorCode(err) == optio.ENOTFOUND {
			return nil, ver, accessNone, errPortfolioNotFound
		}
		return nil, ver, accessNone, err
	}
	acc, err := s.portfolioAccess(r.Context(), userOf(r), student)
	if err != nil {
		return nil, ver, accessNone, err
	}
	if acc == accessNone {
		return nil, ver, accessNone, errPortfolioNotFound
	}
	return student, ver, acc, nil
}

// pageParam reads ?page= (1 when absent).
func pageParam(r *http.Request) (int, error) {
	v := r.URL.Query().Get("page")
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100000 {
		return 0, &optio.Error{Code: optio.EINVALID, Message: "The page number is not valid.",
			Fields: map[string]string{"page": "must be a whole number from 1"}}
	}
	return n, nil
}

// buildPortfolio gathers what a viewer with acc sees of student's portfolio
// on one page; public says whether strangers may see it now. complete is
// false when a part could not be read and the view goes without it (the
// badges), so it must not be kept for reuse.
func (s *Server) buildPortfolio(ctx context.Context, page int, student *optio.User, acc portfolioAccess, public bool) (v *portfolioView, complete bool, err error) {
	xp, err := s.Store.XPSummary(ctx, student.ID)
	if err != nil {
		return nil, false, err
	}
	work, err := s.Store.PortfolioWork(ctx, student.ID, portfolioPerPage, (page-1)*portfolioPerPage)
	if err != nil {
		return nil, false, err
	}
	v = &portfolioView{Initials: studentInitials(student), Family: acc == accessFamily,
		Student: portfolioStudent{Name: student.DisplayName(), GivenName: student.GivenName, Slug: student.PortfolioSlug,
			PortfolioURL: s.absURL("/portfolio/" + url.PathEscape(student.PortfolioSlug)), Visibility: student.Visibility},
		XP: xp, Page: page, PerPage: portfolioPerPage, TotalItems: work.Total,
		TotalPages:   max(1, (work.Total+portfolioPerPage-1)/portfolioPerPage),
		SparkCourses: []workGroup{}, Quests: []workGroup{},
		Indexable: student.Visibility == optio.VisibilityPublic && public,
	}
	if page > v.TotalPages {
		return nil, false, optio.Errorf(optio.ENOTFOUND, "This portfolio has no page %d.", page)
	}
	complete = true
	if s.BadgeProgress != nil {
		badges, err := s.BadgeProgress(ctx, student.ID)
		if err != nil {
			// A portfolio still shows without its badges.
			s.Logger.WarnContext(ctx, "portfolio badges", slog.String("student", student.ID), slog.Any("error", err))
			complete = false
		} else {
			v.BadgesShown = true
			v.Badges, v.EarnedBadges, v.Progress = splitBadges(badges, student, acc == accessFamily)
		}
	}
	spark, quests := map[string]int{}, map[string]int{}
	for _, it := range work.Items {
		wi := s.workItem(it, acc)
		if it.QuestSource == optio.SourceLMS && it.LMSPlatform == "spark" {
			i, ok := spark[it.LMSCourseID]
			if !ok {
				i = len(v.SparkCourses)
				spark[it.LMSCourseID] = i
				v.SparkCourses = append(v.SparkCourses, workGroup{SparkCourseID: it.LMSCourseID, QuestID: it.Completion.QuestID, Title: it.CourseTitle})
			}
			v.SparkCourses[i].Items = append(v.SparkCourses[i].Items, wi)
			continue
		}
		i, ok := quests[it.Completion.QuestID]
		if !ok {
			i = len(v.Quests)
			quests[it.Completion.QuestID] = i
			v.Quests = append(v.Quests, workGroup{QuestID: it.Completion.QuestID, Title: it.QuestTitle})
		}
		v.Quests[i].Items = append(v.Quests[i].Items, wi)
	}
	addCompletion(v, work.Quests)
	if acc == accessFamily || acc == accessObserver {
		if err := s.addComments(ctx, v); err != nil {
			return nil, false, err
		}
	}
	if public {
		v.OGImage = s.absURL(ogImagePath(student.PortfolioSlug))
		v.OGImageAlt = v.Student.Name + "’s learning portfolio on Optio"
	}
	if acc == accessFamily {
		v.Hidden, v.HiddenLink, v.HiddenLinkText = hiddenReason(student, s.now())
	}
	if acc == accessEmbed {
		s.grantFiles(v, student.ID)
	}
	v.pickHeroes()
	return v, complete, nil
}

// workItem turns a completion into what the viewer may see of it.
func (s *Server) workItem(it optio.PortfolioItem, acc portfolioAccess) workItem {
	wi := workItem{CompletionID: it.Completion.ID, TaskID: it.Task.ID, Title: it.Task.Title, Pillar: it.Task.Pillar,
		XP: it.Completion.XPAwarded, CompletedAt: it.Completion.CompletedAt, Evidence: []evidenceView{},
		FromSpark: it.QuestSource == optio.SourceLMS && it.LMSPlatform == "spark"}
	if it.Evidence == nil {
		return wi
	}
	for _, b := range it.Evidence.Blocks {
		if b.Private && !acc.seesPrivate() {
			continue
		}
		if b.Content.Source == "spark" {
			wi.FromSpark = true
			if b.Content.SyncedAt != nil && (wi.SyncedAt == nil || b.Content.SyncedAt.After(*wi.SyncedAt)) {
				wi.SyncedAt = b.Content.SyncedAt
			}
		}
		wi.Evidence = append(wi.Evidence, s.evidenceView(b, it.Task.Title))
	}
	if wi.FromSpark && wi.SyncedAt == nil {
		t := it.Completion.CompletedAt
		wi.SyncedAt = &t
	}
	return wi
}

func (s *Server) evidenceView(b optio.EvidenceBlock, taskTitle string) evidenceView {
	c := b.Content
	e := evidenceView{ID: b.ID, Type: b.BlockType, Text: c.Text, Title: c.Title, Private: b.Private, Source: c.Source, SyncedAt: c.SyncedAt}
	switch b.BlockType {
	case optio.BlockLink:
		if u, err := url.Parse(c.URL); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			e.URL, e.SafeLinkOK = c.URL, true
		} else {
			e.Text = c.URL // shown as text, never as a link
		}
	case optio.BlockImage, optio.BlockVideo, optio.BlockDocument:
		if c.NotImported != "" {
			e.Filename, e.NotImported, e.OriginalURL = c.Filename, c.NotImported, c.OriginalURL
			break
		}
		if c.FileID == "" {
			break
		}
		e.Filename, e.ContentType, e.Size = c.Filename, c.ContentType, c.Size
		e.Path = "/files/" + url.PathEscape(c.FileID) + "?b=" + url.QueryEscape(b.ID)
		e.FileURL = s.absURL(e.Path)
		e.Kind, e.Previewok = documentKind(c.ContentType)
		e.KindLabel = fileTypeLabel(c.ContentType, c.Filename)
		if filestore.BrowserShows(c.ContentType) {
			e.ShowPath = e.Path
		}
		thumbOf, thumbType := c.FileID, c.ContentType
		if c.PreviewFileID != "" {
			e.ShowPath = "/files/" + url.PathEscape(c.PreviewFileID) + "?b=" + url.QueryEscape(b.ID)
			e.PreviewURL = s.absURL(e.ShowPath)
			thumbOf, thumbType = c.PreviewFileID, "image/jpeg"
		}
		if (b.BlockType == optio.BlockImage || b.BlockType == optio.BlockDocument) && filestore.CanThumbnail(thumbType) {
			e.ThumbPath = "/files/" + url.PathEscape(thumbOf) + "/thumb?b=" + url.QueryEscape(b.ID)
			e.ThumbURL = s.absURL(e.ThumbPath)
		}
		e.Alt = c.Title
		if e.Alt == "" {
			e.Alt = "Image submitted for “" + taskTitle + "”"
		}
	}
	return e
}

// documentKind names a document's type for people and says whether a
// browser can show it in place.
func documentKind(ct string) (string, bool) {
	switch {
	case strings.HasPrefix(ct, "application/pdf"):
		return "PDF", true
	case strings.Contains(ct, "presentation"), strings.Contains(ct, "powerpoint"):
		return "Presentation", false
	case strings.Contains(ct, "spreadsheet"), strings.Contains(ct, "excel"):
		return "Spreadsheet", false
	case strings.Contains(ct, "wordprocessing"), strings.Contains(ct, "msword"), strings.Contains(ct, "opendocument.text"):
		return "Document", false
	case strings.HasPrefix(ct, "text/"):
		return "Text file", true
	case strings.HasPrefix(ct, "image/"):
		return "Image", true
	case strings.HasPrefix(ct, "video/"):
		return "Video", true
	}
	return "File", false
}

// absURL is path on Optio's public URL.
func (s *Server) absURL(path string) string {
	return strings.TrimRight(s.Config.BaseURL, "/") + path
}

func (s *Server) handlePortfolioPage(w http.ResponseWriter, r *http.Request) {
	s.servePortfolioHTML(w, r, "page")
}

// handlePortfolioEmbed is the compact page Spark frames. Only it lists the
// Spark origins in frame-ancestors; every other page keeps 'self'.
func (s *Server) handlePortfolioEmbed(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", s.embedCSP())
	gr, err := s.embedFromToken(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.servePortfolioHTML(w, gr, "embed")
}

// auditPortfolioView records in audit_log that a parent, observer or admin
// looked at a child's portfolio (via: page, embed or json), one row per
// view, as the family dashboards do. The owner's own views and views by
// strangers of a public portfolio are not recorded.
func (s *Server) auditPortfolioView(r *http.Request, student *optio.User, acc portfolioAccess, via string) {
	viewer := userOf(r)
	if acc == accessEmbed {
		sub := ""
		if g, _ := r.Context().Value(embedGrantKey{}).(*embedGrant); g != nil {
			sub = g.subject
		}
		if err := s.Store.Audit(r.Context(), "", "spark.view_portfolio", student.ID, map[string]any{"via": via, "spark_user": sub}); err != nil {
			s.Logger.ErrorContext(r.Context(), "audit", "action", "spark.view_portfolio", "error", err)
		}
		return
	}
	if viewer == nil || viewer.ID == student.ID {
		return
	}
	var who string
	switch {
	case acc == accessObserver:
		who = "observer"
	case acc == accessFamily && viewer.Role == optio.RoleParent:
		who = "parent"
	case acc == accessFamily && viewer.Role == optio.RoleAdmin:
		who = "admin"
	default:
		return
	}
	s.audit(r, who+".view_portfolio", student.ID, map[string]any{"via": via})
}

// portfolioFragments are the page's own parts, placed by the layout.
type portfolioFragments struct {
	Head    template.HTML
	Content template.HTML
}

// portfolioRendering returns the portfolio behind r's slug in form ("page":
// the head and content fragments; "embed": the whole compact page; "json"),
// as the viewer may see it: kept from an earlier request when nothing it shows
// has changed since (the store's portfolio version) and it was made for the
// same access, else built and rendered now.
func (s *Server) portfolioRendering(r *http.Request, form string) (*optio.User, portfolioAccess, *portfolioRender, error) {
	student, ver, acc, err := s.loadPortfolio(r)
	if err != nil {
		return nil, accessNone, nil, err
	}
	page, err := pageParam(r)
	if err != nil {
		return nil, accessNone, nil, err
	}
	public := publiclyViewable(student, s.now())
	key := portfolioKey{studentID: student.ID, form: form, access: acc, public: public, page: page}
	if pr, ok := s.portfolioCache.get(key, ver); ok {
		s.Metrics.PortfolioCache.WithLabelValues("hit").Inc()
		return student, acc, pr, nil
	}
	s.Metrics.PortfolioCache.WithLabelValues("miss").Inc()
	v, complete, err := s.buildPortfolio(r.Context(), page, student, acc, public)
	if err != nil {
		return nil, accessNone, nil, err
	}
	pr := &portfolioRender{version: ver}
	var buf bytes.Buffer
	switch form {
	case "page":
		t := portfolioTemplates["page"]
		cards, err := s.renderCards(v, t, acc != accessEmbed)
		if err != nil {
			return nil, accessNone, nil, err
		}
		if err := t.ExecuteTemplate(&buf, "portfolio-head", v); err != nil {
			return nil, accessNone, nil, err
		}
		pr.head = buf.String()
		buf.Reset()
		buf.Grow(cards + 32<<10) // the cards and the page around them, without regrowing
		if err := t.ExecuteTemplate(&buf, "portfolio-content", v); err != nil {
			return nil, accessNone, nil, err
		}
		pr.body = buf.String()
	case "embed":
		// The embed names no viewer (no layout), so all of it is kept.
		v.Embedded = true
		cards, err := s.renderCards(v, portfolioTemplates["embed"], false)
		if err != nil {
			return nil, accessNone, nil, err
		}
		buf.Grow(cards + 32<<10)
		d := pageData{Title: v.Student.Name + "’s portfolio", Data: v}
		if err := portfolioTemplates["embed"].ExecuteTemplate(&buf, "embed", d); err != nil {
			return nil, accessNone, nil, err
		}
		pr.body = buf.String()
	case "json":
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, accessNone, nil, err
		}
		pr.body = string(append(raw, '\n'))
	}
	// An embed shown through a token carries file grants that expire, and
	// every token is single-use anyway: it is never kept.
	if complete && acc != accessEmbed {
		s.portfolioCache.put(key, pr)
	}
	return student, acc, pr, nil
}

func (s *Server) servePortfolioHTML(w http.ResponseWriter, r *http.Request, name string) {
	student, acc, pr, err := s.portfolioRendering(r, name)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.auditPortfolioView(r, student, acc, name)
	if !(student.Visibility == optio.VisibilityPublic && publiclyViewable(student, s.now())) {
		w.Header().Set("X-Robots-Tag", "noindex")
	}
	if name == "embed" {
		writeWithETag(w, r, "text/html; charset=utf-8", []byte(pr.body))
		return
	}
	d := pageData{Title: student.DisplayName() + "’s portfolio", User: userOf(r),
		Data: portfolioFragments{Head: template.HTML(pr.head), Content: template.HTML(pr.body)}}
	var buf bytes.Buffer
	buf.Grow(len(pr.head) + len(pr.body) + 2048)
	if err := portfolioTemplates["page"].ExecuteTemplate(&buf, "layout", d); err != nil {
		s.Error(w, r, err)
		return
	}
	writeWithETag(w, r, "text/html; charset=utf-8", buf.Bytes())
}

// handlePortfolioJSON is the portfolio as JSON, readable from Spark's
// origins (CORS) and cacheable with ETag.
func (s *Server) handlePortfolioJSON(w http.ResponseWriter, r *http.Request) {
	s.sparkCORS(w, r)
	student, acc, pr, err := s.portfolioRendering(r, "json")
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.auditPortfolioView(r, student, acc, "json")
	writeWithETag(w, r, "application/json; charset=utf-8", []byte(pr.body))
}

// handlePortfolioPreflight answers CORS preflights for the public JSON:
// allowed Spark origins get the CORS headers, others only Vary.
func (s *Server) handlePortfolioPreflight(w http.ResponseWriter, r *http.Request) {
	if s.sparkCORS(w, r) {
		h := w.Header()
		h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Accept, If-None-Match")
		h.Set("Access-Control-Max-Age", "600")
	}
	w.WriteHeader(http.StatusNoContent)
}

// sparkCORS sets CORS headers when the request comes from a configured Spark
// origin, echoing that origin only; it reports whether it did.
func (s *Server) sparkCORS(w http.ResponseWriter, r *http.Request) bool {
	w.Header().Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	for _, o := range s.Config.SparkAllowedOrigins {
		if strings.EqualFold(o, origin) {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Expose-Headers", "ETag")
			return true
		}
	}
	return false
}

// embedCSP is the site's policy with frame-ancestors opened to the Spark
// origins.
func (s *Server) embedCSP() string {
	csp := selfCSP // ends with frame-ancestors 'self'
	for _, o := range s.Config.SparkAllowedOrigins {
		if o != "" && !strings.ContainsAny(o, "; ,\t\r\n'") {
			csp += " " + o
		}
	}
	return csp
}

// writeWithETag answers with body and an ETag made from its hash, or 304
// when the client already has these bytes. Portfolios depend on who asks, so
// caches keep them private and revalidate every time.
func writeWithETag(w http.ResponseWriter, r *http.Request, contentType string, body []byte) {
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "private, no-cache")
	h.Add("Vary", "Cookie")
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// etagMatches applies If-None-Match's weak comparison.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// handleEvidenceFile serves an evidence file through Optio: the block in ?b=
// must reference the file, and the viewer must be allowed to see that block
// (private blocks: the student, linked parents and admins; otherwise the
// portfolio's rules). Anything else answers 404.
func (s *Server) handleEvidenceFile(w http.ResponseWriter, r *http.Request) {
	f, cache, err := s.evidenceFile(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.serveFile(w, r, f, cache)
}

// handleEvidenceThumb serves the card thumbnail of an evidence image, under
// the same rules as the image itself, making it on the first request.
func (s *Server) handleEvidenceThumb(w http.ResponseWriter, r *http.Request) {
	f, cache, err := s.evidenceFile(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if s.Files == nil {
		s.Error(w, r, &optio.Error{Code: optio.ENOTCONFIG, Message: "File storage is not configured."})
		return
	}
	th, err := s.Files.Thumbnail(r.Context(), f.BlobKey, f.ContentType)
	if err != nil {
		if optio.ErrorCode(err) == optio.EUNSUPPORTED {
			err = &optio.Error{Code: optio.ENOTFOUND, Message: "This file has no thumbnail."}
		}
		s.Error(w, r, err)
		return
	}
	s.serveFile(w, r, &optio.File{BlobKey: th.Key, ContentType: th.ContentType, SHA256: th.SHA256, Size: th.Size,
		Filename: strings.TrimSuffix(f.Filename, path.Ext(f.Filename)) + "-thumbnail.jpg", CreatedAt: f.CreatedAt}, cache)
}

// evidenceFile is the file behind /files/{fileID}?b= when the viewer may see
// it, with the Cache-Control it may be served with.
func (s *Server) evidenceFile(r *http.Request) (*optio.File, string, error) {
	ctx := r.Context()
	notFound := &optio.Error{Code: optio.ENOTFOUND, Message: "File not found."}
	ref, err := s.Store.EvidenceBlockFile(ctx, r.URL.Query().Get("b"), r.PathValue("fileID"))
	if err != nil {
		return nil, "", err
	}
	student, err := s.Store.UserByID(ctx, ref.StudentID)
	if err != nil {
		return nil, "", err
	}
	r = s.fileGrantRequest(r, student.ID)
	acc, err := s.portfolioAccess(r.Context(), userOf(r), student)
	if err != nil {
		return nil, "", err
	}
	if acc == accessNone || (ref.Private && !acc.seesPrivate()) {
		return nil, "", notFound
	}
	f, err := s.Store.FileByID(ctx, ref.FileID)
	if err != nil {
		return nil, "", err
	}
	cache := "private, max-age=300"
	if !ref.Private && publiclyViewable(student, s.now()) {
		cache = "public, max-age=300"
	}
	return f, cache, nil
}

// handlePortfolioSettingsForm saves the dashboard's portfolio settings.
func (s *Server) handlePortfolioSettingsForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	v := optio.Visibility(r.PostFormValue("portfolio_visibility"))
	u, err := s.Store.UpdateProfile(r.Context(), userOf(r).ID, optio.ProfileUpdate{Visibility: &v})
	if err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/dashboard?flash="+url.QueryEscape(visibilitySaved(u, s.now(), false))+"#ps-h", http.StatusSeeOther)
}
