package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// sparkCourseEnv drives the course paths of one store.
type sparkCourseEnv struct {
	t   *testing.T
	db  *store.DB
	ctx context.Context
	n   int
}

// submit accepts a plan submission (no submitted_at given by Spark: the
// webhook's time stands in) and returns its sync row.
func (e *sparkCourseEnv) submit(user, course, assignment, text string) string {
	e.t.Helper()
	e.n++
	rc, err := e.db.AcceptSparkSubmission(e.ctx, fmt.Sprintf("wh-%d", e.n), optio.SparkSubmissionEvent{SparkUserID: user,
		SparkAssignmentID: assignment, SparkCourseID: course, Text: text, FilesJSON: []byte("[]"), SubmittedAt: time.Now().UTC()})
	require.NoError(e.t, err)
	return rc.SyncID
}

// sync runs one sync of a row as the worker does; it reports whether the
// row had to wait.
func (e *sparkCourseEnv) sync(queueID string) (waiting bool) {
	e.t.Helper()
	w, err := e.db.BeginSync(e.ctx, queueID)
	require.NoError(e.t, err)
	if w.Waiting {
		return true
	}
	_, err = e.db.FinishSync(e.ctx, w, []optio.BlockInput{{BlockType: optio.BlockText, Content: optio.BlockContent{Text: w.Text}}})
	require.NoError(e.t, err)
	return false
}

func (e *sparkCourseEnv) status(queueID string) string {
	e.t.Helper()
	r, err := e.db.SyncQueueRowByID(e.ctx, queueID)
	require.NoError(e.t, err)
	return r.Status
}

func (e *sparkCourseEnv) course(id string) *optio.SparkCourseStatus {
	e.t.Helper()
	c, err := e.db.SparkCourse(e.ctx, id)
	require.NoError(e.t, err)
	return c
}

func (e *sparkCourseEnv) quest(c *optio.SparkCourseStatus) *optio.Quest {
	e.t.Helper()
	require.NotNil(e.t, c.OptioQuestID, "course %s is mapped", c.SparkCourseID)
	q, err := e.db.QuestByID(e.ctx, *c.OptioQuestID)
	require.NoError(e.t, err)
	return q
}

func (e *sparkCourseEnv) xp(sparkUser string) *optio.XPSummary {
	e.t.Helper()
	u, err := e.db.UserBySparkID(e.ctx, sparkUser)
	require.NoError(e.t, err)
	x, err := e.db.XPSummary(e.ctx, u.ID)
	require.NoError(e.t, err)
	return x
}

func eachCourseStore(t *testing.T, autoMap bool, fn func(t *testing.T, e *sparkCourseEnv)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		db = db.WithAutoMap(autoMap)
		fn(t, &sparkCourseEnv{t: t, db: db, ctx: context.Background()})
	})
}

func pts(v float64) *float64 { return &v }

