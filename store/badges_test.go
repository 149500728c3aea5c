package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// The Spark rows below are what the course webhook, roster webhook and
// evidence-sync worker write; these helpers write them directly with SQL.

// sparkCourse is a mapped Spark course: its quest, and per assignment the
// task and XP.
type sparkCourse struct {
	id          string
	questID     string
	assignments []sparkAssignment
}

type sparkAssignment struct {
	id, taskID string
	xp         int
}

// mustMapCourse writes what a course webhook does: a quest (source lms),
// its tasks, the course mapping and the assignments.
func mustMapCourse(t *testing.T, db *store.DB, courseID, title string, xps ...int) sparkCourse {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	c := sparkCourse{id: courseID, questID: newUUID()}
	execSQL(t, db, `INSERT INTO quests (id, title, source, lms_platform, lms_course_id, active, created_at, updated_at) VALUES ($1,$2,'lms','spark',$3,TRUE,$4,$4)`,
		c.questID, title, courseID, now)
	execSQL(t, db, `INSERT INTO spark_course_mappings (id, spark_course_id, course_title, optio_quest_id, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$5)`,
		newUUID(), courseID, title, c.questID, now)
	for i, xp := range xps {
		a := sparkAssignment{id: fmt.Sprintf("%s-a%d", courseID, i+1), taskID: newUUID(), xp: xp}
		execSQL(t, db, `INSERT INTO tasks (id, quest_id, title, pillar, xp_value, position, lms_assignment_id, created_at, updated_at) VALUES ($1,$2,$3,'stem',$4,$5,$6,$7,$7)`,
			a.taskID, c.questID, a.id, xp, i, a.id, now)
		execSQL(t, db, `INSERT INTO spark_assignments (spark_assignment_id, spark_course_id, title, optio_task_id, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$5)`,
			a.id, courseID, a.id, a.taskID, now)
		c.assignments = append(c.assignments, a)
	}
	_ = ctx
	return c
}

// roster writes what a roster webhook does.
func roster(t *testing.T, db *store.DB, userID, courseID, status string) {
	t.Helper()
	now := time.Now().UTC()
	execSQL(t, db, `INSERT INTO spark_enrollments (user_id, spark_course_id, status, occurred_at, updated_at) VALUES ($1,$2,$3,$4,$4)
		ON CONFLICT (user_id, spark_course_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at`, userID, courseID, status, now)
}

// synced writes a submission the evidence-sync worker has synced.
func synced(t *testing.T, db *store.DB, userID, courseID string, a sparkAssignment) {
	t.Helper()
	now := time.Now().UTC()
	execSQL(t, db, `INSERT INTO spark_assignment_submissions (id, user_id, spark_user_id, spark_assignment_id, spark_course_id, submission_files, submitted_at, synced_to_optio, created_at, updated_at)
		VALUES ($1,$2,'spark-user',$3,$4,'[]',$5,TRUE,$5,$5) ON CONFLICT (user_id, spark_assignment_id) DO UPDATE SET synced_to_optio = TRUE`,
		newUUID(), userID, a.id, courseID, now)
}

// earnXP writes the completion and XP the evidence-sync worker awards.
func earnXP(t *testing.T, db *store.DB, userID, questID string, a sparkAssignment) {
	t.Helper()
	now := time.Now().UTC()
	execSQL(t, db, `INSERT INTO quest_task_completions (id, user_id, task_id, quest_id, source, completed_at, updated_at) VALUES ($1,$2,$3,$4,'spark',$5,$5)
		ON CONFLICT (user_id, task_id) DO NOTHING`, newUUID(), userID, a.taskID, questID, now)
	execSQL(t, db, `INSERT INTO xp_ledger (id, user_id, task_id, pillar, amount, created_at) VALUES ($1,$2,$3,'stem',$4,$5)
		ON CONFLICT (user_id, task_id) DO NOTHING`, newUUID(), userID, a.taskID, a.xp, now)
}

