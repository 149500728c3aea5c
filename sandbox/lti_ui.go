package sandbox

import (
	"fmt"
	"html/template"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/optio-edu/optio"
)

// ltiRoutes registers the LTI platform: the endpoints tools call (no
// cross-origin protection: tools and their pages post from elsewhere) and
// the admin and course pages (forms protected like the rest of the UI).
func (s *Sandbox) ltiRoutes(mux *http.ServeMux) {
	cop := http.NewCrossOriginProtection()
	post := func(h http.HandlerFunc) http.Handler { return cop.Handler(h) }
	mux.HandleFunc("GET /lti/.well-known/openid-configuration", s.handleOpenIDConfiguration)
	mux.HandleFunc("GET /lti/jwks", s.handleJWKS)
	mux.HandleFunc("GET /lti/authorize", s.handleAuthorize)
	mux.HandleFunc("POST /lti/authorize", s.handleAuthorize)
	mux.HandleFunc("POST /lti/register", s.handleRegister)
	mux.HandleFunc("POST /lti/deep-links", s.handleDeepLinkReturn)
	mux.HandleFunc("POST /lti/token", s.handleToken)
	mux.HandleFunc("GET /lti/courses/{id}/memberships", s.handleMemberships)
	mux.HandleFunc("GET /lti/courses/{id}/line_items", s.handleListLineItems)
	mux.HandleFunc("POST /lti/courses/{id}/line_items", s.handleSaveLineItem)
	mux.HandleFunc("GET /lti/courses/{id}/line_items/{lid}", s.handleGetLineItem)
	mux.HandleFunc("PUT /lti/courses/{id}/line_items/{lid}", s.handleSaveLineItem)
	mux.HandleFunc("DELETE /lti/courses/{id}/line_items/{lid}", s.handleDeleteLineItem)
	mux.HandleFunc("POST /lti/courses/{id}/line_items/{lid}/scores", s.handlePostScore)
	mux.HandleFunc("GET /lti/courses/{id}/line_items/{lid}/results", s.handleResults)

	mux.HandleFunc("GET /lti", s.handleLTIAdmin)
	mux.Handle("POST /lti/tools", post(s.handleToolForm))
	mux.Handle("POST /lti/tools/dynamic", post(s.handleDynamicStart))
	mux.Handle("POST /lti/tools/dynamic/{id}/close", post(s.handleDynamicClose))
	mux.Handle("POST /lti/faults", post(s.handleFaultsForm))
	mux.HandleFunc("GET /lti/courses/{id}", s.handleLTICourse)
	mux.Handle("POST /lti/courses/{id}/launch", post(s.handleLaunch))
	mux.HandleFunc("GET /lti/courses/{id}/gradebook", s.handleGradebook)
}

func (s *Sandbox) handleLTIAdmin(w http.ResponseWriter, r *http.Request) {
	s.renderLTIAdmin(w, http.StatusOK, doneMessages[r.URL.Query().Get("done")], nil)
}

// renderLTIAdmin shows the platform's settings, tools, registration forms
// and fault controls; formErr is the direct registration form's error.
func (s *Sandbox) renderLTIAdmin(w http.ResponseWriter, status int, notice string, formErr *optio.Error) {
	f := s.ltiFaultState()
	s.render(w, status, "lti", "LTI platform", notice, map[string]any{
		"Endpoints": s.ltiEndpoints(), "Tools": s.LTITools(), "Courses": s.courses, "LTICourse": LTICourseID,
		"Faults": map[string]any{
			"JWKSDown": f.jwksDown, "NRPSLoop": f.nrpsLoop, "AGS429": f.ags429,
			"RetryAfter": int(f.agsRetryAfter / time.Second), "Launch": f.launch,
		},
		"LaunchFaults": launchFaults, "FormError": formErr,
	})
}

func (s *Sandbox) handleToolForm(w http.ResponseWriter, r *http.Request) {
	var redirects []string
	for _, line := range strings.Split(r.PostFormValue("redirect_uris"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			redirects = append(redirects, line)
		}
	}
	_, err := s.RegisterLTITool(LTIToolConfig{
		Name: strings.TrimSpace(r.PostFormValue("name")), LoginURL: strings.TrimSpace(r.PostFormValue("login_url")),
		TargetLinkURI: strings.TrimSpace(r.PostFormValue("target_link_uri")), JWKSURL: strings.TrimSpace(r.PostFormValue("jwks_url")),
		ClientID: strings.TrimSpace(r.PostFormValue("client_id")), RedirectURIs: redirects,
	})
	if oe, ok := err.(*optio.Error); ok && statusFor(oe.Code) < 500 {
		s.renderLTIAdmin(w, statusFor(oe.Code), "", oe)
		return
	}
	if err != nil {
		s.pageError(w, err)
		return
	}
	http.Redirect(w, r, "/lti?done=tool", http.StatusSeeOther)
}

