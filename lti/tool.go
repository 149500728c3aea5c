package lti

import (
	"context"
	"fmt"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/optio-edu/optio"
)

// KeyPurpose names the tool's signing keys in signing_keys (the store that
// also keeps Open Badges' keys, under their own purpose).
const KeyPurpose = "lti-tool"

// Tool URL paths, relative to Optio's base URL (the contract with platforms).
const (
	LoginPath    = "/lti/login"
	LaunchPath   = "/lti/launch"
	JWKSPath     = "/lti/jwks"
	RegisterPath = "/lti/register"
)

// KeyStore persists the tool's keys so every Optio process signs with the
// same one (optio.BadgeStore's SigningKeys).
type KeyStore interface {
	SigningKeys(ctx context.Context, purpose, alg string, generate func() (string, error)) ([]optio.SigningKey, error)
}

// Tool holds Optio's LTI signing key and the public set served at /lti/jwks
// (the active key and every retired one, so messages signed before a
// rotation still verify).
type Tool struct {
	signer jwk.Key
	public jwk.Set
}

// LoadTool reads the tool's keys from ks, creating an RS256 key with
// generate on the first start.
func LoadTool(ctx context.Context, ks KeyStore, generate func() (string, error)) (*Tool, error) {
	keys, err := ks.SigningKeys(ctx, KeyPurpose, "RS256", generate)
	if err != nil {
		return nil, err
	}
	t := &Tool{public: jwk.NewSet()}
	for _, k := range keys {
		key, err := jwk.ParseKey([]byte(k.PrivateKey))
		if err != nil {
			return nil, fmt.Errorf("lti: stored key %s: %w", k.KID, err)
		}
		if k.Alg != "RS256" {
			continue
		}
		for name, v := range map[string]any{jwk.KeyIDKey: k.KID, jwk.AlgorithmKey: jwa.RS256()} {
			if err := key.Set(name, v); err != nil {
				return nil, err
			}
		}
		pub, err := jwk.PublicKeyOf(key)
		if err != nil {
			return nil, fmt.Errorf("lti: public key: %w", err)
		}
		if err := pub.Set(jwk.KeyUsageKey, "sig"); err != nil {
			return nil, err
		}
		if err := t.public.AddKey(pub); err != nil {
			return nil, err
		}
		if k.RetiredAt == nil && t.signer == nil {
			t.signer = key
		}
	}
	if t.signer == nil {
		return nil, fmt.Errorf("lti: the store has no active RS256 tool key")
	}
	return t, nil
}

// JWKS is the public key set served at /lti/jwks.
func (t *Tool) JWKS() jwk.Set { return t.public }

// Sign signs claims (a JSON object) with the active key, kid in the header.
func (t *Tool) Sign(payload []byte) (string, error) {
	b, err := jws.Sign(payload, jws.WithKey(jwa.RS256(), t.signer))
	return string(b), err
}

// VerifyOwn checks a token this tool signed (with any of its keys) and
// returns its payload.
func (t *Tool) VerifyOwn(token string) ([]byte, error) {
	return jws.Verify([]byte(token), jws.WithKeySet(t.public, jws.WithRequireKid(true)))
}
