package sandbox

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/optio-edu/optio"
)

// LTI Dynamic Registration 1.0, the platform's side: an admin pastes the
// tool's registration URL; the platform opens it (in an iframe) with
// openid_configuration and a one-time registration_token; the tool reads
// the configuration and POSTs its client registration to the
// registration_endpoint with the token as a bearer credential; the
// platform answers with the client_id and deployment_id it assigned; the
// tool's page then posts {subject: "org.imsglobal.lti.close"} to its
// parent, and the platform shows the result.

// LTIRegistration is a dynamic registration started by
// StartLTIDynamicRegistration.
type LTIRegistration struct {
	// ID names the session in the platform's UI.
	ID string
	// OpenURL is what the platform opens: the tool's registration URL with
	// openid_configuration and registration_token added.
	OpenURL string
	// Token is the one-time registration_token.
	Token string
}

// StartLTIDynamicRegistration begins a dynamic registration of the tool
// whose registration initiation URL is registrationURL (Optio's
// <base>/lti/register). Fetching OpenURL in a browser (or any HTTP client)
// lets the tool register itself.
func (s *Sandbox) StartLTIDynamicRegistration(registrationURL string) (LTIRegistration, error) {
	if err := checkToolURL(registrationURL); err != nil {
		return LTIRegistration{}, &optio.Error{Code: optio.EINVALID, Message: "The registration URL is invalid.", Fields: map[string]string{"registration_url": err.Error()}}
	}
	rs := &regSession{ID: randomToken()[:12], URL: registrationURL, Token: randomToken() + randomToken(), Expires: s.clock.Now().Add(regTokenTTL)}
	s.lti.mu.Lock()
	s.lti.regSessions[rs.ID] = rs
	s.lti.regTokens[rs.Token] = rs
	s.lti.mu.Unlock()
	open := withQuery(registrationURL, url.Values{"openid_configuration": {s.LTIOpenIDConfigurationURL()}, "registration_token": {rs.Token}})
	return LTIRegistration{ID: rs.ID, OpenURL: open, Token: rs.Token}, nil
}

// RegisterLTIToolDynamically runs a whole dynamic registration without a
// browser: it starts one for registrationURL, opens the tool's page with
// the platform's HTTP client (the tool registers itself while answering)
// and returns the tool that registered: for tools that register whoever
// asks (the sandbox's own tests). Optio registers only for a signed-in Optio
// admin, so with Optio an admin uses the /lti page in a browser signed in to
// Optio as an admin (TestLTIThroughTheSandbox does it with a cookie jar).
func (s *Sandbox) RegisterLTIToolDynamically(ctx context.Context, registrationURL string) (LTITool, error) {
	reg, err := s.StartLTIDynamicRegistration(registrationURL)
	if err != nil {
		return LTITool{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, reg.OpenURL, nil)
	if err != nil {
		return LTITool{}, err
	}
	resp, err := s.httpClient().Do(req)
	if err != nil {
		return LTITool{}, fmt.Errorf("sandbox: open the tool's registration page: %w", err)
	}
	page, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	_ = resp.Body.Close()
	s.lti.mu.Lock()
	defer s.lti.mu.Unlock()
	t := s.lti.toolByID[s.lti.regSessions[reg.ID].ClientID]
	if t == nil {
		return LTITool{}, fmt.Errorf("sandbox: the tool at %s did not register (its page answered %d: %.200s)", registrationURL, resp.StatusCode, page)
	}
	return cloneTool(t), nil
}

// clientRegistration is the tool's registration request (Dynamic
// Registration 1.0 section 3.5, on OpenID Connect Dynamic Client
// Registration).
type clientRegistration struct {
	ApplicationType         string            `json:"application_type"`
	GrantTypes              []string          `json:"grant_types"`
	ResponseTypes           []string          `json:"response_types"`
	RedirectURIs            []string          `json:"redirect_uris"`
	InitiateLoginURI        string            `json:"initiate_login_uri"`
	ClientName              string            `json:"client_name"`
	JWKSURI                 string            `json:"jwks_uri"`
	TokenEndpointAuthMethod string            `json:"token_endpoint_auth_method"`
	Scope                   string            `json:"scope"`
	ToolConfig              toolConfiguration `json:"https://purl.imsglobal.org/spec/lti-tool-configuration"`
}

type toolConfiguration struct {
	Domain           string            `json:"domain"`
	TargetLinkURI    string            `json:"target_link_uri"`
	CustomParameters map[string]string `json:"custom_parameters"`
}

// registrationError is an RFC 7591 section 3.2.2 error.
type registrationError struct{ code, desc string }

func (e *registrationError) Error() string { return e.code + ": " + e.desc }

// handleRegister is the registration_endpoint.
func (s *Sandbox) handleRegister(w http.ResponseWriter, r *http.Request) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	lp := s.lti
	now := s.clock.Now()
	lp.mu.Lock()
	var rs *regSession
	for t, cand := range lp.regTokens {
		if subtle.ConstantTimeCompare([]byte(t), []byte(strings.TrimSpace(token))) == 1 {
			rs = cand
		}
	}
	lp.mu.Unlock()
	if !strings.EqualFold(scheme, "Bearer") || rs == nil || now.After(rs.Expires) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="the registration_token is unknown, used or expired"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "The registration_token is unknown, used or expired."})
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, map[string]string{"error": "invalid_client_metadata", "error_description": "Send the registration as application/json."})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAPIBody))
	var reg clientRegistration
	var raw map[string]any
	if err == nil {
		err = json.Unmarshal(body, &reg)
	}
	if err == nil {
		err = json.Unmarshal(body, &raw)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_client_metadata", "error_description": "The body is not a JSON client registration."})
		return
	}
	var granted []string
	for _, sc := range splitScopes(reg.Scope) {
		if slices.Contains(ltiScopes, sc) && !slices.Contains(granted, sc) {
			granted = append(granted, sc)
		}
	}
	tool, err := s.registerDynamic(rs, reg, granted)
	var re *registrationError
	switch {
	case errors.As(err, &re):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": re.code, "error_description": re.desc})
		return
	case err != nil:
		s.apiError(w, r, err)
		return
	}
	raw["client_id"] = tool.ClientID
	raw["scope"] = strings.Join(granted, " ")
	tc, ok := raw[toolConfigKey].(map[string]any)
	if !ok {
		tc = map[string]any{}
		raw[toolConfigKey] = tc
	}
	tc["deployment_id"] = tool.DeploymentID
	writeJSON(w, http.StatusCreated, raw) // OpenID Connect Dynamic Client Registration 1.0 section 3.2
}

