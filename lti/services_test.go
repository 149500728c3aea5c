package lti_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/lti"
	"github.com/optio-edu/optio/openbadges"
)

// oneKey is a KeyStore holding one generated key, as the store would.
type oneKey struct{ key optio.SigningKey }

func (k *oneKey) SigningKeys(ctx context.Context, purpose, alg string, generate func() (string, error)) ([]optio.SigningKey, error) {
	if k.key.PrivateKey == "" {
		pk, err := generate()
		if err != nil {
			return nil, err
		}
		k.key = optio.SigningKey{KID: "tool-key-1", Purpose: purpose, Alg: alg, PrivateKey: pk}
	}
	return []optio.SigningKey{k.key}, nil
}

// platformServices is an LMS's token endpoint and NRPS/AGS endpoints as the
// specs define them, recording what the tool sent.
type platformServices struct {
	t          *testing.T
	srv        *httptest.Server
	tool       jwk.Set
	tokens     atomic.Int32
	throttle   atomic.Int32 // answer this many next service calls 429 / 503
	mu         sync.Mutex
	scores     []map[string]any
	lineItems  []map[string]any
	loop       bool
	assertions []map[string]any
}

func newPlatformServices(t *testing.T, tool *lti.Tool) *platformServices {
	ps := &platformServices{t: t, tool: tool.JWKS()}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		require.Equal(t, "client_credentials", r.Form.Get("grant_type"))
		require.Equal(t, "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", r.Form.Get("client_assertion_type"))
		payload, err := jws.Verify([]byte(r.Form.Get("client_assertion")), jws.WithKeySet(ps.tool, jws.WithRequireKid(true)))
		require.NoError(t, err, "the client assertion verifies with the tool's JWKS")
		var a map[string]any
		require.NoError(t, json.Unmarshal(payload, &a))
		ps.mu.Lock()
		ps.assertions = append(ps.assertions, a)
		ps.mu.Unlock()
		ps.tokens.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":3600,"scope":%q}`, ps.tokens.Load(), r.Form.Get("scope"))
	})
	guard := func(w http.ResponseWriter, r *http.Request) bool {
		require.True(t, strings.HasPrefix(r.Header.Get("Authorization"), "Bearer tok-"))
		if n := ps.throttle.Add(-1); n >= 0 {
			w.Header().Set("Retry-After", "7")
			status := http.StatusTooManyRequests
			if n%2 == 1 {
				status = http.StatusServiceUnavailable
			}
			http.Error(w, "slow down", status)
			return false
		}
		ps.throttle.Store(0)
		return true
	}
	mux.HandleFunc("GET /nrps/{page}", func(w http.ResponseWriter, r *http.Request) {
		if !guard(w, r) {
			return
		}
		require.Equal(t, "application/vnd.ims.lti-nrps.v2.membershipcontainer+json", r.Header.Get("Accept"))
		page := r.PathValue("page")
		next := map[string]string{"1": "2", "2": "3"}[page]
		if ps.loop && page == "2" {
			next = "1"
		}
		if next != "" {
			w.Header().Set("Link", fmt.Sprintf(`<%s/nrps/%s>; rel="next", <%s/nrps/1>; rel="first"`, ps.srv.URL, next, ps.srv.URL))
		}
		w.Header().Set("Content-Type", "application/vnd.ims.lti-nrps.v2.membershipcontainer+json")
		fmt.Fprintf(w, `{"id":%q,"context":{"id":"course-42"},"members":[{"status":"Active","user_id":"u-%s","name":"Student %s","roles":["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]}]}`,
			r.URL.String(), page, page)
	})
	mux.HandleFunc("GET /lineitems", func(w http.ResponseWriter, r *http.Request) {
		if !guard(w, r) {
			return
		}
		ps.mu.Lock()
		defer ps.mu.Unlock()
		var out []map[string]any
		for _, li := range ps.lineItems {
			if li["resourceId"] == r.URL.Query().Get("resource_id") {
				out = append(out, li)
			}
		}
		w.Header().Set("Content-Type", "application/vnd.ims.lis.v2.lineitemcontainer+json")
		_ = json.NewEncoder(w).Encode(append([]map[string]any{}, out...))
	})
	mux.HandleFunc("POST /lineitems", func(w http.ResponseWriter, r *http.Request) {
		if !guard(w, r) {
			return
		}
		require.Equal(t, "application/vnd.ims.lis.v2.lineitem+json", r.Header.Get("Content-Type"))
		var li map[string]any
		require.NoError(t, json.NewDecoder(r.Body).Decode(&li))
		ps.mu.Lock()
		li["id"] = fmt.Sprintf("%s/lineitems/%d", ps.srv.URL, len(ps.lineItems)+1)
		ps.lineItems = append(ps.lineItems, li)
		ps.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(li)
	})
	mux.HandleFunc("POST /lineitems/{n}/scores", func(w http.ResponseWriter, r *http.Request) {
		if !guard(w, r) {
			return
		}
		require.Equal(t, "application/vnd.ims.lis.v1.score+json", r.Header.Get("Content-Type"))
		var s map[string]any
		require.NoError(t, json.NewDecoder(r.Body).Decode(&s))
		ps.mu.Lock()
		ps.scores = append(ps.scores, s)
		ps.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	ps.srv = httptest.NewServer(mux)
	t.Cleanup(ps.srv.Close)
	return ps
}

func newClient(t *testing.T) (*lti.Client, *platformServices, *optio.LTIPlatform, *[]time.Duration) {
	tool, err := lti.LoadTool(context.Background(), &oneKey{}, openbadges.GenerateKey)
	require.NoError(t, err)
	ps := newPlatformServices(t, tool)
	c := lti.NewClient(tool, optio.NewFakeClock(time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)))
	var waits []time.Duration
	c.Sleep = func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	p := &optio.LTIPlatform{ID: "p1", Issuer: "https://lms.test", ClientID: "optio-tool", TokenURL: ps.srv.URL + "/token"}
	return c, ps, p, &waits
}

