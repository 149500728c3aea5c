package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/optio-edu/optio"
)

// The two badge rules (docs/badges.md), written once as SQL over a course
// alias c (c.spark_course_id) and the student $1. Everything that asks about
// badges — progress, awarding, portfolio, parent pages — reads them through
// courseStatuses.
const (
	// ruleCourseCompleteBySpark: Spark said the student completed the course.
	ruleCourseCompleteBySpark = `EXISTS (SELECT 1 FROM spark_enrollments e
		WHERE e.user_id = $1 AND e.spark_course_id = c.spark_course_id AND e.status = 'completed')`
	// ruleCourseCompleteBySubmissions: Spark has told Optio the course's
	// assignments (a course webhook or its API: the course has a title; a
	// course known only from submissions may have assignments Optio has not
	// seen), there is at least one, and every one of them has a submission
	// of the student's synced to Optio.
	ruleCourseCompleteBySubmissions = `(EXISTS (SELECT 1 FROM spark_course_mappings cm WHERE cm.spark_course_id = c.spark_course_id AND cm.course_title <> '')
		AND EXISTS (SELECT 1 FROM spark_assignments a WHERE a.spark_course_id = c.spark_course_id)
		AND NOT EXISTS (SELECT 1 FROM spark_assignments a WHERE a.spark_course_id = c.spark_course_id
			AND NOT EXISTS (SELECT 1 FROM spark_assignment_submissions s
				WHERE s.user_id = $1 AND s.spark_assignment_id = a.spark_assignment_id AND s.synced_to_optio = TRUE)))`
	// ruleCourseXP: XP the student earned (xp_ledger) on tasks of the quest(s)
	// mirroring the Spark course.
	ruleCourseXP = `COALESCE((SELECT SUM(x.amount) FROM xp_ledger x
		JOIN tasks t ON t.id = x.task_id JOIN quests q ON q.id = t.quest_id
		WHERE x.user_id = $1 AND q.lms_platform = 'spark' AND q.lms_course_id = c.spark_course_id), 0)`

	courseStatusQuery = `SELECT c.spark_course_id, COALESCE(m.course_title, ''),
		CASE WHEN ` + ruleCourseCompleteBySpark + ` THEN 'spark'
			WHEN ` + ruleCourseCompleteBySubmissions + ` THEN 'submissions' ELSE '' END,
		` + ruleCourseXP + `
		FROM (SELECT DISTINCT spark_course_id FROM badge_courses) c
		LEFT JOIN spark_course_mappings m ON m.spark_course_id = c.spark_course_id`
)

// courseStatus is one badge course as one student stands with it.
type courseStatus struct {
	SparkCourseID string `json:"spark_course_id"`
	Title         string `json:"title"`
	CompletedBy   string `json:"completed_by,omitempty"` // "spark" (roster), "submissions", or "" (not complete)
	XP            int    `json:"xp"`
}

func (c courseStatus) ref() optio.CourseRef {
	t := c.Title
	if t == "" {
		t = c.SparkCourseID
	}
	return optio.CourseRef{SparkCourseID: c.SparkCourseID, Title: t}
}

// courseStatuses applies both rules for a student to every course any badge
// requires.
func (db *DB) courseStatuses(ctx context.Context, userID string) (map[string]courseStatus, error) {
	out := map[string]courseStatus{}
	if !validID(userID) {
		return out, nil
	}
	rows, err := db.query(ctx, courseStatusQuery, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var c courseStatus
		if err := rows.Scan(&c.SparkCourseID, &c.Title, &c.CompletedBy, &c.XP); err != nil {
			return nil, err
		}
		out[c.SparkCourseID] = c
	}
	return out, rows.Err()
}

// badgeStanding is a badge measured against course statuses: which courses
// are done, which missing, and the XP in them.
type badgeStanding struct {
	done, missing []courseStatus
	xp            int
}

func standing(b optio.Badge, st map[string]courseStatus) badgeStanding {
	var s badgeStanding
	for _, id := range b.RequiredCourses {
		c, ok := st[id]
		if !ok {
			c = courseStatus{SparkCourseID: id}
		}
		s.xp += c.XP
		if c.CompletedBy != "" {
			s.done = append(s.done, c)
		} else {
			s.missing = append(s.missing, c)
		}
	}
	return s
}

// qualifies: every required course complete and enough XP in them.
func (s badgeStanding) qualifies(b optio.Badge) bool {
	return len(b.RequiredCourses) > 0 && len(s.missing) == 0 && s.xp >= b.XPRequired
}

// BadgesAwarded counts badge awards (optio_badges_awarded_total); the app
// registers it.
var BadgesAwarded = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "optio_badges_awarded_total", Help: "Badges awarded to students.",
})

// earning is when a student earned a badge, and the award's id.
type earning struct {
	at      time.Time
	awardID string
}

// earnedBadges maps badge ids to the student's awards of them. A revoked
// award does not count as earned (and is never made again: the award row
// stays, so awarding's insert does nothing).
func (db *DB) earnedBadges(ctx context.Context, userID string) (map[string]earning, error) {
	out := map[string]earning{}
	if !validID(userID) {
		return out, nil
	}
	rows, err := db.query(ctx, `SELECT badge_id, earned_at, id FROM user_badges WHERE user_id = $1 AND revoked_at IS NULL`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var e earning
		if err := rows.Scan(&id, &e.at, &e.awardID); err != nil {
			return nil, err
		}
		e.at = e.at.UTC()
		out[id] = e
	}
	return out, rows.Err()
}

