package lti

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/optio-edu/optio"
)

// LTI Advantage services (NRPS 2.0, AGS 2.0) as the tool calls them, with
// the OAuth2 client-credentials grant and a private_key_jwt client assertion
// (1EdTech Security Framework §4.1) signed with the tool key at /lti/jwks.

// Scopes Optio asks for.
const (
	ScopeNRPS     = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
	ScopeLineItem = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
	ScopeScore    = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
)

// Media types of the services.
const (
	mediaMemberships = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
	mediaLineItems   = "application/vnd.ims.lis.v2.lineitemcontainer+json"
	mediaLineItem    = "application/vnd.ims.lis.v2.lineitem+json"
	mediaScore       = "application/vnd.ims.lis.v1.score+json"
)

// Limits of one service call sequence.
const (
	maxServiceBody = 8 << 20
	maxNRPSPages   = 1000
	maxAttempts    = 4
	maxRetryAfter  = 30 * time.Second
)

// Client calls a platform's services. Sleep waits between retries (tests
// record the waits instead of sleeping).
type Client struct {
	HTTP  *http.Client
	Tool  *Tool
	Clock optio.Clock
	Sleep func(ctx context.Context, d time.Duration) error

	mu     sync.Mutex
	tokens map[string]cachedToken
}

type cachedToken struct {
	value   string
	expires time.Time
}

