package app_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/app"
	"github.com/optio-edu/optio/lti"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/web"
)

// The LMS side of LTI 1.3 as the specifications define it, for tests: an
// issuer with RSA keys served as a JWKS on loopback (which can go down or
// rotate), that builds and signs id_tokens for Optio's launch.

type testPlatform struct {
	t        testing.TB
	srv      *httptest.Server
	issuer   string
	clientID string
	deploy   string

	mu     sync.Mutex
	signer jwk.Key
	served []jwk.Key
	down   atomic.Bool
	hits   atomic.Int32

	// LTI Advantage services: a roster (NRPS, two pages), line items and
	// scores (AGS), behind a token endpoint that checks Optio's client
	// assertion with Optio's /lti/jwks (toolJWKS).
	toolJWKS  string
	roster    [][]map[string]any
	lineItems []map[string]any
	scores    []map[string]any
	throttled atomic.Int32 // answer this many score posts 429

	// Dynamic registration: what Optio posted, and the issuer the
	// configuration names (the platform's own by default).
	registrations []map[string]any
	regAuth       string
	configIssuer  string
}

func newRSAKey(t testing.TB, kid string) jwk.Key {
	t.Helper()
	pk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	k, err := jwk.Import(pk)
	require.NoError(t, err)
	require.NoError(t, k.Set(jwk.KeyIDKey, kid))
	require.NoError(t, k.Set(jwk.AlgorithmKey, jwa.RS256()))
	return k
}

func newTestPlatform(t testing.TB) *testPlatform {
	p := &testPlatform{t: t, clientID: "optio-tool", deploy: "dep-1"}
	p.signer = newRSAKey(t, "k1")
	p.served = []jwk.Key{p.signer}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/lti/jwks" {
			p.services(w, r)
			return
		}
		p.hits.Add(1)
		if p.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		set := jwk.NewSet()
		p.mu.Lock()
		for _, k := range p.served {
			pub, err := jwk.PublicKeyOf(k)
			require.NoError(t, err)
			require.NoError(t, set.AddKey(pub))
		}
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(p.srv.Close)
	p.issuer = p.srv.URL + "/lti"
	return p
}

// rotate signs with a new key from now on; the JWKS serves both.
func (p *testPlatform) rotate(kid string) {
	k := newRSAKey(p.t, kid)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.signer = k
	p.served = append(p.served, k)
}

// register adds the platform to Optio as an administrator would.
func (p *testPlatform) register(t testing.TB, a *app.App) *optio.LTIPlatform {
	t.Helper()
	in := optio.LTIPlatform{Issuer: p.issuer, ClientID: p.clientID, DeploymentIDs: []string{p.deploy},
		AuthURL: p.srv.URL + "/lti/authorize", TokenURL: p.srv.URL + "/lti/token", JWKSURL: p.srv.URL + "/lti/jwks"}
	require.NoError(t, in.Normalize(true))
	created, err := a.Store.CreateLTIPlatform(context.Background(), in)
	require.NoError(t, err)
	return created
}

// claims is a valid resource link launch for sub with one LIS role.
func (p *testPlatform) claims(now time.Time, nonce, sub, role, base string) map[string]any {
	return map[string]any{
		"iss": p.issuer, "aud": p.clientID, "sub": sub, "nonce": nonce,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"given_name": "Given " + sub, "family_name": "Family", "email": sub + "@school.test",
		lti.ClaimMessageType:   lti.MessageResourceLink,
		lti.ClaimVersion:       lti.Version,
		lti.ClaimDeploymentID:  p.deploy,
		lti.ClaimTargetLinkURI: base + lti.LaunchPath,
		lti.ClaimResourceLink:  map[string]any{"id": "rl-1", "title": "Optio"},
		lti.ClaimRoles:         []string{role},
		lti.ClaimContext:       map[string]any{"id": "course-42", "label": "BIO9", "title": "Biology 9", "type": []string{"http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"}},
	}
}

func (p *testPlatform) sign(claims map[string]any) string {
	p.mu.Lock()
	k := p.signer
	p.mu.Unlock()
	return signWith(p.t, claims, k)
}

