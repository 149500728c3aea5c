// Package openbadges exports earned Optio badges as Open Badges 3.0
// credentials: an OpenBadgeCredential secured with the specification's JSON
// Web Token proof format (VC-JWT, RS256), signed with Optio's own key, whose
// public half — and every retired key's — Optio serves so any verifier can
// check what a student carries to it. It also bakes credentials into PNG and
// SVG images, reads them back, and keeps the W3C Bitstring Status List that
// says which credentials were revoked.
package openbadges

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/optio-edu/optio"
)

// KeyPurpose names Optio's credential-signing keys in the store.
const KeyPurpose = "openbadges-credential"

// SigningAlg is the algorithm Optio signs with: RS256, the one the Open
// Badges 3.0 VC-JWT proof format requires every verifier to support.
const SigningAlg = "RS256"

// KeyStore persists signing keys so every Optio process signs with the same
// one and serves all of them (optio.BadgeStore implements it).
type KeyStore interface {
	SigningKeys(ctx context.Context, purpose, alg string, generate func() (string, error)) ([]optio.SigningKey, error)
}

// Paths Optio serves for verifiers, relative to its base URL.
const (
	IssuerPath     = "/issuer"
	KeysPath       = "/keys/"
	StatusListPath = "/credentials/status/1"
)

// CredentialPath is where a credential (award) is verified: its HTML page,
// and its JSON-LD for Accept: application/ld+json.
func CredentialPath(awardID string) string { return "/credentials/" + awardID }

// Issuer signs credentials as Optio.
type Issuer struct {
	baseURL string
	signer  jwk.Key
	public  jwk.Set
}

// LoadIssuer reads Optio's signing keys from ks, creating an RS256 key when
// there is no active one (the very first start, or after a rotation retired
// it). baseURL is Optio's public URL. Every key, retired ones included, is
// in the public set so credentials signed before a rotation still verify.
func LoadIssuer(ctx context.Context, ks KeyStore, baseURL string) (*Issuer, error) {
	keys, err := ks.SigningKeys(ctx, KeyPurpose, SigningAlg, GenerateKey)
	if err != nil {
		return nil, err
	}
	is := &Issuer{baseURL: strings.TrimRight(baseURL, "/"), public: jwk.NewSet()}
	for _, k := range keys {
		key, err := jwk.ParseKey([]byte(k.PrivateKey))
		if err != nil {
			return nil, fmt.Errorf("openbadges: stored key %s: %w", k.KID, err)
		}
		alg, ok := jwa.LookupSignatureAlgorithm(k.Alg)
		if !ok {
			return nil, fmt.Errorf("openbadges: stored key %s has unknown algorithm %q", k.KID, k.Alg)
		}
		if err := key.Set(jwk.KeyIDKey, is.KeyURL(k.KID)); err != nil {
			return nil, err
		}
		if err := key.Set(jwk.AlgorithmKey, alg); err != nil {
			return nil, err
		}
		pub, err := jwk.PublicKeyOf(key)
		if err != nil {
			return nil, fmt.Errorf("openbadges: public key: %w", err)
		}
		if err := pub.Set(jwk.KeyUsageKey, "sig"); err != nil {
			return nil, err
		}
		if err := is.public.AddKey(pub); err != nil {
			return nil, err
		}
		if k.RetiredAt == nil && k.Alg == SigningAlg && is.signer == nil {
			is.signer = key
		}
	}
	if is.signer == nil {
		return nil, fmt.Errorf("openbadges: the store has no active %s key", SigningAlg)
	}
	return is, nil
}

