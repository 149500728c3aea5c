package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"golang.org/x/net/html"

	"github.com/optio-edu/optio"
)

// LTILaunchRequest starts a launch of a registered tool in a course.
type LTILaunchRequest struct {
	// ClientID is the tool; default the most recently registered one.
	ClientID string
	// CourseID is the course (the launch's context); default LTICourseID.
	CourseID string
	// UserID is who launches: LTIInstructorID, a student of the course or
	// a parent of one (a mentor).
	UserID string
	// PlacementID is the resource link; default the tool's course
	// navigation link.
	PlacementID string
	// DeepLinking sends an LtiDeepLinkingRequest instead (instructors only).
	DeepLinking bool
	// Target is the launch_presentation document_target: "iframe"
	// (default) or "window".
	Target string
}

// StartLTILaunch begins a launch as the platform's UI does: it records the
// launch and returns the tool's login initiation URL (OIDC third-party
// initiated login) with iss, login_hint, target_link_uri,
// lti_message_hint, client_id and lti_deployment_id. A browser that
// follows it reaches the tool's launch URL by the platform's authorization
// endpoint and an auto-submitted form.
func (s *Sandbox) StartLTILaunch(req LTILaunchRequest) (string, error) {
	if req.CourseID == "" {
		req.CourseID = LTICourseID
	}
	if req.Target == "" {
		req.Target = "iframe"
	}
	if req.Target != "iframe" && req.Target != "window" {
		return "", &optio.Error{Code: optio.EINVALID, Message: "The launch is invalid.", Fields: map[string]string{"target": "iframe or window"}}
	}
	m, err := s.ltiMember(req.CourseID, req.UserID)
	if err != nil {
		return "", err
	}
	if req.DeepLinking && !slices.Contains(m.Roles, RoleInstructor) {
		return "", optio.Errorf(optio.EFORBIDDEN, "Only the instructor adds content to a course.")
	}
	lp := s.lti
	lp.mu.Lock()
	defer lp.mu.Unlock()
	var t *LTITool
	if req.ClientID == "" && len(lp.tools) > 0 {
		t = lp.tools[len(lp.tools)-1]
	} else {
		t = lp.toolByID[req.ClientID]
	}
	if t == nil {
		return "", optio.Errorf(optio.ENOTFOUND, "No LTI tool %q is registered.", req.ClientID)
	}
	target := t.TargetLinkURI
	if !req.DeepLinking {
		p := lp.placement(req.CourseID, t.ClientID, req.PlacementID)
		if p == nil {
			return "", optio.Errorf(optio.ENOTFOUND, "No link %q to %s in course %q.", req.PlacementID, t.Name, req.CourseID)
		}
		req.PlacementID = p.ID
		if p.URL != "" {
			target = p.URL
		}
	}
	now := s.clock.Now()
	for hint, l := range lp.launches {
		if now.Sub(l.created) > launchTTL {
			delete(lp.launches, hint)
		}
	}
	hint := randomToken()
	lp.launches[hint] = &ltiLaunch{
		clientID: t.ClientID, courseID: req.CourseID, userID: m.User.ID, placementID: req.PlacementID,
		target: req.Target, deepLinking: req.DeepLinking, created: now,
	}
	q := url.Values{
		"iss": {s.LTIIssuer()}, "login_hint": {m.User.ID}, "target_link_uri": {target},
		"lti_message_hint": {hint}, "client_id": {t.ClientID}, "lti_deployment_id": {t.DeploymentID},
	}
	return withQuery(t.LoginURL, q), nil
}

// placement finds a course's link to a tool ("" = its navigation link).
// The caller holds lp.mu.
func (lp *ltiPlatform) placement(courseID, clientID, id string) *LTIPlacement {
	for _, p := range lp.placements {
		if p.CourseID == courseID && p.ClientID == clientID && (p.ID == id || (id == "" && !p.DeepLinked)) {
			return p
		}
	}
	return nil
}

