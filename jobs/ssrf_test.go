package jobs_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// TestSyncRefusesSSRFTargets sends file URLs aimed at Optio's own network
// through the real sync path with SPARK_FILE_ALLOW_PRIVATE=false (the
// default): loopback in every spelling, IPv6, a DNS name for loopback, the
// cloud metadata address, and non-HTTP schemes. Each sync fails at once
// (no retry) for that file: it becomes a "could not import" entry naming
// the refusal, nothing is fetched or stored, and it is never linked.
func TestSyncRefusesSSRFTargets(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		b.cfg.SparkFileAllowPrivate = false
		b.runner(t, nil)
		db = b.db // the runner's store: it inserts the jobs
		u, err := url.Parse(b.srv.put("/secret.pdf", pdfBytes()))
		require.NoError(t, err)
		port := u.Port()
		for i, target := range []string{
			"http://127.0.0.1:" + port + "/secret.pdf",
			"http://[::1]:" + port + "/secret.pdf",
			"http://[::ffff:127.0.0.1]:" + port + "/secret.pdf",
			"http://2130706433:" + port + "/secret.pdf",
			"http://0177.0.0.1:" + port + "/secret.pdf",
			"http://0x7f.1:" + port + "/secret.pdf",
			"http://localhost:" + port + "/secret.pdf",
			"http://0.0.0.0:" + port + "/secret.pdf",
			"http://169.254.169.254/latest/meta-data/secret.pdf",
			"http://10.0.0.1/secret.pdf",
			"file:///etc/passwd",
			"gopher://127.0.0.1:" + port + "/_secret",
			"ftp://127.0.0.1/secret.pdf",
		} {
			student := fmt.Sprintf("spark-ssrf-%d", i)
			qid := submit(t, db, student, time.Now(), "", spark.SubmissionFile{URL: target, Type: "pdf", Filename: "secret.pdf"})
			row := waitStatus(t, db, qid, optio.SyncCompleted)
			require.Len(t, row.FileProblems, 1, target)
			require.Equal(t, "secret.pdf", row.FileProblems[0].Filename, target)
			require.Regexp(t, `(?i)refus|not a valid URL`, row.FileProblems[0].Reason, target)
			require.Equal(t, 1, row.Attempts, "%s: a refusal is not retried", target)
			usr, err := db.UserBySparkID(context.Background(), student)
			require.NoError(t, err)
			require.Zero(t, filesOf(t, db, usr.ID), "%s: nothing fetched or stored", target)
			done, err := db.RecentCompletions(context.Background(), usr.ID, 5, 0)
			require.NoError(t, err)
			require.Len(t, done, 1, target)
			require.Len(t, done[0].Evidence.Blocks, 1, target)
			require.Empty(t, done[0].Evidence.Blocks[0].Content.OriginalURL, "%s: never linked", target)
		}
		require.Zero(t, b.srv.hitCount("/secret.pdf"), "no private address was ever contacted")
	})
}
