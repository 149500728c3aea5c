package sandbox_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/sandbox"
	"github.com/optio-edu/optio/spark"
)

const (
	claimMessageType = "https://purl.imsglobal.org/spec/lti/claim/message_type"
	claimRoles       = "https://purl.imsglobal.org/spec/lti/claim/roles"
	claimCustom      = "https://purl.imsglobal.org/spec/lti/claim/custom"
	claimAGS         = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
	claimNRPS        = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
	claimDLSettings  = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
	claimResource    = "https://purl.imsglobal.org/spec/lti/claim/resource_link"
)

// ltiSetup starts a sandbox and a test tool registered on it directly.
func ltiSetup(t *testing.T) (*bundle, *testTool, sandbox.LTITool) {
	t.Helper()
	b := setup(t, func(c *sandbox.Config) { c.PageSize = 2 })
	tt := newTestTool(t, b.sb)
	return b, tt, tt.registerDirectly(b.sb)
}

func TestLTIOpenIDConfiguration(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	var cfg map[string]any
	require.NoError(t, getJSON(b.sb.LTIOpenIDConfigurationURL(), &cfg))
	require.Equal(t, b.url+"/lti/.well-known/openid-configuration", b.sb.LTIOpenIDConfigurationURL())
	require.Equal(t, b.url+"/lti", cfg["issuer"])
	require.Equal(t, b.url+"/lti/authorize", cfg["authorization_endpoint"])
	require.Equal(t, b.url+"/lti/token", cfg["token_endpoint"])
	require.Equal(t, b.url+"/lti/jwks", cfg["jwks_uri"])
	require.Equal(t, b.url+"/lti/register", cfg["registration_endpoint"])
	require.Equal(t, []any{"private_key_jwt"}, cfg["token_endpoint_auth_methods_supported"])
	require.Equal(t, []any{"RS256"}, cfg["id_token_signing_alg_values_supported"])
	pc := cfg["https://purl.imsglobal.org/spec/lti-platform-configuration"].(map[string]any)
	require.Equal(t, "spark-sandbox", pc["product_family_code"])
	require.Len(t, pc["messages_supported"], 2)

	var keys struct {
		Keys []map[string]any `json:"keys"`
	}
	require.NoError(t, getJSON(b.url+"/lti/jwks", &keys))
	require.Len(t, keys.Keys, 1)
	require.Equal(t, "RSA", keys.Keys[0]["kty"])
	require.Equal(t, "RS256", keys.Keys[0]["alg"])
	require.NotEmpty(t, keys.Keys[0]["kid"])
	require.NotContains(t, keys.Keys[0], "d", "the private exponent never leaves the platform")
}

func TestLTIDynamicRegistration(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	tt := newTestTool(t, b.sb)

	// The admin pastes the tool's URL: the page frames it with the platform's
	// configuration and a one-time token.
	resp, err := http.PostForm(b.url+"/lti/tools/dynamic", url.Values{"registration_url": {tt.URL + "/lti/register"}})
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	src := regexp.MustCompile(`<iframe id="tool" title="[^"]*" src="([^"]+)"`).FindSubmatch(page)
	require.NotNil(t, src, "%s", page)
	open, err := url.Parse(strings.ReplaceAll(string(src[1]), "&amp;", "&"))
	require.NoError(t, err)
	require.Equal(t, b.sb.LTIOpenIDConfigurationURL(), open.Query().Get("openid_configuration"))
	require.NotEmpty(t, open.Query().Get("registration_token"))
	closeURL := regexp.MustCompile(`action="(/lti/tools/dynamic/[^"]+/close)"`).FindSubmatch(page)
	require.NotNil(t, closeURL)

	// Closing before the tool registered says so.
	resp, err = http.PostForm(b.url+string(closeURL[1]), nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, "done=unregistered", resp.Request.URL.RawQuery)

	// The iframe loads the tool, which registers and posts its close message.
	resp, err = http.Get(open.String())
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	require.Contains(t, string(body), "org.imsglobal.lti.close")

	tools := b.sb.LTITools()
	require.Len(t, tools, 1)
	require.True(t, tools[0].Dynamic)
	require.Equal(t, "Optio", tools[0].Name)
	require.Equal(t, tt.clientID, tools[0].ClientID)
	require.Equal(t, tt.deployID, tools[0].DeploymentID)
	require.Equal(t, []string{tt.URL + "/lti/launch"}, tools[0].RedirectURIs)
	require.Equal(t, []string{sandbox.ScopeMemberships, sandbox.ScopeLineItem, sandbox.ScopeScore}, tools[0].Scopes, "unknown scopes are not granted")
	require.Equal(t, strings.Join(tools[0].Scopes, " "), tt.regAnswer["scope"])
	require.Equal(t, tt.URL+"/lti/jwks", tt.regAnswer["jwks_uri"], "the answer echoes the registration")

	resp, err = http.PostForm(b.url+string(closeURL[1]), nil)
	require.NoError(t, err)
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "done=registered", resp.Request.URL.RawQuery)
	require.Contains(t, string(page), tools[0].ClientID)

	// The token is used up: the same registration again is refused and adds nothing.
	resp, err = http.Get(open.String())
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(body), "registration refused: 401")
	require.Len(t, b.sb.LTITools(), 1)

	// The tool can launch at once.
	_, out := launch(t, b, url.Values{"as": {"spark-stu-maya"}})
	require.Equal(t, "launched LtiResourceLinkRequest", string(out))
}

