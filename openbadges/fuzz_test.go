package openbadges_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/openbadges"
)

// keysOnly resolves keys from a set and has no status lists (fuzz awards
// carry no status entry).
type keysOnly struct{ set jwk.Set }

func (k keysOnly) Key(_ context.Context, kid string) (jwk.Key, error) {
	key, ok := k.set.LookupKeyID(kid)
	if !ok {
		return nil, errors.New("unknown key")
	}
	return key, nil
}

func (keysOnly) StatusList(context.Context, string) (*openbadges.StatusList, error) {
	return nil, errors.New("no status lists")
}

func fuzzAward(name, description string, courses []string, xp int) *optio.BadgeAward {
	return &optio.BadgeAward{ID: "0190a0a0-0000-7000-8000-0000000000a1", UserID: "0190a0a0-0000-7000-8000-0000000000a2",
		EarnedAt: time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC),
		Badge: optio.Badge{ID: "0190a0a0-0000-7000-8000-0000000000a3", Name: name, Description: description,
			RequiredCourses: courses, XPRequired: xp}}
}

// FuzzVerify: whatever the token, Verify either refuses it or returns
// exactly a credential Optio signed — never one an attacker edited, signed
// with another key, with "none", or with the public key as an HMAC secret.
func FuzzVerify(f *testing.F) {
	ctx := context.Background()
	is, err := openbadges.LoadIssuer(ctx, &memKeys{}, "https://optio.test")
	if err != nil {
		f.Fatal(err)
	}
	other, err := openbadges.LoadIssuer(ctx, &memKeys{}, "https://optio.test")
	if err != nil {
		f.Fatal(err)
	}
	issued := map[string]openbadges.Credential{}
	for _, a := range []*optio.BadgeAward{
		fuzzAward("STEM Scholar", "", []string{"spark-physics"}, 1500),
		fuzzAward("<b>Art</b> & \"Co\"", "Draws\nwell", []string{"a", "b"}, 0),
	} {
		jwt, err := is.Sign(is.CredentialFor(a, "maya@example.com"))
		if err != nil {
			f.Fatal(err)
		}
		issued[jwt] = is.CredentialFor(a, "maya@example.com")
		f.Add(jwt)
		parts := strings.Split(jwt, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		forged := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), "STEM", "STEm", 1)))
		f.Add(parts[0] + "." + forged + "." + parts[2])
		f.Add(parts[0] + "." + parts[1] + ".")
		f.Add(jwt + "." + parts[2])
		f.Add(strings.Replace(jwt, ".", "..", 1))

		var hdr map[string]any
		raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
		_ = json.Unmarshal(raw, &hdr)
		for _, alg := range []string{"none", "None", "HS256"} {
			h := map[string]any{"alg": alg, "kid": hdr["kid"], "typ": "JWT"}
			hb, _ := json.Marshal(h)
			signing := base64.RawURLEncoding.EncodeToString(hb) + "." + parts[1]
			pub, _ := json.Marshal(is.JWKS())
			mac := hmac.New(sha256.New, pub)
			mac.Write([]byte(signing))
			f.Add(signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)))
			f.Add(signing + ".")
		}
		stranger, err := other.Sign(other.CredentialFor(a, ""))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(stranger)
	}
	f.Add("")
	f.Add("...")
	f.Add(strings.Repeat("a", 100000))
	r := keysOnly{is.JWKS()}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, token string) {
		res, err := openbadges.Verify(context.Background(), token, r, now)
		if err != nil {
			return
		}
		cred := res.Credential
		for _, want := range issued {
			if reflect.DeepEqual(*cred, want) {
				return
			}
		}
		t.Fatalf("Verify accepted %q as %+v, which Optio never signed", token, cred)
	})
}

// FuzzCredentialRoundTrip: every badge the admin API accepts (names with
// markup, quotes, any script) becomes a credential that verifies with the
// served key set and says exactly what the badge says.
func FuzzCredentialRoundTrip(f *testing.F) {
	for _, s := range []struct {
		name, description, course string
		xp                        int
	}{
		{"STEM Scholar", "", "spark-physics", 1500},
		{"<script>alert(1)</script>", "\"quoted\" & 'single'", "c/../../x", 0},
		{"名前 ⭐", "línea\nnueva\ttab", "ü", 1_000_000},
		{"\u202eevil", "\u2028\u2029", "x", 5},
	} {
		f.Add(s.name, s.description, s.course, s.xp)
	}
	is, err := openbadges.LoadIssuer(context.Background(), &memKeys{}, "https://optio.test")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name, description, course string, xp int) {
		courses := []string{course}
		in := optio.BadgeInput{Name: &name, Description: &description, RequiredCourses: &courses, XPRequired: &xp}
		in.Normalize()
		if in.Validate(true) != nil {
			return
		}
		a := fuzzAward(*in.Name, *in.Description, *in.RequiredCourses, *in.XPRequired)
		jwt, err := is.Sign(is.CredentialFor(a, ""))
		if err != nil {
			t.Fatalf("sign %+v: %v", a.Badge, err)
		}
		res, err := openbadges.Verify(context.Background(), jwt, keysOnly{is.JWKS()}, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatalf("a credential Optio signed does not verify: %v", err)
		}
		cred := res.Credential
		if want := is.CredentialFor(a, ""); !reflect.DeepEqual(*cred, want) {
			t.Fatalf("credential changed in transit:\n got %+v\nwant %+v", *cred, want)
		}
		if cred.CredentialSubject.Achievement.Name != *in.Name {
			t.Fatalf("achievement name %q, badge %q", cred.CredentialSubject.Achievement.Name, *in.Name)
		}
	})
}
