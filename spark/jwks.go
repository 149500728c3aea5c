package spark

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/optio-edu/optio"
)

// jwksFirstFetchWait bounds how long a verification waits for the initial
// background JWKS fetch before trying a fetch of its own.
const jwksFirstFetchWait = 3 * time.Second

// keySource is the JWKS side of SSO: a jwk.Cache that refreshes in the
// background, plus refetches on an unknown kid that are rate-limited so
// forged kids cannot turn Optio into a load generator against Spark.
type keySource struct {
	url     string
	cache   *jwk.Cache
	refetch time.Duration
	clock   optio.Clock

	mu          sync.Mutex
	lastRefetch time.Time
	closeOnce   sync.Once
	closeErr    error
}

// candidate is a public key a token may be verified with.
type candidate struct {
	kid string
	key jwk.Key
}

func newKeySource(ctx context.Context, u string, hc *http.Client, refetch time.Duration, clock optio.Clock) (*keySource, error) {
	if hc == nil {
		hc = jwk.WrapHTTPClientDefaults(&http.Client{Timeout: 10 * time.Second})
	}
	// Only the configured URL may be fetched.
	wl := httprc.WhitelistFunc(func(s string) bool { return s == u })
	cache, err := jwk.NewCache(ctx, httprc.NewClient(httprc.WithHTTPClient(hc), httprc.WithWhitelist(wl)))
	if err != nil {
		return nil, fmt.Errorf("spark sso: start JWKS cache: %w", err)
	}
	err = cache.Register(ctx, u,
		jwk.WithHTTPClient(hc),
		jwk.WithWaitReady(false),
		jwk.WithMinInterval(time.Minute),
		jwk.WithMaxInterval(time.Hour),
	)
	if err != nil {
		_ = cache.Shutdown(context.Background())
		return nil, fmt.Errorf("spark sso: register JWKS URL: %w", err)
	}
	return &keySource{url: u, cache: cache, refetch: refetch, clock: clock}, nil
}

func (ks *keySource) close() error {
	ks.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ks.closeErr = ks.cache.Shutdown(ctx)
	})
	return ks.closeErr
}

// cached returns the key set already fetched, or nil; it never fetches.
func (ks *keySource) cached(ctx context.Context) jwk.Set {
	r, err := ks.cache.LookupResource(ctx, ks.url)
	if err != nil {
		return nil
	}
	return r.Resource()
}

// cachedHas reports whether the fetched key set has a key with kid.
func (ks *keySource) cachedHas(ctx context.Context, kid string) bool {
	set := ks.cached(ctx)
	if set == nil {
		return false
	}
	_, ok := set.LookupKeyID(kid)
	return ok
}

// mayRefetch takes the refetch slot if the last refetch is old enough.
func (ks *keySource) mayRefetch() bool {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	now := ks.clock.Now()
	if !ks.lastRefetch.IsZero() && now.Sub(ks.lastRefetch) < ks.refetch {
		return false
	}
	ks.lastRefetch = now
	return true
}

func (ks *keySource) refresh(ctx context.Context) (jwk.Set, error) {
	set, err := ks.cache.Refresh(ctx, ks.url)
	if err != nil {
		return nil, &optio.Error{Code: optio.EUNAVAILABLE, Message: "Spark's signing keys (JWKS) could not be fetched; try again shortly."}
	}
	return set, nil
}

// set returns the current key set, waiting briefly for the first background
// fetch and then trying one (rate-limited) fetch itself.
func (ks *keySource) set(ctx context.Context) (jwk.Set, error) {
	if set := ks.cached(ctx); set != nil {
		return set, nil
	}
	if r, err := ks.cache.LookupResource(ctx, ks.url); err == nil {
		wctx, cancel := context.WithTimeout(ctx, jwksFirstFetchWait)
		err := r.Ready(wctx)
		cancel()
		if err == nil {
			return r.Resource(), nil
		}
	}
	if ks.mayRefetch() {
		return ks.refresh(ctx)
	}
	return nil, &optio.Error{Code: optio.EUNAVAILABLE, Message: "Spark's signing keys (JWKS) are not available yet; try again shortly."}
}

// candidates returns the keys a token with this kid and alg may be verified
// with. A kid that names a key of the wrong type or algorithm is refused; an
// unknown kid triggers one rate-limited refetch (Spark rotated its keys).
func (ks *keySource) candidates(ctx context.Context, kid string, hasKid bool, alg jwa.SignatureAlgorithm) ([]candidate, error) {
	set, err := ks.set(ctx)
	if err != nil {
		return nil, err
	}
	cands, err := pickKeys(set, kid, hasKid, alg)
	if err != nil || len(cands) > 0 {
		return cands, err
	}
	if hasKid && ks.mayRefetch() {
		if set, err = ks.refresh(ctx); err != nil {
			return nil, err
		}
		if cands, err = pickKeys(set, kid, hasKid, alg); err != nil || len(cands) > 0 {
			return cands, err
		}
	}
	if hasKid {
		return nil, tokenErr(ETokenBadSignature, "The token's key id %s is not in Spark's JWKS.", shortQuote(kid))
	}
	return nil, tokenErr(ETokenBadSignature, "Spark's JWKS has no %s key.", alg)
}

// pickKeys selects the public keys fit for alg: by kid when the token names
// one, otherwise every fitting key.
func pickKeys(set jwk.Set, kid string, hasKid bool, alg jwa.SignatureAlgorithm) ([]candidate, error) {
	if hasKid {
		k, ok := set.LookupKeyID(kid)
		if !ok {
			return nil, nil
		}
		pub, err := keyFits(k, alg)
		if err != nil {
			return nil, tokenErr(ETokenAlgorithmRefused, "Key %s cannot verify %s tokens: %s.", shortQuote(kid), alg, err)
		}
		return []candidate{{kid: kid, key: pub}}, nil
	}
	var out []candidate
	for i := range set.Len() {
		k, _ := set.Key(i)
		if pub, err := keyFits(k, alg); err == nil {
			id, _ := k.KeyID()
			out = append(out, candidate{kid: id, key: pub})
		}
	}
	return out, nil
}

// keyFits checks that k may verify alg (type, curve, declared alg and use)
// and returns its public half, so a private or symmetric JWKS entry is never
// used as an HMAC secret.
func keyFits(k jwk.Key, alg jwa.SignatureAlgorithm) (jwk.Key, error) {
	switch alg {
	case jwa.RS256():
		if k.KeyType() != jwa.RSA() {
			return nil, fmt.Errorf("it is a %s key", k.KeyType())
		}
	case jwa.ES256():
		ec, ok := k.(jwk.ECDSAPublicKey)
		if !ok {
			if priv, isPriv := k.(jwk.ECDSAPrivateKey); isPriv {
				crv, _ := priv.Crv()
				if crv != jwa.P256() {
					return nil, fmt.Errorf("it is on curve %s", crv)
				}
				break
			}
			return nil, fmt.Errorf("it is a %s key", k.KeyType())
		}
		if crv, _ := ec.Crv(); crv != jwa.P256() {
			return nil, fmt.Errorf("it is on curve %s", crv)
		}
	default:
		return nil, fmt.Errorf("algorithm %s is not accepted", alg)
	}
	if a, ok := k.Algorithm(); ok && a.String() != alg.String() {
		return nil, fmt.Errorf("it is declared for %s", a)
	}
	if use, ok := k.KeyUsage(); ok && use != "sig" {
		return nil, fmt.Errorf("its use is %q", use)
	}
	pub, err := jwk.PublicKeyOf(k)
	if err != nil {
		return nil, fmt.Errorf("it has no public key")
	}
	return pub, nil
}
