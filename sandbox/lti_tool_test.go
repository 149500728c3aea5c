package sandbox_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/sandbox"
)

// testTool is a minimal LTI 1.3 tool written from the specifications'
// side, to drive the sandbox platform: it registers itself dynamically,
// answers login initiation, verifies launches against the platform's JWKS
// (state and nonce single-use) and signs client assertions and deep
// linking responses with its own key. It serves Optio's contract URLs.
type testTool struct {
	*httptest.Server
	t        *testing.T
	key      jwk.Key // private, kid "tool-key-1"
	keys     jwk.Set // public
	platform string  // the platform's issuer
	authURL  string

	mu       sync.Mutex
	clientID string
	deployID string
	states   map[string]string // state → nonce
	nonces   map[string]bool   // nonces already launched with
	launches []map[string]any  // verified id_token claims, in order
	refusals []string          // why launches were refused
	// autoDeepLink makes the tool answer a deep linking request as a
	// browser tool does: with an auto-submitting form that returns one quest.
	autoDeepLink bool
	regAnswer    map[string]any // the platform's registration response
}

func newTestTool(t *testing.T, sb *sandbox.Sandbox) *testTool {
	t.Helper()
	tt := &testTool{t: t, key: newRSAKey(t, "tool-key-1"), platform: sb.LTIIssuer(), states: map[string]string{}, nonces: map[string]bool{}}
	tt.keys = jwk.NewSet()
	pub, err := jwk.PublicKeyOf(tt.key)
	require.NoError(t, err)
	require.NoError(t, tt.keys.AddKey(pub))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /lti/jwks", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(tt.keys)
	})
	mux.HandleFunc("GET /lti/register", tt.handleRegister)
	mux.HandleFunc("/lti/login", tt.handleLogin)
	mux.HandleFunc("POST /lti/launch", tt.handleLaunch)
	tt.Server = httptest.NewServer(mux)
	t.Cleanup(tt.Close)
	return tt
}

func newRSAKey(t *testing.T, kid string) jwk.Key {
	t.Helper()
	pk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	k, err := jwk.Import(pk)
	require.NoError(t, err)
	require.NoError(t, k.Set(jwk.KeyIDKey, kid))
	require.NoError(t, k.Set(jwk.AlgorithmKey, jwa.RS256()))
	return k
}

func randomString() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// registerDirectly registers the tool as an admin would by hand.
func (tt *testTool) registerDirectly(sb *sandbox.Sandbox) sandbox.LTITool {
	tt.t.Helper()
	tool, err := sb.RegisterLTITool(sandbox.LTIToolConfig{
		Name: "Optio", LoginURL: tt.URL + "/lti/login", TargetLinkURI: tt.URL + "/lti/launch", JWKSURL: tt.URL + "/lti/jwks",
		Custom: map[string]string{"optio_source": "sandbox"},
	})
	require.NoError(tt.t, err)
	tt.mu.Lock()
	tt.clientID, tt.deployID = tool.ClientID, tool.DeploymentID
	tt.mu.Unlock()
	tt.authURL = tt.platform + "/authorize"
	return tool
}

func (tt *testTool) handleRegister(w http.ResponseWriter, r *http.Request) {
	cfgURL, token := r.URL.Query().Get("openid_configuration"), r.URL.Query().Get("registration_token")
	var cfg map[string]any
	if err := getJSON(cfgURL, &cfg); err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	reg := map[string]any{
		"application_type": "web", "response_types": []string{"id_token"}, "grant_types": []string{"implicit", "client_credentials"},
		"initiate_login_uri": tt.URL + "/lti/login", "redirect_uris": []string{tt.URL + "/lti/launch"},
		"client_name": "Optio", "jwks_uri": tt.URL + "/lti/jwks", "token_endpoint_auth_method": "private_key_jwt",
		"scope": sandbox.ScopeMemberships + " " + sandbox.ScopeLineItem + " " + sandbox.ScopeScore + " https://example.com/not-a-scope",
		"https://purl.imsglobal.org/spec/lti-tool-configuration": map[string]any{
			"domain": strings.TrimPrefix(tt.URL, "http://"), "target_link_uri": tt.URL + "/lti/launch",
			"claims":   []string{"iss", "sub", "name", "email"},
			"messages": []map[string]any{{"type": "LtiDeepLinkingRequest", "target_link_uri": tt.URL + "/lti/launch", "label": "Add Optio"}},
		},
	}
	body, _ := json.Marshal(reg)
	req, _ := http.NewRequest(http.MethodPost, cfg["registration_endpoint"].(string), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	var answer map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&answer)
	if resp.StatusCode/100 != 2 { // Canvas answers 200, the OpenID specification 201
		http.Error(w, fmt.Sprintf("registration refused: %d %v", resp.StatusCode, answer), http.StatusBadGateway)
		return
	}
	tt.mu.Lock()
	tt.regAnswer = answer
	tt.clientID = answer["client_id"].(string)
	tt.deployID = answer["https://purl.imsglobal.org/spec/lti-tool-configuration"].(map[string]any)["deployment_id"].(string)
	tt.authURL = cfg["authorization_endpoint"].(string)
	tt.mu.Unlock()
	_, _ = io.WriteString(w, `<!doctype html><p>Registered.</p><script>(window.opener || window.parent).postMessage({subject: "org.imsglobal.lti.close"}, "*")</script>`)
}

