package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/openbadges"
)

// badgeWeb serves badges: the admin page and API, the student page and API,
// images, and Open Badges credentials with the key set to verify them.
type badgeWeb struct {
	s *Server

	mu     sync.Mutex
	issuer *openbadges.Issuer
	loaded time.Time
}

func (s *Server) badgeRoutes(mux *http.ServeMux) {
	b := &badgeWeb{s: s}
	mux.HandleFunc("GET /admin/spark-badges", s.requirePageRole(b.handleAdminPage, optio.RoleAdmin))
	mux.HandleFunc("POST /admin/spark-badges", s.requirePageRole(b.handleAdminCreateForm, optio.RoleAdmin))
	mux.HandleFunc("GET /admin/spark-badges/{id}", s.requirePageRole(b.handleAdminEditPage, optio.RoleAdmin))
	mux.HandleFunc("POST /admin/spark-badges/{id}", s.requirePageRole(b.handleAdminEditForm, optio.RoleAdmin))
	mux.HandleFunc("POST /admin/spark-badges/{id}/retire", s.requirePageRole(b.handleAdminRetireForm, optio.RoleAdmin))
	mux.HandleFunc("GET /api/admin/badges", s.requireRole(b.handleList, optio.RoleAdmin))
	mux.HandleFunc("POST /api/admin/badges", s.requireRole(b.handleCreate, optio.RoleAdmin))
	mux.HandleFunc("PATCH /api/admin/badges/{id}", s.requireRole(b.handleUpdate, optio.RoleAdmin))
	mux.HandleFunc("DELETE /api/admin/badges/{id}", s.requireRole(b.handleRetire, optio.RoleAdmin))

	mux.HandleFunc("GET /badges", s.requirePageRole(b.handleStudentPage, optio.RoleStudent))
	mux.HandleFunc("GET /api/badges", s.requireRole(b.handleProgress, optio.RoleStudent))
	mux.HandleFunc("GET /api/badges/{badge_id}/credential", s.requireRole(b.handleCredential, optio.RoleStudent))
	mux.HandleFunc("GET /badges/{id}/image.svg", b.handleImage)
	mux.HandleFunc("GET /.well-known/jwks.json", b.handleJWKS)
	b.credentialRoutes(mux)
}

// progress is the one source of badge progress for pages and the API: the
// BadgeProgress hook when set (app sets it), else the store with links.
func (s *Server) badgeProgress(ctx context.Context, userID string) ([]optio.BadgeProgress, error) {
	if s.BadgeProgress != nil {
		return s.BadgeProgress(ctx, userID)
	}
	return optio.BadgeProgressWithLinks(s.Store, s.Config.SparkCatalogURL)(ctx, userID)
}

// badgeSaved is the answer to a create or edit: the badge, warnings about
// course ids Optio does not know yet, and how many students were awarded it.
type badgeSaved struct {
	Badge          *optio.Badge `json:"badge"`
	Warnings       []string     `json:"warnings"`
	UnknownCourses []string     `json:"unknown_courses"`
	Awarded        int          `json:"awarded"`
}

// save runs after a badge is created or edited: it awards everyone who now
// qualifies and collects the unknown-course warnings.
func (b *badgeWeb) saved(ctx context.Context, badge *optio.Badge) (*badgeSaved, error) {
	out := &badgeSaved{Badge: badge, Warnings: []string{}, UnknownCourses: []string{}}
	unknown, err := b.s.Store.UnknownSparkCourses(ctx, badge.RequiredCourses)
	if err != nil {
		return nil, err
	}
	for _, c := range unknown {
		out.UnknownCourses = append(out.UnknownCourses, c)
		out.Warnings = append(out.Warnings, fmt.Sprintf("Spark course %q is not known to Optio yet; the badge counts it once Spark sends it.", c))
	}
	if badge.Active {
		n, err := b.s.Store.AwardBadgesAll(ctx)
		if err != nil {
			return nil, err
		}
		out.Awarded = n
	}
	return out, nil
}

func (b *badgeWeb) handleList(w http.ResponseWriter, r *http.Request) {
	list, err := b.s.Store.ListBadges(r.Context(), true)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"badges": list})
}

func (b *badgeWeb) handleCreate(w http.ResponseWriter, r *http.Request) {
	var in optio.BadgeInput
	if err := decodeJSON(w, r, 64<<10, &in); err != nil {
		b.s.Error(w, r, err)
		return
	}
	badge, err := b.s.Store.CreateBadge(r.Context(), in)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	out, err := b.saved(r.Context(), badge)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

func (b *badgeWeb) handleUpdate(w http.ResponseWriter, r *http.Request) {
	var in optio.BadgeInput
	if err := decodeJSON(w, r, 64<<10, &in); err != nil {
		b.s.Error(w, r, err)
		return
	}
	badge, err := b.s.Store.UpdateBadge(r.Context(), r.PathValue("id"), in)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	out, err := b.saved(r.Context(), badge)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (b *badgeWeb) handleRetire(w http.ResponseWriter, r *http.Request) {
	badge, err := b.s.Store.RetireBadge(r.Context(), r.PathValue("id"))
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"badge": badge})
}

func (b *badgeWeb) handleProgress(w http.ResponseWriter, r *http.Request) {
	ps, err := b.s.badgeProgress(r.Context(), userOf(r).ID)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"badges": ps})
}