// withQuery adds q to raw's query, keeping what raw already has.
func withQuery(raw string, q url.Values) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	have := u.Query()
	for k, vs := range q {
		have[k] = vs
	}
	u.RawQuery = have.Encode()
	return u.String()
}

// handleAuthorize is the OIDC authorization endpoint (Security Framework
// 5.1.1.2): the tool's authentication request arrives by GET or POST; the
// answer is an auto-submitting form that posts id_token and state to the
// registered redirect_uri. A request whose client or redirect_uri is not
// registered gets an error page (never a redirect); other errors go back
// to the redirect_uri as OIDC error responses.
func (s *Sandbox) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.pageError(w, optio.Errorf(optio.EINVALID, "The authentication request is not a valid form."))
		return
	}
	f := r.Form
	t := s.lti.tool(f.Get("client_id"))
	if t == nil {
		s.pageError(w, optio.Errorf(optio.EINVALID, "The client_id %q is not registered on this platform.", f.Get("client_id")))
		return
	}
	redirect := f.Get("redirect_uri")
	if !slices.Contains(t.RedirectURIs, redirect) {
		s.pageError(w, optio.Errorf(optio.EINVALID, "The redirect_uri %q is not registered for client %q.", redirect, t.ClientID))
		return
	}
	state := f.Get("state")
	fail := func(code, desc string) {
		s.log.Info("sandbox: lti authentication refused", "client_id", t.ClientID, "error", code, "description", desc)
		s.renderFormPost(w, redirect, [][2]string{{"error", code}, {"error_description", desc}, {"state", state}})
	}
	switch {
	case !slices.Contains(strings.Fields(f.Get("scope")), "openid"):
		fail("invalid_scope", "scope must include openid")
		return
	case f.Get("response_type") != "id_token":
		fail("unsupported_response_type", "response_type must be id_token")
		return
	case f.Get("response_mode") != "form_post":
		fail("invalid_request", "response_mode must be form_post")
		return
	case f.Has("prompt") && f.Get("prompt") != "none":
		fail("invalid_request", "prompt must be none")
		return
	case f.Get("nonce") == "":
		fail("invalid_request", "nonce is required")
		return
	}
	lp := s.lti
	now := s.clock.Now()
	lp.mu.Lock()
	l := lp.launches[f.Get("lti_message_hint")]
	var problem string
	switch {
	case l == nil:
		problem = "lti_message_hint is not a launch this platform started"
	case l.used:
		problem = "lti_message_hint was already used"
	case now.Sub(l.created) > launchTTL:
		problem = "the launch has expired; start it again"
	case l.clientID != t.ClientID:
		problem = "lti_message_hint belongs to another client"
	case f.Get("login_hint") != l.userID:
		problem = "login_hint does not match the launch"
	default:
		l.used = true
	}
	lp.mu.Unlock()
	if problem != "" {
		fail("invalid_request", problem)
		return
	}
	token, err := s.idToken(t, l, f.Get("nonce"))
	if err != nil {
		s.pageError(w, err)
		return
	}
	s.renderFormPost(w, redirect, [][2]string{{"id_token", token}, {"state", state}})
}