func (s *Sandbox) handleFaultsForm(w http.ResponseWriter, r *http.Request) {
	n, err1 := strconv.Atoi(strings.TrimSpace(r.PostFormValue("ags429")))
	after, err2 := strconv.Atoi(strings.TrimSpace(r.PostFormValue("retry_after")))
	if err1 != nil || err2 != nil || n < 0 || after < 0 {
		s.pageError(w, &optio.Error{Code: optio.EINVALID, Message: "The number of 429 answers and the Retry-After seconds must be whole numbers, 0 or more."})
		return
	}
	if err := s.SetLaunchFault(LaunchFault(r.PostFormValue("launch"))); err != nil {
		s.pageError(w, err)
		return
	}
	s.SetLTIJWKSDown(r.PostFormValue("jwks_down") == "on")
	s.SetNRPSLoop(r.PostFormValue("nrps_loop") == "on")
	s.SetAGSThrottle(n, time.Duration(after)*time.Second)
	http.Redirect(w, r, "/lti?done=faults", http.StatusSeeOther)
}

// placementView is a course link with the tool it launches.
type placementView struct {
	LTIPlacement
	Tool LTITool
}

func (s *Sandbox) handleLTICourse(w http.ResponseWriter, r *http.Request) {
	c := s.courseByID[r.PathValue("id")]
	members, err := s.ltiMembers(r.PathValue("id"))
	if err != nil {
		s.pageError(w, err)
		return
	}
	as := r.URL.Query().Get("as")
	if as == "" {
		as = LTIInstructorID
	}
	var me *ltiMember
	for i := range members {
		if members[i].User.ID == as && members[i].Active {
			me = &members[i]
		}
	}
	if me == nil {
		s.pageError(w, optio.Errorf(optio.ENOTFOUND, "No active member %q in course %q.", as, c.ID))
		return
	}
	tools := s.LTITools()
	var links []placementView
	for _, p := range s.LTIPlacements(c.ID) {
		for _, t := range tools {
			if t.ClientID == p.ClientID {
				links = append(links, placementView{LTIPlacement: p, Tool: t})
			}
		}
	}
	s.render(w, http.StatusOK, "lticourse", c.Title, "", map[string]any{
		"Course": c, "Me": me, "Members": members, "Tools": tools, "Links": links,
		"Instructor": slices.Contains(me.Roles, RoleInstructor), "DeepLinking": MessageDeepLinking,
		"Role": roleLabel(*me),
	})
}

// roleLabel names a member's role for the page.
func roleLabel(m ltiMember) string {
	switch {
	case slices.Contains(m.Roles, RoleInstructor):
		return "Instructor"
	case slices.Contains(m.Roles, RoleMentor):
		return "Mentor"
	}
	return "Student"
}

// gradeRow is a student's line of the gradebook.
type gradeRow struct {
	User  User
	Cells []string
}

func (s *Sandbox) handleGradebook(w http.ResponseWriter, r *http.Request) {
	c := s.courseByID[r.PathValue("id")]
	members, err := s.ltiMembers(r.PathValue("id"))
	if err != nil {
		s.pageError(w, err)
		return
	}
	items := s.LTILineItems(c.ID)
	s.lti.mu.Lock()
	var rows []gradeRow
	for _, m := range members {
		if !slices.Contains(m.Roles, RoleLearner) {
			continue
		}
		row := gradeRow{User: m.User}
		for _, li := range items {
			cell := "–"
			if res := s.lti.results[li.ID+"|"+m.User.ID]; res != nil {
				cell = res.ActivityProgress + ", " + res.GradingProgress
				if res.ScoreGiven != nil {
					cell = fmt.Sprintf("%s / %s (%s)", num(*res.ScoreGiven), num(*res.ScoreMaximum), cell)
				}
			}
			row.Cells = append(row.Cells, cell)
		}
		rows = append(rows, row)
	}
	var log []LTIScore
	for _, sc := range s.lti.scores {
		if sc.CourseID == c.ID {
			log = append(log, sc)
		}
	}
	s.lti.mu.Unlock()
	slices.Reverse(log)
	titles := map[string]string{}
	for _, li := range items {
		titles[li.ID] = li.Label
	}
	s.render(w, http.StatusOK, "ltigradebook", "Gradebook: "+c.Title, "", map[string]any{
		"Course": c, "Items": items, "Rows": rows, "Log": log, "Titles": titles, "Users": s.userNames(),
	})
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// formPost is the auto-submitting form that carries a message to a tool
// (the OIDC form_post response mode).
var formPost = template.Must(template.New("formpost").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Launching…</title></head>
<body><form id="f" method="post" action="{{.Action}}">{{range .Fields}}<input type="hidden" name="{{index . 0}}" value="{{index . 1}}">{{end}}
<noscript><button type="submit">Continue</button></noscript></form>
<script>document.getElementById("f").submit()</script></body></html>
`))

func (s *Sandbox) renderFormPost(w http.ResponseWriter, action string, fields [][2]string) {
	var b strings.Builder
	if err := formPost.Execute(&b, map[string]any{"Action": action, "Fields": fields}); err != nil {
		s.pageError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = io.WriteString(w, b.String())
}