// AwardBadges implements optio.BadgeStore. The rules are read first; awards
// are inserted with ON CONFLICT DO NOTHING on (user_id, badge_id), so
// concurrent and repeated calls award each badge once, and only the call
// whose insert took effect reports it.
func (db *DB) AwardBadges(ctx context.Context, userID string) ([]optio.Badge, error) {
	awarded := []optio.Badge{}
	if !validID(userID) {
		return awarded, nil
	}
	badges, err := db.ListBadges(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("award badges: %w", err)
	}
	earned, err := db.earnedBadges(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("award badges: %w", err)
	}
	st, err := db.courseStatuses(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("award badges: %w", err)
	}
	type award struct {
		badge    optio.Badge
		evidence []byte
	}
	var due []award
	for _, b := range badges {
		if _, ok := earned[b.ID]; ok {
			continue
		}
		s := standing(b, st)
		if !s.qualifies(b) {
			continue
		}
		ev, err := json.Marshal(map[string]any{"courses": s.done, "xp": s.xp, "xp_required": b.XPRequired})
		if err != nil {
			return nil, err
		}
		due = append(due, award{b, ev})
	}
	if len(due) == 0 {
		return awarded, nil
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		awarded = awarded[:0]
		for _, a := range due {
			res, err := tx.ExecContext(ctx, `INSERT INTO user_badges (id, user_id, badge_id, earned_at, evidence) VALUES ($1,$2,$3,$4,$5)
				ON CONFLICT (user_id, badge_id) DO NOTHING`, newID(), userID, a.badge.ID, db.now(), string(a.evidence))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				awarded = append(awarded, a.badge)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("award badges to %s: %w", userID, err)
	}
	BadgesAwarded.Add(float64(len(awarded)))
	return awarded, nil
}

// AwardBadgesAll implements optio.BadgeStore. Only students with Spark
// activity can meet rule 1, so only they are checked.
func (db *DB) AwardBadgesAll(ctx context.Context) (int, error) {
	return db.awardBadgesTo(ctx, `SELECT u.id FROM users u WHERE u.role = 'student' AND (
		EXISTS (SELECT 1 FROM spark_enrollments e WHERE e.user_id = u.id)
		OR EXISTS (SELECT 1 FROM spark_assignment_submissions s WHERE s.user_id = u.id)) ORDER BY u.id`)
}

// AwardBadgesInCourse implements optio.BadgeStore: the course's Spark
// students, and anyone enrolled in the quest it maps to.
func (db *DB) AwardBadgesInCourse(ctx context.Context, sparkCourseID string) (int, error) {
	return db.awardBadgesTo(ctx, `SELECT u.id FROM users u WHERE u.role = 'student' AND (
		EXISTS (SELECT 1 FROM spark_enrollments e WHERE e.user_id = u.id AND e.spark_course_id = $1)
		OR EXISTS (SELECT 1 FROM spark_assignment_submissions s WHERE s.user_id = u.id AND s.spark_course_id = $1)
		OR EXISTS (SELECT 1 FROM user_quests q JOIN spark_course_mappings m ON m.optio_quest_id = q.quest_id
			WHERE q.user_id = u.id AND m.spark_course_id = $1)) ORDER BY u.id`,
		sparkCourseID)
}

// awardBadgesTo runs AwardBadges for each student the query selects and
// returns how many awards were made.
func (db *DB) awardBadgesTo(ctx context.Context, query string, args ...any) (int, error) {
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	ids, err := collectIDs(rows)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		got, err := db.AwardBadges(ctx, id)
		if err != nil {
			return n, err
		}
		n += len(got)
	}
	return n, nil
}

// BadgeProgressFor implements optio.BadgeStore.
func (db *DB) BadgeProgressFor(ctx context.Context, userID string) ([]optio.BadgeProgress, error) {
	badges, err := db.ListBadges(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("badge progress: %w", err)
	}
	earned, err := db.earnedBadges(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("badge progress: %w", err)
	}
	st, err := db.courseStatuses(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("badge progress: %w", err)
	}
	out := []optio.BadgeProgress{}
	for _, b := range badges {
		e, isEarned := earned[b.ID]
		if !b.Active && !isEarned {
			continue
		}
		s := standing(b, st)
		p := optio.BadgeProgress{Badge: b, Earned: isEarned, XP: s.xp, XPRequired: b.XPRequired,
			CoursesDone: []optio.CourseRef{}, CoursesMissing: []optio.CourseRef{}}
		if isEarned {
			at := e.at
			p.EarnedAt = &at
			p.CredentialID = e.awardID
		}
		for _, c := range s.done {
			p.CoursesDone = append(p.CoursesDone, c.ref())
		}
		for _, c := range s.missing {
			p.CoursesMissing = append(p.CoursesMissing, c.ref())
		}
		p.Summarize()
		out = append(out, p)
	}
	return out, nil
}

// EarnedBadge implements optio.BadgeStore.
func (db *DB) EarnedBadge(ctx context.Context, userID, badgeID string) (*optio.BadgeAward, error) {
	if !validID(userID) || !validID(badgeID) {
		return nil, notFound("Earned badge")
	}
	return db.awardWhere(ctx, db.R, `user_id = $1 AND badge_id = $2`, userID, badgeID)
}
