package sandbox_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/sandbox"
)

// docBase is the Optio base URL the LTI guides write.
const docBase = "https://optio.example.edu"

// The Optio URLs of the contract between Optio's tool and the platforms.
var contractURLs = map[string]string{
	"login": docBase + "/lti/login", "launch": docBase + "/lti/launch", "jwks": docBase + "/lti/jwks", "register": docBase + "/lti/register",
}

func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "lti", name))
	require.NoError(t, err)
	return string(b)
}

// canvasKey is a Canvas LTI 1.3 developer key JSON configuration, field for
// field as Canvas documents it ("Anatomy of a JSON configuration"); unknown
// fields fail the decode, so a misspelt key in the guide is caught.
type canvasKey struct {
	Title             string            `json:"title"`
	Description       string            `json:"description"`
	OIDCInitiationURL string            `json:"oidc_initiation_url"`
	TargetLinkURI     string            `json:"target_link_uri"`
	Scopes            []string          `json:"scopes"`
	PublicJWK         map[string]any    `json:"public_jwk"`
	PublicJWKURL      string            `json:"public_jwk_url"`
	CustomFields      map[string]string `json:"custom_fields"`
	Extensions        []struct {
		Platform     string `json:"platform"`
		Domain       string `json:"domain"`
		ToolID       string `json:"tool_id"`
		PrivacyLevel string `json:"privacy_level"`
		Settings     struct {
			Text            string `json:"text"`
			IconURL         string `json:"icon_url"`
			SelectionHeight int    `json:"selection_height"`
			SelectionWidth  int    `json:"selection_width"`
			Placements      []struct {
				Placement       string            `json:"placement"`
				MessageType     string            `json:"message_type"`
				TargetLinkURI   string            `json:"target_link_uri"`
				Text            string            `json:"text"`
				IconURL         string            `json:"icon_url"`
				CustomFields    map[string]string `json:"custom_fields"`
				Enabled         *bool             `json:"enabled"`
				SelectionHeight int               `json:"selection_height"`
				SelectionWidth  int               `json:"selection_width"`
			} `json:"placements"`
		} `json:"settings"`
	} `json:"extensions"`
}

// canvasScopes are the scopes a Canvas developer key accepts for LTI services.
var canvasScopes = []string{
	sandbox.ScopeLineItem, sandbox.ScopeResultReadOnly, sandbox.ScopeScore, sandbox.ScopeMemberships, sandbox.ScopeLineItemReadOnly,
}

func TestCanvasDeveloperKeyJSONIsTheContract(t *testing.T) {
	t.Parallel()
	doc := readDoc(t, "canvas.md")
	m := regexp.MustCompile("(?s)```json\n(.*?)```").FindStringSubmatch(doc)
	require.NotNil(t, m, "canvas.md has a JSON configuration block")
	dec := json.NewDecoder(bytes.NewReader([]byte(m[1])))
	dec.DisallowUnknownFields()
	var key canvasKey
	require.NoError(t, dec.Decode(&key))

	require.NotEmpty(t, key.Title)
	require.NotEmpty(t, key.Description)
	require.Equal(t, contractURLs["login"], key.OIDCInitiationURL)
	require.Equal(t, contractURLs["launch"], key.TargetLinkURI)
	require.Equal(t, contractURLs["jwks"], key.PublicJWKURL)
	require.Nil(t, key.PublicJWK, "the key set URL, so Optio can rotate keys")
	require.ElementsMatch(t, canvasScopes, key.Scopes, "every service scope Optio uses, and only Canvas's")

	require.Len(t, key.Extensions, 1)
	ext := key.Extensions[0]
	require.Equal(t, "canvas.instructure.com", ext.Platform)
	require.Equal(t, "optio.example.edu", ext.Domain)
	require.Contains(t, []string{"public", "name_only", "email_only", "anonymous"}, ext.PrivacyLevel)
	require.Equal(t, "public", ext.PrivacyLevel, "names and emails for the people Optio shows")
	var kinds []string
	portfolio := false
	for _, p := range ext.Settings.Placements {
		require.Equal(t, contractURLs["launch"], p.TargetLinkURI, p.Placement)
		require.Contains(t, []string{sandbox.MessageResourceLink, sandbox.MessageDeepLinking}, p.MessageType, p.Placement)
		require.NotEmpty(t, p.Text, p.Placement)
		kinds = append(kinds, p.MessageType)
		if p.CustomFields["optio_target"] == "portfolio" {
			portfolio = true
			require.Equal(t, sandbox.MessageResourceLink, p.MessageType)
		}
	}
	require.True(t, portfolio, "the portfolio placement carries optio_target=portfolio")
	require.Contains(t, kinds, sandbox.MessageDeepLinking, "teachers place quests by deep linking")
	require.Contains(t, doc, "*Redirect URIs*: `"+contractURLs["launch"]+"`")
	require.Contains(t, doc, "`"+contractURLs["register"]+"`")

	// The key's URLs, on a tool that serves the contract's paths, launch.
	b := setup(t, nil)
	tt := newTestTool(t, b.sb)
	local := func(u string) string { return strings.Replace(u, docBase, tt.URL, 1) }
	tool, err := b.sb.RegisterLTITool(sandbox.LTIToolConfig{
		Name: key.Title, LoginURL: local(key.OIDCInitiationURL), TargetLinkURI: local(key.TargetLinkURI),
		JWKSURL: local(key.PublicJWKURL), RedirectURIs: []string{local(contractURLs["launch"])}, Scopes: key.Scopes,
	})
	require.NoError(t, err)
	tt.clientID, tt.deployID, tt.authURL = tool.ClientID, tool.DeploymentID, b.url+"/lti/authorize"
	_, out := launch(t, b, url.Values{"as": {"spark-stu-maya"}})
	require.Equal(t, "launched LtiResourceLinkRequest", string(out))
	require.Equal(t, "Bearer", tokenType(t, tt, key.Scopes))
}