// With auto-map on, a submission for a course and assignment Optio never
// heard of syncs at once into a quest and task named from what is known;
// Spark's data (course webhook or API) then renames them — twice, ending
// with the latest — and sets XP from max_points and the pillar from the
// title, correcting the placeholder award. Nothing is ever left waiting.
func TestAutoMapAtFirstSight(t *testing.T) {
	t.Parallel()
	eachCourseStore(t, true, func(t *testing.T, e *sparkCourseEnv) {
		q1 := e.submit("spark-ana", "crs-pe", "asg-run", "I ran 5 km.")
		require.False(t, e.sync(q1), "auto-map: the submission does not wait")
		require.Equal(t, optio.SyncCompleted, e.status(q1))
		c := e.course("crs-pe")
		require.True(t, c.Mapped)
		require.Equal(t, "Spark course crs-pe", c.QuestTitle)
		q := e.quest(c)
		require.Len(t, q.Tasks, 1)
		require.Equal(t, "Spark assignment asg-run", q.Tasks[0].Title)
		require.Equal(t, optio.PillarSTEM, q.Tasks[0].Pillar, "a placeholder title guesses stem")
		require.Equal(t, 100, e.xp("spark-ana").Total)

		// Spark's data arrives (the API fetch job or a course webhook).
		_, err := e.db.ApplySparkCourse(e.ctx, optio.SparkCourseEvent{SparkCourseID: "crs-pe", Title: "Physical Education", AutoMap: true,
			Assignments: []optio.SparkAssignmentInput{
				{SparkAssignmentID: "asg-run", Title: "Run log", MaxPoints: pts(40)},
				{SparkAssignmentID: "asg-swim", Title: "Swim log", MaxPoints: pts(60)},
			}})
		require.NoError(t, err)
		c = e.course("crs-pe")
		require.Equal(t, "Physical Education", c.QuestTitle)
		require.Equal(t, optio.PillarWellness, c.Pillar)
		require.Equal(t, optio.PillarFromTitle, c.PillarSource)
		q = e.quest(c)
		require.Len(t, q.Tasks, 2)
		byTitle := map[string]optio.Task{}
		for _, task := range q.Tasks {
			byTitle[task.Title] = task
		}
		require.Equal(t, 40, byTitle["Run log"].XPValue, "XP is the assignment's max_points")
		require.Equal(t, optio.PillarWellness, byTitle["Run log"].Pillar)
		require.Equal(t, 60, byTitle["Swim log"].XPValue)
		x := e.xp("spark-ana")
		require.Equal(t, 40, x.Total, "the placeholder award takes the real max_points")
		require.Equal(t, 40, x.ByPillar[optio.PillarWellness])

		// Renamed again: the latest title wins.
		_, err = e.db.ApplySparkCourse(e.ctx, optio.SparkCourseEvent{SparkCourseID: "crs-pe", Title: "PE and Health", AutoMap: true})
		require.NoError(t, err)
		require.Equal(t, "PE and Health", e.course("crs-pe").QuestTitle)
		require.Len(t, e.quest(e.course("crs-pe")).Tasks, 2, "tasks of assignments left out of a later update stay")

		// An unknown assignment in a known course becomes a task; an unknown
		// student is created (provisional), not dropped.
		q2 := e.submit("spark-new-kid", "crs-pe", "asg-yoga", "Sun salutations.")
		require.False(t, e.sync(q2))
		q = e.quest(e.course("crs-pe"))
		require.Len(t, q.Tasks, 3)
		u, err := e.db.UserBySparkID(e.ctx, "spark-new-kid")
		require.NoError(t, err)
		require.True(t, u.Provisional)

		// A course first seen in a roster event or an SSO login is mapped too.
		_, err = e.db.AcceptSparkRoster(e.ctx, "wh-roster-1", optio.SparkRosterEvent{SparkUserID: "spark-ana", SparkCourseID: "crs-art",
			Action: optio.RosterEnroll, OccurredAt: time.Now().UTC()})
		require.NoError(t, err)
		require.True(t, e.course("crs-art").Mapped)
		require.Zero(t, count(t, e.db, "spark_evidence_sync_queue WHERE status = 'waiting'"))
	})
}

// With auto-map off, unknown courses are kept and listed with their waiting
// count; one mapping (a new quest named by Spark) syncs them.
func TestWaitingWorkIsCountedAndMappedInOneStep(t *testing.T) {
	t.Parallel()
	eachCourseStore(t, false, func(t *testing.T, e *sparkCourseEnv) {
		q1 := e.submit("spark-ana", "crs-hist", "asg-essay", "The causes of the war.")
		q2 := e.submit("spark-ben", "crs-hist", "asg-essay", "Another view.")
		require.True(t, e.sync(q1))
		require.True(t, e.sync(q2))
		c := e.course("crs-hist")
		require.False(t, c.Mapped)
		require.Equal(t, 2, c.Waiting)
		require.Equal(t, 1, c.Assignments, "the assignment seen in the submissions is known")

		_, err := e.db.MapSparkCourse(e.ctx, "crs-hist", optio.CourseMapInput{CreateNew: true})
		require.NoError(t, err)
		c = e.course("crs-hist")
		require.True(t, c.Mapped)
		require.Zero(t, c.Waiting)
		require.Equal(t, 2, c.Pending)
		require.Equal(t, "auto", c.MappingMode, "a quest created without a title follows Spark's title")
		require.False(t, e.sync(q1))
		require.False(t, e.sync(q2))
		require.Equal(t, 100, e.xp("spark-ben").Total)

		// Spark's title arrives later and renames the one-click quest.
		_, err = e.db.ApplySparkCourse(e.ctx, optio.SparkCourseEvent{SparkCourseID: "crs-hist", Title: "World History", AutoMap: false})
		require.NoError(t, err)
		c = e.course("crs-hist")
		require.Equal(t, "World History", c.QuestTitle)
		require.Equal(t, optio.PillarCivics, c.Pillar)

		// A course Optio never heard of cannot be mapped.
		_, err = e.db.MapSparkCourse(e.ctx, "never-seen", optio.CourseMapInput{CreateNew: true})
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err))
	})
}

