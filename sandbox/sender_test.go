package sandbox_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/sandbox"
	"github.com/optio-edu/optio/spark"
)

func TestSenderRetriesWithTheSameWebhookID(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.optio.respond = func(n int, w http.ResponseWriter) {
		if n <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}
	id, err := b.sb.Roster(context.Background(), "spark-stu-leo", "spark-adobe-cert", spark.RosterEnroll)
	require.NoError(t, err)
	b.waitIdle(t)

	ds := b.sb.Deliveries()
	require.Len(t, ds, 1, "one delivery however many attempts")
	d := ds[0]
	require.Equal(t, id, d.WebhookID)
	require.Equal(t, 3, d.Attempts)
	require.Equal(t, http.StatusAccepted, d.StatusCode)
	require.Equal(t, sandbox.DeliveryDelivered, d.State)
	require.Empty(t, d.Error)
	require.Equal(t, b.optio.URL+"/spark/webhook/roster", d.Endpoint)

	reqs := b.optio.requests()
	require.Len(t, reqs, 3)
	for _, r := range reqs {
		require.Equal(t, id, r.Header.Get(spark.HeaderWebhookID), "the webhook-id is kept across retries")
		got, _, err := verifier().Verify(r.Header, r.Body)
		require.NoError(t, err, "each attempt is signed")
		require.Equal(t, id, got)
		ro, err := spark.DecodeRoster(r.Body)
		require.NoError(t, err)
		require.Equal(t, spark.RosterEnroll, ro.Action)
		require.JSONEq(t, `{"spark_user_id":"spark-stu-leo","spark_course_id":"spark-adobe-cert","action":"enroll"}`, string(r.Body),
			"by default the sandbox sends exactly the plan's roster fields")
	}
	require.Equal(t, "active", b.sb.Enrollments("spark-stu-leo")["spark-adobe-cert"].Status)
}

// With OptioExtras the roster webhook also carries occurred_at and names.
func TestRosterWithOptioExtras(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *sandbox.Config) { c.OptioExtras = true })
	_, err := b.sb.Roster(context.Background(), "spark-stu-leo", "spark-adobe-cert", spark.RosterEnroll)
	require.NoError(t, err)
	b.waitIdle(t)
	reqs := b.optio.requests()
	require.Len(t, reqs, 1)
	ro, err := spark.DecodeRoster(reqs[0].Body)
	require.NoError(t, err)
	require.Equal(t, "leo.martinez@spark.example", ro.Email)
	require.Equal(t, "Leo", ro.GivenName)
	require.False(t, ro.OccurredAt.IsZero())
}

func TestSenderDoesNotRetryClientErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.optio.respond = func(n int, w http.ResponseWriter) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":{"code":"invalid_payload","message":"The roster payload is invalid."}}`))
	}
	_, err := b.sb.Roster(context.Background(), "spark-stu-leo", "spark-graphic-design", spark.RosterDrop)
	require.NoError(t, err)
	b.waitIdle(t)
	d := b.sb.Deliveries()[0]
	require.Equal(t, 1, d.Attempts)
	require.Equal(t, http.StatusBadRequest, d.StatusCode)
	require.Equal(t, sandbox.DeliveryFailed, d.State)
	require.Contains(t, d.Error, "not retried")
	require.Contains(t, d.Response, "invalid_payload")
	require.Len(t, b.optio.requests(), 1)
}

func TestSenderGivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *sandbox.Config) { c.Retry.MaxAttempts = 3 })
	b.optio.respond = func(n int, w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) }
	_, err := b.sb.Roster(context.Background(), "spark-stu-ava", "spark-physics", spark.RosterEnroll)
	require.NoError(t, err)
	b.waitIdle(t)
	d := b.sb.Deliveries()[0]
	require.Equal(t, 3, d.Attempts)
	require.Equal(t, sandbox.DeliveryFailed, d.State)
	require.Contains(t, d.Error, "gave up after 3 attempts")
}

func TestSenderHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *sandbox.Config) { c.Retry.MaxDelay = 5 * time.Second })
	b.optio.respond = func(n int, w http.ResponseWriter) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}
	_, err := b.sb.Roster(context.Background(), "spark-stu-ava", "spark-chemistry", spark.RosterEnroll)
	require.NoError(t, err)
	b.waitIdle(t)
	reqs := b.optio.requests()
	require.Len(t, reqs, 2)
	require.GreaterOrEqual(t, reqs[1].At.Sub(reqs[0].At), 900*time.Millisecond, "waited for Retry-After")
	require.Equal(t, sandbox.DeliveryDelivered, b.sb.Deliveries()[0].State)
}

func TestSenderRetriesNetworkErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *sandbox.Config) {
		c.OptioURL = "http://127.0.0.1:1" // nothing listens on port 1
		c.Retry.MaxAttempts = 2
	})
	_, err := b.sb.Roster(context.Background(), "spark-stu-ava", "spark-chemistry", spark.RosterEnroll)
	require.NoError(t, err)
	b.waitIdle(t)
	d := b.sb.Deliveries()[0]
	require.Equal(t, 2, d.Attempts)
	require.Equal(t, 0, d.StatusCode)
	require.Contains(t, d.Error, "connection refused")
}

func TestSenderQueueIsBounded(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var once sync.Once
	started := make(chan struct{})
	b := setup(t, func(c *sandbox.Config) { c.QueueSize, c.Senders = 1, 1 })
	b.optio.respond = func(n int, w http.ResponseWriter) {
		once.Do(func() { close(started) })
		<-release
		w.WriteHeader(http.StatusAccepted)
	}
	ctx := context.Background()
	_, err := b.sb.Roster(ctx, "spark-stu-ava", "spark-chemistry", spark.RosterEnroll)
	require.NoError(t, err)
	<-started // the only sender is busy with the first
	_, err = b.sb.Roster(ctx, "spark-stu-ava", "spark-physics", spark.RosterEnroll)
	require.NoError(t, err, "the queue holds one")
	_, err = b.sb.Roster(ctx, "spark-stu-ava", "spark-advanced-math", spark.RosterEnroll)
	require.Equal(t, optio.EUNAVAILABLE, optio.ErrorCode(err))
	_, enrolled := b.sb.Enrollments("spark-stu-ava")["spark-advanced-math"]
	require.False(t, enrolled, "a webhook that could not be queued changes nothing")
	close(release)
	b.waitIdle(t)
	require.Len(t, b.sb.Deliveries(), 2)
}

func TestSendCourses(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ids, err := b.sb.SendCourses(context.Background())
	require.NoError(t, err)
	require.Len(t, ids, 9)
	b.waitIdle(t)
	seen := map[string]int{}
	for _, r := range b.optio.requests() {
		require.Equal(t, "/spark/webhook/course", r.Path)
		_, _, err := verifier().Verify(r.Header, r.Body)
		require.NoError(t, err)
		c, err := spark.DecodeCourse(r.Body)
		require.NoError(t, err)
		seen[c.SparkCourseID] = len(c.Assignments)
		for _, a := range c.Assignments {
			require.NotNil(t, a.DueAt)
			require.NotNil(t, a.MaxPoints)
		}
	}
	require.Len(t, seen, 9)
	require.Equal(t, 4, seen["spark-physics"])
	require.Equal(t, 3, seen["spark-minecraft-geology"])
}