func execSQL(t *testing.T, db *store.DB, q string, args ...any) {
	t.Helper()
	_, err := db.W.ExecContext(context.Background(), q, args...)
	require.NoError(t, err)
}

func newUUID() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(rand.IntN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func intp(n int) *int             { return &n }
func strp(s string) *string       { return &s }
func strsp(s ...string) *[]string { return &s }

// planCourses maps the three plan badges' courses, two assignments each,
// with XP adding up to exactly the badge's requirement.
func planCourses(t *testing.T, db *store.DB) map[string][]sparkCourse {
	t.Helper()
	out := map[string][]sparkCourse{}
	for badge, spec := range map[string]struct {
		ids []string
		xp  int
	}{
		"STEM Scholar":         {[]string{"spark-physics", "spark-chemistry", "spark-advanced-math"}, 250},
		"Digital Arts Creator": {[]string{"spark-graphic-design", "spark-illustration", "spark-adobe-cert"}, 125},
		"Minecraft Master":     {[]string{"spark-minecraft-biology", "spark-minecraft-geology", "spark-minecraft-zoology"}, 150},
	} {
		for _, id := range spec.ids {
			out[badge] = append(out[badge], mustMapCourse(t, db, id, "Course "+id, spec.xp, spec.xp))
		}
	}
	return out
}

// event is one thing Spark or the sync worker does.
type event struct {
	kind   string // roster, sync, xp
	course int
	asg    int
}

// model is the test's own statement of the rules, to say when the badge must
// be earned.
type model struct {
	roster map[int]bool
	synced map[[2]int]bool
	xp     map[[2]int]bool
}

func (m model) qualifies(courses []sparkCourse, xpRequired int) bool {
	total := 0
	for ci, c := range courses {
		all := true
		for ai, a := range c.assignments {
			all = all && m.synced[[2]int{ci, ai}]
			if m.xp[[2]int{ci, ai}] {
				total += a.xp
			}
		}
		if !m.roster[ci] && !all {
			return false
		}
	}
	return total >= xpRequired
}

func allEvents(kinds ...string) []event {
	var out []event
	for _, k := range kinds {
		for c := range 3 {
			if k == "roster" {
				out = append(out, event{k, c, 0})
				continue
			}
			for a := range 2 {
				out = append(out, event{k, c, a})
			}
		}
	}
	return out
}

func syncsWithXP() []event {
	var out []event
	for c := range 3 {
		for a := range 2 {
			out = append(out, event{"sync", c, a}, event{"xp", c, a})
		}
	}
	return out
}

func shuffled(seed uint64, dup bool) []event {
	ev := allEvents("roster", "sync", "xp")
	if dup {
		ev = append(ev, allEvents("sync", "xp", "roster")...)
	}
	r := rand.New(rand.NewPCG(seed, seed))
	r.Shuffle(len(ev), func(i, j int) { ev[i], ev[j] = ev[j], ev[i] })
	return ev
}

func TestPlanBadgesAwardedExactlyWhenEarned(t *testing.T) {
	t.Parallel()
	orderings := map[string][]event{
		"syncs only, course by course":        syncsWithXP(),
		"roster complete before syncs":        append(allEvents("roster"), syncsWithXP()...),
		"roster complete after syncs":         append(syncsWithXP(), allEvents("roster")...),
		"XP arriving last":                    append(allEvents("roster", "sync"), allEvents("xp")...),
		"XP first, then syncs":                allEvents("xp", "sync"),
		"XP first, then roster":               allEvents("xp", "roster"),
		"duplicates of every event":           append(append(syncsWithXP(), syncsWithXP()...), allEvents("roster", "roster")...),
		"interleaved with duplicates, seed 1": shuffled(1, true),
		"interleaved with duplicates, seed 2": shuffled(2, true),
		"interleaved, seed 3":                 shuffled(3, false),
		"interleaved, seed 4":                 shuffled(4, false),
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		require.NoError(t, db.SeedPlanBadges(ctx))
		require.NoError(t, db.SeedPlanBadges(ctx), "seeding is idempotent")
		badges, err := db.ListBadges(ctx, false)
		require.NoError(t, err)
		require.Len(t, badges, 3)
		courses := planCourses(t, db)
		i := 0
		for _, b := range badges {
			for name, events := range orderings {
				// Distinct names: concurrent students with one name race for a slug.
				i++
				given := fmt.Sprintf("Stu%d", i)
				t.Run(b.Name+"/"+name, func(t *testing.T) {
					t.Parallel()
					student := storetest.MustCreateUser(t, db, optio.RoleStudent, given, "Dent")
					m := model{roster: map[int]bool{}, synced: map[[2]int]bool{}, xp: map[[2]int]bool{}}
					cs := courses[b.Name]
					awardedAt := -1
					for i, e := range events {
						c := cs[e.course]
						switch e.kind {
						case "roster":
							roster(t, db, student.ID, c.id, "completed")
							m.roster[e.course] = true
						case "sync":
							synced(t, db, student.ID, c.id, c.assignments[e.asg])
							m.synced[[2]int{e.course, e.asg}] = true
						case "xp":
							earnXP(t, db, student.ID, c.questID, c.assignments[e.asg])
							m.xp[[2]int{e.course, e.asg}] = true
						}
						got, err := db.AwardBadges(ctx, student.ID)
						require.NoError(t, err)
						if awardedAt < 0 && m.qualifies(cs, b.XPRequired) {
							require.Len(t, got, 1, "%s / %s: awarded the moment the last condition is met (event %d %v)", b.Name, name, i, e)
							require.Equal(t, b.ID, got[0].ID)
							awardedAt = i
						} else {
							require.Empty(t, got, "%s / %s: nothing new at event %d %v", b.Name, name, i, e)
						}
					}
					require.GreaterOrEqual(t, awardedAt, 0, "%s / %s: earned by the end", b.Name, name)
					var n int
					require.NoError(t, db.R.QueryRow(`SELECT COUNT(*) FROM user_badges WHERE user_id = $1`, student.ID).Scan(&n))
					require.Equal(t, 1, n, "%s / %s: exactly one award", b.Name, name)
				})
			}
		}
	})
}