// idToken builds and signs the launch's id_token (LTI Core 1.3 section 5,
// Deep Linking 2.0 section 4.4), applying the launch fault in force.
func (s *Sandbox) idToken(t *LTITool, l *ltiLaunch, nonce string) (string, error) {
	m, err := s.ltiMember(l.courseID, l.userID)
	if err != nil {
		return "", err
	}
	c := s.courseByID[l.courseID]
	e := s.ltiEndpoints()
	now := s.clock.Now()
	lp := s.lti
	lp.mu.Lock()
	defer lp.mu.Unlock()
	fault := lp.faults.launch
	if old := lp.lastIDToken[t.ClientID]; fault == LaunchReplayed && old != "" {
		return old, nil
	}
	iat, exp := now, now.Add(idTokenTTL)
	if fault == LaunchExpired {
		iat, exp = now.Add(-2*idTokenTTL), now.Add(-idTokenTTL)
	}
	claims := map[string]any{
		"iss": e.Issuer, "aud": t.ClientID, "azp": t.ClientID, "sub": m.User.ID,
		"iat": iat.Unix(), "exp": exp.Unix(), "nonce": nonce,
		"name": m.User.Name(), "given_name": m.User.GivenName, "family_name": m.User.FamilyName, "email": m.User.Email,
		claimVersion:      ltiVersion,
		claimDeploymentID: t.DeploymentID,
		claimRoles:        m.Roles,
		claimContext:      map[string]any{"id": c.ID, "label": c.ID, "title": c.Title, "type": []string{courseOffering}},
		claimToolPlatform: map[string]any{"guid": "spark-sandbox", "name": "Spark LMS sandbox", "product_family_code": "spark-sandbox", "version": "1.0"},
		claimLaunchPresent: map[string]any{
			"document_target": l.target, "locale": "en",
			"return_url": s.URL() + "/lti/courses/" + url.PathEscape(c.ID) + "?as=" + url.QueryEscape(m.User.ID),
		},
	}
	if len(m.Mentees) > 0 {
		claims[claimRoleScopeMentor] = m.Mentees
	}
	custom := map[string]string{}
	for k, v := range t.Custom {
		custom[k] = v
	}
	courseURL := e.Issuer + "/courses/" + url.PathEscape(c.ID)
	if slices.Contains(t.Scopes, ScopeMemberships) {
		claims[claimNRPS] = map[string]any{"context_memberships_url": courseURL + "/memberships", "service_versions": []string{"2.0"}}
	}
	var ags []string
	for _, sc := range t.Scopes {
		if strings.Contains(sc, "/lti-ags/") {
			ags = append(ags, sc)
		}
	}
	agsClaim := map[string]any{"scope": ags, "lineitems": courseURL + "/line_items"}
	if l.deepLinking {
		claims[claimMessageType] = MessageDeepLinking
		claims[claimTargetLinkURI] = t.TargetLinkURI
		data := randomToken()
		lp.deepLinks[data] = &deepLinkRequest{clientID: t.ClientID, courseID: c.ID, expires: now.Add(deepLinkTTL)}
		claims[claimDLSettings] = map[string]any{
			"deep_link_return_url":                 e.DeepLinkReturn,
			"accept_types":                         []string{"ltiResourceLink"},
			"accept_presentation_document_targets": []string{"iframe", "window"},
			"accept_multiple":                      true,
			"accept_lineitem":                      true,
			"auto_create":                          true,
			"title":                                "Add to " + c.Title,
			"text":                                 "Choose what to place in the course.",
			"data":                                 data,
		}
	} else {
		p := lp.placement(l.courseID, t.ClientID, l.placementID)
		if p == nil {
			return "", optio.Errorf(optio.ENOTFOUND, "The link %q was removed.", l.placementID)
		}
		claims[claimMessageType] = MessageResourceLink
		claims[claimTargetLinkURI] = t.TargetLinkURI
		if p.URL != "" {
			claims[claimTargetLinkURI] = p.URL
		}
		claims[claimResourceLink] = map[string]any{"id": p.ID, "title": p.Title}
		for k, v := range p.Custom {
			custom[k] = v
		}
		if p.LineItemID != "" {
			for _, li := range lp.lineItems {
				if li.ID == p.LineItemID {
					agsClaim["lineitem"] = li.URL
				}
			}
		}
	}
	if len(ags) > 0 {
		claims[claimAGS] = agsClaim
	}
	claims[claimCustom] = custom
	key := lp.key
	if fault == LaunchUnregisteredKey {
		key = lp.rogue
	}
	token, err := signJWT(key, claims)
	if err != nil {
		return "", err
	}
	lp.lastIDToken[t.ClientID] = token
	copied := map[string]any{}
	if b, err := json.Marshal(claims); err == nil {
		_ = json.Unmarshal(b, &copied)
	}
	lp.lastLaunch = &LTILaunch{ClientID: t.ClientID, Claims: copied}
	return token, nil
}

