package openbadges

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// ErrNotVerified wraps every reason a credential fails verification: a bad
// signature, a key the issuer does not serve, claims that disagree with the
// credential, a credential not yet valid or expired.
var ErrNotVerified = errors.New("credential not verified")

// Resolver finds what verifying needs from the issuer: the public key a kid
// names, and the status list a credential points to.
type Resolver interface {
	Key(ctx context.Context, kid string) (jwk.Key, error)
	StatusList(ctx context.Context, listURL string) (*StatusList, error)
}

// Result is a verified credential and its status.
type Result struct {
	Credential *Credential `json:"credential"`
	KeyID      string      `json:"kid"`
	Revoked    bool        `json:"revoked"`
}

// maxTokenBytes bounds a VC-JWT a verifier accepts.
const maxTokenBytes = 256 << 10

// Verify checks a VC-JWT as the Open Badges 3.0 verification steps say: the
// signature with the key its kid dereferences to (which must be served from
// the issuer's own origin), iss/sub/jti/nbf/exp against the credential, the
// validity period at now, and — when it has one — its revocation status.
// A credential that fails any check is an error wrapping ErrNotVerified; a
// revoked credential is a Result with Revoked set.
func Verify(ctx context.Context, token string, r Resolver, now time.Time) (*Result, error) {
	token = strings.TrimSpace(token)
	if len(token) > maxTokenBytes {
		return nil, notVerified("the credential is larger than %d bytes", maxTokenBytes)
	}
	msg, err := jws.ParseString(token)
	if err != nil || len(msg.Signatures()) != 1 || strings.Count(token, ".") != 2 {
		return nil, notVerified("not a compact JWS")
	}
	hdr := msg.Signatures()[0].ProtectedHeaders()
	alg, ok := hdr.Algorithm()
	if !ok || (alg != jwa.RS256() && alg != jwa.ES256()) {
		return nil, notVerified("algorithm %q is not accepted", alg)
	}
	kid, ok := hdr.KeyID()
	if !ok || kid == "" {
		return nil, notVerified("the header has no kid")
	}
	key, err := r.Key(ctx, kid)
	if err != nil {
		return nil, notVerified("key %s: %v", kid, err)
	}
	if ka, ok := key.Algorithm(); ok && ka.String() != alg.String() {
		return nil, notVerified("key %s is for %s, not %s", kid, ka, alg)
	}
	payload, err := jws.Verify([]byte(token), jws.WithKey(alg, key))
	if err != nil {
		return nil, notVerified("signature: %v", err)
	}
	var c Credential
	var cl jwtClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, notVerified("credential: %v", err)
	}
	if err := json.Unmarshal(payload, &cl); err != nil {
		return nil, notVerified("claims: %v", err)
	}
	if err := checkClaims(&c, cl, kid, now); err != nil {
		return nil, err
	}
	res := &Result{Credential: &c, KeyID: kid}
	if st := c.CredentialStatus; st != nil && st.Type == "BitstringStatusListEntry" && st.StatusPurpose == "revocation" {
		idx, err := strconv.ParseInt(st.StatusListIndex, 10, 64)
		if err != nil {
			return nil, notVerified("statusListIndex %q", st.StatusListIndex)
		}
		list, err := r.StatusList(ctx, st.StatusListCredential)
		if err != nil {
			return nil, notVerified("status list: %v", err)
		}
		if res.Revoked, err = list.Get(idx); err != nil {
			return nil, notVerified("status: %v", err)
		}
	}
	return res, nil
}

