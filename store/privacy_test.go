package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// Retention purges exactly what is past its period on the store's (injected)
// clock, and keeps the rest.
func TestRetentionPurgesOnTheInjectedClock(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		clock := optio.NewFakeClock(start)
		db := storetest.Open(t, d, clock)
		stu := storetest.MustCreateUser(t, db, optio.RoleStudent, "Ret", "Ention")
		exec := func(q string, args ...any) {
			t.Helper()
			_, err := db.W.ExecContext(ctx, q, args...)
			require.NoError(t, err)
		}
		// seed writes one of each kind "now" on the clock.
		seed := func(tag string) (convID string) {
			conv, err := db.CreateTutorConversation(ctx, optio.NewTutorConversation{UserID: stu.ID, Mode: "teacher", Title: tag})
			require.NoError(t, err)
			_, err = db.CreateSession(ctx, stu.ID, "hash-"+tag, time.Hour)
			require.NoError(t, err)
			now := clock.Now()
			exec(`INSERT INTO sso_nonces (nonce, expires_at) VALUES ($1, $2)`, "nonce-"+tag, now.Add(10*time.Minute))
			exec(`INSERT INTO webhook_deliveries (webhook_id, endpoint, outcome, received_at) VALUES ($1, 'submission', 'accepted', $2)`, "msg-"+tag, now)
			sub, qid := uuid.NewString(), uuid.NewString()
			exec(`INSERT INTO spark_assignment_submissions (id, user_id, spark_user_id, spark_assignment_id, spark_course_id, submission_files, submitted_at, created_at, updated_at)
				VALUES ($1, $2, 'sp', $3, 'c', '[]', $4, $4, $4)`, sub, stu.ID, "asg-"+tag, now)
			exec(`INSERT INTO spark_evidence_sync_queue (id, submission_id, revision, status, error_message, created_at, updated_at)
				VALUES ($1, $2, 1, 'failed', $3, $4, $4)`, qid, sub, "fetch "+tag+".pdf: refused", now)
			require.NoError(t, db.AddHealthCounts(ctx, []optio.HealthCount{{Hour: now, Metric: optio.HealthSSO, Outcome: "ok-" + tag, N: 3}}))
			return conv.ID
		}
		oldConv := seed("old")
		clock.Advance(400 * 24 * time.Hour)
		newConv := seed("new")

		policy := optio.Retention{TutorConversations: 365 * 24 * time.Hour, SSONonces: time.Hour, WebhookDeliveries: 30 * 24 * time.Hour,
			Sessions: 24 * time.Hour, SyncErrors: 90 * 24 * time.Hour}
		n, _, err := db.PurgeExpired(ctx, policy, clock.Now())
		require.NoError(t, err)
		require.Equal(t, optio.Purged{TutorConversations: 1, SSONonces: 1, WebhookDeliveries: 1, Sessions: 1, SyncErrors: 1, HealthHourly: 1}, *n)

		_, err = db.TutorConversation(ctx, stu.ID, oldConv)
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err), "the year-old conversation is gone")
		_, err = db.TutorConversation(ctx, stu.ID, newConv)
		require.NoError(t, err, "today's conversation stays")
		count := func(q string, args ...any) int {
			var c int
			require.NoError(t, db.R.QueryRowContext(ctx, q, args...).Scan(&c))
			return c
		}
		require.Equal(t, 1, count(`SELECT COUNT(*) FROM sessions WHERE user_id = $1`, stu.ID))
		require.Equal(t, 1, count(`SELECT COUNT(*) FROM sso_nonces WHERE nonce = 'nonce-new'`))
		require.Equal(t, 0, count(`SELECT COUNT(*) FROM sso_nonces WHERE nonce = 'nonce-old'`))
		require.Equal(t, 1, count(`SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = 'msg-new'`))
		require.Equal(t, 0, count(`SELECT COUNT(*) FROM spark_evidence_sync_queue WHERE error_message LIKE '%old.pdf%'`))
		require.Equal(t, 1, count(`SELECT COUNT(*) FROM spark_evidence_sync_queue WHERE error_message LIKE '%new.pdf%'`))
		require.Equal(t, 2, count(`SELECT COUNT(*) FROM spark_evidence_sync_queue`), "the sync history stays, only its error text goes")
		require.Equal(t, 0, count(`SELECT COUNT(*) FROM health_hourly WHERE outcome = 'ok-old'`), "health counts past the report's history go")
		require.Equal(t, 1, count(`SELECT COUNT(*) FROM health_hourly WHERE outcome = 'ok-new'`))

		// Health counts go at HealthHistory, whatever the configured periods:
		// a count at its edge stays, one an hour older goes.
		edge := clock.Now().Truncate(time.Hour)
		require.NoError(t, db.AddHealthCounts(ctx, []optio.HealthCount{
			{Hour: edge.Add(-optio.HealthHistory), Metric: optio.HealthSSO, Outcome: "edge-in", N: 1},
			{Hour: edge.Add(-optio.HealthHistory - time.Hour), Metric: optio.HealthSSO, Outcome: "edge-out", N: 1},
		}))
		n, _, err = db.PurgeExpired(ctx, optio.Retention{}, edge)
		require.NoError(t, err)
		require.Equal(t, optio.Purged{HealthHourly: 1}, *n)
		require.Equal(t, 1, count(`SELECT COUNT(*) FROM health_hourly WHERE outcome = 'edge-in'`))
		require.Equal(t, 0, count(`SELECT COUNT(*) FROM health_hourly WHERE outcome = 'edge-out'`))

		// A second pass finds nothing more; a zero period keeps everything.
		n, _, err = db.PurgeExpired(ctx, policy, clock.Now())
		require.NoError(t, err)
		require.Equal(t, optio.Purged{}, *n)
		clock.Advance(10 * 365 * 24 * time.Hour)
		n, _, err = db.PurgeExpired(ctx, optio.Retention{}, clock.Now())
		require.NoError(t, err)
		require.Equal(t, optio.Purged{HealthHourly: 2}, *n, "a zero period keeps everything configurable; health counts still age out")
		require.Equal(t, 1, count(`SELECT COUNT(*) FROM tutor_conversations WHERE id = $1`, newConv))
	})
}

