package spark_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
)

// The worked example quoted in the Spark integration docs. Change it only
// together with the docs.
const (
	exampleSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	exampleID        = "msg_2mC5xq3Zb7ExampleId"
	exampleTimestamp = 1735689600 // 2025-01-01T00:00:00Z
	exampleBody      = `{"spark_user_id":"stu_123","spark_assignment_id":"asg_456","spark_course_id":"crs_789","submitted_at":"2025-01-01T00:00:00Z"}`
	exampleSignature = "v1,PqHE6mkTFp/NfW02He/bZkN2yU28nXmZenHPblTfWEA="
)

func TestWebhookWorkedExample(t *testing.T) {
	t.Parallel()
	ts := time.Unix(exampleTimestamp, 0)

	sig, err := spark.WebhookSigner{Secret: exampleSecret}.Sign(exampleID, ts, []byte(exampleBody))
	require.NoError(t, err)
	require.Equal(t, exampleSignature, sig)

	// Independently: HMAC-SHA256 keyed by the base64-decoded part after whsec_.
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(exampleSecret, "whsec_"))
	require.NoError(t, err)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(exampleID + "." + strconv.Itoa(exampleTimestamp) + "." + exampleBody))
	require.Equal(t, exampleSignature, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))

	v := spark.WebhookVerifier{Secrets: []string{exampleSecret}, Clock: optio.NewFakeClock(ts.Add(time.Minute))}
	h := http.Header{}
	h.Set("webhook-id", exampleID)
	h.Set("webhook-timestamp", strconv.Itoa(exampleTimestamp))
	h.Set("webhook-signature", exampleSignature)
	id, got, err := v.Verify(h, []byte(exampleBody))
	require.NoError(t, err)
	require.Equal(t, exampleID, id)
	require.True(t, got.Equal(ts))
}

func TestDecodeWebhookSecret(t *testing.T) {
	t.Parallel()
	raw := "my-plain-spark-secret"
	k1, err := optio.DecodeWebhookSecret(raw)
	require.NoError(t, err)
	require.Equal(t, []byte(raw), k1)
	k2, err := optio.DecodeWebhookSecret("whsec_" + base64.StdEncoding.EncodeToString([]byte(raw)))
	require.NoError(t, err)
	require.Equal(t, k1, k2)
	for _, bad := range []string{"", "whsec_", "whsec_not base64!"} {
		_, err := optio.DecodeWebhookSecret(bad)
		require.Error(t, err, bad)
	}
}

type delivery struct {
	h    http.Header
	body []byte
}

func signed(t *testing.T, secret, id string, ts time.Time, body string) delivery {
	t.Helper()
	h, err := spark.WebhookSigner{Secret: secret}.Header(id, ts, []byte(body))
	require.NoError(t, err)
	return delivery{h, []byte(body)}
}