func TestBadgeCreatedAfterTheFactAwardsThoseWhoQualify(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := mustMapCourse(t, db, "spark-robotics", "Robotics", 100, 100)
		done := storetest.MustCreateUser(t, db, optio.RoleStudent, "Ada", "Done")
		half := storetest.MustCreateUser(t, db, optio.RoleStudent, "Hal", "Half")
		for _, a := range c.assignments {
			synced(t, db, done.ID, c.id, a)
			earnXP(t, db, done.ID, c.questID, a)
		}
		synced(t, db, half.ID, c.id, c.assignments[0])
		earnXP(t, db, half.ID, c.questID, c.assignments[0])

		b, err := db.CreateBadge(ctx, optio.BadgeInput{Name: strp("Robot Builder"), RequiredCourses: strsp("spark-robotics"), XPRequired: intp(200)})
		require.NoError(t, err)
		n, err := db.AwardBadgesAll(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		_, err = db.EarnedBadge(ctx, done.ID, b.ID)
		require.NoError(t, err)
		_, err = db.EarnedBadge(ctx, half.ID, b.ID)
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err))

		// Lowering the bar (an edit) awards the second student too.
		_, err = db.UpdateBadge(ctx, b.ID, optio.BadgeInput{XPRequired: intp(100), RequiredCourses: strsp("spark-robotics")})
		require.NoError(t, err)
		roster(t, db, half.ID, c.id, "completed")
		n, err = db.AwardBadgesAll(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		n, err = db.AwardBadgesAll(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "a second pass awards nothing")
	})
}

