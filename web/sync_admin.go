package web

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/optio-edu/optio"
)

// syncAdminRoutes are the Spark course mapping and evidence-sync admin API
// and page (admins only).
func (s *Server) syncAdminRoutes(mux *http.ServeMux) {
	admin := optio.RoleAdmin
	mux.HandleFunc("GET /api/admin/spark/courses", s.requireRole(s.handleSparkCourses, admin))
	mux.HandleFunc("POST /api/admin/spark/courses/{spark_course_id}/map", s.requireRole(s.handleMapSparkCourse, admin))
	mux.HandleFunc("GET /api/admin/spark/courses/{spark_course_id}", s.requireRole(s.handleSparkCourse, admin))
	mux.HandleFunc("PATCH /api/admin/spark/courses/{spark_course_id}", s.requireRole(s.handleUpdateSparkCourse, admin))
	mux.HandleFunc("POST /admin/spark/courses/{spark_course_id}/map", s.requirePageRole(s.handleSparkCourseMapForm, admin))
	mux.HandleFunc("POST /admin/spark/courses/{spark_course_id}/settings", s.requirePageRole(s.handleSparkCourseSettingsForm, admin))
	mux.HandleFunc("GET /api/admin/spark/sync/evidence-queue", s.requireRole(s.handleSyncQueue, admin))
	mux.HandleFunc("POST /api/admin/spark/sync/process", s.requireRole(s.handleSyncProcess, admin))
	mux.HandleFunc("GET /admin/spark", s.requirePageRole(s.handleSparkAdminPage, admin))
	mux.HandleFunc("POST /admin/spark/process", s.requirePageRole(s.handleSparkProcessForm, admin))
}

func (s *Server) handleSparkCourses(w http.ResponseWriter, r *http.Request) {
	cs, err := s.Store.SparkCourses(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"courses": cs})
}

type mapCourseRequest struct {
	OptioQuestID string `json:"optio_quest_id"`
	QuestData    *struct {
		Title       string       `json:"title"`
		Description string       `json:"description"`
		Pillar      optio.Pillar `json:"pillar"`
		XPValue     int          `json:"xp_value"`
	} `json:"quest_data"`
}

func (s *Server) handleMapSparkCourse(w http.ResponseWriter, r *http.Request) {
	var req mapCourseRequest
	if err := decodeJSON(w, r, 64<<10, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	in := optio.CourseMapInput{QuestID: strings.TrimSpace(req.OptioQuestID), CreateNew: req.OptioQuestID == "create_new"}
	f := optio.FieldErrors{}
	if in.QuestID == "" {
		f.Add("optio_quest_id", `is required: a quest id or "create_new"`)
	}
	if req.QuestData != nil {
		in.Title, in.Description, in.Pillar, in.XPValue = req.QuestData.Title, req.QuestData.Description, req.QuestData.Pillar, req.QuestData.XPValue
		if len(in.Description) > 50000 {
			f.Add("quest_data.description", "must be at most 50000 characters")
		}
	}
	if err := f.Err(optio.EINVALID, "The mapping is not valid."); err != nil {
		s.Error(w, r, err)
		return
	}
	c, err := s.Store.MapSparkCourse(r.Context(), r.PathValue("spark_course_id"), in)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) handleSyncQueue(w http.ResponseWriter, r *http.Request) {
	st, err := s.Store.SyncQueueStats(r.Context(), 20)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) handleSyncProcess(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RetryFailed bool `json:"retry_failed"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, 4<<10, &req); err != nil {
			s.Error(w, r, err)
			return
		}
	}
	n, err := s.Store.RetrySyncs(r.Context(), req.RetryFailed)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"enqueued": n})
}

// sparkAdminView is what the Spark admin page shows.
type sparkAdminView struct {
	Stats   *optio.SyncQueueStats
	Courses []optio.SparkCourseStatus
	Chart   template.HTML
	// Quests are the quests a course can be mapped to; Pillars the choices.
	Quests  []optio.Quest
	Pillars []optio.Pillar
	// Waiting counts the syncs waiting for a course to be mapped or enabled.
	Waiting int
	// Current is each mapped course's quest id.
	Current map[string]string
	// PollEvery is SPARK_POLL_INTERVAL when polling is on (SPARK_API_URL
	// set), zero when it is off.
	PollEvery time.Duration
}

func (s *Server) handleSparkAdminPage(w http.ResponseWriter, r *http.Request) {
	st, err := s.Store.SyncQueueStats(r.Context(), 20)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	cs, err := s.Store.SparkCourses(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	qs, err := s.Store.ListQuests(r.Context(), false)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	v := sparkAdminView{Stats: st, Courses: cs, Chart: syncChart(st.History), Quests: qs,
		Pillars: optio.Pillars, Current: map[string]string{}}
	if s.Config.SparkAPIURL != "" {
		v.PollEvery = s.Config.SparkPollInterval
	}
	for _, c := range cs {
		v.Waiting += c.Waiting
		if c.OptioQuestID != nil {
			v.Current[c.SparkCourseID] = *c.OptioQuestID
		}
	}
	s.render(w, r, "spark_admin", pageData{Title: "Spark sync", Data: v})
}

func (s *Server) handleSparkProcessForm(w http.ResponseWriter, r *http.Request) {
	n, err := s.Store.RetrySyncs(r.Context(), r.FormValue("retry_failed") == "true")
	if err != nil {
		s.Error(w, r, err)
		return
	}
	back := "/admin/spark" // the health page's retry button comes back to it
	if r.FormValue("from") == "health" {
		back = "/admin/health"
	}
	http.Redirect(w, r, fmt.Sprintf("%s?flash=%d+syncs+queued", back, n), http.StatusSeeOther)
}

// syncChart draws, per hour, the syncs queued (bars) and their mean
// latency (dots and a label) as a small accessible SVG.
func syncChart(hours []optio.SyncHour) template.HTML {
	if len(hours) == 0 {
		return ""
	}
	maxN, maxL := 1, 0.001
	for _, h := range hours {
		maxN = max(maxN, h.Created, h.Completed)
		maxL = max(maxL, h.AvgLatencySecs)
	}
	const w, h, pad = 480, 140, 20
	bw := (w - 2*pad) / len(hours)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg class="sync-chart" role="img" viewBox="0 0 %d %d" width="100%%" aria-labelledby="sync-title"><title id="sync-title">Syncs queued and mean latency per hour:`, w, h+30)
	for _, x := range hours {
		fmt.Fprintf(&b, " %s %d queued %.1fs;", x.Hour.Format("15:04"), x.Created, x.AvgLatencySecs)
	}
	b.WriteString(`</title>`)
	for i, x := range hours {
		bh := int(float64(x.Created) / float64(maxN) * (h - pad))
		xx := pad + i*bw
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#93c5fd"></rect>`, xx+2, h-bh, bw-4, bh)
		if x.Completed > 0 {
			ly := h - int(x.AvgLatencySecs/maxL*(h-pad))
			fmt.Fprintf(&b, `<circle cx="%d" cy="%d" r="3" fill="#be123c"></circle>`, xx+bw/2, ly)
		}
		if i%3 == 0 {
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" fill="#1f2937">%s</text>`, xx, h+14, x.Hour.Format("15:04"))
		}
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" fill="#1f2937">bars: queued (max %d) · dots: latency (max %.1fs)</text>`, pad, h+28, maxN, maxL)
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // built only from numbers and formatted times
}