func TestWebhookVerify(t *testing.T) {
	t.Parallel()
	const (
		oldSecret = "old-raw-webhook-secret"
		body      = `{"hello":"spark"}`
	)
	newSecret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("new-webhook-secret-bytes"))
	rotated := []string{oldSecret, newSecret}
	now := t0

	good := func() delivery { return signed(t, newSecret, "msg_1", now, body) }
	mutate := func(f func(d *delivery)) delivery { d := good(); f(&d); return d }

	cases := []struct {
		name     string
		secrets  []string
		d        delivery
		code     string
		contains string
	}{
		{"new secret", rotated, good(), "", ""},
		{"old secret during rotation", rotated, signed(t, oldSecret, "msg_1", now, body), "", ""},
		{"whsec form of the raw secret", []string{"whsec_" + base64.StdEncoding.EncodeToString([]byte(oldSecret))}, signed(t, oldSecret, "msg_1", now, body), "", ""},
		{"4m59s old", rotated, signed(t, newSecret, "msg_1", now.Add(-299*time.Second), body), "", ""},
		{"4m59s ahead", rotated, signed(t, newSecret, "msg_1", now.Add(299*time.Second), body), "", ""},
		{"one of several signatures", rotated, mutate(func(d *delivery) {
			d.h.Set("webhook-signature", "v1,AAAA v2,xyz "+d.h.Get("webhook-signature"))
		}), "", ""},
		{"signature in two header lines", rotated, mutate(func(d *delivery) {
			d.h.Add("webhook-signature", "v1,AAAA")
			d.h["Webhook-Signature"][0], d.h["Webhook-Signature"][1] = "v1,AAAA", d.h["Webhook-Signature"][0]
		}), "", ""},

		{"no secrets", nil, good(), spark.EWebhookNotConfigured, ""},
		{"bad whsec secret", []string{"whsec_%%%"}, good(), spark.EWebhookNotConfigured, "#1"},
		{"wrong secret", []string{"some-other-secret"}, good(), spark.EWebhookBadSignature, ""},
		{"tampered body", rotated, mutate(func(d *delivery) { d.body = []byte(`{"hello":"spork"}`) }), spark.EWebhookBadSignature, ""},
		{"trailing newline added", rotated, mutate(func(d *delivery) { d.body = append(d.body, '\n') }), spark.EWebhookBadSignature, ""},
		{"tampered id", rotated, mutate(func(d *delivery) { d.h.Set("webhook-id", "msg_2") }), spark.EWebhookBadSignature, ""},
		{"tampered timestamp", rotated, mutate(func(d *delivery) { d.h.Set("webhook-timestamp", strconv.FormatInt(now.Unix()+1, 10)) }), spark.EWebhookBadSignature, ""},
		{"v2 only", rotated, mutate(func(d *delivery) {
			d.h.Set("webhook-signature", strings.Replace(d.h.Get("webhook-signature"), "v1,", "v2,", 1))
		}), spark.EWebhookBadSignature, ""},
		{"signature without version", rotated, mutate(func(d *delivery) {
			d.h.Set("webhook-signature", strings.TrimPrefix(d.h.Get("webhook-signature"), "v1,"))
		}), spark.EWebhookBadSignature, ""},
		{"stale", rotated, signed(t, newSecret, "msg_1", now.Add(-301*time.Second), body), spark.EWebhookBadTimestamp, "stale"},
		{"future", rotated, signed(t, newSecret, "msg_1", now.Add(301*time.Second), body), spark.EWebhookBadTimestamp, "future"},
		{"timestamp not a number", rotated, mutate(func(d *delivery) { d.h.Set("webhook-timestamp", "yesterday") }), spark.EWebhookBadTimestamp, "unix seconds"},
		{"timestamp negative", rotated, mutate(func(d *delivery) { d.h.Set("webhook-timestamp", "-5") }), spark.EWebhookBadTimestamp, ""},
		{"timestamp in ms", rotated, signed(t, newSecret, "msg_1", time.Unix(now.UnixMilli(), 0), body), spark.EWebhookBadTimestamp, ""},
		{"missing id", rotated, mutate(func(d *delivery) { d.h.Del("webhook-id") }), spark.EWebhookMissingHeaders, "webhook-id"},
		{"missing timestamp", rotated, mutate(func(d *delivery) { d.h.Del("webhook-timestamp") }), spark.EWebhookMissingHeaders, "webhook-timestamp"},
		{"missing signature", rotated, mutate(func(d *delivery) { d.h.Del("webhook-signature") }), spark.EWebhookMissingHeaders, "webhook-signature"},
		{"no headers", rotated, delivery{http.Header{}, []byte(body)}, spark.EWebhookMissingHeaders, "webhook-id, webhook-timestamp, webhook-signature"},
		{"id too long", rotated, signed(t, newSecret, strings.Repeat("m", 256), now, body), spark.EWebhookMissingHeaders, "webhook-id"},
		{"id with newline", rotated, mutate(func(d *delivery) { d.h["Webhook-Id"] = []string{"msg\n1"} }), spark.EWebhookMissingHeaders, "webhook-id"},
		{"huge signature header", rotated, mutate(func(d *delivery) { d.h.Set("webhook-signature", strings.Repeat("v1,AAAA ", 1000)) }), spark.EWebhookMissingHeaders, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := spark.WebhookVerifier{Secrets: tc.secrets, Clock: optio.NewFakeClock(now)}
			id, ts, err := v.Verify(tc.d.h, tc.d.body)
			if tc.code == "" {
				require.NoError(t, err)
				require.Equal(t, tc.d.h.Get("webhook-id"), id)
				require.False(t, ts.IsZero())
				return
			}
			requireCode(t, err, tc.code)
			require.Empty(t, id)
			if tc.contains != "" {
				require.Contains(t, err.Error(), tc.contains)
			}
		})
	}
}

func TestWebhookCustomTolerance(t *testing.T) {
	t.Parallel()
	clock := optio.NewFakeClock(t0)
	v := spark.WebhookVerifier{Secrets: []string{"s3cret"}, Tolerance: time.Minute, Clock: clock}
	d := signed(t, "s3cret", "msg_1", t0, "{}")
	_, _, err := v.Verify(d.h, d.body)
	require.NoError(t, err)
	clock.Advance(61 * time.Second)
	_, _, err = v.Verify(d.h, d.body)
	requireCode(t, err, spark.EWebhookBadTimestamp)
}

func TestWebhookSignerRejectsBadSecret(t *testing.T) {
	t.Parallel()
	_, err := spark.WebhookSigner{Secret: "whsec_***"}.Sign("id", t0, nil)
	require.Error(t, err)
	_, err = spark.WebhookSigner{}.Header("id", t0, nil)
	require.Error(t, err)
}
