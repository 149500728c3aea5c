package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/optio-edu/optio"
)

// clockSkew is how far in the future a tool's iat may be.
const clockSkew = time.Minute

// verifyToolJWT checks a JWT a tool signed (a deep linking response or a
// client assertion): a compact JWS, RS256 only, whose kid is in the JWKS
// at the tool's registered URL. The tool is the one whose client id is
// the JWT's iss. It checks exp and iat; the caller checks the rest.
func (s *Sandbox) verifyToolJWT(ctx context.Context, token string) (*LTITool, map[string]any, error) {
	token = strings.TrimSpace(token)
	if token == "" || len(token) > maxJWTBytes || strings.Count(token, ".") != 2 {
		return nil, nil, fmt.Errorf("not a compact JWT")
	}
	msg, err := jws.ParseString(token)
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, nil, fmt.Errorf("not a compact JWT")
	}
	hdr := msg.Signatures()[0].ProtectedHeaders()
	if alg, ok := hdr.Algorithm(); !ok || alg != jwa.RS256() {
		return nil, nil, fmt.Errorf("the algorithm must be RS256")
	}
	kid, ok := hdr.KeyID()
	if !ok || kid == "" {
		return nil, nil, fmt.Errorf("the header has no kid")
	}
	var unverified map[string]any
	if err := json.Unmarshal(msg.Payload(), &unverified); err != nil {
		return nil, nil, fmt.Errorf("the claims are not JSON")
	}
	t := s.lti.tool(claimString(unverified, "iss"))
	if t == nil {
		return nil, nil, fmt.Errorf("iss %q is not a registered client id", claimString(unverified, "iss"))
	}
	set, err := s.fetchToolKeys(ctx, t.JWKSURL)
	if err != nil {
		return nil, nil, err
	}
	key, ok := set.LookupKeyID(kid)
	if !ok {
		return nil, nil, fmt.Errorf("the tool's JWKS has no key %q", kid)
	}
	payload, err := jws.Verify([]byte(token), jws.WithKey(jwa.RS256(), key))
	if err != nil {
		return nil, nil, fmt.Errorf("the signature does not verify with key %q", kid)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, nil, fmt.Errorf("the claims are not JSON")
	}
	now := s.clock.Now()
	exp, ok := numericDate(claims, "exp")
	if !ok || !now.Before(exp) {
		return nil, nil, fmt.Errorf("the JWT has expired (or has no exp)")
	}
	iat, ok := numericDate(claims, "iat")
	if !ok || iat.After(now.Add(clockSkew)) {
		return nil, nil, fmt.Errorf("iat is missing or in the future")
	}
	return t, claims, nil
}

// contentItem is one item of a deep linking response (Deep Linking 2.0
// section 3.1); the platform accepts ltiResourceLink items.
type contentItem struct {
	Type     string            `json:"type"`
	Title    string            `json:"title"`
	Text     string            `json:"text"`
	URL      string            `json:"url"`
	Custom   map[string]string `json:"custom"`
	LineItem *struct {
		ScoreMaximum float64 `json:"scoreMaximum"`
		Label        string  `json:"label"`
		ResourceID   string  `json:"resourceId"`
		Tag          string  `json:"tag"`
	} `json:"lineItem"`
}

// DeepLinkResult is what a deep linking response added to a course.
type DeepLinkResult struct {
	CourseID   string
	Placements []LTIPlacement
	// Message is the tool's msg (or errormsg) for the user.
	Message string
}