// A course webhook re-checks only that course's students: one of another
// course is not looked at, however many there are.
func TestAwardBadgesInCourseChecksOnlyItsStudents(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		robotics := mustMapCourse(t, db, "spark-robotics", "Robotics", 100)
		art := mustMapCourse(t, db, "spark-art", "Art", 100)
		ada := storetest.MustCreateUser(t, db, optio.RoleStudent, "Ada", "Robot")
		synced(t, db, ada.ID, robotics.id, robotics.assignments[0])
		earnXP(t, db, ada.ID, robotics.questID, robotics.assignments[0])
		bo := storetest.MustCreateUser(t, db, optio.RoleStudent, "Bo", "Art")
		synced(t, db, bo.ID, art.id, art.assignments[0])
		earnXP(t, db, bo.ID, art.questID, art.assignments[0])
		b, err := db.CreateBadge(ctx, optio.BadgeInput{Name: strp("Robot Builder"), RequiredCourses: strsp("spark-robotics"), XPRequired: intp(100)})
		require.NoError(t, err)

		n, err := db.AwardBadgesInCourse(ctx, "spark-art")
		require.NoError(t, err)
		require.Zero(t, n, "Ada is not a student of Art")
		_, err = db.EarnedBadge(ctx, ada.ID, b.ID)
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err))

		n, err = db.AwardBadgesInCourse(ctx, "spark-robotics")
		require.NoError(t, err)
		require.Equal(t, 1, n)
		_, err = db.EarnedBadge(ctx, ada.ID, b.ID)
		require.NoError(t, err)
	})
}

func TestConcurrentAwardsAwardOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := mustMapCourse(t, db, "spark-music", "Music", 50)
		_, err := db.CreateBadge(ctx, optio.BadgeInput{Name: strp("Musician"), RequiredCourses: strsp("spark-music"), XPRequired: intp(50)})
		require.NoError(t, err)
		stu := storetest.MustCreateUser(t, db, optio.RoleStudent, "Con", "Current")
		synced(t, db, stu.ID, c.id, c.assignments[0])
		earnXP(t, db, stu.ID, c.questID, c.assignments[0])

		var mu sync.Mutex
		total := 0
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				var n int
				var err error
				if i%3 == 0 {
					n, err = db.AwardBadgesAll(ctx)
				} else {
					var got []optio.Badge
					got, err = db.AwardBadges(ctx, stu.ID)
					n = len(got)
				}
				require.NoError(t, err)
				mu.Lock()
				total += n
				mu.Unlock()
			})
		}
		wg.Wait()
		require.Equal(t, 1, total, "exactly one call reports the award")
		var rows int
		require.NoError(t, db.R.QueryRow(`SELECT COUNT(*) FROM user_badges WHERE user_id = $1`, stu.ID).Scan(&rows))
		require.Equal(t, 1, rows)
	})
}