// Two requests at once make one live request; a pending deletion can be
// cancelled, falls due on the clock, and a cancelled one never does.
func TestDataRequestsAreOnePerStudentAndKind(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		clock := optio.NewFakeClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
		db := storetest.Open(t, d, clock)
		stu := storetest.MustCreateUser(t, db, optio.RoleStudent, "Twice", "AtOnce")
		parent := storetest.MustCreateUser(t, db, optio.RoleParent, "Pa", "Rent")

		ids := make([]string, 8)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := db.RequestExport(ctx, stu.ID, parent.ID)
				require.NoError(t, err)
				ids[i] = r.ID
			}()
		}
		wg.Wait()
		for _, id := range ids {
			require.Equal(t, ids[0], id, "every concurrent request got the one live request")
		}

		due := clock.Now().Add(72 * time.Hour)
		del, err := db.RequestDeletion(ctx, stu.ID, parent.ID, due)
		require.NoError(t, err)
		again, err := db.RequestDeletion(ctx, stu.ID, stu.ID, due.Add(time.Hour))
		require.NoError(t, err)
		require.Equal(t, del.ID, again.ID)
		list, err := db.DueDeletions(ctx, clock.Now())
		require.NoError(t, err)
		require.Empty(t, list, "not due during the cooling-off")
		list, err = db.DueDeletions(ctx, due)
		require.NoError(t, err)
		require.Len(t, list, 1)

		c, err := db.CancelDeletion(ctx, stu.ID, parent.ID)
		require.NoError(t, err)
		require.Equal(t, optio.RequestCancelled, c.Status)
		list, err = db.DueDeletions(ctx, due.Add(time.Hour))
		require.NoError(t, err)
		require.Empty(t, list, "a cancelled deletion never falls due")
		_, err = db.CancelDeletion(ctx, stu.ID, parent.ID)
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err))
		_, err = db.ClaimDataRequest(ctx, del.ID)
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err), "a cancelled deletion cannot be claimed by a late job")

		// Not for non-students.
		_, err = db.RequestExport(ctx, parent.ID, parent.ID)
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err))
	})
}