// registerDynamic checks a registration request and registers the tool,
// using up the session's token.
func (s *Sandbox) registerDynamic(rs *regSession, reg clientRegistration, scopes []string) (LTITool, error) {
	bad := func(code, format string, a ...any) error { return &registrationError{code, fmt.Sprintf(format, a...)} }
	switch {
	case reg.ApplicationType != "web":
		return LTITool{}, bad("invalid_client_metadata", "application_type must be web")
	case !slices.Contains(reg.GrantTypes, "implicit") || !slices.Contains(reg.GrantTypes, "client_credentials"):
		return LTITool{}, bad("invalid_client_metadata", "grant_types must include implicit and client_credentials")
	case !slices.Contains(reg.ResponseTypes, "id_token"):
		return LTITool{}, bad("invalid_client_metadata", "response_types must include id_token")
	case reg.TokenEndpointAuthMethod != "private_key_jwt":
		return LTITool{}, bad("invalid_client_metadata", "token_endpoint_auth_method must be private_key_jwt")
	case len(reg.RedirectURIs) == 0:
		return LTITool{}, bad("invalid_redirect_uri", "redirect_uris is required")
	}
	for _, u := range reg.RedirectURIs {
		if err := checkToolURL(u); err != nil {
			return LTITool{}, bad("invalid_redirect_uri", "redirect_uris: %v", err)
		}
	}
	for name, u := range map[string]string{"initiate_login_uri": reg.InitiateLoginURI, "jwks_uri": reg.JWKSURI, "target_link_uri": reg.ToolConfig.TargetLinkURI} {
		if err := checkToolURL(u); err != nil {
			return LTITool{}, bad("invalid_client_metadata", "%s: %v", name, err)
		}
	}
	if scopes == nil {
		scopes = []string{}
	}
	lp := s.lti
	lp.mu.Lock()
	if lp.regTokens[rs.Token] != rs {
		lp.mu.Unlock()
		return LTITool{}, optio.Errorf(optio.EUNAUTHORIZED, "The registration_token was used meanwhile.")
	}
	delete(lp.regTokens, rs.Token)
	lp.mu.Unlock()
	name := reg.ClientName
	if name == "" {
		name = "LTI tool"
	}
	t, err := s.addTool(LTIToolConfig{
		Name: name, LoginURL: reg.InitiateLoginURI, TargetLinkURI: reg.ToolConfig.TargetLinkURI, JWKSURL: reg.JWKSURI,
		RedirectURIs: reg.RedirectURIs, Scopes: scopes, Custom: reg.ToolConfig.CustomParameters,
	}, true)
	if err != nil {
		return LTITool{}, err
	}
	lp.mu.Lock()
	rs.ClientID = t.ClientID
	lp.mu.Unlock()
	return t, nil
}

// handleDynamicStart is the admin page's "Register by URL" form: it opens
// the tool's registration page in an iframe and waits for its close message.
func (s *Sandbox) handleDynamicStart(w http.ResponseWriter, r *http.Request) {
	reg, err := s.StartLTIDynamicRegistration(strings.TrimSpace(r.PostFormValue("registration_url")))
	if err != nil {
		s.pageError(w, err)
		return
	}
	origin := ""
	if u, err := url.Parse(reg.OpenURL); err == nil {
		origin = u.Scheme + "://" + u.Host
	}
	s.render(w, http.StatusOK, "ltiregister", "Registering a tool", "", map[string]any{"Reg": reg, "Origin": origin})
}

// handleDynamicClose is where the registration page goes when the tool
// posted its close message: it shows the outcome on the admin page.
func (s *Sandbox) handleDynamicClose(w http.ResponseWriter, r *http.Request) {
	lp := s.lti
	lp.mu.Lock()
	rs := lp.regSessions[r.PathValue("id")]
	clientID := ""
	if rs != nil {
		rs.Closed = true
		clientID = rs.ClientID
	}
	lp.mu.Unlock()
	if rs == nil {
		s.pageError(w, notFound("registration", r.PathValue("id")))
		return
	}
	if clientID == "" {
		http.Redirect(w, r, "/lti?done=unregistered", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/lti?done=registered", http.StatusSeeOther)
}