// AcceptDeepLinkingResponse verifies a deep linking response JWT (as
// posted to deep_link_return_url) and adds its ltiResourceLink items to
// the course as placements, with a line item where the item asks for one.
func (s *Sandbox) AcceptDeepLinkingResponse(ctx context.Context, token string) (DeepLinkResult, error) {
	invalid := func(format string, a ...any) error {
		return optio.Errorf(optio.EINVALID, "The deep linking response is invalid: "+format+".", a...)
	}
	t, claims, err := s.verifyToolJWT(ctx, token)
	if err != nil {
		return DeepLinkResult{}, invalid("%v", err)
	}
	switch {
	case !audienceHas(claims["aud"], s.LTIIssuer()):
		return DeepLinkResult{}, invalid("aud must be the platform's issuer %s", s.LTIIssuer())
	case claimString(claims, claimMessageType) != messageDeepLinkingRes:
		return DeepLinkResult{}, invalid("message_type must be %s", messageDeepLinkingRes)
	case claimString(claims, claimVersion) != ltiVersion:
		return DeepLinkResult{}, invalid("version must be %s", ltiVersion)
	case claimString(claims, claimDeploymentID) != t.DeploymentID:
		return DeepLinkResult{}, invalid("deployment_id is not the tool's deployment")
	case claimString(claims, "nonce") == "":
		return DeepLinkResult{}, invalid("nonce is required")
	}
	var items []contentItem
	if raw, ok := claims[claimDLContentItems]; ok {
		b, _ := json.Marshal(raw)
		if err := json.Unmarshal(b, &items); err != nil {
			return DeepLinkResult{}, invalid("content_items is not a list of content items")
		}
	}
	now := s.clock.Now()
	lp := s.lti
	lp.mu.Lock()
	defer lp.mu.Unlock()
	pruneUsed(lp.usedNonces, now)
	nonce := claimString(claims, "nonce")
	if _, used := lp.usedNonces[nonce]; used {
		return DeepLinkResult{}, invalid("the nonce was already used (a replay)")
	}
	data := claimString(claims, claimDLData)
	req := lp.deepLinks[data]
	if req == nil || req.clientID != t.ClientID || now.After(req.expires) {
		return DeepLinkResult{}, invalid("data does not match a deep linking request this platform sent the tool")
	}
	exp, _ := numericDate(claims, "exp")
	lp.usedNonces[nonce] = exp
	delete(lp.deepLinks, data)
	res := DeepLinkResult{CourseID: req.courseID, Message: claimString(claims, claimDLMsg)}
	if m := claimString(claims, claimDLErrorMsg); m != "" {
		res.Message = m
	}
	for _, it := range items {
		if it.Type != "ltiResourceLink" {
			continue
		}
		p := &LTIPlacement{
			ID: "rl-" + randomToken()[:12], CourseID: req.courseID, ClientID: t.ClientID, Title: it.Title,
			URL: it.URL, Custom: it.Custom, DeepLinked: true,
		}
		if p.Title == "" {
			p.Title = t.Name
		}
		if it.LineItem != nil && it.LineItem.ScoreMaximum > 0 {
			label := it.LineItem.Label
			if label == "" {
				label = p.Title
			}
			li := lp.newLineItem(s, req.courseID, t.ClientID, LTILineItem{
				Label: label, ScoreMaximum: it.LineItem.ScoreMaximum, ResourceID: it.LineItem.ResourceID,
				Tag: it.LineItem.Tag, ResourceLinkID: p.ID,
			})
			p.LineItemID = li.ID
		}
		lp.placements = append(lp.placements, p)
		res.Placements = append(res.Placements, *p)
	}
	s.log.Info("sandbox: deep linking response accepted", "client_id", t.ClientID, "course", req.courseID, "items", len(res.Placements))
	return res, nil
}

// handleDeepLinkReturn is deep_link_return_url: the tool's page posts the
// response JWT here (form field JWT), inside the course's iframe.
func (s *Sandbox) handleDeepLinkReturn(w http.ResponseWriter, r *http.Request) {
	res, err := s.AcceptDeepLinkingResponse(r.Context(), r.PostFormValue("JWT"))
	if err != nil {
		s.pageError(w, err)
		return
	}
	s.render(w, http.StatusOK, "ltidone", "Added to the course", "", map[string]any{"Result": res, "Course": s.courseByID[res.CourseID]})
}
