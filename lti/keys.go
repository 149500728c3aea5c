package lti

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/optio-edu/optio"
)

// Platform key sets are kept per JWKS URL for KeyMaxAge, refetched at once
// when a launch names a kid the kept set lacks (the platform rotated), but
// at most every KeyRefetchEvery per URL so forged kids cannot turn Optio
// into a load generator against a platform. When a platform's JWKS cannot
// be fetched the kept keys are still used; only a platform whose keys were
// never fetched answers EUNAVAILABLE.
const (
	KeyMaxAge       = 15 * time.Minute
	KeyRefetchEvery = 30 * time.Second
	maxJWKSBytes    = 1 << 20
)

// KeySource fetches and caches platforms' public keys. It is safe for
// concurrent use; one serves every platform.
type KeySource struct {
	client *http.Client
	clock  optio.Clock
	logger *slog.Logger

	mu   sync.Mutex
	sets map[string]*keySet
}

type keySet struct {
	mu      sync.Mutex
	set     jwk.Set
	fetched time.Time // when set was fetched
	tried   time.Time // the last fetch attempt, successful or not
	err     error     // that attempt's failure, nil after a success
}

// NewKeySource returns a KeySource using client (nil: a 10-second client).
func NewKeySource(client *http.Client, clock optio.Clock, logger *slog.Logger) *KeySource {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	if clock == nil {
		clock = optio.SystemClock{}
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &KeySource{client: client, clock: clock, logger: logger, sets: map[string]*keySet{}}
}

func (ks *KeySource) entry(url string) *keySet {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	e := ks.sets[url]
	if e == nil {
		e = &keySet{}
		ks.sets[url] = e
	}
	return e
}

// Keys returns the RS256 public keys a token from the platform whose JWKS
// is at url may be verified with: the key named kid, or every RSA key when
// the token names none.
func (ks *KeySource) Keys(ctx context.Context, url, kid string) ([]jwk.Key, error) {
	e := ks.entry(url)
	e.mu.Lock()
	defer e.mu.Unlock()
	now := ks.clock.Now()
	if e.set == nil || now.Sub(e.fetched) >= KeyMaxAge {
		if err := ks.fetch(ctx, url, e, now); err != nil && e.set == nil {
			return nil, err
		}
	}
	keys := pick(e.set, kid)
	if len(keys) == 0 && kid != "" && now.Sub(e.tried) >= KeyRefetchEvery {
		if err := ks.fetch(ctx, url, e, now); err != nil {
			return nil, err
		}
		keys = pick(e.set, kid)
	}
	if len(keys) == 0 {
		if e.err != nil {
			return nil, e.err // the key may be new: the platform's JWKS could not say
		}
		if kid != "" {
			return nil, optio.Errorf(optio.ELTITokenInvalid, "The id_token's key id %q is not in the platform's JWKS: it was not signed by a key of the registered platform.", cut(kid))
		}
		return nil, optio.Errorf(optio.ELTITokenInvalid, "The platform's JWKS has no RS256 key.")
	}
	return keys, nil
}

// fetch replaces e's set with the one at url; on failure e keeps its keys
// and the error says the platform's JWKS is down.
func (ks *KeySource) fetch(ctx context.Context, url string, e *keySet, now time.Time) error {
	e.tried = now
	set, err := ks.get(ctx, url)
	if err != nil {
		ks.logger.WarnContext(ctx, "lti platform jwks fetch failed", slog.String("url", url), slog.Bool("cached_keys", e.set != nil), slog.Any("error", err))
		e.err = optio.Errorf(optio.EUNAVAILABLE, "The platform's signing keys (JWKS at %s) could not be fetched: %v. Try the launch again shortly.", url, err)
		return e.err
	}
	e.set, e.fetched, e.err = set, now, nil
	return nil
}

func (ks *KeySource) get(ctx context.Context, url string) (jwk.Set, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := ks.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxJWKSBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxJWKSBytes)
	}
	return jwk.Parse(b)
}

// pick selects RSA signing keys: by kid, or all when kid is "". A private
// or symmetric entry is never used as is (only an RSA key's public half).
func pick(set jwk.Set, kid string) []jwk.Key {
	if set == nil {
		return nil
	}
	var out []jwk.Key
	for i := range set.Len() {
		k, _ := set.Key(i)
		if id, _ := k.KeyID(); kid != "" && id != kid {
			continue
		}
		if k.KeyType() != jwa.RSA() {
			continue
		}
		if a, ok := k.Algorithm(); ok && a.String() != jwa.RS256().String() {
			continue
		}
		if use, ok := k.KeyUsage(); ok && use != "sig" {
			continue
		}
		pub, err := jwk.PublicKeyOf(k)
		if err != nil {
			continue
		}
		out = append(out, pub)
	}
	return out
}

// cut shortens untrusted text quoted back in an error.
func cut(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
