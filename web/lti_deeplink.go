package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/lti"
)

// Deep Linking 2.0: an instructor's LtiDeepLinkingRequest launch shows a
// picker ("My Optio portfolio" or one quest); the choice goes back to the
// platform as a signed LtiDeepLinkingResponse, auto-posted to its
// deep_link_return_url. Between the two, the request's settings travel in
// the picker's form as a token the tool signed itself (bound to the
// instructor and expiring), so nothing is stored.

// deepLinkTTL bounds how long an instructor may take to pick.
const deepLinkTTL = 30 * time.Minute

// deepLinkRequest is what the picker's form carries back, signed.
type deepLinkRequest struct {
	PlatformID   string `json:"platform_id"`
	DeploymentID string `json:"deployment_id"`
	ReturnURL    string `json:"return_url"`
	Data         string `json:"data,omitempty"`
	UserID       string `json:"user_id"`
	Expires      int64  `json:"exp"`
	Purpose      string `json:"purpose"`
}

const deepLinkPurpose = "optio_lti_deep_link"

type ltiPicker struct {
	Request string
	Quests  []optio.Quest
	Title   string
}

func (s *Server) ltiDeepLinkPicker(w http.ResponseWriter, r *http.Request, p *optio.LTIPlatform, c *lti.Claims, res *optio.LTILaunchResult) {
	dl := deepLinkRequest{PlatformID: p.ID, DeploymentID: c.DeploymentID, ReturnURL: c.DeepLinking.ReturnURL,
		Data: c.DeepLinking.Data, UserID: res.User.ID, Expires: s.now().Add(deepLinkTTL).Unix(), Purpose: deepLinkPurpose}
	b, _ := json.Marshal(dl)
	signed, err := s.LTI.Tool.Sign(b)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	quests, err := s.Store.ListQuests(r.Context(), true)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	title := "your course"
	if c.Context != nil && c.Context.Title != "" {
		title = c.Context.Title
	}
	s.render(w, r, "lti_deep_link", pageData{Title: "Place Optio in " + title, Data: ltiPicker{Request: signed, Quests: quests, Title: title}})
}

type ltiReturn struct {
	ReturnURL string
	JWT       string
	Title     string
}

// handleLTIDeepLinkForm answers the picker: the signed response, posted to
// the platform's return URL by the page (a button without JavaScript).
func (s *Server) handleLTIDeepLinkForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 32<<10)
	if s.LTI == nil {
		s.Error(w, r, optio.Errorf(optio.ENOTCONFIG, "LTI is not set up on this Optio."))
		return
	}
	var dl deepLinkRequest
	payload, err := s.LTI.Tool.VerifyOwn(r.PostFormValue("request"))
	if err == nil {
		err = json.Unmarshal(payload, &dl)
	}
	if err != nil || dl.Purpose != deepLinkPurpose || dl.UserID != userOf(r).ID {
		s.Error(w, r, optio.Errorf(optio.EFORBIDDEN, "This choice was not made on the picker Optio showed you. Start again from your course."))
		return
	}
	if s.now().Unix() > dl.Expires {
		s.Error(w, r, optio.Errorf(optio.ELTIStateInvalid, "The picker was open for more than %s. Start again from your course.", deepLinkTTL))
		return
	}
	p, err := s.Store.LTIPlatformByID(r.Context(), dl.PlatformID)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	launch := s.baseURL() + lti.LaunchPath
	var item lti.ContentItem
	switch choice := r.PostFormValue("choice"); choice {
	case "portfolio":
		item = lti.ContentItem{Type: "ltiResourceLink", Title: "My Optio portfolio", Text: "Each student's own Optio portfolio.",
			URL: launch, Custom: map[string]string{"optio_target": "portfolio"}}
	default:
		q, err := s.Store.QuestByID(r.Context(), choice)
		if err != nil || !q.Active {
			s.Error(w, r, optio.Errorf(optio.EINVALID, "Choose your portfolio or one of the active quests."))
			return
		}
		item = lti.ContentItem{Type: "ltiResourceLink", Title: q.Title, Text: q.Description, URL: launch,
			Custom: map[string]string{"optio_quest_id": q.ID}}
	}
	claims := lti.DeepLinkingResponse(p, dl.DeploymentID, dl.Data, []lti.ContentItem{item}, s.now())
	b, _ := json.Marshal(claims)
	signed, err := s.LTI.Tool.Sign(b)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	ret, err := url.Parse(dl.ReturnURL)
	if err != nil || (ret.Scheme != "https" && ret.Scheme != "http") || ret.Host == "" {
		s.Error(w, r, optio.Errorf(optio.ELTIClaimInvalid, "The LMS's deep_link_return_url is not an http(s) URL."))
		return
	}
	// The page posts to the platform: open form-action to its origin.
	csp := w.Header().Get("Content-Security-Policy")
	w.Header().Set("Content-Security-Policy", strings.Replace(csp, "form-action 'self'", "form-action 'self' "+ret.Scheme+"://"+ret.Host, 1))
	s.render(w, r, "lti_deep_link_return", pageData{Title: "Placing " + item.Title, Data: ltiReturn{ReturnURL: dl.ReturnURL, JWT: signed, Title: item.Title}})
}