func getJSON(u string, v any) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d", u, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// handleLogin is OIDC third-party initiated login (Security Framework 5.1.1.1).
func (tt *testTool) handleLogin(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	tt.mu.Lock()
	clientID := tt.clientID
	tt.mu.Unlock()
	if r.Form.Get("iss") != tt.platform || r.Form.Get("client_id") != clientID || r.Form.Get("login_hint") == "" {
		http.Error(w, "unknown platform or client", http.StatusBadRequest)
		return
	}
	state, nonce := randomString(), randomString()
	tt.mu.Lock()
	tt.states[state] = nonce
	tt.mu.Unlock()
	q := url.Values{
		"scope": {"openid"}, "response_type": {"id_token"}, "response_mode": {"form_post"}, "prompt": {"none"},
		"client_id": {clientID}, "redirect_uri": {tt.URL + "/lti/launch"}, "login_hint": {r.Form.Get("login_hint")},
		"lti_message_hint": {r.Form.Get("lti_message_hint")}, "state": {state}, "nonce": {nonce},
	}
	http.Redirect(w, r, tt.authURL+"?"+q.Encode(), http.StatusFound)
}

// handleLaunch verifies the id_token (Security Framework 5.1.3) and
// records the claims, or the refusal.
func (tt *testTool) handleLaunch(w http.ResponseWriter, r *http.Request) {
	refuse := func(format string, a ...any) {
		msg := fmt.Sprintf(format, a...)
		tt.mu.Lock()
		tt.refusals = append(tt.refusals, msg)
		tt.mu.Unlock()
		http.Error(w, "launch refused: "+msg, http.StatusUnauthorized)
	}
	if e := r.PostFormValue("error"); e != "" {
		refuse("platform error %s: %s", e, r.PostFormValue("error_description"))
		return
	}
	tt.mu.Lock()
	nonce, ok := tt.states[r.PostFormValue("state")]
	delete(tt.states, r.PostFormValue("state"))
	clientID := tt.clientID
	tt.mu.Unlock()
	if !ok {
		refuse("unknown state")
		return
	}
	set, err := jwk.Fetch(r.Context(), tt.platform+"/jwks")
	if err != nil {
		refuse("platform keys unavailable: %v", err)
		return
	}
	token := r.PostFormValue("id_token")
	tok, err := jwt.Parse([]byte(token), jwt.WithKeySet(set), jwt.WithIssuer(tt.platform), jwt.WithAudience(clientID), jwt.WithValidate(true))
	if err != nil {
		refuse("id_token: %v", err)
		return
	}
	claims := payloadOf(tt.t, token)
	var got string
	_ = tok.Get("nonce", &got)
	tt.mu.Lock()
	defer tt.mu.Unlock()
	switch {
	case got != nonce:
		tt.refusals = append(tt.refusals, "nonce does not match the state's")
	case tt.nonces[got]:
		tt.refusals = append(tt.refusals, "nonce replayed")
	default:
		tt.nonces[got] = true
		tt.launches = append(tt.launches, claims)
		settings, _ := claims["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"].(map[string]any)
		if tt.autoDeepLink && settings != nil {
			tt.returnDeepLink(w, claims, settings)
			return
		}
		_, _ = fmt.Fprintf(w, "launched %s", claims["https://purl.imsglobal.org/spec/lti/claim/message_type"])
		return
	}
	http.Error(w, "launch refused: "+tt.refusals[len(tt.refusals)-1], http.StatusUnauthorized)
}

