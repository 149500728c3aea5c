package lti

import (
	"crypto/rand"
	"encoding/base64"
	"time"

	"github.com/optio-edu/optio"
)

// ContentItem is one ltiResourceLink a deep linking response places in a
// course (Deep Linking 2.0 §3.1): a launch of Optio with custom parameters.
type ContentItem struct {
	Type   string            `json:"type"`
	Title  string            `json:"title"`
	Text   string            `json:"text,omitempty"`
	URL    string            `json:"url"`
	Custom map[string]string `json:"custom,omitempty"`
}

// DeepLinkingResponse is the claim set of an LtiDeepLinkingResponse
// (Deep Linking 2.0 §4.2) from the tool (iss: its client id) to the platform
// (aud: its issuer), valid for five minutes. data echoes the request's
// deep_linking_settings.data when it had one.
func DeepLinkingResponse(p *optio.LTIPlatform, deploymentID, data string, items []ContentItem, now time.Time) map[string]any {
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	c := map[string]any{
		"iss":             p.ClientID,
		"aud":             p.Issuer,
		"iat":             now.Unix(),
		"exp":             now.Add(5 * time.Minute).Unix(),
		"nonce":           base64.RawURLEncoding.EncodeToString(nonce),
		ClaimDeploymentID: deploymentID,
		ClaimMessageType:  MessageDeepLinkingResponse,
		ClaimVersion:      Version,
		ClaimContentItems: items,
	}
	if data != "" {
		c[ClaimDLData] = data
	}
	return c
}
