package web_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
	"github.com/optio-edu/optio/web"
)

// twoHookServers starts two Optio web servers, each with its own store pool,
// over one database: two instances behind a load balancer.
func twoHookServers(t *testing.T, d store.Dialect) (one, two *hookEnv) {
	t.Helper()
	url := storetest.URL(t, d)
	ctx := context.Background()
	cfg, err := optio.LoadConfig(func(k string) string {
		return map[string]string{"SPARK_WEBHOOK_SECRET": hookSecret}[k]
	})
	require.NoError(t, err)
	start := func(migrate bool) *hookEnv {
		db, err := store.Open(ctx, url, nil)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		if migrate {
			require.NoError(t, db.Migrate(ctx))
			_, err = db.W.Exec(`CREATE TABLE test_jobs (queue_id TEXT NOT NULL)`)
			require.NoError(t, err)
		}
		jobs := &recordingEnqueuer{db: db}
		srv := newServer(t, web.Deps{Config: cfg, Store: db.WithEnqueuer(jobs), Logger: slog.New(slog.DiscardHandler)})
		ts := httptest.NewServer(srv)
		t.Cleanup(ts.Close)
		return &hookEnv{t: t, db: db, jobs: jobs, srv: srv, url: ts.URL, signer: spark.WebhookSigner{Secret: hookSecret}}
	}
	return start(true), start(false)
}

// One delivery retried at two instances at once, for a student both already
// know (PostgreSQL's one-statement accept) and for one neither knows yet
// (the full transaction): exactly one 202, one submission revision, one
// queue row, one sync job; every other answer is 200 duplicate.
func TestWebhookExactlyOnceAcrossTwoInstances(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		one, two := twoHookServers(t, d)
		require.Equal(t, http.StatusAccepted, one.send("submission", submission("stu-known", "asg-0", "crs-1", "first")).Status)
		for _, student := range []string{"stu-known", "stu-new"} {
			id := one.newID()
			body := submission(student, "asg-1", "crs-1", "burst")
			const n = 24
			statuses := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				h := one
				if i%2 == 1 {
					h = two
				}
				wg.Go(func() { statuses[i] = h.sendAs("submission", id, time.Now(), h.signer, body).Status })
			}
			wg.Wait()
			accepted, dup := 0, 0
			for _, s := range statuses {
				switch s {
				case http.StatusAccepted:
					accepted++
				case http.StatusOK:
					dup++
				}
			}
			require.Equal(t, 1, accepted, "%s: statuses %v", student, statuses)
			require.Equal(t, n-1, dup, "%s: statuses %v", student, statuses)
			q := `SELECT COUNT(*) FROM spark_evidence_sync_queue q JOIN spark_assignment_submissions s ON s.id = q.submission_id
				WHERE s.spark_user_id = $1 AND s.spark_assignment_id = 'asg-1'`
			require.Equal(t, 1, two.count(q, student), student)
			require.Equal(t, 1, two.count(`SELECT revision FROM spark_assignment_submissions WHERE spark_user_id = $1 AND spark_assignment_id = 'asg-1'`, student))
			require.Equal(t, 1, two.count(`SELECT COUNT(*) FROM test_jobs j JOIN spark_evidence_sync_queue q ON q.id = `+castID(d, "j.queue_id")+`
				JOIN spark_assignment_submissions s ON s.id = q.submission_id WHERE s.spark_user_id = $1 AND s.spark_assignment_id = 'asg-1'`, student))
		}

		// Different deliveries of one assignment at both instances: every one
		// accepted, each a revision of its own with its own queue row.
		const n = 16
		var wg sync.WaitGroup
		statuses := make([]int, n)
		for i := range n {
			h := one
			if i%2 == 1 {
				h = two
			}
			wg.Go(func() {
				statuses[i] = h.send("submission", submission("stu-known", "asg-2", "crs-1", fmt.Sprint(i))).Status
			})
		}
		wg.Wait()
		for _, s := range statuses {
			require.Equal(t, http.StatusAccepted, s, "statuses %v", statuses)
		}
		require.Equal(t, n, one.count(`SELECT revision FROM spark_assignment_submissions WHERE spark_user_id = 'stu-known' AND spark_assignment_id = 'asg-2'`))
		require.Equal(t, n, one.count(`SELECT COUNT(*) FROM spark_evidence_sync_queue q JOIN spark_assignment_submissions s ON s.id = q.submission_id
			WHERE s.spark_assignment_id = 'asg-2'`))
		require.Equal(t, 1, one.count(`SELECT COUNT(*) FROM lms_integrations WHERE external_user_id = 'stu-known'`))
	})
}

// castID compares a TEXT column with a UUID one on PostgreSQL.
func castID(d store.Dialect, col string) string {
	if d == store.Postgres {
		return col + "::uuid"
	}
	return col
}
