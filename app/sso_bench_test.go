package app_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/optio-edu/optio/store/storetest"
)

// BenchmarkSSOLogin measures GET /spark/sso through the app's whole HTTP
// stack (verify, one store transaction, session, redirect) for a user seen
// for the first time and for a returning one, on each store. It reports
// sign-ins per second and the 99th-percentile latency.
//
//	go test ./app -run '^$' -bench SSOLogin -benchtime 2000x
func BenchmarkSSOLogin(b *testing.B) {
	for _, d := range storetest.Dialects {
		for _, kind := range []string{"new", "returning"} {
			b.Run(fmt.Sprintf("%s/%s", d, kind), func(b *testing.B) {
				a := newSSOEnv(b, d).start(b)
				tokens := make([]string, b.N)
				for i := range tokens {
					sub := fmt.Sprintf("s-%d", i)
					if kind == "returning" {
						sub = "s-returning"
					}
					tokens[i] = signSSO(b, ssoSecret, studentClaims(sub, "bio-101"))
				}
				if kind == "returning" {
					rec := httptest.NewRecorder()
					a.Web.ServeHTTP(rec, httptest.NewRequest("GET", "/spark/sso?token="+signSSO(b, ssoSecret, studentClaims("s-returning", "bio-101")), nil))
					if rec.Code != http.StatusSeeOther {
						b.Fatalf("first sign-in: %d %s", rec.Code, rec.Body)
					}
				}
				lat := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				start := time.Now()
				for i := 0; i < b.N; i++ {
					t0 := time.Now()
					rec := httptest.NewRecorder()
					a.Web.ServeHTTP(rec, httptest.NewRequest("GET", "/spark/sso?token="+tokens[i], nil))
					lat = append(lat, time.Since(t0))
					if rec.Code != http.StatusSeeOther {
						b.Fatalf("sign-in %d: %d %s", i, rec.Code, rec.Body)
					}
				}
				elapsed := time.Since(start)
				b.StopTimer()
				slices.Sort(lat)
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "logins/s")
				b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
			})
		}
	}
}