func TestRegisterLTIToolDynamically(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	tt := newTestTool(t, b.sb)
	tool, err := b.sb.RegisterLTIToolDynamically(t.Context(), tt.URL+"/lti/register")
	require.NoError(t, err)
	require.True(t, tool.Dynamic)
	require.Equal(t, tt.clientID, tool.ClientID)
	_, out := launch(t, b, url.Values{"as": {"spark-stu-maya"}})
	require.Equal(t, "launched LtiResourceLinkRequest", string(out))

	_, err = b.sb.RegisterLTIToolDynamically(t.Context(), tt.URL+"/lti/jwks")
	require.ErrorContains(t, err, "did not register")
	_, err = b.sb.RegisterLTIToolDynamically(t.Context(), "not a url")
	require.Error(t, err)
	require.Len(t, b.sb.LTITools(), 1)
}

func TestLTIRegistrationRefusesBadMetadata(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	reg, err := b.sb.StartLTIDynamicRegistration("http://tool.example/lti/register")
	require.NoError(t, err)
	post := func(body map[string]any, token string) (int, map[string]any) {
		resp, raw := call(t, http.MethodPost, b.url+"/lti/register", token, "application/json", body)
		var out map[string]any
		require.NoError(t, json.Unmarshal(raw, &out))
		return resp.StatusCode, out
	}
	good := map[string]any{
		"application_type": "web", "response_types": []string{"id_token"}, "grant_types": []string{"implicit", "client_credentials"},
		"initiate_login_uri": "http://tool.example/lti/login", "redirect_uris": []string{"http://tool.example/lti/launch"},
		"client_name": "Tool", "jwks_uri": "http://tool.example/lti/jwks", "token_endpoint_auth_method": "private_key_jwt",
		"https://purl.imsglobal.org/spec/lti-tool-configuration": map[string]any{"domain": "tool.example", "target_link_uri": "http://tool.example/lti/launch"},
	}
	bad := map[string]any{}
	for k, v := range good {
		bad[k] = v
	}
	bad["token_endpoint_auth_method"] = "client_secret_basic"
	status, out := post(bad, reg.Token)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "invalid_client_metadata", out["error"])
	require.Contains(t, out["error_description"], "private_key_jwt")
	bad["token_endpoint_auth_method"] = "private_key_jwt"
	bad["redirect_uris"] = []string{"javascript:alert(1)"}
	status, out = post(bad, reg.Token)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "invalid_redirect_uri", out["error"])
	require.Empty(t, b.sb.LTITools())

	status, out = post(good, "not-the-token")
	require.Equal(t, http.StatusUnauthorized, status)
	require.Equal(t, "invalid_token", out["error"])

	status, out = post(good, reg.Token)
	require.Equal(t, http.StatusCreated, status, "a refused request does not use up the token: %v", out)
	require.NotEmpty(t, out["client_id"])
	require.Equal(t, "", out["scope"], "no scope asked, none granted")
}

