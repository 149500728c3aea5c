package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/optio-edu/optio"
)

// FuzzDecodeJSON: any body either decodes or is a 400/413 *optio.Error;
// the decoder never panics and never reads past its cap.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"email":"a@b.test","password":"x"}`, `{}`, `[]`, `{"a":1}{"a":2}`, `{"email":7}`,
		strings.Repeat("[", 5000), `{"email":"` + strings.Repeat("x", 5000) + `"}`, "\x00", `{"email":"\ud800"}`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v struct {
			Email    string         `json:"email"`
			Password string         `json:"password"`
			Extra    map[string]any `json:"extra"`
		}
		r := httptest.NewRequest("POST", "/api/auth/login", strings.NewReader(string(body)))
		err := decodeJSON(httptest.NewRecorder(), r, 1024, &v)
		if err == nil {
			return
		}
		switch optio.ErrorCode(err) {
		case optio.EMALFORMED, optio.ETOOLARGE, optio.EINVALID:
		default:
			t.Fatalf("decodeJSON(%q) = %v: not a client error", body, err)
		}
	})
}

// FuzzRedirectTargets: whatever next= or return_to= says, the accepted
// target stays on Optio: a relative path, no scheme, no host, no
// backslash or control character, even after the browser normalises it.
func FuzzRedirectTargets(f *testing.F) {
	for _, s := range []string{"/dashboard", "//evil.example", `/\evil.example`, "https://evil.example", "/%2F%2Fevil.example",
		"/\t/evil.example", "javascript:alert(1)", "/ok?x=//y", "/..//evil", "\\\\evil", "/%5Cevil", "/\u3000/evil"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for name, got := range map[string]string{"safeNext": safeNext(raw), "ssoReturnTo": ssoReturnTo(raw)} {
			if got == "" {
				continue
			}
			if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\r\n\t") {
				t.Fatalf("%s(%q) = %q: not a same-origin path", name, raw, got)
			}
			// What a browser would do with the Location header.
			base, _ := url.Parse("https://optio.test/spark/sso")
			rec := httptest.NewRecorder()
			http.Redirect(rec, httptest.NewRequest("GET", "/", nil), got, http.StatusSeeOther)
			loc, err := url.Parse(rec.Header().Get("Location"))
			if err != nil {
				continue
			}
			if abs := base.ResolveReference(loc); abs.Host != "optio.test" || abs.Scheme != "https" {
				t.Fatalf("%s(%q) = %q: a browser would go to %s", name, raw, got, abs)
			}
		}
	})
}