// GenerateKey makes a new RSA 2048 key as a JWK (JSON) for the store.
func GenerateKey() (string, error) {
	pk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	key, err := jwk.Import(pk)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(key)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// BaseURL is Optio's public URL, without a trailing slash.
func (i *Issuer) BaseURL() string { return i.baseURL }

// KeyURL is the URL a key id dereferences to: the public JWK itself. It is
// the kid in JWT headers and in the served key set.
func (i *Issuer) KeyURL(kid string) string { return i.baseURL + KeysPath + kid }

// JWKS is the public key set served at /.well-known/jwks.json: the active
// key and every retired one.
func (i *Issuer) JWKS() jwk.Set { return i.public }

// PublicKey returns the public key whose kid (a URL) is kid.
func (i *Issuer) PublicKey(kid string) (jwk.Key, bool) { return i.public.LookupKeyID(kid) }

// Credential contexts and types (Open Badges 3.0 over VC Data Model 2.0).
var (
	Contexts        = []string{"https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"}
	CredentialTypes = []string{"VerifiableCredential", "OpenBadgeCredential"}
)

// SchemaURL is the Open Badges 3.0 AchievementCredential JSON Schema that
// credentials name in credentialSchema (and that the tests validate against).
const SchemaURL = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"

// Credential is an OpenBadgeCredential (JSON-LD).
type Credential struct {
	Context           []string           `json:"@context"`
	ID                string             `json:"id"`
	Type              []string           `json:"type"`
	Name              string             `json:"name"`
	Issuer            Profile            `json:"issuer"`
	ValidFrom         string             `json:"validFrom"`
	ValidUntil        string             `json:"validUntil,omitempty"`
	CredentialSubject AchievementSubject `json:"credentialSubject"`
	CredentialStatus  *StatusEntry       `json:"credentialStatus,omitempty"`
	CredentialSchema  []CredentialSchema `json:"credentialSchema,omitempty"`
}

// Profile is the issuer: Optio.
type Profile struct {
	Context     []string `json:"@context,omitempty"`
	ID          string   `json:"id"`
	Type        []string `json:"type"`
	Name        string   `json:"name"`
	URL         string   `json:"url,omitempty"`
	Description string   `json:"description,omitempty"`
}

// AchievementSubject is the student and what they achieved.
type AchievementSubject struct {
	ID          string           `json:"id"`
	Type        []string         `json:"type"`
	Identifier  []IdentityObject `json:"identifier,omitempty"`
	Achievement Achievement      `json:"achievement"`
}

// IdentityObject identifies the recipient so a verifier who knows the
// student's email can match it without the credential revealing it.
type IdentityObject struct {
	Type         string `json:"type"`
	IdentityHash string `json:"identityHash"`
	IdentityType string `json:"identityType"`
	Hashed       bool   `json:"hashed"`
	Salt         string `json:"salt,omitempty"`
}

// Achievement is the badge.
type Achievement struct {
	ID          string   `json:"id"`
	Type        []string `json:"type"`
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

// StatusEntry points a credential at its bit in Optio's status list.
type StatusEntry struct {
	ID                   string `json:"id"`
	Type                 string `json:"type"`
	StatusPurpose        string `json:"statusPurpose"`
	StatusListIndex      string `json:"statusListIndex"`
	StatusListCredential string `json:"statusListCredential"`
}

// CredentialSchema names the JSON Schema a credential conforms to.
type CredentialSchema struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// Profile is Optio's issuer Profile, served as JSON at its id.
func (i *Issuer) Profile() Profile {
	return Profile{ID: i.baseURL + IssuerPath, Type: []string{"Profile"}, Name: "Optio", URL: i.baseURL}
}

// IdentityHash is the Open Badges IdentityHash of an email address with a
// salt: "sha256$" and the hex SHA-256 of the lower-cased address followed by
// the salt. A verifier who knows the address computes the same.
func IdentityHash(email, salt string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email)) + salt))
	return "sha256$" + hex.EncodeToString(sum[:])
}

// Criteria is the narrative of how a badge is earned.
func CriteriaFor(b optio.Badge) string {
	narrative := fmt.Sprintf("Complete the Spark courses %s", strings.Join(b.RequiredCourses, ", "))
	if b.XPRequired > 0 {
		narrative += fmt.Sprintf(" and earn %d XP in them", b.XPRequired)
	}
	return narrative + ". A course is complete when Spark reports it completed or when every assignment has a submission synced to Optio."
}

