// Package lti is the LTI 1.3 protocol on Optio's tool side (1EdTech LTI Core
// 1.3, the Security Framework 1.0, Deep Linking 2.0): id_token verification
// against a registered platform's JWKS, the claims Optio reads, and the
// tool's own keys. Storage and HTTP are elsewhere (store/, web/).
//
// Library choice: no maintained Go LTI 1.3 library is available here, so the
// OIDC and JWT mechanics are jwx v3 (already Optio's one JWT library), with
// the Security Framework's checks written out one by one, each with its own
// error code.
package lti

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/optio-edu/optio"
)

// Claim names (LTI Core 1.3 §5, Deep Linking 2.0 §4.4, NRPS, AGS).
const (
	ClaimMessageType     = "https://purl.imsglobal.org/spec/lti/claim/message_type"
	ClaimVersion         = "https://purl.imsglobal.org/spec/lti/claim/version"
	ClaimDeploymentID    = "https://purl.imsglobal.org/spec/lti/claim/deployment_id"
	ClaimTargetLinkURI   = "https://purl.imsglobal.org/spec/lti/claim/target_link_uri"
	ClaimResourceLink    = "https://purl.imsglobal.org/spec/lti/claim/resource_link"
	ClaimRoles           = "https://purl.imsglobal.org/spec/lti/claim/roles"
	ClaimContext         = "https://purl.imsglobal.org/spec/lti/claim/context"
	ClaimCustom          = "https://purl.imsglobal.org/spec/lti/claim/custom"
	ClaimRoleScopeMentor = "https://purl.imsglobal.org/spec/lti/claim/role_scope_mentor"
	ClaimDeepLinking     = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
	ClaimDLData          = "https://purl.imsglobal.org/spec/lti-dl/claim/data"
	ClaimContentItems    = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
	ClaimDLMsg           = "https://purl.imsglobal.org/spec/lti-dl/claim/msg"
	ClaimNRPS            = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
	ClaimAGS             = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
)

// Message types and the version Optio accepts.
const (
	MessageResourceLink        = "LtiResourceLinkRequest"
	MessageDeepLinkingRequest  = "LtiDeepLinkingRequest"
	MessageDeepLinkingResponse = "LtiDeepLinkingResponse"
	Version                    = "1.3.0"
)

// Limits on a launch's timing: a small leeway for clocks, and an id_token
// issued longer ago than MaxTokenAge is refused even before its exp.
const (
	Leeway      = time.Minute
	MaxTokenAge = 10 * time.Minute
	maxTokenLen = 64 << 10
)

// Audience is a JWT aud: one string or an array of strings.
type Audience []string

