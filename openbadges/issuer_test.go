package openbadges_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/openbadges"
)

// memKeys is an in-memory KeyStore with the store's rules: one active key
// per purpose, replaced (and kept, retired) when it is of another algorithm
// or rotated.
type memKeys struct {
	mu   sync.Mutex
	keys []optio.SigningKey
}

func (m *memKeys) SigningKeys(_ context.Context, purpose, alg string, gen func() (string, error)) ([]optio.SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.keys) == 0 || m.keys[0].RetiredAt != nil || m.keys[0].Alg != alg {
		if err := m.rotate(purpose, alg, gen); err != nil {
			return nil, err
		}
	}
	return append([]optio.SigningKey(nil), m.keys...), nil
}

func (m *memKeys) rotate(purpose, alg string, gen func() (string, error)) error {
	key, err := gen()
	if err != nil {
		return err
	}
	now := time.Now()
	for i := range m.keys {
		if m.keys[i].RetiredAt == nil {
			m.keys[i].RetiredAt = &now
		}
	}
	m.keys = append([]optio.SigningKey{{KID: "k" + string(rune('a'+len(m.keys))), Purpose: purpose, Alg: alg, PrivateKey: key, CreatedAt: now}}, m.keys...)
	return nil
}

func (m *memKeys) Rotate() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rotate(openbadges.KeyPurpose, openbadges.SigningAlg, openbadges.GenerateKey)
}

var testIndex int64 = 94567

func testAward() *optio.BadgeAward {
	return &optio.BadgeAward{ID: "0190a0a0-0000-7000-8000-000000000001", UserID: "0190a0a0-0000-7000-8000-000000000002",
		EarnedAt:    time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC),
		StatusIndex: &testIndex, Salt: "pepper",
		Badge: optio.Badge{ID: "0190a0a0-0000-7000-8000-000000000003", Name: "STEM Scholar", RequiredCourses: []string{"spark-physics"}, XPRequired: 1500}}
}

// server serves an issuer's keys and status list the way Optio does, so the
// tests verify as an outside verifier would: by dereferencing URLs.
type server struct {
	*httptest.Server
	is      *openbadges.Issuer
	revoked []int64
}

func newServer(t *testing.T, keys *memKeys) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/.well-known/jwks.json":
			_ = json.NewEncoder(w).Encode(s.is.JWKS())
		case strings.HasPrefix(r.URL.Path, openbadges.KeysPath):
			k, ok := s.is.PublicKey(s.is.BaseURL() + r.URL.Path)
			if !ok {
				http.NotFound(w, r)
				return
			}
			_ = json.NewEncoder(w).Encode(k)
		case r.URL.Path == openbadges.StatusListPath:
			l := openbadges.NewStatusList()
			for _, i := range s.revoked {
				require.NoError(t, l.Set(i))
			}
			tok, err := s.is.SignStatusList(s.is.StatusListCredential(l, time.Now()))
			require.NoError(t, err)
			_, _ = w.Write([]byte(tok))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	var err error
	s.is, err = openbadges.LoadIssuer(context.Background(), keys, s.URL)
	require.NoError(t, err)
	return s
}