func TestBadgeProgressTextAndLinks(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		clock := optio.NewFakeClock(time.Date(2026, 3, 3, 15, 0, 0, 0, time.UTC))
		db := storetest.Open(t, d, clock)
		ctx := context.Background()
		require.NoError(t, db.SeedPlanBadges(ctx))
		phys := mustMapCourse(t, db, "spark-physics", "Physics", 500, 500)
		chem := mustMapCourse(t, db, "spark-chemistry", "Chemistry", 250)
		// spark-advanced-math is not mapped yet: its id stands in for a title.
		other := mustMapCourse(t, db, "spark-cooking", "Cooking", 900)
		stu := storetest.MustCreateUser(t, db, optio.RoleStudent, "Pro", "Gress")
		optioQuest := storetest.MustCreateQuest(t, db, "Garden", 700, optio.PillarSTEM)
		_, err := db.CompleteTask(ctx, optio.CompletionInput{UserID: stu.ID, TaskID: optioQuest.Tasks[0].ID,
			Blocks: []optio.BlockInput{{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "done"}}}})
		require.NoError(t, err)
		synced(t, db, stu.ID, other.id, other.assignments[0])
		earnXP(t, db, stu.ID, other.questID, other.assignments[0])

		progress := func() optio.BadgeProgress {
			ps, err := optio.BadgeProgressWithLinks(db, "https://onfire.test/c/{course_id}?ref=optio")(ctx, stu.ID)
			require.NoError(t, err)
			for _, p := range ps {
				if p.Badge.Name == "STEM Scholar" {
					return p
				}
			}
			t.Fatal("STEM Scholar missing from progress")
			return optio.BadgeProgress{}
		}
		p := progress()
		require.Equal(t, "Complete 3 more Spark courses to earn this badge", p.Text)
		require.Zero(t, p.XP, "XP in other courses and Optio quests does not count")
		require.Equal(t, 1500, p.XPRequired)

		roster(t, db, stu.ID, phys.id, "completed")
		earnXP(t, db, stu.ID, phys.questID, phys.assignments[0])
		p = progress()
		require.Equal(t, "Complete 2 more Spark courses to earn this badge", p.Text)
		require.Equal(t, []optio.CourseRef{{SparkCourseID: "spark-physics", Title: "Physics"}}, p.CoursesDone)
		require.Equal(t, []optio.CourseRef{
			{SparkCourseID: "spark-advanced-math", Title: "spark-advanced-math", CatalogURL: "https://onfire.test/c/spark-advanced-math?ref=optio"},
			{SparkCourseID: "spark-chemistry", Title: "Chemistry", CatalogURL: "https://onfire.test/c/spark-chemistry?ref=optio"},
		}, p.CoursesMissing)
		require.Equal(t, 500, p.XP)
		require.Equal(t, 33, p.Percent) // (1/3 + 500/1500) / 2

		synced(t, db, stu.ID, chem.id, chem.assignments[0])
		roster(t, db, stu.ID, "spark-advanced-math", "enrolled")
		p = progress()
		require.Equal(t, "Complete 1 more Spark course to earn this badge", p.Text)
		roster(t, db, stu.ID, "spark-advanced-math", "completed")
		p = progress()
		require.Equal(t, "Earn 1,000 more XP in these courses to earn this badge", p.Text)
		require.Empty(t, p.CoursesMissing)

		earnXP(t, db, stu.ID, phys.questID, phys.assignments[1])
		earnXP(t, db, stu.ID, chem.questID, chem.assignments[0])
		p = progress()
		require.False(t, p.Earned)
		require.Equal(t, 1250, p.XP)
		_, err = db.AwardBadges(ctx, stu.ID)
		require.NoError(t, err)
		require.False(t, progress().Earned)

		// A 250 XP Optio-made task added to the Chemistry quest counts: it is
		// XP earned in the course.
		extra, err := db.CreateTask(ctx, chem.questID, optio.TaskInput{Title: "Lab report", Pillar: optio.PillarSTEM, XPValue: intp(250)})
		require.NoError(t, err)
		_, err = db.CompleteTask(ctx, optio.CompletionInput{UserID: stu.ID, TaskID: extra.ID, Source: "spark",
			Blocks: []optio.BlockInput{{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "report"}}}})
		require.NoError(t, err)
		got, err := db.AwardBadges(ctx, stu.ID)
		require.NoError(t, err)
		require.Len(t, got, 1)
		p = progress()
		require.True(t, p.Earned)
		require.Equal(t, "Earned on 3 Mar 2026", p.Text)
		require.Equal(t, 100, p.Percent)

		// Losing a condition keeps the badge; retiring it too.
		roster(t, db, stu.ID, phys.id, "dropped")
		execSQL(t, db, `DELETE FROM xp_ledger WHERE user_id = $1`, stu.ID)
		_, err = db.RetireBadge(ctx, p.Badge.ID)
		require.NoError(t, err)
		got, err = db.AwardBadges(ctx, stu.ID)
		require.NoError(t, err)
		require.Empty(t, got)
		p = progress()
		require.True(t, p.Earned)
		require.False(t, p.Badge.Active)
		require.Equal(t, "Earned on 3 Mar 2026", p.Text)
		aw, err := db.EarnedBadge(ctx, stu.ID, p.Badge.ID)
		require.NoError(t, err)
		require.JSONEq(t, `{"courses":[{"spark_course_id":"spark-advanced-math","title":"","completed_by":"spark","xp":0},
			{"spark_course_id":"spark-chemistry","title":"Chemistry","completed_by":"submissions","xp":500},
			{"spark_course_id":"spark-physics","title":"Physics","completed_by":"spark","xp":1000}],"xp":1500,"xp_required":1500}`, string(aw.Evidence))

		// A student who never earned it no longer sees the retired badge.
		fresh := storetest.MustCreateUser(t, db, optio.RoleStudent, "New", "Comer")
		ps, err := db.BadgeProgressFor(ctx, fresh.ID)
		require.NoError(t, err)
		require.Len(t, ps, 2)
	})
}