// UnmarshalJSON accepts both forms.
func (a *Audience) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte(`"`)) {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = Audience{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*a = l
	return nil
}

// Context is the LTI context claim: the course.
type Context struct {
	ID    string   `json:"id"`
	Label string   `json:"label"`
	Title string   `json:"title"`
	Type  []string `json:"type"`
}

// DeepLinkingSettings is the deep_linking_settings claim.
type DeepLinkingSettings struct {
	ReturnURL      string   `json:"deep_link_return_url"`
	AcceptTypes    []string `json:"accept_types"`
	AcceptTargets  []string `json:"accept_presentation_document_targets"`
	AcceptMultiple *bool    `json:"accept_multiple"`
	AutoCreate     *bool    `json:"auto_create"`
	Title          string   `json:"title"`
	Text           string   `json:"text"`
	Data           string   `json:"data"`
}

// Claims is what Optio reads from a verified id_token.
type Claims struct {
	Issuer     string   `json:"iss"`
	Subject    string   `json:"sub"`
	Audience   Audience `json:"aud"`
	AZP        string   `json:"azp"`
	Expiry     *float64 `json:"exp"`
	IssuedAt   *float64 `json:"iat"`
	Nonce      string   `json:"nonce"`
	Name       string   `json:"name"`
	GivenName  string   `json:"given_name"`
	FamilyName string   `json:"family_name"`
	Email      string   `json:"email"`

	MessageType  string                      `json:"https://purl.imsglobal.org/spec/lti/claim/message_type"`
	Version      string                      `json:"https://purl.imsglobal.org/spec/lti/claim/version"`
	DeploymentID string                      `json:"https://purl.imsglobal.org/spec/lti/claim/deployment_id"`
	TargetLink   string                      `json:"https://purl.imsglobal.org/spec/lti/claim/target_link_uri"`
	ResourceLink *struct{ ID, Title string } `json:"https://purl.imsglobal.org/spec/lti/claim/resource_link"`
	Roles        *[]string                   `json:"https://purl.imsglobal.org/spec/lti/claim/roles"`
	Context      *Context                    `json:"https://purl.imsglobal.org/spec/lti/claim/context"`
	Custom       map[string]any              `json:"https://purl.imsglobal.org/spec/lti/claim/custom"`
	MentorOf     []string                    `json:"https://purl.imsglobal.org/spec/lti/claim/role_scope_mentor"`
	DeepLinking  *DeepLinkingSettings        `json:"https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"`
	NRPS         *struct {
		MembershipsURL  string   `json:"context_memberships_url"`
		ServiceVersions []string `json:"service_versions"`
	} `json:"https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"`
	AGS *struct {
		Scope     []string `json:"scope"`
		LineItems string   `json:"lineitems"`
		LineItem  string   `json:"lineitem"`
	} `json:"https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"`
}

// MembershipsURL is the NRPS endpoint the launch names, "" without one.
func (c *Claims) MembershipsURL() string {
	if c.NRPS == nil {
		return ""
	}
	return c.NRPS.MembershipsURL
}

// LineItemsURL is the AGS line items endpoint, "" unless the launch names
// it with the scopes Optio needs (line items and scores).
func (c *Claims) LineItemsURL() string {
	if c.AGS == nil || !contains(c.AGS.Scope, ScopeLineItem) || !contains(c.AGS.Scope, ScopeScore) {
		return ""
	}
	return c.AGS.LineItems
}

// ExpiresAt is the token's exp as a time.
func (c *Claims) ExpiresAt() time.Time { return unix(*c.Expiry) }

// CustomString is a custom parameter as text ("" when absent).
func (c *Claims) CustomString(name string) string {
	switch v := c.Custom[name].(type) {
	case string:
		return strings.TrimSpace(v)
	case float64:
		b, _ := json.Marshal(v)
		return string(b)
	}
	return ""
}

func unix(f float64) time.Time { return time.Unix(int64(f), 0).UTC() }

// Verifier checks id_tokens from registered platforms.
type Verifier struct {
	Keys  *KeySource
	Clock optio.Clock
}

// Verify checks an id_token the platform p posted to the launch for the
// login whose nonce is nonce, in the Security Framework's order (§5.1.3)
// and then LTI Core's required claims. Each failure has its own code.
func (v *Verifier) Verify(ctx context.Context, p *optio.LTIPlatform, token, nonce string) (*Claims, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, optio.Errorf(optio.ELTITokenInvalid, "The launch has no id_token.")
	}
	if len(token) > maxTokenLen {
		return nil, optio.Errorf(optio.ELTITokenInvalid, "The id_token is longer than %d bytes.", maxTokenLen)
	}
	msg, err := jws.ParseString(token)
	if err != nil || len(msg.Signatures()) != 1 || strings.Count(token, ".") != 2 {
		return nil, optio.Errorf(optio.ELTITokenInvalid, "The id_token is not a compact JWS.")
	}
	h := msg.Signatures()[0].ProtectedHeaders()
	if alg, ok := h.Algorithm(); !ok || alg.String() != jwa.RS256().String() {
		return nil, optio.Errorf(optio.ELTITokenInvalid, "The id_token must be signed with RS256.")
	}
	if h.Has("crit") {
		return nil, optio.Errorf(optio.ELTITokenInvalid, "The id_token header has crit extensions, which are not supported.")
	}
	kid, _ := h.KeyID()
	keys, err := v.Keys.Keys(ctx, p.JWKSURL, kid)
	if err != nil {
		return nil, err
	}
	var payload []byte
	for _, k := range keys {
		if b, err := jws.VerifyCompactFast(k, []byte(token), jwa.RS256()); err == nil {
			payload = b
			break
		}
	}
	if payload == nil {
		return nil, optio.Errorf(optio.ELTITokenInvalid, "The id_token's signature does not match the platform's key.")
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, optio.Errorf(optio.ELTITokenInvalid, "The id_token's claims are not of the types LTI defines: %v.", err)
	}
	if c.Issuer != p.Issuer {
		return nil, optio.Errorf(optio.ELTIWrongIssuer, "The id_token's iss %q is not the platform's issuer %q.", cut(c.Issuer), p.Issuer)
	}
	if !contains(c.Audience, p.ClientID) {
		return nil, optio.Errorf(optio.ELTIWrongAudience, "The id_token's aud does not include Optio's client id %q.", p.ClientID)
	}
	if len(c.Audience) > 1 && c.AZP == "" {
		return nil, optio.Errorf(optio.ELTIWrongAudience, "The id_token has several audiences and no azp.")
	}
	if c.AZP != "" && c.AZP != p.ClientID {
		return nil, optio.Errorf(optio.ELTIWrongAudience, "The id_token's azp %q is not Optio's client id %q.", cut(c.AZP), p.ClientID)
	}
	now := v.Clock.Now()
	if c.Expiry == nil || c.IssuedAt == nil {
		return nil, optio.Errorf(optio.ELTIClaimInvalid, "The id_token needs exp and iat.")
	}
	if !now.Before(c.ExpiresAt().Add(Leeway)) {
		return nil, optio.Errorf(optio.ELTITokenExpired, "The launch expired at %s.", c.ExpiresAt().Format(time.RFC3339))
	}
	if iat := unix(*c.IssuedAt); iat.After(now.Add(Leeway)) {
		return nil, optio.Errorf(optio.ELTITokenExpired, "The id_token was issued in the future (%s): the platform's clock and Optio's disagree.", iat.Format(time.RFC3339))
	} else if now.Sub(iat) > MaxTokenAge+Leeway {
		return nil, optio.Errorf(optio.ELTITokenExpired, "The id_token was issued at %s, more than %s ago.", iat.Format(time.RFC3339), MaxTokenAge)
	}
	if c.Nonce == "" || len(c.Nonce) != len(nonce) || !constantEqual(c.Nonce, nonce) {
		return nil, optio.Errorf(optio.ELTINonceInvalid, "The id_token's nonce is not the one this login sent.")
	}
	return &c, v.checkLTI(p, &c)
}

