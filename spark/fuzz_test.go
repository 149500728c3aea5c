package spark_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
)

// requireOptioError asserts err is an *optio.Error with one of codes.
func requireOptioError(t *testing.T, err error, codes ...string) {
	t.Helper()
	var oe *optio.Error
	require.ErrorAs(t, err, &oe)
	require.Contains(t, codes, oe.Code)
}

func FuzzVerifyToken(f *testing.F) {
	good := hs256(secretA, claimsAt(t0))
	f.Add(good)
	f.Add(noneToken("none", claimsAt(t0)))
	f.Add(strings.Replace(good, ".", "..", 1))
	f.Add("")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJIUzI1NiJ9.e30.")
	f.Add(dupClaimToken())
	f.Add(hs256(secretA, with(claimsAt(t0), "exp", 1e300)))
	v, err := spark.NewSSOVerifier(f.Context(), spark.SSOConfig{Secrets: []string{secretA}, Clock: optio.NewFakeClock(t0)})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(t.Context(), token)
		if err != nil {
			require.Nil(t, c)
			requireOptioError(t, err, spark.ETokenMissing, spark.ETokenMalformed, spark.ETokenBadSignature,
				spark.ETokenAlgorithmRefused, spark.ETokenExpired, spark.ETokenNotYetValid, spark.ETokenMissingClaim,
				spark.ETokenLifetimeTooLong, spark.ETokenWrongIssuer, spark.ETokenWrongAudience, spark.ETokenInvalidClaim)
			if len(token) > 40 {
				require.NotContains(t, err.Error(), token)
			}
			checks := v.Explain(t.Context(), token)
			require.NotEmpty(t, checks)
			return
		}
		require.NotEmpty(t, c.Subject)
		require.NotEmpty(t, c.Nonce)
		require.Equal(t, "HS256", c.Method)
	})
}

func FuzzWebhookVerify(f *testing.F) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	sig, err := spark.WebhookSigner{Secret: secret}.Sign("msg_1", t0, []byte(`{"a":1}`))
	require.NoError(f, err)
	ts := strconv.FormatInt(t0.Unix(), 10)
	f.Add("msg_1", ts, sig, []byte(`{"a":1}`))
	f.Add("msg_1", ts, sig+" v1,AAAA", []byte(`{"a":1}`))
	f.Add("", "", "", []byte(nil))
	f.Add("msg_1", "-1", "v1,", []byte("x"))
	f.Add("msg_1", "99999999999999999999", "v1,,,", []byte("x"))
	f.Add(exampleID, strconv.Itoa(exampleTimestamp), exampleSignature, []byte(exampleBody))
	v := spark.WebhookVerifier{Secrets: []string{secret}, Clock: optio.NewFakeClock(t0)}
	f.Fuzz(func(t *testing.T, id, tsText, sigText string, body []byte) {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", tsText)
		h.Set("webhook-signature", sigText)
		gotID, gotTS, err := v.Verify(h, body)
		if err != nil {
			requireOptioError(t, err, spark.EWebhookMissingHeaders, spark.EWebhookBadTimestamp, spark.EWebhookBadSignature)
			return
		}
		// Accepted: the signature must really be ours and the time within tolerance.
		require.Equal(t, id, gotID)
		want, err := spark.WebhookSigner{Secret: secret}.Sign(id, gotTS, body)
		require.NoError(t, err)
		require.Contains(t, strings.Fields(sigText), want)
		require.LessOrEqual(t, gotTS.Sub(t0).Abs(), spark.DefaultWebhookTolerance)
	})
}

// fuzzDecode checks a decoder never panics, fails only with the two payload
// codes, and that what it accepts survives a JSON round trip.
func fuzzDecode[T any](f *testing.F, seeds []string, decode func([]byte) (*T, error)) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		v, err := decode(body)
		if err != nil {
			require.Nil(t, v)
			requireOptioError(t, err, optio.EMALFORMED, optio.EPAYLOAD)
			return
		}
		again, err := json.Marshal(v)
		require.NoError(t, err)
		_, err = decode(again)
		require.NoError(t, err, "re-decoding %s", again)
	})
}

var commonSeeds = []string{``, `{}`, `null`, `[]`, `{"a":` + strings.Repeat("[", 40), `{"x":1} x`, "{\"\xff\":1}"}

func FuzzDecodeSubmission(f *testing.F) {
	fuzzDecode(f, append([]string{
		goodSubmission,
		`{"spark_user_id":"u","spark_assignment_id":"a","spark_course_id":"c","submitted_at":"2025-01-01T00:00:00Z","grade":"B+"}`,
		`{"submission_files":[{"filename":"../x","content_base64":"!!"}],"grade":{}}`,
	}, commonSeeds...), spark.DecodeSubmission)
}

func FuzzDecodeRoster(f *testing.F) {
	fuzzDecode(f, append([]string{
		`{"spark_user_id":"u","spark_course_id":"c","action":"enroll","email":"a@b.example","occurred_at":"2025-01-01T00:00:00Z"}`,
		`{"action":"graduate","email":"nope"}`,
	}, commonSeeds...), spark.DecodeRoster)
}

func FuzzDecodeCourse(f *testing.F) {
	fuzzDecode(f, append([]string{
		`{"spark_course_id":"c","course_title":"T","assignments":[{"spark_assignment_id":"a","title":"A","due_date":"2025-01-02","max_points":5}]}`,
		`{"spark_course_id":"c","course_title":"T","assignments":[{"spark_assignment_id":"a","title":"A"},{"spark_assignment_id":"a","title":"B"}]}`,
	}, commonSeeds...), spark.DecodeCourse)
}
