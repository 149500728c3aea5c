// Package openbadges exports earned Optio badges as Open Badges 3.0
// credentials: a JSON-LD OpenBadgeCredential secured as a VC-JWT, signed
// with Optio's own ES256 key, whose public half is served as a JWK set so
// other platforms can verify what a student carries to them.
package openbadges

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/optio-edu/optio"
)

// KeyPurpose names Optio's credential-signing key in the store.
const KeyPurpose = "openbadges-credential"

// KeyStore persists the signing key so every Optio process signs with the
// same one (optio.BadgeStore implements it).
type KeyStore interface {
	SigningKey(ctx context.Context, purpose string, generate func() (kid, alg, key string, err error)) (kid, alg, key string, err error)
}

// Issuer signs credentials as Optio.
type Issuer struct {
	baseURL string
	private jwk.Key
	public  jwk.Set
}

// LoadIssuer reads Optio's signing key from ks, creating and storing one on
// the very first start. baseURL is Optio's public URL, the issuer's id.
func LoadIssuer(ctx context.Context, ks KeyStore, baseURL string) (*Issuer, error) {
	kid, alg, raw, err := ks.SigningKey(ctx, KeyPurpose, generateKey)
	if err != nil {
		return nil, err
	}
	if alg != jwa.ES256().String() {
		return nil, fmt.Errorf("openbadges: stored key has algorithm %q, want ES256", alg)
	}
	key, err := jwk.ParseKey([]byte(raw))
	if err != nil {
		return nil, fmt.Errorf("openbadges: stored key: %w", err)
	}
	if err := key.Set(jwk.KeyIDKey, kid); err != nil {
		return nil, err
	}
	if err := key.Set(jwk.AlgorithmKey, jwa.ES256()); err != nil {
		return nil, err
	}
	pub, err := jwk.PublicKeyOf(key)
	if err != nil {
		return nil, fmt.Errorf("openbadges: public key: %w", err)
	}
	if err := pub.Set(jwk.KeyUsageKey, "sig"); err != nil {
		return nil, err
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		return nil, err
	}
	return &Issuer{baseURL: strings.TrimRight(baseURL, "/"), private: key, public: set}, nil
}

// generateKey makes a new P-256 key as a JWK (JSON).
func generateKey() (string, string, string, error) {
	pk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", "", err
	}
	key, err := jwk.Import(pk)
	if err != nil {
		return "", "", "", err
	}
	b, err := json.Marshal(key)
	if err != nil {
		return "", "", "", err
	}
	return uuid.Must(uuid.NewV7()).String(), jwa.ES256().String(), string(b), nil
}

// JWKS is the public key set served at /.well-known/jwks.json.
func (i *Issuer) JWKS() jwk.Set { return i.public }

// Credential contexts and types (Open Badges 3.0 over VC Data Model 2.0).
var (
	Contexts        = []string{"https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"}
	CredentialTypes = []string{"VerifiableCredential", "OpenBadgeCredential"}
)

// Credential is an OpenBadgeCredential (JSON-LD).
type Credential struct {
	Context           []string           `json:"@context"`
	ID                string             `json:"id"`
	Type              []string           `json:"type"`
	Name              string             `json:"name"`
	Issuer            Profile            `json:"issuer"`
	ValidFrom         string             `json:"validFrom"`
	CredentialSubject AchievementSubject `json:"credentialSubject"`
}

// Profile is the issuer: Optio.
type Profile struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
}

// AchievementSubject is the student and what they achieved.
type AchievementSubject struct {
	ID          string      `json:"id"`
	Type        string      `json:"type"`
	Achievement Achievement `json:"achievement"`
}

// Achievement is the badge.
type Achievement struct {
	ID          string   `json:"id"`
	Type        string   `json:"type"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Criteria    Criteria `json:"criteria"`
	Image       Image    `json:"image"`
}

// Criteria says how the badge is earned.
type Criteria struct {
	Narrative string `json:"narrative"`
}

// Image is the badge image.
type Image struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// CredentialFor builds the credential for an earned badge.
func (i *Issuer) CredentialFor(a *optio.BadgeAward) Credential {
	b := a.Badge
	narrative := fmt.Sprintf("Complete the Spark courses %s", strings.Join(b.RequiredCourses, ", "))
	if b.XPRequired > 0 {
		narrative += fmt.Sprintf(" and earn %d XP in them", b.XPRequired)
	}
	narrative += ". A course is complete when Spark reports it completed or when every assignment has a submission synced to Optio."
	desc := b.Description
	if desc == "" {
		desc = b.Name
	}
	return Credential{
		Context:   Contexts,
		ID:        "urn:uuid:" + a.ID,
		Type:      CredentialTypes,
		Name:      b.Name,
		Issuer:    Profile{ID: i.baseURL, Type: "Profile", Name: "Optio", URL: i.baseURL},
		ValidFrom: a.EarnedAt.UTC().Format(time.RFC3339),
		CredentialSubject: AchievementSubject{
			ID:   "urn:uuid:" + a.UserID,
			Type: "AchievementSubject",
			Achievement: Achievement{
				ID: "urn:uuid:" + b.ID, Type: "Achievement", Name: b.Name, Description: desc,
				Criteria: Criteria{Narrative: narrative},
				Image:    Image{ID: i.baseURL + optio.BadgeImagePath(b.ID), Type: "Image"},
			},
		},
	}
}

// Sign returns the credential for an earned badge as a VC-JWT: a compact JWS
// (ES256, typ vc+jwt, cty vc) whose payload is the credential itself.
func (i *Issuer) Sign(a *optio.BadgeAward) (string, error) {
	payload, err := json.Marshal(i.CredentialFor(a))
	if err != nil {
		return "", err
	}
	h := jws.NewHeaders()
	if err := h.Set(jws.TypeKey, "vc+jwt"); err != nil {
		return "", err
	}
	if err := h.Set(jws.ContentTypeKey, "vc"); err != nil {
		return "", err
	}
	out, err := jws.Sign(payload, jws.WithKey(jwa.ES256(), i.private, jws.WithProtectedHeaders(h)))
	if err != nil {
		return "", fmt.Errorf("openbadges: sign: %w", err)
	}
	return string(out), nil
}

// Verify checks a VC-JWT against a JWK set (such as the one served at
// /.well-known/jwks.json) and returns its credential.
func Verify(token string, set jwk.Set) (*Credential, error) {
	payload, err := jws.Verify([]byte(token), jws.WithKeySet(set))
	if err != nil {
		return nil, fmt.Errorf("openbadges: verify: %w", err)
	}
	var c Credential
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("openbadges: credential: %w", err)
	}
	return &c, nil
}
