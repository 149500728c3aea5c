package sandbox_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/sandbox"
	"github.com/optio-edu/optio/spark"
)

func TestSimulationSubmitsWorkOverTime(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	require.NoError(t, b.sb.StartSimulation(sandbox.Simulation{Students: 3, Every: 5 * time.Millisecond}))
	require.Error(t, b.sb.StartSimulation(sandbox.Simulation{Students: 3}), "one simulation at a time")
	require.Eventually(t, func() bool { return len(b.sb.Submissions()) >= 4 }, 10*time.Second, 10*time.Millisecond)
	b.waitIdle(t)

	kinds := map[string]int{}
	for _, r := range b.optio.requests() {
		kinds[r.Path]++
		if r.Path == "/spark/webhook/submission" {
			s, err := spark.DecodeSubmission(r.Body)
			require.NoError(t, err)
			require.Regexp(t, `^spark-sim-000[1-3]$`, s.SparkUserID)
			require.Len(t, s.Files, 1)
		}
	}
	require.GreaterOrEqual(t, kinds["/spark/webhook/roster"], 6, "each student enrols in two or three courses")
	require.GreaterOrEqual(t, kinds["/spark/webhook/submission"], 4)
	require.Len(t, b.sb.Users(), 4+4+1+3)

	require.Error(t, b.sb.StartSimulation(sandbox.Simulation{Students: 0}))
}
