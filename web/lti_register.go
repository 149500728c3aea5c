package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/lti"
)

// LTI Dynamic Registration 1.0: a platform administrator pastes
// <base>/lti/register into their LMS; the LMS opens it with
// openid_configuration and registration_token; Optio reads the platform's
// OpenID configuration, registers itself at the platform's registration
// endpoint, stores the platform, and tells the LMS's window it is done
// (postMessage {subject: "org.imsglobal.lti.close"}).
//
// Only a signed-in Optio administrator may complete it: otherwise anyone
// could register a platform of their own and launch accounts into Optio.
// Both URLs the platform names are fetched under the SSRF rules of file
// downloads (package fetch: SPARK_FILE_ALLOW_PRIVATE, https-only when Optio
// is https).

const maxRegistrationBytes = 1 << 20

// platformConfiguration is the part of the platform's OpenID configuration
// Optio needs (Dynamic Registration §3.4).
type platformConfiguration struct {
	Issuer               string `json:"issuer"`
	AuthorizationURL     string `json:"authorization_endpoint"`
	TokenURL             string `json:"token_endpoint"`
	JWKSURL              string `json:"jwks_uri"`
	RegistrationEndpoint string `json:"registration_endpoint"`
	LTI                  *struct {
		ProductFamilyCode string `json:"product_family_code"`
	} `json:"https://purl.imsglobal.org/spec/lti-platform-configuration"`
}

type ltiRegistered struct {
	Platform *optio.LTIPlatform
}

func (s *Server) handleLTIRegister(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if s.LTI == nil || s.LTI.Fetch == nil {
		s.Error(w, r, optio.Errorf(optio.ENOTCONFIG, "LTI is not set up on this Optio."))
		return
	}
	q := r.URL.Query()
	cfgURL, token := q.Get("openid_configuration"), q.Get("registration_token")
	if cfgURL == "" {
		s.Error(w, r, &optio.Error{Code: optio.EINVALID, Message: "The registration needs the platform's openid_configuration URL.",
			Fields: map[string]string{"openid_configuration": "required"}})
		return
	}
	pc, err := s.ltiPlatformConfiguration(r, cfgURL)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if iss, err := url.Parse(pc.Issuer); err == nil {
		w.Header().Set("Content-Security-Policy", selfCSP+" "+iss.Scheme+"://"+iss.Host) // the LMS's window may frame this page
	}
	clientID, deployment, err := s.ltiRegisterTool(r, pc, token)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	p := optio.LTIPlatform{Issuer: pc.Issuer, ClientID: clientID, DeploymentIDs: []string{deployment}, AuthURL: pc.AuthorizationURL,
		TokenURL: pc.TokenURL, JWKSURL: pc.JWKSURL}
	if err := p.Normalize(!s.Config.SecureCookies()); err != nil {
		s.Error(w, r, err)
		return
	}
	created, err := s.Store.CreateLTIPlatform(r.Context(), p)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.ltiFrames.mu.Lock()
	s.ltiFrames.origins = nil
	s.ltiFrames.mu.Unlock()
	s.render(w, r, "lti_registered", pageData{Title: "Optio is registered", Data: ltiRegistered{Platform: created}})
}

// ltiPlatformConfiguration reads and checks the platform's OpenID
// configuration: every endpoint present, and the issuer on the host the
// configuration came from.
func (s *Server) ltiPlatformConfiguration(r *http.Request, cfgURL string) (*platformConfiguration, error) {
	resp, err := s.LTI.Fetch.Get(r.Context(), cfgURL)
	if err != nil {
		return nil, fmt.Errorf("lti registration: platform configuration: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxRegistrationBytes))
	if err != nil {
		return nil, optio.Errorf(optio.EUNAVAILABLE, "The platform's OpenID configuration could not be read: %v.", err)
	}
	var pc platformConfiguration
	if err := json.Unmarshal(b, &pc); err != nil {
		return nil, optio.Errorf(optio.EINVALID, "The platform's OpenID configuration is not JSON: %v.", err)
	}
	missing := []string{}
	for name, v := range map[string]string{"issuer": pc.Issuer, "authorization_endpoint": pc.AuthorizationURL,
		"token_endpoint": pc.TokenURL, "jwks_uri": pc.JWKSURL, "registration_endpoint": pc.RegistrationEndpoint} {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, name)
		}
	}
	if pc.LTI == nil {
		missing = append(missing, "https://purl.imsglobal.org/spec/lti-platform-configuration")
	}
	if len(missing) > 0 {
		return nil, optio.Errorf(optio.EINVALID, "The platform's OpenID configuration lacks %s.", strings.Join(missing, ", "))
	}
	iss, err1 := url.Parse(pc.Issuer)
	from, err2 := url.Parse(cfgURL)
	if err1 != nil || err2 != nil || !strings.EqualFold(iss.Host, from.Host) {
		return nil, optio.Errorf(optio.EINVALID, "The platform's issuer %q is not on the host its configuration came from (%s).", pc.Issuer, from.Host)
	}
	return &pc, nil
}

// ltiRegisterTool posts Optio's client registration (Dynamic Registration
// §3.5) and returns the client id and deployment id the platform gave.
func (s *Server) ltiRegisterTool(r *http.Request, pc *platformConfiguration, token string) (string, string, error) {
	base := s.baseURL()
	host := ""
	if u, err := url.Parse(base); err == nil {
		host = u.Host
	}
	reg := map[string]any{
		"application_type":           "web",
		"response_types":             []string{"id_token"},
		"grant_types":                []string{"implicit", "client_credentials"},
		"initiate_login_uri":         base + lti.LoginPath,
		"redirect_uris":              []string{base + lti.LaunchPath},
		"client_name":                "Optio",
		"jwks_uri":                   base + lti.JWKSPath,
		"token_endpoint_auth_method": "private_key_jwt",
		"scope":                      strings.Join([]string{lti.ScopeNRPS, lti.ScopeLineItem, lti.ScopeScore}, " "),
		"https://purl.imsglobal.org/spec/lti-tool-configuration": map[string]any{
			"domain":          host,
			"target_link_uri": base + lti.LaunchPath,
			"claims":          []string{"iss", "sub", "name", "given_name", "family_name", "email"},
			"messages": []map[string]any{
				{"type": lti.MessageResourceLink, "target_link_uri": base + lti.LaunchPath, "label": "Optio"},
				{"type": lti.MessageDeepLinkingRequest, "target_link_uri": base + lti.LaunchPath, "label": "Optio portfolio or quest"},
			},
		},
	}
	body, _ := json.Marshal(reg)
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, pc.RegistrationEndpoint, bytes.NewReader(body))
	if err != nil {
		return "", "", optio.Errorf(optio.EINVALID, "The platform's registration_endpoint is not a URL.")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.LTI.Fetch.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("lti registration: register at the platform: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxRegistrationBytes))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", "", optio.Errorf(optio.EUNAVAILABLE, "The platform refused Optio's registration: HTTP %d: %s", resp.StatusCode, snippetOf(b))
	}
	var out struct {
		ClientID string `json:"client_id"`
		Tool     struct {
			DeploymentID string `json:"deployment_id"`
		} `json:"https://purl.imsglobal.org/spec/lti-tool-configuration"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.ClientID == "" || out.Tool.DeploymentID == "" {
		return "", "", optio.Errorf(optio.EINVALID, "The platform's registration answer has no client_id and deployment_id.")
	}
	return out.ClientID, out.Tool.DeploymentID, nil
}

func snippetOf(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