// CredentialFor builds the credential for an earned badge. email is the
// student's address, hashed with the award's salt into the recipient
// identifier (left out when either is empty); the award's status index, when
// it has one, becomes its credentialStatus entry.
func (i *Issuer) CredentialFor(a *optio.BadgeAward, email string) Credential {
	b := a.Badge
	desc := b.Description
	if desc == "" {
		desc = b.Name
	}
	c := Credential{
		Context:   Contexts,
		ID:        i.baseURL + CredentialPath(a.ID),
		Type:      CredentialTypes,
		Name:      b.Name,
		Issuer:    i.Profile(),
		ValidFrom: a.EarnedAt.UTC().Format(time.RFC3339),
		CredentialSubject: AchievementSubject{
			ID:   "urn:uuid:" + a.UserID,
			Type: []string{"AchievementSubject"},
			Achievement: Achievement{
				ID: "urn:uuid:" + b.ID, Type: []string{"Achievement"}, Name: b.Name, Description: desc,
				Criteria: Criteria{Narrative: CriteriaFor(b)},
				Image:    Image{ID: i.baseURL + optio.BadgeImagePath(b.ID), Type: "Image"},
			},
		},
		CredentialSchema: []CredentialSchema{{ID: SchemaURL, Type: "1EdTechJsonSchemaValidator2019"}},
	}
	if email != "" && a.Salt != "" {
		c.CredentialSubject.Identifier = []IdentityObject{{Type: "IdentityObject", IdentityType: "emailAddress",
			Hashed: true, Salt: a.Salt, IdentityHash: IdentityHash(email, a.Salt)}}
	}
	if a.StatusIndex != nil {
		idx := strconv.FormatInt(*a.StatusIndex, 10)
		list := i.baseURL + StatusListPath
		c.CredentialStatus = &StatusEntry{ID: list + "#" + idx, Type: "BitstringStatusListEntry",
			StatusPurpose: "revocation", StatusListIndex: idx, StatusListCredential: list}
	}
	return c
}

// jwtClaims are the registered claims the VC-JWT proof format maps from the
// credential: iss = issuer.id, jti = id, sub = credentialSubject.id, nbf =
// validFrom, exp = validUntil (when there is one).
type jwtClaims struct {
	Iss string `json:"iss"`
	Jti string `json:"jti"`
	Sub string `json:"sub,omitempty"`
	Nbf int64  `json:"nbf"`
	Exp int64  `json:"exp,omitempty"`
}

// Sign returns an OpenBadgeCredential as a VC-JWT: a compact JWS (RS256,
// typ JWT, kid the URL of Optio's public key) whose payload is the
// credential with the registered claims added.
func (i *Issuer) Sign(c Credential) (string, error) {
	claims, err := claimsOf(c.ID, c.Issuer.ID, c.CredentialSubject.ID, c.ValidFrom, c.ValidUntil)
	if err != nil {
		return "", err
	}
	return i.signJSON(c, claims)
}

func claimsOf(id, issuer, subject, validFrom, validUntil string) (jwtClaims, error) {
	nbf, err := time.Parse(time.RFC3339, validFrom)
	if err != nil {
		return jwtClaims{}, fmt.Errorf("openbadges: validFrom: %w", err)
	}
	cl := jwtClaims{Iss: issuer, Jti: id, Sub: subject, Nbf: nbf.Unix()}
	if validUntil != "" {
		exp, err := time.Parse(time.RFC3339, validUntil)
		if err != nil {
			return jwtClaims{}, fmt.Errorf("openbadges: validUntil: %w", err)
		}
		cl.Exp = exp.Unix()
	}
	return cl, nil
}

// signJSON signs v's JSON object with the claims merged in.
func (i *Issuer) signJSON(v any, claims jwtClaims) (string, error) {
	payload, err := mergeJSON(v, claims)
	if err != nil {
		return "", err
	}
	h := jws.NewHeaders()
	if err := h.Set(jws.TypeKey, "JWT"); err != nil {
		return "", err
	}
	out, err := jws.Sign(payload, jws.WithKey(jwa.RS256(), i.signer, jws.WithProtectedHeaders(h)))
	if err != nil {
		return "", fmt.Errorf("openbadges: sign: %w", err)
	}
	return string(out), nil
}

// mergeJSON marshals a and b (both JSON objects) into one object.
func mergeJSON(a, b any) ([]byte, error) {
	m := map[string]json.RawMessage{}
	for _, v := range []any{a, b} {
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
	}
	return json.Marshal(m)
}