func TestBadgeValidation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mustMapCourse(t, db, "spark-known", "Known")
		b, err := db.CreateBadge(ctx, optio.BadgeInput{Name: strp("  Star  "), RequiredCourses: strsp("spark-known", " spark-known ", "spark-new"), Pillar: strp("art")})
		require.NoError(t, err)
		require.Equal(t, "Star", b.Name)
		require.Equal(t, []string{"spark-known", "spark-new"}, b.RequiredCourses)
		require.Equal(t, optio.PillarArt, *b.Pillar)
		require.Zero(t, b.XPRequired)
		require.True(t, b.Active)
		unknown, err := db.UnknownSparkCourses(ctx, b.RequiredCourses)
		require.NoError(t, err)
		require.Equal(t, []string{"spark-new"}, unknown)

		_, err = db.CreateBadge(ctx, optio.BadgeInput{Name: strp("STAR"), RequiredCourses: strsp("x")})
		require.Equal(t, optio.ECONFLICT, optio.ErrorCode(err), "names are unique ignoring case")
		other, err := db.CreateBadge(ctx, optio.BadgeInput{Name: strp("Moon"), RequiredCourses: strsp("x")})
		require.NoError(t, err)
		_, err = db.UpdateBadge(ctx, other.ID, optio.BadgeInput{Name: strp("star")})
		require.Equal(t, optio.ECONFLICT, optio.ErrorCode(err))

		_, err = db.CreateBadge(ctx, optio.BadgeInput{Name: strp("Bad"), RequiredCourses: strsp(" "), XPRequired: intp(-1), Pillar: strp("space")})
		var oe *optio.Error
		require.ErrorAs(t, err, &oe)
		require.Equal(t, optio.EINVALID, oe.Code)
		require.Contains(t, oe.Fields, "required_courses")
		require.Contains(t, oe.Fields, "xp_required")
		require.Contains(t, oe.Fields, "pillar")

		// A failed edit changes nothing.
		_, err = db.UpdateBadge(ctx, other.ID, optio.BadgeInput{Name: strp("Star"), RequiredCourses: strsp("y")})
		require.Error(t, err)
		got, err := db.BadgeByID(ctx, other.ID)
		require.NoError(t, err)
		require.Equal(t, []string{"x"}, got.RequiredCourses)
		require.Equal(t, "Moon", got.Name)

		_, err = db.UpdateBadge(ctx, newUUID(), optio.BadgeInput{Name: strp("Gone")})
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err))
		_, err = db.BadgeByID(ctx, "not-a-uuid")
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err))
	})
}

