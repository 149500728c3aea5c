package app_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// TestSSOKnownJWTAttacks sends the classic JWT attacks to GET /spark/sso on
// an Optio that trusts both an HS256 secret and an RS256 JWKS. Each is
// refused with a 4xx and a clear error, and none leaves a user, session or
// nonce behind.
func TestSSOKnownJWTAttacks(t *testing.T) {
	t.Parallel()
	rsaKey, err := spark.GenerateSigningKey("RS256", "spark-rsa-1")
	require.NoError(t, err)
	jwks, err := spark.PublicJWKS(rsaKey)
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	}))
	t.Cleanup(srv.Close)
	attacker, err := spark.GenerateSigningKey("RS256", "spark-rsa-1")
	require.NoError(t, err)
	attackerJWKS, err := spark.PublicJWKS(attacker)
	require.NoError(t, err)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("Optio fetched a JWKS URL named by a token: %s", r.URL)
		_, _ = w.Write(attackerJWKS)
	}))
	t.Cleanup(evil.Close)

	// The public key, as an attacker would find it, for HS/RS confusion.
	pub, err := jwk.PublicKeyOf(rsaKey)
	require.NoError(t, err)
	var raw any
	require.NoError(t, jwk.Export(pub, &raw))
	der, err := x509.MarshalPKIXPublicKey(raw)
	require.NoError(t, err)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})

	valid := signSSO(t, ssoSecret, studentClaims("s-attack"))
	parts := strings.Split(valid, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	hs := func(key []byte, header string, body []byte) string {
		in := b64([]byte(header)) + "." + b64(body)
		m := hmac.New(sha256.New, key)
		m.Write([]byte(in))
		return in + "." + b64(m.Sum(nil))
	}
	var claims map[string]any
	require.NoError(t, json.Unmarshal(payload, &claims))
	dupSub := strings.Replace(string(payload), `{`, `{"sub":"s-admin","role":"admin",`, 1)
	attackerSigned, err := spark.SignTokenWithKey(attacker, studentClaims("s-attack"), 5*time.Minute, time.Now())
	require.NoError(t, err)
	ap := strings.Split(attackerSigned, ".")
	withHeader := func(tok, header string) string { // re-headers a token; the signature no longer matches
		p := strings.Split(tok, ".")
		return b64([]byte(header)) + "." + p[1] + "." + p[2]
	}
	attackerJWK, _ := json.Marshal(mustPublic(t, attacker))

	attacks := []struct{ name, token string }{
		{"alg none", b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."},
		{"alg None", b64([]byte(`{"alg":"None","typ":"JWT"}`)) + "." + parts[1] + "."},
		{"alg none with signature", b64([]byte(`{"alg":"none"}`)) + "." + parts[1] + "." + parts[2]},
		{"HS256 keyed with the RSA public key PEM", hs(pubPEM, `{"alg":"HS256","typ":"JWT","kid":"spark-rsa-1"}`, payload)},
		{"HS256 keyed with the RSA public key DER", hs(der, `{"alg":"HS256","kid":"spark-rsa-1"}`, payload)},
		{"HS256 keyed with the JWKS text", hs(jwks, `{"alg":"HS256","kid":"spark-rsa-1"}`, payload)},
		{"HS512 with the right secret", hs512(ssoSecret, `{"alg":"HS512"}`, payload)},
		{"kid path traversal, empty key", hs(nil, `{"alg":"HS256","kid":"../../../../../../dev/null"}`, payload)},
		{"kid SQL injection", hs([]byte("x"), `{"alg":"HS256","kid":"x' UNION SELECT 'x' --"}`, payload)},
		{"kid command injection", hs(nil, `{"alg":"HS256","kid":"|/bin/true"}`, payload)},
		{"embedded jwk", withHeader(attackerSigned, `{"alg":"RS256","kid":"spark-rsa-1","jwk":`+string(attackerJWK)+`}`)},
		{"jku to the attacker's JWKS", withHeader(attackerSigned, `{"alg":"RS256","kid":"spark-rsa-1","jku":"`+evil.URL+`"}`)},
		{"x5u to the attacker", withHeader(attackerSigned, `{"alg":"RS256","kid":"spark-rsa-1","x5u":"`+evil.URL+`"}`)},
		{"attacker RS256 key, known kid", attackerSigned},
		{"crit header", hs([]byte(ssoSecret), `{"alg":"HS256","crit":["exp"],"exp":1}`, payload)},
		{"duplicate claims", hs([]byte(ssoSecret), `{"alg":"HS256","typ":"JWT"}`, []byte(dupSub))},
		{"extra dot", valid + "."},
		{"four segments", parts[0] + "." + parts[1] + "." + parts[2] + "." + parts[2]},
		{"two segments", parts[0] + "." + parts[1]},
		{"padded segments", parts[0] + "==." + parts[1] + "=." + parts[2]},
		{"standard base64 alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(valid) + "=="},
		{"whitespace inside", parts[0] + ". " + parts[1] + "." + parts[2]},
		{"huge payload", hs([]byte(ssoSecret), `{"alg":"HS256"}`, []byte(strings.Replace(string(payload), `{`, `{"pad":"`+strings.Repeat("A", 200_000)+`",`, 1)))},
		{"huge header", b64([]byte(`{"alg":"HS256","x":"`+strings.Repeat("B", 100_000)+`"}`)) + "." + parts[1] + "." + parts[2]},
		{"deeply nested payload", hs([]byte(ssoSecret), `{"alg":"HS256"}`, []byte(strings.Replace(string(payload), `{`, `{"n":`+strings.Repeat("[", 50_000)+strings.Repeat("]", 50_000)+`,`, 1)))},
		{"empty signature", parts[0] + "." + parts[1] + "."},
		{"NUL bytes", parts[0] + "\x00." + parts[1] + "." + parts[2]},
		{"attacker header on attacker payload", ap[0] + "." + parts[1] + "." + ap[2]},
	}
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		a := newSSOEnv(t, d).set("SPARK_SSO_JWKS_URL", srv.URL+"/.well-known/jwks.json").start(t)
		for _, tc := range attacks {
			b := newSSOBrowser(t, a.URL())
			status, code, msg := b.ssoError(url.QueryEscape(tc.token))
			require.True(t, status >= 400 && status < 500, "%s: status %d", tc.name, status)
			if status != http.StatusRequestURITooLong && status != http.StatusRequestHeaderFieldsTooLarge {
				require.NotEmpty(t, code, tc.name)
				require.NotEmpty(t, msg, tc.name)
			}
			require.Equal(t, http.StatusUnauthorized, b.do401(), "%s: no session", tc.name)
		}
		require.Zero(t, countRows(t, a, `SELECT COUNT(*) FROM users`), "no attack creates anyone")
		require.Zero(t, countRows(t, a, `SELECT COUNT(*) FROM sessions`))
		require.Zero(t, countRows(t, a, `SELECT COUNT(*) FROM sso_nonces`))
		// The genuine token still works afterwards: nothing was burned.
		status, _ := newSSOBrowser(t, a.URL()).sso(valid)
		require.Equal(t, http.StatusSeeOther, status)
	})
}

func hs512(secret, header string, payload []byte) string {
	b64 := base64.RawURLEncoding.EncodeToString
	in := b64([]byte(header)) + "." + b64(payload)
	m := hmac.New(sha512.New, []byte(secret))
	m.Write([]byte(in))
	return in + "." + b64(m.Sum(nil))
}

func mustPublic(t *testing.T, k jwk.Key) jwk.Key {
	t.Helper()
	p, err := jwk.PublicKeyOf(k)
	require.NoError(t, err)
	return p
}
