package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/optio-edu/optio"
)

// The sandbox's LTI 1.3 platform: besides playing Spark, the sandbox plays a
// Canvas-like LMS that launches a registered LTI tool (Optio) into its
// courses, with Deep Linking, Names and Role Provisioning Services and
// Assignment and Grade Services, all built to the 1EdTech specifications
// (LTI Core 1.3, Deep Linking 2.0, NRPS 2.0, AGS 2.0, Dynamic Registration
// 1.0, Security Framework 1.0). docs/lti describes how Optio fits it.

// Claim names and vocabularies of LTI Core 1.3 and LTI Advantage.
const (
	claimMessageType     = "https://purl.imsglobal.org/spec/lti/claim/message_type"
	claimVersion         = "https://purl.imsglobal.org/spec/lti/claim/version"
	claimDeploymentID    = "https://purl.imsglobal.org/spec/lti/claim/deployment_id"
	claimTargetLinkURI   = "https://purl.imsglobal.org/spec/lti/claim/target_link_uri"
	claimResourceLink    = "https://purl.imsglobal.org/spec/lti/claim/resource_link"
	claimRoles           = "https://purl.imsglobal.org/spec/lti/claim/roles"
	claimContext         = "https://purl.imsglobal.org/spec/lti/claim/context"
	claimToolPlatform    = "https://purl.imsglobal.org/spec/lti/claim/tool_platform"
	claimLaunchPresent   = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation"
	claimCustom          = "https://purl.imsglobal.org/spec/lti/claim/custom"
	claimRoleScopeMentor = "https://purl.imsglobal.org/spec/lti/claim/role_scope_mentor"
	claimNRPS            = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
	claimAGS             = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
	claimDLSettings      = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
	claimDLContentItems  = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
	claimDLData          = "https://purl.imsglobal.org/spec/lti-dl/claim/data"
	claimDLMsg           = "https://purl.imsglobal.org/spec/lti-dl/claim/msg"
	claimDLErrorMsg      = "https://purl.imsglobal.org/spec/lti-dl/claim/errormsg"

	platformConfigKey = "https://purl.imsglobal.org/spec/lti-platform-configuration"
	toolConfigKey     = "https://purl.imsglobal.org/spec/lti-tool-configuration"

	ltiVersion            = "1.3.0"
	MessageResourceLink   = "LtiResourceLinkRequest"
	MessageDeepLinking    = "LtiDeepLinkingRequest"
	messageDeepLinkingRes = "LtiDeepLinkingResponse"

	RoleLearner    = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
	RoleInstructor = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
	RoleMentor     = "http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"
	roleInstStu    = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student"
	roleInstFac    = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Faculty"
	courseOffering = "http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"
)

// The LTI Advantage scopes the platform grants (per registration).
const (
	ScopeLineItem         = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
	ScopeLineItemReadOnly = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
	ScopeResultReadOnly   = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
	ScopeScore            = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
	ScopeMemberships      = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
)

// ltiScopes are every scope the platform supports, in the order it lists them.
var ltiScopes = []string{ScopeLineItem, ScopeLineItemReadOnly, ScopeResultReadOnly, ScopeScore, ScopeMemberships}

// LTIInstructorID is the sandbox user id of the instructor who teaches every
// course on the LTI platform (Spark itself has no teachers). Her LTI `sub`
// is this id, like every sandbox user's.
const LTIInstructorID = "spark-tch-rahman"

// LTICourseID is the course `optio demo` shows on the LTI platform: its
// context id in launches. Maya and Noah are its students, Lin and Grace
// their mentors.
const LTICourseID = "spark-physics"

var ltiInstructor = User{ID: LTIInstructorID, Role: "teacher", GivenName: "Nadia", FamilyName: "Rahman", Email: "nadia.rahman@spark.example"}

// Lifetimes of the platform's one-time values.
const (
	launchTTL       = 5 * time.Minute // a login initiation → authorization round trip
	idTokenTTL      = 5 * time.Minute
	regTokenTTL     = time.Hour
	accessTokenTTL  = time.Hour
	deepLinkTTL     = time.Hour
	maxAssertionAge = 5 * time.Minute
	maxJWTBytes     = 64 << 10
)