// NewClient returns a Client with a 30-second HTTP client.
func NewClient(tool *Tool, clock optio.Clock) *Client {
	return &Client{HTTP: &http.Client{Timeout: 30 * time.Second}, Tool: tool, Clock: clock, Sleep: sleepCtx}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ServiceError is a platform's refusal or failure; Retryable ones (429,
// 5xx, network) may succeed later, and RetryAfter is the platform's hint.
type ServiceError struct {
	Status     int
	RetryAfter time.Duration
	Message    string
}

func (e *ServiceError) Error() string { return e.Message }

// Retryable reports whether trying later may succeed.
func (e *ServiceError) Retryable() bool {
	return e.Status == 0 || e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout || e.Status >= 500
}

// token returns an access token for scopes, from the cache until it expires.
func (c *Client) token(ctx context.Context, p *optio.LTIPlatform, scopes []string) (string, error) {
	scopes = slices.Sorted(slices.Values(scopes))
	key := p.ID + " " + strings.Join(scopes, " ")
	now := c.Clock.Now()
	c.mu.Lock()
	if t, ok := c.tokens[key]; ok && now.Before(t.expires) {
		c.mu.Unlock()
		return t.value, nil
	}
	c.mu.Unlock()
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	assertion, err := json.Marshal(map[string]any{"iss": p.ClientID, "sub": p.ClientID, "aud": p.TokenURL,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": base64.RawURLEncoding.EncodeToString(jti)})
	if err != nil {
		return "", err
	}
	signed, err := c.Tool.Sign(assertion)
	if err != nil {
		return "", err
	}
	form := url.Values{"grant_type": {"client_credentials"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {signed}, "scope": {strings.Join(scopes, " ")}}
	var out struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	_, err = c.call(ctx, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.TokenURL, strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept", "application/json")
		}
		return req, err
	}, &out)
	if err != nil {
		return "", fmt.Errorf("token from %s: %w", p.TokenURL, err)
	}
	if out.AccessToken == "" || !strings.EqualFold(out.TokenType, "bearer") {
		return "", &ServiceError{Message: fmt.Sprintf("token from %s: no bearer access_token in the answer", p.TokenURL)}
	}
	life := time.Duration(out.ExpiresIn) * time.Second
	if life <= 0 {
		life = time.Hour
	}
	c.mu.Lock()
	if c.tokens == nil {
		c.tokens = map[string]cachedToken{}
	}
	c.tokens[key] = cachedToken{value: out.AccessToken, expires: now.Add(life - min(life/10, time.Minute))}
	c.mu.Unlock()
	return out.AccessToken, nil
}

// call runs a request, retrying 429 and 503 (and other passing failures)
// up to maxAttempts, waiting what Retry-After says (at most maxRetryAfter)
// or a short backoff; it decodes a 2xx JSON answer into out (when not nil)
// and returns the response headers.
func (c *Client) call(ctx context.Context, build func() (*http.Request, error), out any) (http.Header, error) {
	var last *ServiceError
	for attempt := 1; ; attempt++ {
		req, err := build()
		if err != nil {
			return nil, err
		}
		h, err := c.once(req, out)
		if err == nil {
			return h, nil
		}
		se, ok := err.(*ServiceError)
		if !ok || !se.Retryable() || attempt == maxAttempts {
			if ok && attempt > 1 {
				se.Message = fmt.Sprintf("%s (after %d attempts)", se.Message, attempt)
			}
			return nil, err
		}
		last = se
		wait := time.Duration(attempt) * time.Second
		if last.RetryAfter > 0 {
			wait = min(last.RetryAfter, maxRetryAfter)
		}
		if err := c.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

func (c *Client) once(req *http.Request, out any) (http.Header, error) {
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, &ServiceError{Message: fmt.Sprintf("%s %s: %v", req.Method, req.URL.Redacted(), err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxServiceBody+1))
	if err != nil {
		return nil, &ServiceError{Message: fmt.Sprintf("%s %s: reading the answer: %v", req.Method, req.URL.Redacted(), err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		se := &ServiceError{Status: resp.StatusCode, Message: fmt.Sprintf("%s %s: HTTP %d: %s", req.Method, req.URL.Redacted(), resp.StatusCode, snippet(body))}
		if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s >= 0 {
			se.RetryAfter = time.Duration(s) * time.Second
		} else if t, err := http.ParseTime(resp.Header.Get("Retry-After")); err == nil {
			se.RetryAfter = max(t.Sub(c.Clock.Now()), 0)
		}
		return nil, se
	}
	if len(body) > maxServiceBody {
		return nil, &ServiceError{Status: resp.StatusCode, Message: fmt.Sprintf("%s %s: the answer is larger than %d bytes", req.Method, req.URL.Redacted(), maxServiceBody)}
	}
	if out != nil && len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			return nil, &ServiceError{Status: -1, Message: fmt.Sprintf("%s %s: the answer is not the JSON the spec defines: %v", req.Method, req.URL.Redacted(), err)}
		}
	}
	return resp.Header, nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// authorized builds a request with the bearer token for scopes.
func (c *Client) authorized(ctx context.Context, p *optio.LTIPlatform, scopes []string, method, u, accept, ctype string, body []byte) func() (*http.Request, error) {
	return func() (*http.Request, error) {
		tok, err := c.token(ctx, p, scopes)
		if err != nil {
			return nil, err
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, rd)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", accept)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		return req, nil
	}
}

// Member is one entry of an NRPS membership container.
type Member struct {
	UserID     string   `json:"user_id"`
	Status     string   `json:"status"`
	Name       string   `json:"name"`
	GivenName  string   `json:"given_name"`
	FamilyName string   `json:"family_name"`
	Email      string   `json:"email"`
	Roles      []string `json:"roles"`
}

// Members reads a context's whole membership, following Link rel="next"
// page by page. A page that leads back to one already read (a loop) stops
// the read with an error, as do more than maxNRPSPages pages.
func (c *Client) Members(ctx context.Context, p *optio.LTIPlatform, membershipsURL string) ([]Member, error) {
	seen := map[string]bool{}
	var all []Member
	for next := membershipsURL; next != ""; {
		if seen[next] {
			return nil, &ServiceError{Status: -1, Message: fmt.Sprintf("NRPS paging loops: page %s was already read (after %d pages); the roster was not applied", next, len(seen))}
		}
		if len(seen) == maxNRPSPages {
			return nil, &ServiceError{Status: -1, Message: fmt.Sprintf("NRPS roster has more than %d pages; the roster was not applied", maxNRPSPages)}
		}
		seen[next] = true
		var page struct {
			Members []Member `json:"members"`
		}
		h, err := c.call(ctx, c.authorized(ctx, p, []string{ScopeNRPS}, http.MethodGet, next, mediaMemberships, "", nil), &page)
		if err != nil {
			return nil, fmt.Errorf("NRPS: %w", err)
		}
		all = append(all, page.Members...)
		next, err = nextLink(next, h.Values("Link"))
		if err != nil {
			return nil, err
		}
	}
	return all, nil
}

// nextLink finds rel="next" in Link headers, resolved against the page.
func nextLink(page string, links []string) (string, error) {
	for _, l := range links {
		for _, part := range strings.Split(l, ",") {
			segs := strings.Split(part, ";")
			target := strings.TrimSpace(segs[0])
			if !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			for _, s := range segs[1:] {
				k, v, _ := strings.Cut(strings.TrimSpace(s), "=")
				if strings.EqualFold(k, "rel") && slices.Contains(strings.Fields(strings.Trim(v, `"`)), "next") {
					base, err := url.Parse(page)
					if err != nil {
						return "", err
					}
					u, err := base.Parse(target[1 : len(target)-1])
					if err != nil {
						return "", &ServiceError{Status: -1, Message: fmt.Sprintf("NRPS: the next page link %q is not a URL", target)}
					}
					return u.String(), nil
				}
			}
		}
	}
	return "", nil
}

// LineItem is an AGS line item.
type LineItem struct {
	ID           string  `json:"id,omitempty"`
	ScoreMaximum float64 `json:"scoreMaximum"`
	Label        string  `json:"label"`
	ResourceID   string  `json:"resourceId,omitempty"`
	Tag          string  `json:"tag,omitempty"`
}

// LineItemFor returns the line item of resourceID in the context's line
// items, creating it (label, scoreMaximum) when there is none.
func (c *Client) LineItemFor(ctx context.Context, p *optio.LTIPlatform, lineItemsURL, resourceID, label string, scoreMax float64) (*LineItem, error) {
	u, err := url.Parse(lineItemsURL)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	q.Set("resource_id", resourceID)
	u.RawQuery = q.Encode()
	var items []LineItem
	scopes := []string{ScopeLineItem, ScopeScore}
	if _, err := c.call(ctx, c.authorized(ctx, p, scopes, http.MethodGet, u.String(), mediaLineItems, "", nil), &items); err != nil {
		return nil, fmt.Errorf("AGS line items: %w", err)
	}
	for i := range items {
		if items[i].ResourceID == resourceID && items[i].ID != "" {
			return &items[i], nil
		}
	}
	body, _ := json.Marshal(LineItem{ScoreMaximum: scoreMax, Label: label, ResourceID: resourceID, Tag: "optio"})
	var created LineItem
	if _, err := c.call(ctx, c.authorized(ctx, p, scopes, http.MethodPost, lineItemsURL, mediaLineItem, mediaLineItem, body), &created); err != nil {
		return nil, fmt.Errorf("AGS create line item: %w", err)
	}
	if created.ID == "" {
		return nil, &ServiceError{Status: -1, Message: "AGS create line item: the answer has no id"}
	}
	return &created, nil
}

// Score is what AGS records for one learner on a line item.
type Score struct {
	UserID           string    `json:"userId"`
	ScoreGiven       float64   `json:"scoreGiven"`
	ScoreMaximum     float64   `json:"scoreMaximum"`
	ActivityProgress string    `json:"activityProgress"`
	GradingProgress  string    `json:"gradingProgress"`
	Timestamp        time.Time `json:"timestamp"`
	Comment          string    `json:"comment,omitempty"`
}

// PostScore posts a score to {lineitem}/scores.
func (c *Client) PostScore(ctx context.Context, p *optio.LTIPlatform, lineItemURL string, s Score) error {
	u, err := url.Parse(lineItemURL)
	if err != nil {
		return err
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/scores"
	body, _ := json.Marshal(s)
	if _, err := c.call(ctx, c.authorized(ctx, p, []string{ScopeLineItem, ScopeScore}, http.MethodPost, u.String(), "application/json", mediaScore, body), nil); err != nil {
		return fmt.Errorf("AGS score: %w", err)
	}
	return nil
}