func signWith(t testing.TB, claims map[string]any, k jwk.Key) string {
	t.Helper()
	b, err := json.Marshal(claims)
	require.NoError(t, err)
	kid, _ := k.KeyID()
	h := jws.NewHeaders()
	require.NoError(t, h.Set(jws.KeyIDKey, kid))
	tok, err := jws.Sign(b, jws.WithKey(jwa.RS256(), k, jws.WithProtectedHeaders(h)))
	require.NoError(t, err)
	return string(tok)
}

// ltiApp is Optio on a loopback listener whose base URL is its own address.
func startLTIApp(t testing.TB, d store.Dialect, clock optio.Clock, env ...string) (*app.App, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	e := newSSOEnv(t, d).set("OPTIO_BASE_URL", base)
	for i := 0; i+1 < len(env); i += 2 {
		e.set(env[i], env[i+1])
	}
	env2 := e
	cfg, err := optio.LoadConfig(func(k string) string { return env2.vars[k] })
	require.NoError(t, err)
	a, err := app.New(context.Background(), cfg, app.Options{Clock: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	require.NoError(t, a.Start(ln))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Shutdown(ctx)
	})
	return a, base
}

// ltiLogin is the platform's login initiation as the browser follows it:
// Optio answers with a redirect to the platform's authorization endpoint,
// whose query the platform reads. It returns state and nonce.
func (b *ssoBrowser) ltiLogin(p *testPlatform, sub string) (string, string) {
	b.t.Helper()
	q := url.Values{"iss": {p.issuer}, "login_hint": {sub}, "target_link_uri": {b.base + lti.LaunchPath},
		"client_id": {p.clientID}, "lti_deployment_id": {p.deploy}, "lti_message_hint": {"msg-" + sub}}
	resp, body := b.get(lti.LoginPath+"?"+q.Encode(), "html")
	require.Equal(b.t, http.StatusFound, resp.StatusCode, body)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(b.t, err)
	require.Equal(b.t, p.srv.URL+"/lti/authorize", loc.Scheme+"://"+loc.Host+loc.Path)
	aq := loc.Query()
	for k, v := range map[string]string{"scope": "openid", "response_type": "id_token", "response_mode": "form_post",
		"prompt": "none", "client_id": p.clientID, "redirect_uri": b.base + lti.LaunchPath, "login_hint": sub,
		"lti_message_hint": "msg-" + sub} {
		require.Equal(b.t, v, aq.Get(k), k)
	}
	require.NotEmpty(b.t, aq.Get("state"))
	require.NotEmpty(b.t, aq.Get("nonce"))
	return aq.Get("state"), aq.Get("nonce")
}