// LTITool is a tool registered on the sandbox's LTI platform.
type LTITool struct {
	// ClientID is the OAuth client id the platform assigned (or was given).
	ClientID string
	// DeploymentID is the tool's one deployment: the whole sandbox.
	DeploymentID string
	Name         string
	// LoginURL is the tool's OIDC third-party login initiation URL.
	LoginURL string
	// RedirectURIs are the launch URLs the authorization endpoint accepts.
	RedirectURIs []string
	// TargetLinkURI is the default launch target.
	TargetLinkURI string
	// JWKSURL is where the tool publishes the keys of its client assertions
	// and deep linking responses.
	JWKSURL string
	// Scopes are the LTI Advantage scopes the token endpoint grants it.
	Scopes []string
	// Custom parameters sent with every launch of the tool.
	Custom map[string]string
	// Dynamic is true for a tool registered by LTI Dynamic Registration.
	Dynamic      bool
	RegisteredAt time.Time
}

// LTIToolConfig registers a tool directly (RegisterLTITool), the way an
// admin fills in a developer key by hand.
type LTIToolConfig struct {
	Name          string
	LoginURL      string // required
	TargetLinkURI string // required
	JWKSURL       string // required
	// RedirectURIs default to [TargetLinkURI].
	RedirectURIs []string
	// ClientID is assigned when empty.
	ClientID string
	// DeploymentID is assigned when empty (a tool re-registered after a
	// restart keeps the ids the tool already knows).
	DeploymentID string
	// Scopes default to every scope the platform supports.
	Scopes []string
	Custom map[string]string
}

// LTIPlacement is a link to the tool in a course: the course navigation
// link every tool gets, or a resource link added by Deep Linking.
type LTIPlacement struct {
	// ID is the resource link id launches carry.
	ID       string
	CourseID string
	ClientID string
	Title    string
	// URL is the launch's target_link_uri ("" = the tool's default).
	URL    string
	Custom map[string]string
	// LineItemID is the line item the tool asked for with the link, if any.
	LineItemID string
	// DeepLinked is false for the course navigation link.
	DeepLinked bool
}

// LTILineItem is a gradebook column of AGS.
type LTILineItem struct {
	// ID is the short id; URL is the line item's id in AGS.
	ID             string
	URL            string
	CourseID       string
	ClientID       string
	Label          string
	ScoreMaximum   float64
	ResourceID     string
	Tag            string
	ResourceLinkID string
	StartDateTime  string
	EndDateTime    string
}

// LTIScore is a score a tool posted through AGS.
type LTIScore struct {
	CourseID         string
	LineItemID       string
	ClientID         string
	UserID           string
	ScoreGiven       *float64
	ScoreMaximum     *float64
	Comment          string
	ActivityProgress string
	GradingProgress  string
	Timestamp        time.Time
	ReceivedAt       time.Time
}

// LTILaunch is what the platform sent in its most recent id_token: the
// claims as the tool receives them.
type LTILaunch struct {
	ClientID string
	Claims   map[string]any
}

// ltiPlatform holds the LTI platform's keys and state, under its own lock.
type ltiPlatform struct {
	key   jwk.Key // private signing key, kid set
	keys  jwk.Set // the public JWKS
	rogue jwk.Key // an unpublished key with the same kid (LaunchUnregisteredKey)

	mu           sync.Mutex
	tools        []*LTITool
	toolByID     map[string]*LTITool
	regSessions  map[string]*regSession // by id
	regTokens    map[string]*regSession // by registration_token
	launches     map[string]*ltiLaunch  // by lti_message_hint
	lastIDToken  map[string]string      // client id → the last id_token sent (LaunchReplayed)
	lastLaunch   *LTILaunch
	deepLinks    map[string]*deepLinkRequest // by the data claim
	usedNonces   map[string]time.Time        // deep linking response nonces, until expiry
	usedJTIs     map[string]time.Time        // client assertion jti, until expiry
	accessTokens map[string]*accessToken
	placements   []*LTIPlacement
	lineItems    []*LTILineItem
	results      map[string]*LTIScore // line item id + "|" + user id → latest
	scores       []LTIScore

	faults ltiFaults
}

// regSession is one dynamic registration an admin started.
type regSession struct {
	ID       string
	URL      string // the tool's registration initiation URL
	Token    string
	Expires  time.Time
	ClientID string // set when the tool registered
	Closed   bool   // the tool's page posted org.imsglobal.lti.close
}

type ltiLaunch struct {
	clientID, courseID, userID, placementID, target string
	deepLinking                                     bool
	created                                         time.Time
	used                                            bool
}

type deepLinkRequest struct {
	clientID, courseID string
	expires            time.Time
}

