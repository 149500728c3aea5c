package web

import (
	"net/http"
	"net/url"
	"time"

	"github.com/optio-edu/optio"
)

// visibilityForm is the "who can see the portfolio" form of the student's
// dashboard and of each child on the parent's page: the four choices, and
// what is in force now and why — a choice of public or link only is not in
// force while a minor waits for a parent's consent, and the form says so
// instead of promising "anyone".
type visibilityForm struct {
	Action   string // where the form posts
	ID       string // makes element ids unique on the parent's page
	Options  []visibilityOption
	InForce  string // "Public: anyone can see it…"
	Why      string // set when the choice is not what is in force
	Waiting  bool   // the choice waits for a parent's consent
	ActLink  string // where to give (or ask for) consent
	ActText  string
	ForChild string // the child's name on the parent's page; "" for the student
}

type visibilityOption struct {
	Value    optio.Visibility
	Label    string
	Selected bool
}

// visibilityFormFor builds the form for student u as seen by the student
// (parent false) or a linked parent.
func visibilityFormFor(u *optio.User, now time.Time, parent bool) visibilityForm {
	who := "you, your family and observers"
	f := visibilityForm{Action: "/dashboard/portfolio-settings", ID: "portfolio_visibility"}
	if parent {
		who = u.GivenName + ", their family and observers"
		f.Action = "/parent/students/" + url.PathEscape(u.ID) + "/portfolio-visibility"
		f.ID = "visibility-" + u.ID
		f.ForChild = u.GivenName
	}
	consent := u.PublicAllowed(now)
	needs := ""
	if !consent {
		needs = " — needs a parent's consent first"
	}
	for _, o := range []visibilityOption{
		{optio.VisibilityPublic, "Public: anyone, and search engines" + needs, false},
		{optio.VisibilityUnlisted, "Link only: anyone with the link, not listed by search engines" + needs, false},
		{optio.VisibilitySchool, "School only: inside Spark, and " + who, false},
		{optio.VisibilityPrivate, "Private: only " + who, false},
	} {
		o.Selected = o.Value == u.Visibility
		f.Options = append(f.Options, o)
	}
	switch u.Visibility {
	case optio.VisibilityPublic, optio.VisibilityUnlisted:
		if !consent {
			f.Waiting = true
			f.InForce = "Family only: " + who + " see it now."
			f.Why = "It is set to " + visibilityName(u.Visibility) + ", but a parent has not consented yet (everyone under 18, or whose age no parent or school recorded, needs it), so strangers see a “this portfolio is private” page."
			if parent {
				f.ActLink, f.ActText = "#consent-"+u.ID, "Give your consent below"
			} else {
				f.ActLink, f.ActText = "/family", "Ask a parent to consent"
			}
		} else if u.Visibility == optio.VisibilityPublic {
			f.InForce = "Public: anyone can see it, and search engines may list it."
		} else {
			f.InForce = "Link only: anyone with the link can see it; search engines are asked not to list it."
		}
	case optio.VisibilitySchool:
		f.InForce = "School only: it shows inside Spark, and to " + who + ", not on the open web."
	default:
		f.InForce = "Private: only " + who + " see it."
	}
	return f
}

func visibilityName(v optio.Visibility) string {
	switch v {
	case optio.VisibilityPublic:
		return "Public"
	case optio.VisibilityUnlisted:
		return "Link only"
	case optio.VisibilitySchool:
		return "School only"
	}
	return "Private"
}

// visibilitySaved is the confirmation after a change: what is in force now.
func visibilitySaved(u *optio.User, now time.Time, parent bool) string {
	f := visibilityFormFor(u, now, parent)
	msg := "Saved. " + f.InForce
	if f.Waiting {
		msg += " It becomes " + visibilityName(u.Visibility) + " once a parent consents."
	}
	return msg
}

// setChildVisibility is a linked parent choosing who sees their child's
// portfolio (audited); anyone else gets ENOTFOUND.
func (s *Server) setChildVisibility(r *http.Request, studentID string, v optio.Visibility) (*optio.User, error) {
	a, err := s.accessTo(r.Context(), userOf(r), studentID)
	if err != nil || !a.parent {
		return nil, errOr(err, errNoChild)
	}
	if !v.Valid() {
		return nil, &optio.Error{Code: optio.EINVALID, Message: "The visibility is not valid.",
			Fields: map[string]string{"visibility": "must be public, unlisted, school or private"}}
	}
	u, err := s.Store.UpdateProfile(r.Context(), studentID, optio.ProfileUpdate{Visibility: &v})
	if err != nil {
		return nil, err
	}
	s.audit(r, "parent.portfolio_visibility", studentID, map[string]any{"visibility": v})
	return u, nil
}

// handleParentVisibilityForm is the parent page's visibility form.
func (s *Server) handleParentVisibilityForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	u, err := s.setChildVisibility(r, r.PathValue("id"), optio.Visibility(r.PostFormValue("portfolio_visibility")))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/parent?flash="+url.QueryEscape(visibilitySaved(u, s.now(), true))+"#child-"+url.PathEscape(u.ID), http.StatusSeeOther)
}
