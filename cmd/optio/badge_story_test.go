package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/app"
	"github.com/optio-edu/optio/sandbox"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// TestPlanBadgeThroughRealWebhooks drives the demo wiring with the sandbox's
// real, signed webhooks: Ava submits the Minecraft courses' assignments (one
// twice), Spark marks Biology complete before its last piece is in, and the
// Minecraft Master badge is awarded exactly once, when the XP bar is cleared.
func TestPlanBadgeThroughRealWebhooks(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		dm := startTestDemo(t, testDemoEnv(t, d), true, app.Options{})

		sample, ok := sandbox.Sample("drawing-png")
		require.True(t, ok)
		earned := func() (bool, int, string) {
			u, err := dm.App.Store.UserBySparkID(ctx, "spark-stu-ava")
			require.NoError(t, err)
			ps, err := dm.App.Store.BadgeProgressFor(ctx, u.ID)
			require.NoError(t, err)
			for _, p := range ps {
				if p.Badge.Name == "Minecraft Master" {
					return p.Earned, p.XP, p.Text
				}
			}
			t.Fatal("Minecraft Master is not seeded")
			return false, 0, ""
		}
		waitSynced := func() {
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			require.NoError(t, dm.Sandbox.WaitIdle(wctx))
			for {
				st, err := dm.App.Store.SyncQueueStats(ctx, 1)
				require.NoError(t, err)
				if st.Counts[optio.SyncPending]+st.Counts[optio.SyncProcessing] == 0 {
					require.Zero(t, st.Counts[optio.SyncFailed], "no sync may fail")
					return
				}
				require.NoError(t, wctx.Err(), "syncs did not finish")
				time.Sleep(50 * time.Millisecond)
			}
		}

		courses := map[string]bool{"spark-minecraft-biology": true, "spark-minecraft-geology": true, "spark-minecraft-zoology": true}
		var all []string
		for _, c := range dm.Sandbox.Courses() {
			if courses[c.ID] {
				for _, a := range c.Assignments {
					all = append(all, a.ID)
				}
			}
		}
		require.Len(t, all, 9)
		// Everything but the last assignment: not earned yet.
		last, rest := all[0], all[1:] // a Biology assignment comes last
		for _, a := range rest {
			_, err := dm.Sandbox.Submit(ctx, "spark-stu-ava", a, "My work on "+a, []sandbox.SampleFile{sample})
			require.NoError(t, err)
		}
		_, err := dm.Sandbox.Submit(ctx, "spark-stu-ava", rest[0], "A better version", []sandbox.SampleFile{sample})
		require.NoError(t, err, "a resubmission")
		waitSynced()
		// No course webhooks: Optio reads each course's assignments from the
		// sandbox's API when it first meets the course.
		require.Eventually(t, func() bool {
			for id := range courses {
				c, err := dm.App.Store.SparkCourse(ctx, id)
				if err != nil || c.Title == "" {
					return false
				}
			}
			return true
		}, 30*time.Second, 20*time.Millisecond, "every course named by Spark's API")
		got, _, text := earned()
		require.False(t, got)
		require.Contains(t, text, "Complete 1 more Spark course")

		// Spark says Biology is complete: the courses are done, the XP is not.
		_, err = dm.Sandbox.Roster(ctx, "spark-stu-ava", "spark-minecraft-biology", spark.RosterComplete)
		require.NoError(t, err)
		waitSynced()
		got, xp, text := earned()
		require.False(t, got, "XP %d is below the bar", xp)
		require.Contains(t, text, "more XP")

		// Ava re-enrols and hands in the missing piece, which clears the XP bar.
		_, err = dm.Sandbox.Roster(ctx, "spark-stu-ava", "spark-minecraft-biology", spark.RosterEnroll)
		require.NoError(t, err)
		waitSynced()
		_, err = dm.Sandbox.Submit(ctx, "spark-stu-ava", last, "The last one", []sandbox.SampleFile{sample})
		require.NoError(t, err)
		waitSynced()
		// The badge re-check runs just after the sync commits.
		for i := 0; i < 100; i++ {
			if got, xp, _ = earned(); got {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		require.True(t, got)
		require.GreaterOrEqual(t, xp, 900)
		ava, err := dm.App.Store.UserBySparkID(ctx, "spark-stu-ava")
		require.NoError(t, err)
		var awards int
		require.NoError(t, dm.App.Store.R.QueryRow(`SELECT COUNT(*) FROM user_badges WHERE user_id = $1`, ava.ID).Scan(&awards))
		require.Equal(t, 1, awards, "awarded exactly once")
	})
}