type accessToken struct {
	clientID string
	scopes   []string
	expires  time.Time
}

// platformKeys are the platform's signing key and an unpublished twin
// under the same kid, made once per process: RSA key generation is slow, and
// every sandbox a test suite starts would otherwise pay for it.
var platformKeys = sync.OnceValues(func() ([2]jwk.Key, error) {
	key, err := newSigningKey("sandbox-lti-1")
	if err != nil {
		return [2]jwk.Key{}, err
	}
	rogue, err := newSigningKey("sandbox-lti-1")
	return [2]jwk.Key{key, rogue}, err
})

func newLTIPlatform() (*ltiPlatform, error) {
	keys, err := platformKeys()
	if err != nil {
		return nil, err
	}
	pub, err := jwk.PublicKeyOf(keys[0])
	if err != nil {
		return nil, err
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		return nil, err
	}
	return &ltiPlatform{
		key: keys[0], keys: set, rogue: keys[1],
		toolByID: map[string]*LTITool{}, regSessions: map[string]*regSession{}, regTokens: map[string]*regSession{},
		launches: map[string]*ltiLaunch{}, lastIDToken: map[string]string{}, deepLinks: map[string]*deepLinkRequest{},
		usedNonces: map[string]time.Time{}, usedJTIs: map[string]time.Time{}, accessTokens: map[string]*accessToken{},
		results: map[string]*LTIScore{},
	}, nil
}

// newSigningKey makes an RS256 private key with kid.
func newSigningKey(kid string) (jwk.Key, error) {
	pk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("sandbox: lti key: %w", err)
	}
	key, err := jwk.Import(pk)
	if err != nil {
		return nil, err
	}
	for k, v := range map[string]any{jwk.KeyIDKey: kid, jwk.AlgorithmKey: jwa.RS256(), jwk.KeyUsageKey: "sig"} {
		if err := key.Set(k, v); err != nil {
			return nil, err
		}
	}
	return key, nil
}

// randomToken is 16 random bytes, hex.
func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// LTIIssuer is the platform's issuer: <sandbox>/lti.
func (s *Sandbox) LTIIssuer() string { return s.URL() + "/lti" }

// LTIOpenIDConfigurationURL is where the platform publishes its OpenID
// configuration (LTI Dynamic Registration): what a tool that registers
// itself, or an admin configuring one by hand, reads first.
func (s *Sandbox) LTIOpenIDConfigurationURL() string {
	return s.LTIIssuer() + "/.well-known/openid-configuration"
}

// ltiEndpoints are the platform's URLs.
type ltiEndpoints struct{ Issuer, Config, JWKS, Authorize, Token, Register, DeepLinkReturn string }

func (s *Sandbox) ltiEndpoints() ltiEndpoints {
	iss := s.LTIIssuer()
	return ltiEndpoints{
		Issuer: iss, Config: iss + "/.well-known/openid-configuration", JWKS: iss + "/jwks",
		Authorize: iss + "/authorize", Token: iss + "/token", Register: iss + "/register", DeepLinkReturn: iss + "/deep-links",
	}
}

// openIDConfiguration is the platform's configuration per LTI Dynamic
// Registration 1.0 section 3.
func (s *Sandbox) openIDConfiguration() map[string]any {
	e := s.ltiEndpoints()
	return map[string]any{
		"issuer":                                e.Issuer,
		"authorization_endpoint":                e.Authorize,
		"token_endpoint":                        e.Token,
		"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS256"},
		"jwks_uri":                              e.JWKS,
		"registration_endpoint":                 e.Register,
		"scopes_supported":                      append([]string{"openid"}, ltiScopes...),
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"claims_supported":                      []string{"iss", "aud", "sub", "iat", "exp", "nonce", "azp", "name", "given_name", "family_name", "email"},
		platformConfigKey: map[string]any{
			"product_family_code": "spark-sandbox",
			"version":             "1.0",
			"messages_supported": []map[string]any{
				{"type": MessageResourceLink, "placements": []string{"course_navigation"}},
				{"type": MessageDeepLinking, "placements": []string{"course_content"}},
			},
			"variables": []string{},
		},
	}
}