// checkClaims compares the registered claims with the credential.
func checkClaims(c *Credential, cl jwtClaims, kid string, now time.Time) error {
	if cl.Iss == "" || cl.Iss != c.Issuer.ID {
		return notVerified("iss %q is not the issuer %q", cl.Iss, c.Issuer.ID)
	}
	if !sameOrigin(kid, c.Issuer.ID) {
		return notVerified("key %s is not served by the issuer %s", kid, c.Issuer.ID)
	}
	if cl.Sub != c.CredentialSubject.ID {
		return notVerified("sub %q is not the subject %q", cl.Sub, c.CredentialSubject.ID)
	}
	if cl.Jti == "" || cl.Jti != c.ID {
		return notVerified("jti %q is not the credential id %q", cl.Jti, c.ID)
	}
	from, err := time.Parse(time.RFC3339, c.ValidFrom)
	if err != nil || from.Unix() != cl.Nbf {
		return notVerified("nbf does not match validFrom %q", c.ValidFrom)
	}
	if now.Before(from) {
		return notVerified("not valid before %s", c.ValidFrom)
	}
	if c.ValidUntil != "" || cl.Exp != 0 {
		until, err := time.Parse(time.RFC3339, c.ValidUntil)
		if err != nil || until.Unix() != cl.Exp {
			return notVerified("exp does not match validUntil %q", c.ValidUntil)
		}
		if !now.Before(until) {
			return notVerified("expired at %s", c.ValidUntil)
		}
	}
	return nil
}

func notVerified(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNotVerified, fmt.Sprintf(format, args...))
}

// sameOrigin reports whether two URLs share scheme and host.
func sameOrigin(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Scheme != "" && ua.Host != "" &&
		ua.Scheme == ub.Scheme && strings.EqualFold(ua.Host, ub.Host)
}

// HTTPResolver resolves keys and status lists as an outside verifier does:
// by dereferencing their URLs.
type HTTPResolver struct {
	Client *http.Client
}

func (h HTTPResolver) get(ctx context.Context, u string) ([]byte, error) {
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") {
		return nil, fmt.Errorf("%q is not an http(s) URL", u)
	}
	pu.Fragment = ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pu.String(), nil)
	if err != nil {
		return nil, err
	}
	c := h.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", pu, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxStatusListBytes))
}

// Key dereferences kid to a public JWK.
func (h HTTPResolver) Key(ctx context.Context, kid string) (jwk.Key, error) {
	body, err := h.get(ctx, kid)
	if err != nil {
		return nil, err
	}
	key, err := jwk.ParseKey(body)
	if err != nil {
		return nil, err
	}
	if _, private := key.(interface{ D() ([]byte, bool) }); private {
		return nil, fmt.Errorf("%s serves a private key", kid)
	}
	return key, nil
}

// StatusList fetches a BitstringStatusListCredential served as a VC-JWT,
// verifies it with a key from the list's own origin, and decodes its list.
func (h HTTPResolver) StatusList(ctx context.Context, listURL string) (*StatusList, error) {
	body, err := h.get(ctx, listURL)
	if err != nil {
		return nil, err
	}
	return VerifyStatusList(ctx, string(body), listURL, h)
}

// VerifyStatusList checks a status list credential (VC-JWT) fetched from
// listURL: signed with a key its kid names on the same origin, its id the
// URL it came from, purpose revocation; and decodes its list.
func VerifyStatusList(ctx context.Context, token, listURL string, r Resolver) (*StatusList, error) {
	msg, err := jws.ParseString(strings.TrimSpace(token))
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, fmt.Errorf("status list is not a compact JWS")
	}
	hdr := msg.Signatures()[0].ProtectedHeaders()
	kid, _ := hdr.KeyID()
	alg, _ := hdr.Algorithm()
	if !sameOrigin(kid, listURL) {
		return nil, fmt.Errorf("status list key %q is not served by %s", kid, listURL)
	}
	key, err := r.Key(ctx, kid)
	if err != nil {
		return nil, err
	}
	payload, err := jws.Verify([]byte(strings.TrimSpace(token)), jws.WithKey(alg, key))
	if err != nil {
		return nil, fmt.Errorf("status list signature: %w", err)
	}
	var c StatusListCredential
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, err
	}
	want, _ := url.Parse(listURL)
	want.Fragment = ""
	if c.ID != want.String() || c.CredentialSubject.StatusPurpose != "revocation" {
		return nil, fmt.Errorf("status list %q (purpose %q) is not %s for revocation", c.ID, c.CredentialSubject.StatusPurpose, want)
	}
	return DecodeStatusList(c.CredentialSubject.EncodedList)
}