func tokenType(t *testing.T, tt *testTool, scopes []string) string {
	t.Helper()
	_, body := tt.token(tt.assertion(tt.platform+"/token", randomString()), scopes...)
	require.Equal(t, strings.Join(scopes, " "), body["scope"], "every scope of the key is granted")
	return body["token_type"].(string)
}

func TestLTIGuidesNameTheContractURLs(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"README.md", "canvas.md", "moodle.md", "schoology.md", "brightspace.md"} {
		doc := readDoc(t, name)
		for _, what := range []string{"login", "launch", "jwks"} {
			u := contractURLs[what]
			require.True(t, strings.Contains(doc, "`"+u+"`") || strings.Contains(doc, `"`+u+`"`), "%s names the %s URL %s", name, what, u)
		}
		if name != "schoology.md" { // Schoology has no dynamic registration
			require.Contains(t, doc, "`"+contractURLs["register"]+"`", name)
		}
		// No other Optio URL: a path the contract does not have is a typo.
		for _, u := range regexp.MustCompile(`https://optio\.example\.edu[^\x60\s)|"]*`).FindAllString(doc, -1) {
			known := u == docBase || slices.Contains([]string{contractURLs["login"], contractURLs["launch"], contractURLs["jwks"], contractURLs["register"]}, u)
			require.True(t, known, "%s names %s, which is not in the contract", name, u)
		}
	}
}

func TestLTIReadmeSandboxEndpoints(t *testing.T) {
	t.Parallel()
	b, tt, _ := ltiSetup(t)
	doc := readDoc(t, "README.md")
	row := regexp.MustCompile("(?m)^\\| ([A-Za-z ]+) \\| `http://127\\.0\\.0\\.1:8090([^`]*)` \\|$")
	rows := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(doc, -1) {
		rows[m[1]] = b.url + strings.ReplaceAll(m[2], "{course id}", "spark-physics")
	}
	var cfg map[string]any
	require.NoError(t, getJSON(b.sb.LTIOpenIDConfigurationURL(), &cfg))
	require.Equal(t, cfg["issuer"], rows["Issuer"])
	require.Equal(t, b.sb.LTIOpenIDConfigurationURL(), rows["OpenID configuration"])
	require.Equal(t, cfg["authorization_endpoint"], rows["Authorization endpoint"])
	require.Equal(t, cfg["token_endpoint"], rows["Token endpoint"])
	require.Equal(t, cfg["jwks_uri"], rows["JWKS"])
	require.Equal(t, cfg["registration_endpoint"], rows["Registration endpoint"])

	launch(t, b, url.Values{"as": {sandbox.LTIInstructorID}, "message": {sandbox.MessageDeepLinking}})
	require.Equal(t, rows["Deep linking return URL"], tt.lastLaunch()[claimDLSettings].(map[string]any)["deep_link_return_url"])
	launch(t, b, url.Values{"as": {"spark-stu-maya"}})
	c := tt.lastLaunch()
	require.Equal(t, rows["NRPS memberships"], c[claimNRPS].(map[string]any)["context_memberships_url"])
	require.Equal(t, rows["AGS line items"], c[claimAGS].(map[string]any)["lineitems"])
	for _, id := range []string{sandbox.LTIInstructorID, "spark-stu-maya", "spark-stu-noah", "spark-par-lin", "spark-par-grace"} {
		require.Contains(t, doc, "`"+id+"`")
	}
}