// RegisterLTITool registers a tool directly, as an admin does with a
// developer key: it gets a client id (cfg.ClientID or a new one) and a
// deployment, and every course gets its navigation link to it.
func (s *Sandbox) RegisterLTITool(cfg LTIToolConfig) (LTITool, error) {
	fields := map[string]string{}
	for name, v := range map[string]string{"login_url": cfg.LoginURL, "target_link_uri": cfg.TargetLinkURI, "jwks_url": cfg.JWKSURL} {
		if err := checkToolURL(v); err != nil {
			fields[name] = err.Error()
		}
	}
	if len(cfg.RedirectURIs) == 0 {
		cfg.RedirectURIs = []string{cfg.TargetLinkURI}
	}
	for _, u := range cfg.RedirectURIs {
		if err := checkToolURL(u); err != nil {
			fields["redirect_uris"] = err.Error()
		}
	}
	if cfg.Scopes == nil {
		cfg.Scopes = ltiScopes
	}
	for _, sc := range cfg.Scopes {
		if !slices.Contains(ltiScopes, sc) {
			fields["scopes"] = fmt.Sprintf("%q is not a scope this platform supports", sc)
		}
	}
	if len(fields) > 0 {
		return LTITool{}, &optio.Error{Code: optio.EINVALID, Message: "The tool registration is invalid.", Fields: fields}
	}
	if cfg.Name == "" {
		cfg.Name = "LTI tool"
	}
	return s.addTool(cfg, false)
}

// checkToolURL accepts an absolute http(s) URL without a fragment.
func checkToolURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("required")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
		return fmt.Errorf("%q is not an absolute http(s) URL without a fragment", raw)
	}
	return nil
}

func (s *Sandbox) addTool(cfg LTIToolConfig, dynamic bool) (LTITool, error) {
	now := s.clock.Now()
	lp := s.lti
	lp.mu.Lock()
	defer lp.mu.Unlock()
	if cfg.ClientID == "" {
		cfg.ClientID = "sandbox-client-" + randomToken()[:12]
	}
	if lp.toolByID[cfg.ClientID] != nil {
		return LTITool{}, optio.Errorf(optio.ECONFLICT, "A tool with client id %q is already registered.", cfg.ClientID)
	}
	if cfg.DeploymentID == "" {
		cfg.DeploymentID = "sandbox-deployment-" + randomToken()[:8]
	}
	t := &LTITool{
		ClientID: cfg.ClientID, DeploymentID: cfg.DeploymentID, Name: cfg.Name,
		LoginURL: cfg.LoginURL, RedirectURIs: slices.Clone(cfg.RedirectURIs), TargetLinkURI: cfg.TargetLinkURI,
		JWKSURL: cfg.JWKSURL, Scopes: slices.Clone(cfg.Scopes), Custom: cfg.Custom, Dynamic: dynamic, RegisteredAt: now,
	}
	lp.tools = append(lp.tools, t)
	lp.toolByID[t.ClientID] = t
	for _, c := range s.courses {
		lp.placements = append(lp.placements, &LTIPlacement{
			ID: "rl-" + c.ID + "-" + t.ClientID, CourseID: c.ID, ClientID: t.ClientID, Title: t.Name,
		})
	}
	s.log.Info("sandbox: lti tool registered", "client_id", t.ClientID, "name", t.Name, "dynamic", dynamic)
	return cloneTool(t), nil
}

func cloneTool(t *LTITool) LTITool {
	c := *t
	c.RedirectURIs = slices.Clone(t.RedirectURIs)
	c.Scopes = slices.Clone(t.Scopes)
	return c
}

// LTITools returns the registered tools, oldest first.
func (s *Sandbox) LTITools() []LTITool {
	s.lti.mu.Lock()
	defer s.lti.mu.Unlock()
	out := make([]LTITool, len(s.lti.tools))
	for i, t := range s.lti.tools {
		out[i] = cloneTool(t)
	}
	return out
}

func (lp *ltiPlatform) tool(clientID string) *LTITool {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	return lp.toolByID[clientID]
}

// LTIPlacements returns a course's links to tools: each tool's navigation
// link, then the deep-linked ones in the order they were added.
func (s *Sandbox) LTIPlacements(courseID string) []LTIPlacement {
	s.lti.mu.Lock()
	defer s.lti.mu.Unlock()
	var out []LTIPlacement
	for _, p := range s.lti.placements {
		if p.CourseID == courseID {
			out = append(out, *p)
		}
	}
	slices.SortStableFunc(out, func(a, b LTIPlacement) int {
		if a.DeepLinked == b.DeepLinked {
			return 0
		}
		if !a.DeepLinked {
			return -1
		}
		return 1
	})
	return out
}