func (b *badgeWeb) handleStudentPage(w http.ResponseWriter, r *http.Request) {
	ps, err := b.s.badgeProgress(r.Context(), userOf(r).ID)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	// The page links a missing course to the OnFire catalog only when the
	// student has not taken it yet, through the tracked redirect
	// (/go/onfire/{course_id}, web/health.go) so clicks are counted.
	taken, err := b.s.Store.SparkCoursesTaken(r.Context(), userOf(r).ID)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	for i := range ps {
		for j := range ps[i].CoursesMissing {
			c := &ps[i].CoursesMissing[j]
			if c.CatalogURL == "" || taken[c.SparkCourseID] {
				c.CatalogURL = ""
				continue
			}
			c.CatalogURL = "/go/onfire/" + url.PathEscape(c.SparkCourseID) + "?badge=" + url.QueryEscape(ps[i].Badge.ID)
		}
	}
	b.s.render(w, r, "badges", pageData{Title: "Badges", Data: ps})
}

// adminBadge is a badge on the admin page with its unknown course ids.
type adminBadge struct {
	optio.Badge
	Unknown []string
}

// PillarName is the badge's pillar, or "" for none.
func (a adminBadge) PillarName() string {
	if a.Pillar == nil {
		return ""
	}
	return string(*a.Pillar)
}

func (b *badgeWeb) handleAdminPage(w http.ResponseWriter, r *http.Request) {
	list, err := b.s.Store.ListBadges(r.Context(), true)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	out := make([]adminBadge, 0, len(list))
	for _, badge := range list {
		unknown, err := b.s.Store.UnknownSparkCourses(r.Context(), badge.RequiredCourses)
		if err != nil {
			b.s.Error(w, r, err)
			return
		}
		out = append(out, adminBadge{Badge: badge, Unknown: unknown})
	}
	b.s.render(w, r, "spark_badges", pageData{Title: "Badges", Data: out})
}

// handleAdminEditPage is one badge's edit view; the list links to it.
func (b *badgeWeb) handleAdminEditPage(w http.ResponseWriter, r *http.Request) {
	badge, err := b.s.Store.BadgeByID(r.Context(), r.PathValue("id"))
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	unknown, err := b.s.Store.UnknownSparkCourses(r.Context(), badge.RequiredCourses)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	b.s.render(w, r, "spark_badge_edit", pageData{Title: "Edit " + badge.Name, Data: adminBadge{Badge: *badge, Unknown: unknown}})
}

// badgeForm reads the fields a badge form sent; absent fields stay nil.
func badgeForm(r *http.Request) (optio.BadgeInput, error) {
	var in optio.BadgeInput
	if err := r.ParseForm(); err != nil {
		return in, optio.Errorf(optio.EINVALID, "The form could not be read.")
	}
	f := r.PostForm
	if f.Has("name") {
		in.Name = ptr(f.Get("name"))
	}
	if f.Has("description") {
		in.Description = ptr(f.Get("description"))
	}
	if f.Has("courses") {
		cs := strings.FieldsFunc(f.Get("courses"), func(r rune) bool { return r == ',' || r == '\n' || r == '\r' })
		in.RequiredCourses = &cs
	}
	if f.Has("xp_required") {
		xp, err := strconv.Atoi(strings.TrimSpace(f.Get("xp_required")))
		if err != nil {
			return in, &optio.Error{Code: optio.EINVALID, Message: "The badge is not valid.", Fields: map[string]string{"xp_required": "must be a whole number"}}
		}
		in.XPRequired = &xp
	}
	if f.Has("pillar") {
		in.Pillar = ptr(f.Get("pillar"))
	}
	if f.Has("active") {
		a := f.Get("active") == "true"
		in.Active = &a
	}
	return in, nil
}

func ptr[T any](v T) *T { return &v }

func (b *badgeWeb) redirectSaved(w http.ResponseWriter, r *http.Request, verb string, out *badgeSaved) {
	msg := fmt.Sprintf("Badge %s. Awarded to %d students.", verb, out.Awarded)
	if len(out.UnknownCourses) > 0 {
		msg += " Not known to Optio yet: " + strings.Join(out.UnknownCourses, ", ")
	}
	if len(msg) > 200 {
		msg = msg[:197] + "..."
	}
	http.Redirect(w, r, "/admin/spark-badges?flash="+url.QueryEscape(msg)+"#b-"+out.Badge.ID, http.StatusSeeOther)
}

func (b *badgeWeb) handleAdminCreateForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	in, err := badgeForm(r)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	badge, err := b.s.Store.CreateBadge(r.Context(), in)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	out, err := b.saved(r.Context(), badge)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	b.redirectSaved(w, r, "created", out)
}

func (b *badgeWeb) handleAdminEditForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	in, err := badgeForm(r)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	badge, err := b.s.Store.UpdateBadge(r.Context(), r.PathValue("id"), in)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	out, err := b.saved(r.Context(), badge)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	b.redirectSaved(w, r, "saved", out)
}

func (b *badgeWeb) handleAdminRetireForm(w http.ResponseWriter, r *http.Request) {
	if _, err := b.s.Store.RetireBadge(r.Context(), r.PathValue("id")); err != nil {
		b.s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/spark-badges?flash="+url.QueryEscape("Badge retired. Students who earned it keep it."), http.StatusSeeOther)
}

func (b *badgeWeb) handleImage(w http.ResponseWriter, r *http.Request) {
	badge, err := b.s.Store.BadgeByID(r.Context(), r.PathValue("id"))
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/svg+xml")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'none'; script-src 'none'; sandbox")
	h.Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write([]byte(badgeSVG(badge)))
}

// handleCredential gives a student their earned badge as a VC-JWT.
func (b *badgeWeb) handleCredential(w http.ResponseWriter, r *http.Request) {
	award, err := b.s.Store.EarnedBadge(r.Context(), userOf(r).ID, r.PathValue("badge_id"))
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	iss, err := b.issue(r.Context(), award.ID)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/vc+jwt")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", `attachment; filename="optio-badge.jwt"`)
	_, _ = w.Write([]byte(iss.JWT))
}