// checkLTI checks LTI Core's required message claims.
func (v *Verifier) checkLTI(p *optio.LTIPlatform, c *Claims) error {
	if c.Version != Version {
		return optio.Errorf(optio.ELTIClaimInvalid, "The launch's LTI version is %q; Optio speaks %s.", cut(c.Version), Version)
	}
	if c.DeploymentID == "" {
		return optio.Errorf(optio.ELTIClaimInvalid, "The launch has no deployment_id claim.")
	}
	if !p.HasDeployment(c.DeploymentID) {
		return optio.Errorf(optio.ELTIUnknownDeployment, "Deployment %q is not registered for this platform in Optio; an Optio administrator can add it at /admin/lti.", cut(c.DeploymentID))
	}
	switch c.MessageType {
	case MessageResourceLink:
		if c.ResourceLink == nil || strings.TrimSpace(c.ResourceLink.ID) == "" {
			return optio.Errorf(optio.ELTIClaimInvalid, "A resource link launch needs resource_link.id.")
		}
	case MessageDeepLinkingRequest:
		if c.DeepLinking == nil || strings.TrimSpace(c.DeepLinking.ReturnURL) == "" {
			return optio.Errorf(optio.ELTIClaimInvalid, "A deep linking request needs deep_linking_settings.deep_link_return_url.")
		}
	default:
		return optio.Errorf(optio.ELTIClaimInvalid, "Message type %q is not one Optio handles (%s, %s).", cut(c.MessageType), MessageResourceLink, MessageDeepLinkingRequest)
	}
	if c.Roles == nil {
		return optio.Errorf(optio.ELTIClaimInvalid, "The launch has no roles claim.")
	}
	if strings.TrimSpace(c.Subject) == "" {
		return optio.Errorf(optio.ELTIClaimInvalid, "Anonymous launches (no sub) are not supported: Optio keeps a portfolio per person.")
	}
	if c.TargetLink == "" {
		return optio.Errorf(optio.ELTIClaimInvalid, "The launch has no target_link_uri claim.")
	}
	for name, u := range map[string]string{"namesroleservice.context_memberships_url": c.MembershipsURL(), "endpoint.lineitems": c.LineItemsURL()} {
		if u == "" {
			continue
		}
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" || pu.User != nil ||
			(pu.Scheme == "http" && strings.HasPrefix(p.AuthURL, "https://")) {
			return optio.Errorf(optio.ELTIClaimInvalid, "The launch's %s is not an absolute http(s) URL of the platform's scheme.", name)
		}
	}
	return nil
}

func constantEqual(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