// LTILineItems returns a course's line items, oldest first.
func (s *Sandbox) LTILineItems(courseID string) []LTILineItem {
	s.lti.mu.Lock()
	defer s.lti.mu.Unlock()
	var out []LTILineItem
	for _, li := range s.lti.lineItems {
		if li.CourseID == courseID {
			out = append(out, *li)
		}
	}
	return out
}

// LTIScores returns every score tools posted, oldest first.
func (s *Sandbox) LTIScores() []LTIScore {
	s.lti.mu.Lock()
	defer s.lti.mu.Unlock()
	return slices.Clone(s.lti.scores)
}

// LastLTILaunch returns the claims of the most recent id_token the
// platform sent (false before any).
func (s *Sandbox) LastLTILaunch() (LTILaunch, bool) {
	s.lti.mu.Lock()
	defer s.lti.mu.Unlock()
	if s.lti.lastLaunch == nil {
		return LTILaunch{}, false
	}
	return *s.lti.lastLaunch, true
}

// ltiMember is a person in a course as the LTI platform sees them.
type ltiMember struct {
	User    User
	Roles   []string
	Active  bool
	Mentees []string // a mentor's students in the course
}

// ltiMembers lists a course's people: the instructor, its students (by
// enrolment, active or not) and, as mentors, the parents of its active
// students.
func (s *Sandbox) ltiMembers(courseID string) ([]ltiMember, error) {
	if s.courseByID[courseID] == nil {
		return nil, notFound("course", courseID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []ltiMember{{User: ltiInstructor, Roles: []string{RoleInstructor, roleInstFac}, Active: true}}
	mentees := map[string][]string{}
	for _, u := range s.users {
		e := s.enrollments[u.ID][courseID]
		if u.Role != RoleStudent || e == nil {
			continue
		}
		active := e.Status == StatusActive
		out = append(out, ltiMember{User: *u, Roles: []string{RoleLearner, roleInstStu}, Active: active})
		if active && u.ParentID != "" {
			mentees[u.ParentID] = append(mentees[u.ParentID], u.ID)
		}
	}
	for _, u := range s.users {
		if ids := mentees[u.ID]; len(ids) > 0 {
			out = append(out, ltiMember{User: *u, Roles: []string{RoleMentor}, Active: true, Mentees: ids})
		}
	}
	return out, nil
}

// ltiMember finds one person of a course; only active members may launch.
func (s *Sandbox) ltiMember(courseID, userID string) (ltiMember, error) {
	members, err := s.ltiMembers(courseID)
	if err != nil {
		return ltiMember{}, err
	}
	for _, m := range members {
		if m.User.ID == userID {
			if !m.Active {
				return ltiMember{}, optio.Errorf(optio.EFORBIDDEN, "%s is no longer active in this course.", m.User.Name())
			}
			return m, nil
		}
	}
	return ltiMember{}, optio.Errorf(optio.ENOTFOUND, "No member %q in course %q.", userID, courseID)
}

// fetchToolKeys reads a tool's JWKS from its registered URL.
func (s *Sandbox) fetchToolKeys(ctx context.Context, jwksURL string) (jwk.Set, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, jwksURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch the tool's JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch the tool's JWKS: %s answered %d", jwksURL, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read the tool's JWKS: %w", err)
	}
	set, err := jwk.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("parse the tool's JWKS: %w", err)
	}
	return set, nil
}

func (s *Sandbox) httpClient() *http.Client {
	if s.cfg.HTTPClient != nil {
		return s.cfg.HTTPClient
	}
	return &http.Client{Timeout: 10 * time.Second}
}

// audienceHas reports whether a JWT aud claim (a string or an array) names want.
func audienceHas(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		for _, v := range a {
			if s, ok := v.(string); ok && s == want {
				return true
			}
		}
	}
	return false
}

// numericDate reads a JWT NumericDate claim.
func numericDate(claims map[string]any, name string) (time.Time, bool) {
	switch v := claims[name].(type) {
	case float64:
		return time.Unix(int64(v), 0), true
	case json.Number:
		n, err := v.Int64()
		return time.Unix(n, 0), err == nil
	}
	return time.Time{}, false
}

func claimString(claims map[string]any, name string) string {
	s, _ := claims[name].(string)
	return s
}

// pruneUsed forgets one-time values whose expiry has passed.
func pruneUsed(m map[string]time.Time, now time.Time) {
	for k, exp := range m {
		if now.After(exp) {
			delete(m, k)
		}
	}
}

func splitScopes(s string) []string { return strings.Fields(s) }