// ltiLaunch is the platform's auto-submitted form post to the redirect URI.
func (b *ssoBrowser) ltiLaunch(idToken, state, accept string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest("POST", b.base+lti.LaunchPath, strings.NewReader(url.Values{"id_token": {idToken}, "state": {state}}.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://lms.example") // a cross-site form post, as from the LMS
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if accept == "json" {
		req.Header.Set("Accept", "application/json")
	} else {
		req.Header.Set("Accept", "text/html")
	}
	resp, err := b.http.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// ltiRefusal posts a launch as an API client and decodes the error.
func (b *ssoBrowser) ltiRefusal(idToken, state string) (int, string, string) {
	b.t.Helper()
	resp, body := b.ltiLaunch(idToken, state, "json")
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	require.NoError(b.t, json.Unmarshal([]byte(body), &e), body)
	return resp.StatusCode, e.Error.Code, e.Error.Message
}

// ltiPostForm submits a page form as this browser and returns the answer.
func (b *ssoBrowser) ltiPostForm(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.http.PostForm(b.base+path, form)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func mustHashPassword(t testing.TB, pw string) string {
	t.Helper()
	h, err := web.HashPassword(pw)
	require.NoError(t, err)
	return h
}

// services answers the token endpoint, NRPS and AGS as the specs define them.
func (p *testPlatform) services(w http.ResponseWriter, r *http.Request) {
	t := p.t
	switch r.URL.Path {
	case "/lti/.well-known/openid-configuration":
		iss := p.issuer
		if p.configIssuer != "" {
			iss = p.configIssuer
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": iss, "authorization_endpoint": p.srv.URL + "/lti/authorize",
			"token_endpoint": p.srv.URL + "/lti/token", "jwks_uri": p.srv.URL + "/lti/jwks", "registration_endpoint": p.srv.URL + "/lti/register",
			"token_endpoint_auth_methods_supported": []string{"private_key_jwt"}, "id_token_signing_alg_values_supported": []string{"RS256"},
			"scopes_supported":         []string{"openid", lti.ScopeNRPS, lti.ScopeLineItem, lti.ScopeScore},
			"response_types_supported": []string{"id_token"}, "subject_types_supported": []string{"public"},
			"claims_supported": []string{"iss", "sub", "name", "given_name", "family_name", "email"},
			"https://purl.imsglobal.org/spec/lti-platform-configuration": map[string]any{"product_family_code": "optio-sandbox", "version": "1.0",
				"messages_supported": []map[string]any{{"type": lti.MessageResourceLink}, {"type": lti.MessageDeepLinkingRequest}}}})
		return
	case "/lti/register":
		var reg map[string]any
		require.NoError(t, json.NewDecoder(r.Body).Decode(&reg))
		p.mu.Lock()
		p.registrations = append(p.registrations, reg)
		p.regAuth = r.Header.Get("Authorization")
		p.mu.Unlock()
		reg["client_id"] = p.clientID
		reg["https://purl.imsglobal.org/spec/lti-tool-configuration"].(map[string]any)["deployment_id"] = p.deploy
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(reg)
		return
	}
	if r.URL.Path == "/lti/token" {
		require.NoError(t, r.ParseForm())
		resp, err := http.Get(p.toolJWKS)
		require.NoError(t, err)
		defer resp.Body.Close()
		set, err := jwk.ParseReader(resp.Body)
		require.NoError(t, err)
		_, err = jws.Verify([]byte(r.Form.Get("client_assertion")), jws.WithKeySet(set, jws.WithRequireKid(true)))
		if err != nil || r.Form.Get("grant_type") != "client_credentials" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"platform-token","token_type":"bearer","expires_in":3600}`)
		return
	}
	if r.Header.Get("Authorization") != "Bearer platform-token" {
		http.Error(w, "no token", http.StatusUnauthorized)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case strings.HasPrefix(r.URL.Path, "/lti/nrps/"):
		page := 0
		if r.URL.Path == "/lti/nrps/2" {
			page = 1
		} else {
			w.Header().Set("Link", "<"+p.srv.URL+"/lti/nrps/2>; rel=\"next\"")
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": r.URL.String(), "members": p.roster[page]})
	case r.URL.Path == "/lti/lineitems" && r.Method == http.MethodGet:
		_ = json.NewEncoder(w).Encode(p.lineItems)
	case r.URL.Path == "/lti/lineitems" && r.Method == http.MethodPost:
		var li map[string]any
		require.NoError(t, json.NewDecoder(r.Body).Decode(&li))
		li["id"] = p.srv.URL + "/lti/lineitems/1"
		p.lineItems = append(p.lineItems, li)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(li)
	case r.URL.Path == "/lti/lineitems/1/scores":
		if p.throttled.Add(-1) >= 0 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		var sc map[string]any
		require.NoError(t, json.NewDecoder(r.Body).Decode(&sc))
		p.scores = append(p.scores, sc)
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}

// serviceClaims adds the NRPS and AGS claims of the platform's services.
func (p *testPlatform) serviceClaims(c map[string]any) {
	c[lti.ClaimNRPS] = map[string]any{"context_memberships_url": p.srv.URL + "/lti/nrps/1", "service_versions": []string{"2.0"}}
	c[lti.ClaimAGS] = map[string]any{"scope": []string{lti.ScopeLineItem, lti.ScopeScore,
		"https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"}, "lineitems": p.srv.URL + "/lti/lineitems"}
}

func (p *testPlatform) recorded() ([]map[string]any, []map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]map[string]any(nil), p.lineItems...), append([]map[string]any(nil), p.scores...)
}