func TestLTILaunchesAsStudentInstructorAndMentor(t *testing.T) {
	t.Parallel()
	b, tt, tool := ltiSetup(t)

	resp, out := launch(t, b, url.Values{"as": {"spark-stu-maya"}, "target": {"iframe"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", out)
	c := tt.lastLaunch()
	require.Equal(t, b.url+"/lti", c["iss"])
	require.Equal(t, tool.ClientID, c["aud"])
	require.Equal(t, tool.ClientID, c["azp"])
	require.Equal(t, "spark-stu-maya", c["sub"])
	require.Equal(t, "Maya Chen", c["name"])
	require.Equal(t, "maya.chen@spark.example", c["email"])
	require.Equal(t, "LtiResourceLinkRequest", c[claimMessageType])
	require.Equal(t, "1.3.0", c["https://purl.imsglobal.org/spec/lti/claim/version"])
	require.Equal(t, tool.DeploymentID, c["https://purl.imsglobal.org/spec/lti/claim/deployment_id"])
	require.Equal(t, tt.URL+"/lti/launch", c["https://purl.imsglobal.org/spec/lti/claim/target_link_uri"])
	require.Equal(t, map[string]any{"id": "rl-spark-physics-" + tool.ClientID, "title": "Optio"}, c[claimResource])
	require.ElementsMatch(t, []any{sandbox.RoleLearner, "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student"}, c[claimRoles])
	ctx := c["https://purl.imsglobal.org/spec/lti/claim/context"].(map[string]any)
	require.Equal(t, "spark-physics", ctx["id"])
	require.Equal(t, "Physics", ctx["title"])
	require.Equal(t, map[string]any{"optio_source": "sandbox"}, c[claimCustom])
	require.Equal(t, b.url+"/lti/courses/spark-physics/memberships", c[claimNRPS].(map[string]any)["context_memberships_url"])
	require.Equal(t, []any{"2.0"}, c[claimNRPS].(map[string]any)["service_versions"])
	ags := c[claimAGS].(map[string]any)
	require.Equal(t, b.url+"/lti/courses/spark-physics/line_items", ags["lineitems"])
	require.Contains(t, ags["scope"], sandbox.ScopeScore)
	require.Equal(t, "iframe", c["https://purl.imsglobal.org/spec/lti/claim/launch_presentation"].(map[string]any)["document_target"])
	require.NotContains(t, c, "https://purl.imsglobal.org/spec/lti/claim/role_scope_mentor")
	last, ok := b.sb.LastLTILaunch()
	require.True(t, ok)
	require.Equal(t, "spark-stu-maya", last.Claims["sub"])

	launch(t, b, url.Values{"as": {sandbox.LTIInstructorID}, "target": {"window"}})
	c = tt.lastLaunch()
	require.Equal(t, sandbox.LTIInstructorID, c["sub"])
	require.Contains(t, c[claimRoles], sandbox.RoleInstructor)
	require.Equal(t, "window", c["https://purl.imsglobal.org/spec/lti/claim/launch_presentation"].(map[string]any)["document_target"])

	launch(t, b, url.Values{"as": {"spark-par-lin"}})
	c = tt.lastLaunch()
	require.Equal(t, "spark-par-lin", c["sub"])
	require.Equal(t, []any{sandbox.RoleMentor}, c[claimRoles])
	require.Equal(t, []any{"spark-stu-maya"}, c["https://purl.imsglobal.org/spec/lti/claim/role_scope_mentor"])

	// Someone outside the course cannot launch it.
	resp, err := http.PostForm(b.url+"/lti/courses/spark-physics/launch", url.Values{"as": {"spark-stu-leo"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	// Nor can a dropped student.
	_, err = b.sb.Roster(t.Context(), "spark-stu-noah", "spark-physics", spark.RosterDrop)
	require.NoError(t, err)
	resp, err = http.PostForm(b.url+"/lti/courses/spark-physics/launch", url.Values{"as": {"spark-stu-noah"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	// The id_token is RS256 with the platform's kid.
	resp, err = http.PostForm(b.url+"/lti/courses/spark-physics/launch", url.Values{"as": {"spark-stu-maya"}})
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	token := formField.FindAllSubmatch(page, -1)[0][2]
	h := headerOf(t, string(token))
	require.Equal(t, "RS256", h["alg"])
	require.Equal(t, "sandbox-lti-1", h["kid"])
}

func TestLaunchLTIWithoutABrowser(t *testing.T) {
	t.Parallel()
	b, tt, tool := ltiSetup(t)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := &http.Client{Jar: jar}
	resp, err := b.sb.LaunchLTI(t.Context(), client, sandbox.LTILaunchRequest{ClientID: tool.ClientID, UserID: "spark-par-grace", Target: "window"})
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "launched LtiResourceLinkRequest", string(body))
	require.Equal(t, []any{"spark-stu-noah"}, tt.lastLaunch()["https://purl.imsglobal.org/spec/lti/claim/role_scope_mentor"])

	// A launch the tool refuses comes back as the tool's answer.
	b.sb.SetLTIJWKSDown(true)
	resp, err = b.sb.LaunchLTI(t.Context(), client, sandbox.LTILaunchRequest{UserID: "spark-stu-maya"})
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Contains(t, string(body), "platform keys unavailable")

	_, err = b.sb.LaunchLTI(t.Context(), client, sandbox.LTILaunchRequest{UserID: "spark-stu-leo"})
	require.Error(t, err, "Leo is not in Physics")
}

func TestLTIAuthorizationEndpointChecks(t *testing.T) {
	t.Parallel()
	b, tt, tool := ltiSetup(t)
	start := func() url.Values {
		u, err := b.sb.StartLTILaunch(sandbox.LTILaunchRequest{UserID: "spark-stu-maya"})
		require.NoError(t, err)
		login, _ := url.Parse(u)
		require.Equal(t, tt.URL+"/lti/login", login.Scheme+"://"+login.Host+login.Path)
		q := login.Query()
		require.Equal(t, b.url+"/lti", q.Get("iss"))
		require.Equal(t, "spark-stu-maya", q.Get("login_hint"))
		require.Equal(t, tool.ClientID, q.Get("client_id"))
		require.Equal(t, tool.DeploymentID, q.Get("lti_deployment_id"))
		require.Equal(t, tt.URL+"/lti/launch", q.Get("target_link_uri"))
		return url.Values{
			"scope": {"openid"}, "response_type": {"id_token"}, "response_mode": {"form_post"}, "prompt": {"none"},
			"client_id": {tool.ClientID}, "redirect_uri": {tt.URL + "/lti/launch"}, "login_hint": {"spark-stu-maya"},
			"lti_message_hint": {q.Get("lti_message_hint")}, "state": {"s1"}, "nonce": {"n1"},
		}
	}
	authorize := func(q url.Values) (int, string) {
		resp, err := http.Get(b.url + "/lti/authorize?" + q.Encode())
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(body)
	}
	q := start()
	q.Set("redirect_uri", "http://evil.example/steal")
	status, body := authorize(q)
	require.Equal(t, http.StatusBadRequest, status, "an unregistered redirect_uri gets an error page, never a redirect")
	require.Contains(t, body, "is not registered")
	q.Set("redirect_uri", tt.URL+"/lti/launch")
	q.Set("client_id", "someone-else")
	status, _ = authorize(q)
	require.Equal(t, http.StatusBadRequest, status)

	q = start()
	q.Set("login_hint", "spark-stu-noah")
	status, body = authorize(q)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, `name="error" value="invalid_request"`)
	require.Contains(t, body, "login_hint does not match")
	require.Contains(t, body, `name="state" value="s1"`)

	q = start()
	q.Del("nonce")
	_, body = authorize(q)
	require.Contains(t, body, "nonce is required")

	q = start()
	q.Set("prompt", "login")
	_, body = authorize(q)
	require.Contains(t, body, "prompt must be none")

	q = start()
	q.Set("response_mode", "query")
	_, body = authorize(q)
	require.Contains(t, body, "response_mode must be form_post")

	q = start()
	_, body = authorize(q)
	require.Contains(t, body, `name="id_token"`)
	require.Contains(t, body, `name="state" value="s1"`)
	_, body = authorize(q)
	require.Contains(t, body, "lti_message_hint was already used")
}

func TestLTIDeepLinking(t *testing.T) {
	t.Parallel()
	b, tt, tool := ltiSetup(t)

	// Students cannot add content.
	resp, err := http.PostForm(b.url+"/lti/courses/spark-physics/launch", url.Values{"as": {"spark-stu-maya"}, "message": {"LtiDeepLinkingRequest"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	_, out := launch(t, b, url.Values{"as": {sandbox.LTIInstructorID}, "message": {"LtiDeepLinkingRequest"}, "client_id": {tool.ClientID}})
	require.Equal(t, "launched LtiDeepLinkingRequest", string(out))
	c := tt.lastLaunch()
	require.NotContains(t, c, claimResource)
	settings := c[claimDLSettings].(map[string]any)
	require.Equal(t, b.url+"/lti/deep-links", settings["deep_link_return_url"])
	require.Equal(t, []any{"ltiResourceLink"}, settings["accept_types"])
	require.NotEmpty(t, settings["data"])

	response := func(key any, mutate func(map[string]any)) map[string]any {
		now := time.Now()
		claims := map[string]any{
			"iss": tool.ClientID, "aud": b.url + "/lti", "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "nonce": randomString(),
			claimMessageType: "LtiDeepLinkingResponse", "https://purl.imsglobal.org/spec/lti/claim/version": "1.3.0",
			"https://purl.imsglobal.org/spec/lti/claim/deployment_id": tool.DeploymentID,
			"https://purl.imsglobal.org/spec/lti-dl/claim/data":       settings["data"],
			"https://purl.imsglobal.org/spec/lti-dl/claim/msg":        "Placed 2 items from Optio.",
			"https://purl.imsglobal.org/spec/lti-dl/claim/content_items": []any{
				map[string]any{"type": "ltiResourceLink", "title": "Quest: Build a trebuchet", "url": tt.URL + "/lti/launch",
					"custom":   map[string]string{"optio_quest_id": "q-trebuchet"},
					"lineItem": map[string]any{"scoreMaximum": 100, "label": "Build a trebuchet", "resourceId": "q-trebuchet"}},
				map[string]any{"type": "ltiResourceLink", "title": "My Optio portfolio", "custom": map[string]string{"optio_target": "portfolio"}},
				map[string]any{"type": "html", "html": "<p>ignored</p>"},
			},
		}
		if mutate != nil {
			mutate(claims)
		}
		return claims
	}
	post := func(token string) (int, string) {
		resp, err := http.PostForm(settings["deep_link_return_url"].(string), url.Values{"JWT": {token}})
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(body)
	}

	for name, tc := range map[string]struct {
		token string
		want  string
	}{
		"wrong aud":         {tt.sign(tt.key, response(nil, func(c map[string]any) { c["aud"] = tool.ClientID })), "aud must be"},
		"foreign key":       {tt.sign(newRSAKey(t, "tool-key-1"), response(nil, nil)), "signature does not verify"},
		"wrong deployment":  {tt.sign(tt.key, response(nil, func(c map[string]any) { c["https://purl.imsglobal.org/spec/lti/claim/deployment_id"] = "x" })), "deployment_id"},
		"unknown data":      {tt.sign(tt.key, response(nil, func(c map[string]any) { c["https://purl.imsglobal.org/spec/lti-dl/claim/data"] = "forged" })), "data does not match"},
		"expired":           {tt.sign(tt.key, response(nil, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() })), "expired"},
		"unregistered iss":  {tt.sign(tt.key, response(nil, func(c map[string]any) { c["iss"] = "stranger" })), "not a registered client id"},
		"not a JWT":         {"hello", "not a compact JWT"},
		"wrong messagetype": {tt.sign(tt.key, response(nil, func(c map[string]any) { c[claimMessageType] = "LtiResourceLinkRequest" })), "message_type"},
	} {
		status, body := post(tc.token)
		require.Equal(t, http.StatusBadRequest, status, name)
		require.Contains(t, body, tc.want, name)
	}
	require.Len(t, b.sb.LTIPlacements("spark-physics"), 1, "refused responses add nothing")

	good := tt.sign(tt.key, response(nil, nil))
	status, body := post(good)
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, "Added to Physics")
	require.Contains(t, body, "Placed 2 items from Optio.")
	status, body = post(good)
	require.Equal(t, http.StatusBadRequest, status, "a replayed response is refused")
	require.Contains(t, body, "already used")

	links := b.sb.LTIPlacements("spark-physics")
	require.Len(t, links, 3)
	quest, portfolio := links[1], links[2]
	require.Equal(t, "Quest: Build a trebuchet", quest.Title)
	require.Equal(t, map[string]string{"optio_quest_id": "q-trebuchet"}, quest.Custom)
	require.NotEmpty(t, quest.LineItemID)
	items := b.sb.LTILineItems("spark-physics")
	require.Len(t, items, 1)
	require.Equal(t, quest.ID, items[0].ResourceLinkID)
	require.Equal(t, 100.0, items[0].ScoreMaximum)

	// The course page lists the new links; launching one sends its custom
	// parameters and its line item.
	resp, err = http.Get(b.url + "/lti/courses/spark-physics?as=spark-stu-maya")
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(page), "Quest: Build a trebuchet")
	require.Contains(t, string(page), "optio_target=portfolio")
	require.Contains(t, string(page), `<iframe name="tool_frame"`)

	launch(t, b, url.Values{"as": {"spark-stu-maya"}, "placement": {quest.ID}})
	c = tt.lastLaunch()
	require.Equal(t, map[string]any{"optio_source": "sandbox", "optio_quest_id": "q-trebuchet"}, c[claimCustom])
	require.Equal(t, quest.ID, c[claimResource].(map[string]any)["id"])
	require.Equal(t, items[0].URL, c[claimAGS].(map[string]any)["lineitem"])
	launch(t, b, url.Values{"as": {"spark-stu-maya"}, "placement": {portfolio.ID}})
	require.Equal(t, "portfolio", tt.lastLaunch()[claimCustom].(map[string]any)["optio_target"])
}

func TestLTITokenEndpoint(t *testing.T) {
	t.Parallel()
	b, tt, _ := ltiSetup(t)
	tokenURL := b.url + "/lti/token"

	jti := randomString()
	status, body := tt.token(tt.assertion(tokenURL, jti), sandbox.ScopeMemberships, "https://example.com/unknown")
	require.Equal(t, http.StatusOK, status, "%v", body)
	require.Equal(t, "Bearer", body["token_type"])
	require.Equal(t, 3600.0, body["expires_in"])
	require.Equal(t, sandbox.ScopeMemberships, body["scope"], "only known, registered scopes are granted")
	nrps := body["access_token"].(string)

	status, body = tt.token(tt.assertion(tokenURL, jti), sandbox.ScopeMemberships)
	require.Equal(t, http.StatusUnauthorized, status)
	require.Equal(t, "invalid_client", body["error"])
	require.Contains(t, body["error_description"], "jti was already used")

	status, body = tt.token(tt.assertion("http://elsewhere.example/token", randomString()), sandbox.ScopeMemberships)
	require.Equal(t, http.StatusUnauthorized, status)
	require.Contains(t, body["error_description"], "aud must be")

	status, body = tt.token(tt.sign(newRSAKey(t, "tool-key-1"), map[string]any{
		"iss": tt.clientID, "sub": tt.clientID, "aud": tokenURL, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix(), "jti": randomString(),
	}), sandbox.ScopeMemberships)
	require.Equal(t, http.StatusUnauthorized, status, "an assertion not signed by the registered JWKS")
	require.Equal(t, "invalid_client", body["error"])

	status, body = tt.token(tt.assertion(tokenURL, randomString()), "https://example.com/unknown")
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "invalid_scope", body["error"])

	resp, err := http.PostForm(tokenURL, url.Values{"grant_type": {"password"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)

	// The token opens what its scopes allow, and nothing else.
	members := b.url + "/lti/courses/spark-physics/memberships"
	resp, _ = call(t, http.MethodGet, members, "", "", nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = call(t, http.MethodGet, members, "made-up", "", nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = call(t, http.MethodGet, members, nrps, "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = call(t, http.MethodGet, b.url+"/lti/courses/spark-physics/line_items", nrps, "", nil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Contains(t, resp.Header.Get("WWW-Authenticate"), "insufficient_scope")
}

// nrpsPage is one page of a membership container.
type nrpsPage struct {
	ID      string `json:"id"`
	Context struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"context"`
	Members []struct {
		Status string   `json:"status"`
		UserID string   `json:"user_id"`
		Name   string   `json:"name"`
		Email  string   `json:"email"`
		Roles  []string `json:"roles"`
	} `json:"members"`
}

var linkNext = regexp.MustCompile(`<([^>]+)>;\s*rel="next"`)

func TestNRPSPagesMembers(t *testing.T) {
	t.Parallel()
	b, tt, _ := ltiSetup(t)
	token := tt.accessToken(sandbox.ScopeMemberships)
	_, err := b.sb.Roster(t.Context(), "spark-stu-noah", "spark-physics", spark.RosterDrop)
	require.NoError(t, err)

	read := func() (map[string]string, []string, int) {
		statuses, roles := map[string]string{}, []string{}
		next, pages := b.url+"/lti/courses/spark-physics/memberships", 0
		for next != "" && pages < 10 {
			resp, body := call(t, http.MethodGet, next, token, "", nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
			require.Equal(t, "application/vnd.ims.lti-nrps.v2.membershipcontainer+json", resp.Header.Get("Content-Type"))
			var p nrpsPage
			require.NoError(t, json.Unmarshal(body, &p))
			require.Equal(t, "spark-physics", p.Context.ID)
			require.Equal(t, next, p.ID)
			for _, m := range p.Members {
				statuses[m.UserID] = m.Status
				roles = append(roles, m.UserID+" "+strings.Join(m.Roles, ","))
			}
			pages++
			next = ""
			if m := linkNext.FindStringSubmatch(resp.Header.Get("Link")); m != nil {
				next = m[1]
			}
		}
		return statuses, roles, pages
	}
	statuses, roles, pages := read()
	require.Equal(t, 2, pages, "PageSize 2: three members then one")
	require.Equal(t, map[string]string{
		sandbox.LTIInstructorID: "Active", "spark-stu-maya": "Active", "spark-stu-noah": "Inactive", "spark-par-lin": "Active",
	}, statuses, "Noah dropped: inactive, and his parent is no longer a mentor here")
	require.Contains(t, roles, "spark-stu-maya "+sandbox.RoleLearner)
	require.Contains(t, roles, "spark-par-lin "+sandbox.RoleMentor)
	require.Contains(t, roles, sandbox.LTIInstructorID+" "+sandbox.RoleInstructor)

	resp, body := call(t, http.MethodGet, b.url+"/lti/courses/spark-physics/memberships?limit=0", token, "", nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", body)
	resp, _ = call(t, http.MethodGet, b.url+"/lti/courses/spark-nowhere/memberships", token, "", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	// The loop fault: the last page points back to the first.
	b.sb.SetNRPSLoop(true)
	_, _, pages = read()
	require.Equal(t, 10, pages, "a reader that follows next links blindly never stops")
	resp, _ = call(t, http.MethodGet, b.url+"/lti/courses/spark-physics/memberships?limit=50", token, "", nil)
	require.Equal(t, `<`+b.url+`/lti/courses/spark-physics/memberships?limit=50&page=1>; rel="next"`, resp.Header.Get("Link"))
	b.sb.SetNRPSLoop(false)
	_, _, pages = read()
	require.Equal(t, 2, pages)
}

func TestAGSLineItemsScoresAndResults(t *testing.T) {
	t.Parallel()
	b, tt, tool := ltiSetup(t)
	token := tt.accessToken(sandbox.ScopeLineItem, sandbox.ScopeScore, sandbox.ScopeResultReadOnly)
	items := b.url + "/lti/courses/spark-physics/line_items"
	const mLineItem, mScore = "application/vnd.ims.lis.v2.lineitem+json", "application/vnd.ims.lis.v1.score+json"

	resp, body := call(t, http.MethodPost, items, token, "application/json", map[string]any{"label": "x", "scoreMaximum": 10})
	require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode, "%s", body)
	resp, body = call(t, http.MethodPost, items, token, mLineItem, map[string]any{"label": "", "scoreMaximum": 0, "resourceLinkId": "rl-made-up"})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, string(body), "scoreMaximum")
	require.Contains(t, string(body), "resourceLinkId")

	nav := "rl-spark-physics-" + tool.ClientID
	resp, body = call(t, http.MethodPost, items, token, mLineItem, map[string]any{
		"label": "Trebuchet quest", "scoreMaximum": 100, "resourceId": "q-trebuchet", "tag": "quest", "resourceLinkId": nav,
	})
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	require.Equal(t, mLineItem, resp.Header.Get("Content-Type"))
	var li map[string]any
	require.NoError(t, json.Unmarshal(body, &li))
	liURL := li["id"].(string)
	require.True(t, strings.HasPrefix(liURL, items+"/"), liURL)
	require.Equal(t, liURL, resp.Header.Get("Location"))
	_, _ = call(t, http.MethodPost, items, token, mLineItem, map[string]any{"label": "Other", "scoreMaximum": 5, "tag": "other"})

	resp, body = call(t, http.MethodGet, items+"?tag=quest", token, "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/vnd.ims.lis.v2.lineitemcontainer+json", resp.Header.Get("Content-Type"))
	var list []map[string]any
	require.NoError(t, json.Unmarshal(body, &list))
	require.Len(t, list, 1)
	require.Equal(t, liURL, list[0]["id"])
	require.Equal(t, nav, list[0]["resourceLinkId"])

	resp, body = call(t, http.MethodPut, liURL, token, mLineItem, map[string]any{"id": liURL, "label": "Trebuchet quest (final)", "scoreMaximum": 120, "resourceLinkId": nav})
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	resp, body = call(t, http.MethodGet, liURL, token, "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(body), `"label":"Trebuchet quest (final)"`)

	score := func(ts time.Time, given float64) (int, string) {
		resp, body := call(t, http.MethodPost, liURL+"/scores", token, mScore, map[string]any{
			"userId": "spark-stu-maya", "scoreGiven": given, "scoreMaximum": 120, "comment": "Great build",
			"timestamp": ts.Format(time.RFC3339Nano), "activityProgress": "Completed", "gradingProgress": "FullyGraded",
		})
		return resp.StatusCode, string(body)
	}
	t0 := time.Now().UTC()
	status, body2 := score(t0, 96)
	require.Equal(t, http.StatusNoContent, status, body2)
	status, _ = score(t0, 96)
	require.Equal(t, http.StatusNoContent, status, "a retry is accepted")
	status, body2 = score(t0.Add(-time.Second), 50)
	require.Equal(t, http.StatusConflict, status, "an older score does not overwrite a newer one")
	require.Contains(t, body2, "already on record")
	scores := b.sb.LTIScores()
	require.Len(t, scores, 1, "the retry stored nothing twice")
	require.Equal(t, "spark-stu-maya", scores[0].UserID)
	require.Equal(t, 96.0, *scores[0].ScoreGiven)
	require.Equal(t, "FullyGraded", scores[0].GradingProgress)

	resp, body = call(t, http.MethodPost, liURL+"/scores", token, mScore, map[string]any{
		"userId": "spark-par-lin", "timestamp": "yesterday", "activityProgress": "Done", "gradingProgress": "FullyGraded", "scoreGiven": 3,
	})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	for _, f := range []string{"userId", "timestamp", "activityProgress", "scoreMaximum"} {
		require.Contains(t, string(body), f)
	}

	resp, body = call(t, http.MethodGet, liURL+"/results", token, "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/vnd.ims.lis.v2.resultcontainer+json", resp.Header.Get("Content-Type"))
	var results []map[string]any
	require.NoError(t, json.Unmarshal(body, &results))
	require.Len(t, results, 1)
	require.Equal(t, "spark-stu-maya", results[0]["userId"])
	require.Equal(t, 96.0, results[0]["resultScore"])
	require.Equal(t, liURL, results[0]["scoreOf"])

	resp, body = call(t, http.MethodGet, b.url+"/lti/courses/spark-physics/gradebook", "", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(body), "Trebuchet quest (final)")
	require.Contains(t, string(body), "96 / 120 (Completed, FullyGraded)")
	require.Contains(t, string(body), "Great build")

	resp, _ = call(t, http.MethodDelete, liURL, token, "", nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp, _ = call(t, http.MethodGet, liURL, token, "", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	// Another tool does not see this tool's line items.
	other := newTestTool(t, b.sb)
	other.registerDirectly(b.sb)
	resp, body = call(t, http.MethodGet, items, other.accessToken(sandbox.ScopeLineItem), "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "[]", strings.TrimSpace(string(body)))
}

func TestAGSThrottle(t *testing.T) {
	t.Parallel()
	b, tt, _ := ltiSetup(t)
	token := tt.accessToken(sandbox.ScopeLineItem)
	b.sb.SetAGSThrottle(2, 3*time.Second)
	for range 2 {
		resp, _ := call(t, http.MethodGet, b.url+"/lti/courses/spark-physics/line_items", token, "", nil)
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		require.Equal(t, "3", resp.Header.Get("Retry-After"))
	}
	resp, _ := call(t, http.MethodGet, b.url+"/lti/courses/spark-physics/line_items", token, "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "the third request goes through")
}

func TestLTILaunchFaults(t *testing.T) {
	t.Parallel()
	b, tt, _ := ltiSetup(t)
	asMaya := url.Values{"as": {"spark-stu-maya"}}

	resp, _ := launch(t, b, asMaya)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	require.NoError(t, b.sb.SetLaunchFault(sandbox.LaunchReplayed))
	resp, _ = launch(t, b, asMaya)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Contains(t, tt.lastRefusal(), "nonce")

	require.NoError(t, b.sb.SetLaunchFault(sandbox.LaunchExpired))
	resp, _ = launch(t, b, asMaya)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Contains(t, tt.lastRefusal(), `"exp" not satisfied`)

	require.NoError(t, b.sb.SetLaunchFault(sandbox.LaunchUnregisteredKey))
	resp, _ = launch(t, b, asMaya)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Contains(t, tt.lastRefusal(), "id_token")

	require.Error(t, b.sb.SetLaunchFault("sideways"))
	require.NoError(t, b.sb.SetLaunchFault(sandbox.LaunchOK))
	b.sb.SetLTIJWKSDown(true)
	resp, err := http.Get(b.url + "/lti/jwks")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	resp, _ = launch(t, b, asMaya)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Contains(t, tt.lastRefusal(), "platform keys unavailable")

	b.sb.SetLTIJWKSDown(false)
	resp, _ = launch(t, b, asMaya)
	require.Equal(t, http.StatusOK, resp.StatusCode, "back to normal")
	tt.mu.Lock()
	require.Len(t, tt.launches, 2)
	tt.mu.Unlock()
}

func TestLTIAdminPageAndFaultControls(t *testing.T) {
	t.Parallel()
	b, tt, tool := ltiSetup(t)
	resp, err := http.Get(b.url + "/lti")
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{b.url + "/lti/.well-known/openid-configuration", tool.ClientID, tool.DeploymentID, tt.URL + "/lti/login", `href="/lti/courses/spark-physics"`} {
		require.Contains(t, string(page), want)
	}

	resp, err = http.PostForm(b.url+"/lti/faults", url.Values{"jwks_down": {"on"}, "nrps_loop": {"on"}, "ags429": {"2"}, "retry_after": {"5"}, "launch": {"expired"}})
	require.NoError(t, err)
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(page), "LTI faults updated.")
	require.Contains(t, string(page), `name="jwks_down" checked`)
	require.Contains(t, string(page), `<option value="expired" selected>`)
	resp, err = http.Get(b.url + "/lti/jwks")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)

	resp, err = http.PostForm(b.url+"/lti/faults", url.Values{"ags429": {"-1"}, "retry_after": {"0"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)

	// The by-hand form names what is wrong and registers nothing.
	resp, err = http.PostForm(b.url+"/lti/tools", url.Values{"name": {"Broken"}, "login_url": {"ftp://x"}, "target_link_uri": {"http://t.example/launch"}, "jwks_url": {""}})
	require.NoError(t, err)
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, string(page), "login_url")
	require.Contains(t, string(page), "jwks_url: required")
	require.Len(t, b.sb.LTITools(), 1)

	resp, err = http.PostForm(b.url+"/lti/tools", url.Values{"name": {"Second"}, "login_url": {"http://t.example/login"}, "target_link_uri": {"http://t.example/launch"}, "jwks_url": {"http://t.example/jwks"}, "client_id": {"my-client"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, "done=tool", resp.Request.URL.RawQuery)
	require.Equal(t, "my-client", b.sb.LTITools()[1].ClientID)
	_, err = b.sb.RegisterLTITool(sandbox.LTIToolConfig{LoginURL: "http://t.example/login", TargetLinkURI: "http://t.example/launch", JWKSURL: "http://t.example/jwks", ClientID: "my-client"})
	require.Error(t, err, "a client id is registered once")
}