// sync_enabled off keeps submissions waiting; on again, they sync.
// auto_enroll_students off keeps roster events out of the quest. An admin's
// pillar moves the course's tasks and outranks Spark's.
func TestSparkCourseSwitchesAndPillar(t *testing.T) {
	t.Parallel()
	eachCourseStore(t, true, func(t *testing.T, e *sparkCourseEnv) {
		_, err := e.db.ApplySparkCourse(e.ctx, optio.SparkCourseEvent{SparkCourseID: "crs-1", Title: "Studio", AutoMap: true,
			Pillar: optio.PillarCommunication, Assignments: []optio.SparkAssignmentInput{{SparkAssignmentID: "a-1", Title: "Sketch"}}})
		require.NoError(t, err)
		c := e.course("crs-1")
		require.Equal(t, optio.PillarCommunication, c.Pillar)
		require.Equal(t, optio.PillarFromSpark, c.PillarSource)
		require.True(t, c.SyncEnabled)
		require.True(t, c.AutoEnrollStudents)

		off, on := false, true
		_, err = e.db.UpdateSparkCourse(e.ctx, "crs-1", optio.SparkCourseSettings{SyncEnabled: &off, AutoEnrollStudents: &off})
		require.NoError(t, err)
		q1 := e.submit("spark-ana", "crs-1", "a-1", "My sketch.")
		require.True(t, e.sync(q1), "sync is off: the submission is kept and waits")
		require.Equal(t, 1, e.course("crs-1").Waiting)
		_, err = e.db.AcceptSparkRoster(e.ctx, "wh-r", optio.SparkRosterEvent{SparkUserID: "spark-ben", SparkCourseID: "crs-1",
			Action: optio.RosterEnroll, OccurredAt: time.Now().UTC()})
		require.NoError(t, err)
		require.Zero(t, count(t, e.db, "user_quests"), "auto-enrol is off")

		_, err = e.db.UpdateSparkCourse(e.ctx, "crs-1", optio.SparkCourseSettings{SyncEnabled: &on})
		require.NoError(t, err)
		require.Equal(t, optio.SyncPending, e.status(q1), "turned on: the waiting work is queued")
		require.False(t, e.sync(q1))

		art := optio.PillarArt
		c, err = e.db.UpdateSparkCourse(e.ctx, "crs-1", optio.SparkCourseSettings{Pillar: &art})
		require.NoError(t, err)
		require.Equal(t, optio.PillarArt, c.Pillar)
		require.Equal(t, optio.PillarFromAdmin, c.PillarSource)
		require.Equal(t, optio.PillarArt, e.quest(c).Tasks[0].Pillar)
		_, err = e.db.ApplySparkCourse(e.ctx, optio.SparkCourseEvent{SparkCourseID: "crs-1", Title: "Studio", AutoMap: true, Pillar: optio.PillarSTEM})
		require.NoError(t, err)
		require.Equal(t, optio.PillarArt, e.course("crs-1").Pillar, "the admin's pillar wins over Spark's")

		bad := optio.Pillar("music")
		_, err = e.db.UpdateSparkCourse(e.ctx, "crs-1", optio.SparkCourseSettings{Pillar: &bad})
		require.Equal(t, optio.EINVALID, optio.ErrorCode(err))
	})
}
