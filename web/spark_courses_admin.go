package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/optio-edu/optio"
)

// Spark course administration: each course Optio knows (from any source),
// its mapping, switches and pillar, as JSON and as forms on /admin/spark.
// Every change goes through the store's MapSparkCourse or
// UpdateSparkCourse, so the page and the API answer alike.

func (s *Server) handleSparkCourse(w http.ResponseWriter, r *http.Request) {
	c, err := s.Store.SparkCourse(r.Context(), r.PathValue("spark_course_id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// sparkCourseSettingsRequest is PATCH /api/admin/spark/courses/{id}; absent
// fields stay as they are, and "pillar": "" goes back to the title's guess.
type sparkCourseSettingsRequest struct {
	SyncEnabled        *bool         `json:"sync_enabled"`
	AutoEnrollStudents *bool         `json:"auto_enroll_students"`
	Pillar             *optio.Pillar `json:"pillar"`
}

func (s *Server) handleUpdateSparkCourse(w http.ResponseWriter, r *http.Request) {
	var req sparkCourseSettingsRequest
	if err := decodeJSON(w, r, 4<<10, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	c, err := s.Store.UpdateSparkCourse(r.Context(), r.PathValue("spark_course_id"), optio.SparkCourseSettings{
		SyncEnabled: req.SyncEnabled, AutoEnrollStudents: req.AutoEnrollStudents, Pillar: req.Pillar})
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// handleSparkCourseMapForm maps a course from the admin page: to the quest
// chosen (optio_quest_id), or to a new quest (optio_quest_id=create_new,
// the one-click default) named after the course.
func (s *Server) handleSparkCourseMapForm(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("spark_course_id")
	q := strings.TrimSpace(r.FormValue("optio_quest_id"))
	if q == "" {
		q = "create_new"
	}
	in := optio.CourseMapInput{QuestID: q, CreateNew: q == "create_new", Pillar: optio.Pillar(r.FormValue("pillar"))}
	if _, err := s.Store.MapSparkCourse(r.Context(), id, in); err != nil {
		s.Error(w, r, err)
		return
	}
	redirectFlash(w, r, "Spark course "+id+" mapped; its waiting work is syncing.")
}

// handleSparkCourseSettingsForm saves a course's switches and pillar from
// the admin page (unchecked boxes are off; pillar "auto" is the title's guess).
func (s *Server) handleSparkCourseSettingsForm(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("spark_course_id")
	syncOn, enrol := r.FormValue("sync_enabled") == "on", r.FormValue("auto_enroll_students") == "on"
	in := optio.SparkCourseSettings{SyncEnabled: &syncOn, AutoEnrollStudents: &enrol}
	if p := r.FormValue("pillar"); p != "" {
		pl := optio.Pillar(p)
		if p == "auto" {
			pl = ""
		}
		in.Pillar = &pl
	}
	if _, err := s.Store.UpdateSparkCourse(r.Context(), id, in); err != nil {
		s.Error(w, r, err)
		return
	}
	redirectFlash(w, r, "Spark course "+id+" saved.")
}

func redirectFlash(w http.ResponseWriter, r *http.Request, msg string) {
	http.Redirect(w, r, "/admin/spark?flash="+url.QueryEscape(msg)+"#courses", http.StatusSeeOther)
}