func TestVCJWTVerifiesWithTheServedKeyThroughJWX(t *testing.T) {
	t.Parallel()
	srv := newServer(t, &memKeys{})
	award := testAward()
	c := srv.is.CredentialFor(award, "Maya@Example.com")
	token, err := srv.is.Sign(c)
	require.NoError(t, err)

	// The JOSE header: RS256, typ JWT, a kid URL and nothing else.
	hdrJSON, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	require.NoError(t, err)
	var hdr map[string]any
	require.NoError(t, json.Unmarshal(hdrJSON, &hdr))
	require.Equal(t, "RS256", hdr["alg"])
	require.Equal(t, "JWT", hdr["typ"])
	kid, _ := hdr["kid"].(string)
	require.True(t, strings.HasPrefix(kid, srv.URL+"/keys/"), "kid %q dereferences under the issuer", kid)
	require.Len(t, hdr, 3, "the VC-JWT format allows no other JOSE headers: %v", hdr)

	// A general JOSE library, given only the served key set, verifies it
	// and finds the registered claims mapped from the credential.
	resp, err := http.Get(srv.URL + "/.well-known/jwks.json")
	require.NoError(t, err)
	defer resp.Body.Close()
	set, err := jwk.ParseReader(resp.Body)
	require.NoError(t, err)
	tok, err := jwt.Parse([]byte(token), jwt.WithKeySet(set), jwt.WithValidate(true))
	require.NoError(t, err)
	iss, _ := tok.Issuer()
	sub, _ := tok.Subject()
	jti, _ := tok.JwtID()
	nbf, _ := tok.NotBefore()
	require.Equal(t, srv.URL+"/issuer", iss)
	require.Equal(t, "urn:uuid:"+award.UserID, sub)
	require.Equal(t, srv.URL+"/credentials/"+award.ID, jti)
	require.Equal(t, award.EarnedAt, nbf.UTC())
	_, hasExp := tok.Expiration()
	require.False(t, hasExp, "no validUntil, no exp")

	// The kid alone dereferences to the public key (no private part).
	kresp, err := http.Get(kid)
	require.NoError(t, err)
	defer kresp.Body.Close()
	key, err := jwk.ParseReader(kresp.Body)
	require.NoError(t, err)
	k, _ := key.Key(0)
	raw, _ := json.Marshal(k)
	require.NotContains(t, string(raw), `"d"`)
	_, err = jwt.Parse([]byte(token), jwt.WithKey(jwa.RS256(), k))
	require.NoError(t, err)

	// The recipient: a salted SHA-256 of the lower-cased email.
	id := c.CredentialSubject.Identifier
	require.Len(t, id, 1)
	require.Equal(t, openbadges.IdentityObject{Type: "IdentityObject", IdentityType: "emailAddress", Hashed: true, Salt: "pepper",
		IdentityHash: "sha256$" + sha256hex("maya@example.compepper")}, id[0])
}

func TestCredentialValidatesAgainstThePublishedSchema(t *testing.T) {
	t.Parallel()
	c := jsonschema.NewCompiler()
	sch, err := c.Compile("testdata/ob_v3p0_achievementcredential_schema.json")
	require.NoError(t, err)
	is, err := openbadges.LoadIssuer(context.Background(), &memKeys{}, "https://optio.test")
	require.NoError(t, err)

	valid := func(cred any) error {
		raw, err := json.Marshal(cred)
		require.NoError(t, err)
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		require.NoError(t, err)
		return sch.Validate(inst)
	}
	cred := is.CredentialFor(testAward(), "maya@example.com")
	require.NoError(t, valid(cred))

	// The JWT payload (credential plus claims) validates too.
	token, err := is.Sign(cred)
	require.NoError(t, err)
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
	require.NoError(t, err)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	require.NoError(t, err)
	require.NoError(t, sch.Validate(inst))

	// The schema is strict enough to fail: an achievement type as a plain
	// string (what Optio issued before) is refused.
	var m map[string]any
	raw, _ := json.Marshal(cred)
	require.NoError(t, json.Unmarshal(raw, &m))
	m["credentialSubject"].(map[string]any)["achievement"].(map[string]any)["type"] = "Achievement"
	require.Error(t, valid(m))
}