func TestNRPSReadsEveryPageWithOneToken(t *testing.T) {
	t.Parallel()
	c, ps, p, _ := newClient(t)
	members, err := c.Members(context.Background(), p, ps.srv.URL+"/nrps/1")
	require.NoError(t, err)
	require.Len(t, members, 3)
	require.Equal(t, []string{"u-1", "u-2", "u-3"}, []string{members[0].UserID, members[1].UserID, members[2].UserID})
	require.EqualValues(t, 1, ps.tokens.Load(), "the token is cached until it expires")
	a := ps.assertions[0]
	require.Equal(t, "optio-tool", a["iss"])
	require.Equal(t, "optio-tool", a["sub"])
	require.Equal(t, ps.srv.URL+"/token", a["aud"])
	require.NotEmpty(t, a["jti"])
}

func TestNRPSPageLoopIsStopped(t *testing.T) {
	t.Parallel()
	c, ps, p, _ := newClient(t)
	ps.loop = true
	_, err := c.Members(context.Background(), p, ps.srv.URL+"/nrps/1")
	require.ErrorContains(t, err, "NRPS paging loops: page "+ps.srv.URL+"/nrps/1 was already read (after 2 pages)")
}

func TestAGSRetriesHonourRetryAfterAndCreatesTheLineItemOnce(t *testing.T) {
	t.Parallel()
	c, ps, p, waits := newClient(t)
	ps.throttle.Store(2) // a 429, then a 503, each with Retry-After: 7
	li, err := c.LineItemFor(context.Background(), p, ps.srv.URL+"/lineitems", "quest-1", "Biology 9", 4)
	require.NoError(t, err)
	require.Equal(t, []time.Duration{7 * time.Second, 7 * time.Second}, *waits)
	again, err := c.LineItemFor(context.Background(), p, ps.srv.URL+"/lineitems", "quest-1", "Biology 9", 4)
	require.NoError(t, err)
	require.Equal(t, li.ID, again.ID, "an existing line item is read, not created again")
	require.Len(t, ps.lineItems, 1)

	at := time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC)
	require.NoError(t, c.PostScore(context.Background(), p, li.ID, lti.Score{UserID: "u-1", ScoreGiven: 1, ScoreMaximum: 4,
		ActivityProgress: "InProgress", GradingProgress: "FullyGraded", Timestamp: at}))
	require.Len(t, ps.scores, 1)
	require.Equal(t, "u-1", ps.scores[0]["userId"])
	require.Equal(t, "2026-09-01T09:00:00Z", ps.scores[0]["timestamp"])

	ps.throttle.Store(10) // more 429s than the client waits for: the job's turn
	err = c.PostScore(context.Background(), p, li.ID, lti.Score{UserID: "u-1", Timestamp: at})
	var se *lti.ServiceError
	require.ErrorAs(t, err, &se)
	require.True(t, se.Retryable())
	require.Equal(t, 7*time.Second, se.RetryAfter)
	require.Contains(t, err.Error(), "after 4 attempts")
}