func TestSigningKeyIsSharedAcrossCallersAndRotates(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var mu sync.Mutex
		kids := map[string]bool{}
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				keys, err := db.SigningKeys(ctx, "test", "ES256", func() (string, error) { return fmt.Sprintf("key-%d", i), nil })
				require.NoError(t, err)
				require.Len(t, keys, 1)
				require.Equal(t, "ES256", keys[0].Alg)
				mu.Lock()
				kids[keys[0].KID] = true
				mu.Unlock()
			})
		}
		wg.Wait()
		require.Len(t, kids, 1, "every caller gets the one stored key")

		// Asking for another algorithm retires the old key and keeps it.
		keys, err := db.SigningKeys(ctx, "test", "RS256", func() (string, error) { return "rsa-1", nil })
		require.NoError(t, err)
		require.Len(t, keys, 2)
		require.Equal(t, "RS256", keys[0].Alg)
		require.Nil(t, keys[0].RetiredAt)
		require.NotNil(t, keys[1].RetiredAt, "the ES256 key is retired, still listed for verification")

		rotated, err := db.RotateSigningKey(ctx, "test", "RS256", func() (string, error) { return "rsa-2", nil })
		require.NoError(t, err)
		keys, err = db.SigningKeys(ctx, "test", "RS256", func() (string, error) { t.Fatal("no new key wanted"); return "", nil })
		require.NoError(t, err)
		require.Len(t, keys, 3)
		require.Equal(t, rotated.KID, keys[0].KID)
		require.Equal(t, "rsa-2", keys[0].PrivateKey)
		require.Nil(t, keys[0].RetiredAt)
		for _, k := range keys[1:] {
			require.NotNil(t, k.RetiredAt)
		}
	})
}

func TestCredentialStatusAndRevocation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		course := "cred-" + newUUID()
		name, courses := "Credential "+course, []string{course}
		b, err := db.CreateBadge(ctx, optio.BadgeInput{Name: &name, RequiredCourses: &courses})
		require.NoError(t, err)
		student := storetest.MustCreateUser(t, db, optio.RoleStudent, "Cred", "Holder")
		admin := storetest.MustCreateUser(t, db, optio.RoleAdmin, "Ada", "Admin")
		roster(t, db, student.ID, course, "completed")
		got, err := db.AwardBadges(ctx, student.ID)
		require.NoError(t, err)
		require.Len(t, got, 1)
		award, err := db.EarnedBadge(ctx, student.ID, b.ID)
		require.NoError(t, err)
		require.Nil(t, award.StatusIndex, "no index until a credential is issued")

		salts := 0
		issued, err := db.IssueBadgeCredential(ctx, award.ID, 8, func() string { salts++; return fmt.Sprintf("salt-%d", salts) })
		require.NoError(t, err)
		require.NotNil(t, issued.StatusIndex)
		require.Less(t, *issued.StatusIndex, int64(8))
		require.Equal(t, "salt-1", issued.Salt)
		again, err := db.IssueBadgeCredential(ctx, award.ID, 8, func() string { return "other" })
		require.NoError(t, err)
		require.Equal(t, *issued.StatusIndex, *again.StatusIndex, "the index is kept")
		require.Equal(t, "salt-1", again.Salt)

		_, err = db.RevokeBadgeAward(ctx, award.ID, "  ", admin.ID)
		require.Equal(t, optio.EINVALID, optio.ErrorCode(err))
		_, err = db.RevokeBadgeAward(ctx, newUUID(), "x", admin.ID)
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err))
		revoked, err := db.RevokeBadgeAward(ctx, award.ID, "Awarded in error: wrong student", admin.ID)
		require.NoError(t, err)
		require.NotNil(t, revoked.RevokedAt)
		require.Equal(t, "Awarded in error: wrong student", revoked.RevokedReason)
		retried, err := db.RevokeBadgeAward(ctx, award.ID, "another reason", admin.ID)
		require.NoError(t, err)
		require.Equal(t, "Awarded in error: wrong student", retried.RevokedReason, "a retry keeps the first revocation")

		idx, err := db.RevokedStatusIndexes(ctx)
		require.NoError(t, err)
		require.Contains(t, idx, *issued.StatusIndex)

		ps, err := db.BadgeProgressFor(ctx, student.ID)
		require.NoError(t, err)
		for _, p := range ps {
			if p.Badge.ID == b.ID {
				require.False(t, p.Earned, "a revoked award no longer counts as earned")
			}
		}
		got, err = db.AwardBadges(ctx, student.ID)
		require.NoError(t, err)
		require.Empty(t, got, "a revoked award is not made again")
	})
}