func TestVerifyDereferencesKeyAndStatusAndFailsOnTampering(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	keys := &memKeys{}
	srv := newServer(t, keys)
	award := testAward()
	token, err := srv.is.Sign(srv.is.CredentialFor(award, "maya@example.com"))
	require.NoError(t, err)
	r := openbadges.HTTPResolver{}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

	res, err := openbadges.Verify(ctx, token, r, now)
	require.NoError(t, err)
	require.False(t, res.Revoked)
	require.Equal(t, "STEM Scholar", res.Credential.CredentialSubject.Achievement.Name)

	_, err = openbadges.Verify(ctx, token, r, award.EarnedAt.Add(-time.Second))
	require.ErrorIs(t, err, openbadges.ErrNotVerified, "not valid before validFrom")

	// Tampering: an edited payload keeps the old signature and fails.
	parts := strings.Split(token, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := strings.Replace(string(payload), "STEM Scholar", "STEM Scholer", 1)
	_, err = openbadges.Verify(ctx, parts[0]+"."+base64.RawURLEncoding.EncodeToString([]byte(forged))+"."+parts[2], r, now)
	require.ErrorIs(t, err, openbadges.ErrNotVerified)

	// Another issuer's key signing a credential that claims Optio fails:
	// its kid is not served by the issuer named in the credential.
	other := newServer(t, &memKeys{})
	c := other.is.CredentialFor(award, "")
	c.Issuer = srv.is.Profile()
	stolen, err := other.is.Sign(c)
	require.NoError(t, err)
	_, err = openbadges.Verify(ctx, stolen, r, now)
	require.ErrorIs(t, err, openbadges.ErrNotVerified)

	// Rotation: the old key still verifies what it signed; new credentials
	// use the new key.
	require.NoError(t, keys.Rotate())
	srv.is, err = openbadges.LoadIssuer(ctx, keys, srv.URL)
	require.NoError(t, err)
	_, err = openbadges.Verify(ctx, token, r, now)
	require.NoError(t, err, "a credential signed before the rotation still verifies")
	fresh, err := srv.is.Sign(srv.is.CredentialFor(award, ""))
	require.NoError(t, err)
	res2, err := openbadges.Verify(ctx, fresh, r, now)
	require.NoError(t, err)
	require.NotEqual(t, res.KeyID, res2.KeyID)

	// Revocation: the award's bit set in the served list.
	srv.revoked = []int64{testIndex}
	res, err = openbadges.Verify(ctx, token, r, now)
	require.NoError(t, err)
	require.True(t, res.Revoked)
}

func TestStatusListEncodingFollowsTheSpec(t *testing.T) {
	t.Parallel()
	l := openbadges.NewStatusList()
	require.NoError(t, l.Set(0))
	require.NoError(t, l.Set(9))
	require.Error(t, l.Set(openbadges.StatusListSize))
	enc := l.Encode()
	require.True(t, strings.HasPrefix(enc, "u"), "multibase base64url")
	back, err := openbadges.DecodeStatusList(enc)
	require.NoError(t, err)
	for i, want := range map[int64]bool{0: true, 1: false, 8: false, 9: true, openbadges.StatusListSize - 1: false} {
		got, err := back.Get(i)
		require.NoError(t, err)
		require.Equal(t, want, got, "bit %d", i)
	}
	// The specification's own example list (a 16 KB list, nothing set).
	ex, err := openbadges.DecodeStatusList("uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA")
	require.NoError(t, err)
	got, err := ex.Get(94567)
	require.NoError(t, err)
	require.False(t, got)
	_, err = openbadges.DecodeStatusList("u" + base64.RawURLEncoding.EncodeToString(gz(t, make([]byte, 100))))
	require.Error(t, err, "a list under 16 KB is refused")
}

func TestBakedPNGAndSVGRoundTrip(t *testing.T) {
	t.Parallel()
	is, err := openbadges.LoadIssuer(context.Background(), &memKeys{}, "https://optio.test")
	require.NoError(t, err)
	token, err := is.Sign(is.CredentialFor(testAward(), ""))
	require.NoError(t, err)

	var img bytes.Buffer
	require.NoError(t, png.Encode(&img, testImage()))
	baked, err := openbadges.BakePNG(img.Bytes(), token)
	require.NoError(t, err)
	_, err = png.Decode(bytes.NewReader(baked))
	require.NoError(t, err, "the baked PNG is still a valid image")
	require.Equal(t, 1, bytes.Count(baked, []byte("iTXtopenbadgecredential\x00")))
	got, err := openbadges.Extract(baked)
	require.NoError(t, err)
	require.Equal(t, token, got)
	again, err := openbadges.BakePNG(baked, token+"x")
	require.NoError(t, err)
	require.Equal(t, 1, bytes.Count(again, []byte("openbadgecredential")), "re-baking replaces the chunk")
	_, err = openbadges.Extract(img.Bytes())
	require.ErrorIs(t, err, openbadges.ErrNotBaked)
	broken := bytes.Replace(baked, []byte("STEM"), []byte("STEM"), 1)
	broken[len(broken)-20] ^= 0xff
	_, err = openbadges.ExtractPNG(broken)
	require.Error(t, err)

	svg, err := openbadges.BakeSVG(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><title>A &amp; B</title></svg>`, token)
	require.NoError(t, err)
	require.Contains(t, svg, `xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"><openbadges:credential verify="`)
	got, err = openbadges.Extract([]byte(svg))
	require.NoError(t, err)
	require.Equal(t, token, got)
	_, err = openbadges.BakeSVG(svg, token)
	require.Error(t, err, "an SVG is baked once")

	got, err = openbadges.Extract([]byte("  " + token + "\n"))
	require.NoError(t, err)
	require.Equal(t, token, got)
}