// signJWT signs claims as a compact JWS, RS256, with the key's kid and typ JWT.
func signJWT(key jwk.Key, claims map[string]any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	h := jws.NewHeaders()
	if err := h.Set(jws.TypeKey, "JWT"); err != nil {
		return "", err
	}
	kid, _ := key.KeyID()
	if err := h.Set(jws.KeyIDKey, kid); err != nil {
		return "", err
	}
	out, err := jws.Sign(payload, jws.WithKey(jwa.RS256(), key, jws.WithProtectedHeaders(h)))
	if err != nil {
		return "", fmt.Errorf("sandbox: sign jwt: %w", err)
	}
	return string(out), nil
}

// handleJWKS serves the platform's public keys.
func (s *Sandbox) handleJWKS(w http.ResponseWriter, r *http.Request) {
	s.lti.mu.Lock()
	down := s.lti.faults.jwksDown
	s.lti.mu.Unlock()
	if down {
		w.Header().Set("Retry-After", "60")
		http.Error(w, "the key service is down for maintenance", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Cache-Control", "max-age=300")
	writeJSON(w, http.StatusOK, s.lti.keys)
}

func (s *Sandbox) handleOpenIDConfiguration(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.openIDConfiguration())
}

// handleLaunch is the course page's launch button: it starts the launch
// and sends the browser (in the course's iframe, or a new tab) to the
// tool's login initiation URL.
func (s *Sandbox) handleLaunch(w http.ResponseWriter, r *http.Request) {
	u, err := s.StartLTILaunch(LTILaunchRequest{
		ClientID: r.PostFormValue("client_id"), CourseID: r.PathValue("id"), UserID: r.PostFormValue("as"),
		PlacementID: r.PostFormValue("placement"), DeepLinking: r.PostFormValue("message") == MessageDeepLinking,
		Target: r.PostFormValue("target"),
	})
	if err != nil {
		s.pageError(w, err)
		return
	}
	http.Redirect(w, r, u, http.StatusFound)
}

// LaunchLTI performs a whole launch as a browser would, for end-to-end
// tests without one: it starts the launch (StartLTILaunch), follows the
// tool's login initiation with client (whose cookie jar plays the
// browser's), and when the platform's authorization endpoint answers with
// its auto-submitting form, posts that form to the tool like the page's
// script does. It returns the tool's answer to the form post, or whatever
// answered instead when no form came (the body is left to the caller).
func (s *Sandbox) LaunchLTI(ctx context.Context, client *http.Client, req LTILaunchRequest) (*http.Response, error) {
	login, err := s.StartLTILaunch(req)
	if err != nil {
		return nil, err
	}
	get, err := http.NewRequestWithContext(ctx, http.MethodGet, login, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(get)
	if err != nil {
		return nil, fmt.Errorf("sandbox: follow the login initiation: %w", err)
	}
	if !strings.HasPrefix(resp.Request.URL.String(), s.ltiEndpoints().Authorize) {
		return resp, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	action, fields, ok := autoForm(body)
	if !ok {
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	}
	post, err := http.NewRequestWithContext(ctx, http.MethodPost, action, strings.NewReader(fields.Encode()))
	if err != nil {
		return nil, err
	}
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	post.Header.Set("Origin", s.URL())
	return client.Do(post)
}

// autoForm reads the action and hidden fields of the platform's
// auto-submitting form (renderFormPost).
func autoForm(page []byte) (action string, fields url.Values, ok bool) {
	fields = url.Values{}
	z := html.NewTokenizer(bytes.NewReader(page))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return action, fields, action != ""
		case html.StartTagToken, html.SelfClosingTagToken:
			t := z.Token()
			attr := map[string]string{}
			for _, a := range t.Attr {
				attr[a.Key] = a.Val
			}
			switch {
			case t.Data == "form" && attr["id"] == "f" && attr["method"] == "post":
				action = attr["action"]
			case t.Data == "input" && attr["type"] == "hidden" && action != "":
				fields.Add(attr["name"], attr["value"])
			}
		}
	}
}