// returnDeepLink answers a deep linking request with one quest; the caller holds tt.mu.
func (tt *testTool) returnDeepLink(w http.ResponseWriter, claims, settings map[string]any) {
	now := time.Now()
	jwt := tt.sign(tt.key, map[string]any{
		"iss": tt.clientID, "aud": claims["iss"], "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "nonce": randomString(),
		"https://purl.imsglobal.org/spec/lti/claim/message_type":  "LtiDeepLinkingResponse",
		"https://purl.imsglobal.org/spec/lti/claim/version":       "1.3.0",
		"https://purl.imsglobal.org/spec/lti/claim/deployment_id": tt.deployID,
		"https://purl.imsglobal.org/spec/lti-dl/claim/data":       settings["data"],
		"https://purl.imsglobal.org/spec/lti-dl/claim/content_items": []any{map[string]any{
			"type": "ltiResourceLink", "title": "Quest: Build a trebuchet", "custom": map[string]string{"optio_quest_id": "q-trebuchet"},
		}},
	})
	_, _ = fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s"><input type="hidden" name="JWT" value="%s"></form><script>document.getElementById("f").submit()</script>`,
		html.EscapeString(settings["deep_link_return_url"].(string)), html.EscapeString(jwt))
}

func payloadOf(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(b, &claims))
	return claims
}

func headerOf(t *testing.T, token string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	require.NoError(t, err)
	var h map[string]any
	require.NoError(t, json.Unmarshal(b, &h))
	return h
}

func (tt *testTool) lastLaunch() map[string]any {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	require.NotEmpty(tt.t, tt.launches)
	return tt.launches[len(tt.launches)-1]
}

func (tt *testTool) lastRefusal() string {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if len(tt.refusals) == 0 {
		return ""
	}
	return tt.refusals[len(tt.refusals)-1]
}

// sign signs claims with the tool's key (or another), RS256, kid in the header.
func (tt *testTool) sign(key jwk.Key, claims map[string]any) string {
	tt.t.Helper()
	payload, err := json.Marshal(claims)
	require.NoError(tt.t, err)
	h := jws.NewHeaders()
	kid, _ := key.KeyID()
	require.NoError(tt.t, h.Set(jws.KeyIDKey, kid))
	out, err := jws.Sign(payload, jws.WithKey(jwa.RS256(), key, jws.WithProtectedHeaders(h)))
	require.NoError(tt.t, err)
	return string(out)
}

// assertion is a client assertion for the token endpoint (Security Framework 4.1.1).
func (tt *testTool) assertion(aud, jti string) string {
	now := time.Now()
	return tt.sign(tt.key, map[string]any{
		"iss": tt.clientID, "sub": tt.clientID, "aud": aud, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": jti,
	})
}

// token asks the token endpoint for scopes; it returns the status and body.
func (tt *testTool) token(assertion string, scopes ...string) (int, map[string]any) {
	tt.t.Helper()
	resp, err := http.PostForm(tt.platform+"/token", url.Values{
		"grant_type": {"client_credentials"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion": {assertion}, "scope": {strings.Join(scopes, " ")},
	})
	require.NoError(tt.t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(tt.t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

// accessToken gets a token for scopes or fails the test.
func (tt *testTool) accessToken(scopes ...string) string {
	tt.t.Helper()
	status, body := tt.token(tt.assertion(tt.platform+"/token", randomString()), scopes...)
	require.Equal(tt.t, http.StatusOK, status, "%v", body)
	return body["access_token"].(string)
}

// call makes a service request with a bearer token.
func call(t *testing.T, method, u, token, contentType string, body any) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, out
}

var (
	formAction = regexp.MustCompile(`<form[^>]* action="([^"]+)"`)
	formField  = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// submitAutoForm does what the browser does with the platform's
// auto-submitting form: posts its fields to its action.
func submitAutoForm(t *testing.T, page []byte) (*http.Response, []byte) {
	t.Helper()
	m := formAction.FindSubmatch(page)
	require.NotNil(t, m, "no form in %s", page)
	fields := url.Values{}
	for _, f := range formField.FindAllSubmatch(page, -1) {
		fields.Set(html.UnescapeString(string(f[1])), html.UnescapeString(string(f[2])))
	}
	resp, err := http.PostForm(html.UnescapeString(string(m[1])), fields)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

// launch presses a launch button on the sandbox's course page as userID:
// the platform redirects to the tool's login, the tool to the
// authorization endpoint, whose form is then submitted to the tool.
func launch(t *testing.T, b *bundle, form url.Values) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.PostForm(b.url+"/lti/courses/"+sandbox.LTICourseID+"/launch", form)
	require.NoError(t, err)
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", page)
	require.Equal(t, b.url+"/lti/authorize", resp.Request.URL.Scheme+"://"+resp.Request.URL.Host+resp.Request.URL.Path)
	return submitAutoForm(t, page)
}
