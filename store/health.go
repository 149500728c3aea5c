package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/optio-edu/optio"
)

var _ optio.HealthStore = (*DB)(nil)

// badgeAccuracyKey is the job_state key of the last badge-accuracy check.
const badgeAccuracyKey = "badge_accuracy"

// badgeAccuracyListMax bounds the mismatches kept for the page.
const badgeAccuracyListMax = 200

// AddHealthCounts implements optio.HealthStore: one upsert per row, in
// one transaction, adding to what other processes already counted.
func (db *DB) AddHealthCounts(ctx context.Context, cs []optio.HealthCount) error {
	if len(cs) == 0 {
		return nil
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, c := range cs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO health_hourly (hour, metric, dim, outcome, n) VALUES ($1,$2,$3,$4,$5)
				ON CONFLICT (metric, hour, dim, outcome) DO UPDATE SET n = health_hourly.n + excluded.n`,
				c.Hour.UTC().Truncate(time.Hour), c.Metric, c.Key, c.Outcome, c.N); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add health counts: %w", err)
	}
	return nil
}

// HealthCounts implements optio.HealthStore.
func (db *DB) HealthCounts(ctx context.Context, metric string, since time.Time) ([]optio.HealthCount, error) {
	rows, err := db.query(ctx, `SELECT hour, dim, outcome, n FROM health_hourly WHERE metric = $1 AND hour >= $2 ORDER BY hour`,
		metric, since.UTC())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []optio.HealthCount{}
	for rows.Next() {
		c := optio.HealthCount{Metric: metric}
		if err := rows.Scan(&c.Hour, &c.Key, &c.Outcome, &c.N); err != nil {
			return nil, err
		}
		c.Hour = c.Hour.UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// SyncsDone implements optio.HealthStore from the sync queue's own
// timestamps: queued (created_at) to evidence visible (completed_at).
func (db *DB) SyncsDone(ctx context.Context, since time.Time, limit int) ([]optio.SyncDone, error) {
	rows, err := db.query(ctx, `SELECT created_at, completed_at FROM spark_evidence_sync_queue
		WHERE status = 'completed' AND completed_at >= $1 ORDER BY completed_at DESC LIMIT $2`, since.UTC(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []optio.SyncDone{}
	for rows.Next() {
		var created, done time.Time
		if err := rows.Scan(&created, &done); err != nil {
			return nil, err
		}
		out = append(out, optio.SyncDone{CompletedAt: done.UTC(), Seconds: max(0, done.Sub(created).Seconds())})
	}
	return out, rows.Err()
}

// SyncFailures implements optio.HealthStore: rows failed for good, last
// changed from since on, grouped by their error message.
func (db *DB) SyncFailures(ctx context.Context, since time.Time, limit int) (int, []optio.ReasonCount, error) {
	rows, err := db.query(ctx, `SELECT COALESCE(error_message, ''), COUNT(*) FROM spark_evidence_sync_queue
		WHERE status = 'failed' AND updated_at >= $1 GROUP BY COALESCE(error_message, '')`, since.UTC())
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	total, out := 0, []optio.ReasonCount{}
	for rows.Next() {
		var r optio.ReasonCount
		if err := rows.Scan(&r.Reason, &r.Count); err != nil {
			return 0, nil, err
		}
		if r.Reason == "" {
			r.Reason = "(no reason recorded)"
		}
		total += r.Count
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return 0, nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Reason < out[j].Reason
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return total, out, nil
}

// SyncQueueDepth implements optio.HealthStore.
func (db *DB) SyncQueueDepth(ctx context.Context) (map[string]int, float64, error) {
	counts := map[string]int{}
	for _, s := range []string{optio.SyncPending, optio.SyncProcessing, optio.SyncCompleted, optio.SyncFailed, optio.SyncWaiting} {
		counts[s] = 0
	}
	rows, err := db.query(ctx, `SELECT status, COUNT(*) FROM spark_evidence_sync_queue GROUP BY status`)
	if err != nil {
		return nil, 0, err
	}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			rows.Close()
			return nil, 0, err
		}
		counts[s] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	var oldest time.Time
	err = db.R.QueryRowContext(ctx, `SELECT created_at FROM spark_evidence_sync_queue WHERE status = 'pending' ORDER BY created_at LIMIT 1`).Scan(&oldest)
	switch {
	case err == sql.ErrNoRows:
		return counts, 0, nil
	case err != nil:
		return nil, 0, translate(err)
	}
	return counts, max(0, db.now().Sub(oldest.UTC()).Seconds()), nil
}

// RecordOnFireClick implements optio.HealthStore. Only courses some badge
// requires are recorded, so the table cannot be filled with made-up ids.
func (db *DB) RecordOnFireClick(ctx context.Context, c optio.OnFireClick) error {
	var user, badge any
	if validID(c.UserID) {
		user = c.UserID
	}
	if validID(c.BadgeID) {
		badge = c.BadgeID
	}
	res, err := db.W.ExecContext(ctx, `INSERT INTO onfire_clicks (id, user_id, spark_course_id, badge_id, clicked_at)
		SELECT $1, (SELECT id FROM users WHERE id = $2), $3, (SELECT id FROM badges WHERE id = $4), $5
		WHERE EXISTS (SELECT 1 FROM badge_courses WHERE spark_course_id = $3)`, newID(), user, c.SparkCourseID, badge, db.now())
	if err != nil {
		return fmt.Errorf("record onfire click: %w", translate(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("Badge course")
	}
	return nil
}

// OnFireFunnel implements optio.HealthStore. A click counts as followed
// by an enrolment when the clicking student's enrolment in the course
// (spark_enrollments, written by roster events, status enrolled or
// completed) occurred within 30 days after the click; each student counts
// once per course.
func (db *DB) OnFireFunnel(ctx context.Context, since time.Time) ([]optio.OnFireCourse, error) {
	rows, err := db.query(ctx, `SELECT c.spark_course_id, COALESCE(m.course_title, ''), c.user_id, c.clicked_at, e.occurred_at
		FROM onfire_clicks c
		LEFT JOIN spark_course_mappings m ON m.spark_course_id = c.spark_course_id
		LEFT JOIN spark_enrollments e ON e.user_id = c.user_id AND e.spark_course_id = c.spark_course_id AND e.status IN ('enrolled','completed')
		WHERE c.clicked_at >= $1`, since.UTC())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	by := map[string]*optio.OnFireCourse{}
	followed := map[[2]string]bool{}
	for rows.Next() {
		var course, title string
		var user sql.NullString
		var at time.Time
		var enrolled sql.NullTime
		if err := rows.Scan(&course, &title, &user, &at, &enrolled); err != nil {
			return nil, err
		}
		f := by[course]
		if f == nil {
			f = &optio.OnFireCourse{SparkCourseID: course, Title: title}
			by[course] = f
		}
		f.Clicks++
		if user.Valid && enrolled.Valid {
			e := enrolled.Time.UTC()
			if !e.Before(at.UTC()) && e.Sub(at.UTC()) <= 30*24*time.Hour && !followed[[2]string{user.String, course}] {
				followed[[2]string{user.String, course}] = true
				f.Enrolments++
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]optio.OnFireCourse, 0, len(by))
	for _, f := range by {
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Clicks != out[j].Clicks {
			return out[i].Clicks > out[j].Clicks
		}
		return out[i].SparkCourseID < out[j].SparkCourseID
	})
	return out, nil
}

// awardEvidence is what AwardBadges snapshots in user_badges.evidence.
type awardEvidence struct {
	Courses    []json.RawMessage `json:"courses"`
	XP         int               `json:"xp"`
	XPRequired int               `json:"xp_required"`
}

// met reports whether an award's snapshot shows the rules met when it
// was made: at least one course done and the XP bar reached.
func (e awardEvidence) met() bool { return len(e.Courses) > 0 && e.XP >= e.XPRequired }

// CheckBadgeAccuracy implements optio.HealthStore. It applies the badge
// rules (courseStatuses, standing) to every student with Spark activity
// or a badge: an active badge the student qualifies for but does not hold
// is "missing"; a held badge the student does not qualify for now and
// whose award snapshot does not show the rules met either is "unearned"
// (awards are history, so a badge earned under rules that later changed
// is not a mismatch). It also counts completion per active badge.
func (db *DB) CheckBadgeAccuracy(ctx context.Context) (*optio.BadgeAccuracy, error) {
	all, err := db.ListBadges(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("badge accuracy: %w", err)
	}
	rows, err := db.query(ctx, `SELECT u.id, u.given_name, u.family_name FROM users u WHERE u.role = 'student' AND (
		EXISTS (SELECT 1 FROM spark_enrollments e WHERE e.user_id = u.id)
		OR EXISTS (SELECT 1 FROM spark_assignment_submissions s WHERE s.user_id = u.id)
		OR EXISTS (SELECT 1 FROM user_badges b WHERE b.user_id = u.id)) ORDER BY u.id`)
	if err != nil {
		return nil, err
	}
	type student struct{ id, name string }
	var students []student
	for rows.Next() {
		var s student
		var g, f string
		if err := rows.Scan(&s.id, &g, &f); err != nil {
			rows.Close()
			return nil, err
		}
		s.name = strings.TrimSpace(g + " " + f)
		students = append(students, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	res := &optio.BadgeAccuracy{CheckedAt: db.now(), Students: len(students), List: []optio.BadgeMismatch{}}
	completion := map[string]*optio.BadgeCompletion{}
	for _, b := range all {
		if b.Active {
			completion[b.ID] = &optio.BadgeCompletion{BadgeID: b.ID, Name: b.Name}
		}
	}
	for _, s := range students {
		st, err := db.courseStatuses(ctx, s.id)
		if err != nil {
			return nil, fmt.Errorf("badge accuracy: %w", err)
		}
		held, err := db.awardEvidence(ctx, s.id)
		if err != nil {
			return nil, fmt.Errorf("badge accuracy: %w", err)
		}
		taken, err := db.coursesTaken(ctx, s.id)
		if err != nil {
			return nil, fmt.Errorf("badge accuracy: %w", err)
		}
		for _, b := range all {
			sd := standing(b, st)
			q := sd.qualifies(b)
			ev, has := held[b.ID]
			kind := ""
			switch {
			case b.Active && q && !has:
				kind = "missing"
			case has && !q && !ev.met():
				kind = "unearned"
			}
			if kind != "" {
				res.Mismatches++
				if len(res.List) < badgeAccuracyListMax {
					res.List = append(res.List, optio.BadgeMismatch{UserID: s.id, Student: s.name, BadgeID: b.ID, BadgeName: b.Name, Kind: kind})
				}
			}
			if c := completion[b.ID]; c != nil {
				progress := has || len(sd.done) > 0 || sd.xp > 0
				for _, id := range b.RequiredCourses {
					progress = progress || taken[id]
				}
				if progress {
					c.Progress++
				}
				if has {
					c.Earned++
				}
			}
		}
	}
	for _, b := range all {
		if c := completion[b.ID]; c != nil {
			if c.Progress > 0 {
				c.Rate = float64(c.Earned) / float64(c.Progress)
			}
			res.Completion = append(res.Completion, *c)
		}
	}
	if res.Completion == nil {
		res.Completion = []optio.BadgeCompletion{}
	}
	b, err := json.Marshal(res)
	if err != nil {
		return nil, err
	}
	if err := db.SetJobState(ctx, badgeAccuracyKey, string(b)); err != nil {
		return nil, fmt.Errorf("badge accuracy: %w", err)
	}
	return res, nil
}

// awardEvidence maps the student's held badges to their award snapshots.
func (db *DB) awardEvidence(ctx context.Context, userID string) (map[string]awardEvidence, error) {
	rows, err := db.query(ctx, `SELECT badge_id, evidence FROM user_badges WHERE user_id = $1`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]awardEvidence{}
	for rows.Next() {
		var id, raw string
		if err := rows.Scan(&id, &raw); err != nil {
			return nil, err
		}
		var ev awardEvidence
		_ = json.Unmarshal([]byte(raw), &ev) // unreadable evidence shows no rule met
		out[id] = ev
	}
	return out, rows.Err()
}

// coursesTaken is the set of Spark courses the student is enrolled in or
// completed (roster events).
func (db *DB) coursesTaken(ctx context.Context, userID string) (map[string]bool, error) {
	out := map[string]bool{}
	if !validID(userID) {
		return out, nil
	}
	rows, err := db.query(ctx, `SELECT spark_course_id FROM spark_enrollments WHERE user_id = $1 AND status IN ('enrolled','completed')`, userID)
	if err != nil {
		return nil, err
	}
	ids, err := collectIDs(rows)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// SparkCoursesTaken is the set of Spark courses the student is enrolled in
// or completed: the badge page links only the others to the catalog.
func (db *DB) SparkCoursesTaken(ctx context.Context, userID string) (map[string]bool, error) {
	return db.coursesTaken(ctx, userID)
}

// LastBadgeAccuracy implements optio.HealthStore.
func (db *DB) LastBadgeAccuracy(ctx context.Context) (*optio.BadgeAccuracy, error) {
	v, err := db.JobState(ctx, badgeAccuracyKey)
	if err != nil || v == "" {
		return nil, err
	}
	var a optio.BadgeAccuracy
	if err := json.Unmarshal([]byte(v), &a); err != nil {
		return nil, fmt.Errorf("badge accuracy: %w", err)
	}
	return &a, nil
}

// RollupBusinessDay implements optio.HealthStore. Counts that are states
// (students with synced work, portfolios beyond the family) are taken as
// they stand when the rollup runs; weekly actives are the 7 days up to the
// end of day (or now, for today).
func (db *DB) RollupBusinessDay(ctx context.Context, day time.Time) (*optio.BusinessDay, error) {
	start := day.UTC().Truncate(24 * time.Hour)
	end := start.Add(24 * time.Hour)
	now := db.now()
	asOf := end
	if now.Before(end) {
		asOf = now
	}
	d := &optio.BusinessDay{Day: start}
	q := func(dst *int, query string, args ...any) error {
		if err := db.R.QueryRowContext(ctx, query, args...).Scan(dst); err != nil {
			return translate(err)
		}
		return nil
	}
	err := q(&d.StudentsWithSyncedWork, `SELECT COUNT(DISTINCT s.user_id) FROM spark_assignment_submissions s
		JOIN users u ON u.id = s.user_id WHERE u.role = 'student' AND s.synced_to_optio = TRUE`)
	if err == nil {
		err = q(&d.BadgesEarned, `SELECT COUNT(*) FROM user_badges WHERE earned_at >= $1 AND earned_at < $2`, start, end)
	}
	if err == nil {
		err = q(&d.OnFireClicks, `SELECT COUNT(*) FROM onfire_clicks WHERE clicked_at >= $1 AND clicked_at < $2`, start, end)
	}
	active := `SELECT COUNT(DISTINCT s.user_id) FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE u.role = $1 AND COALESCE(s.last_seen_at, s.created_at) >= $2 AND COALESCE(s.last_seen_at, s.created_at) <= $3`
	if err == nil {
		err = q(&d.ActiveParents, active, string(optio.RoleParent), asOf.Add(-7*24*time.Hour), asOf)
	}
	if err == nil {
		err = q(&d.ActiveObservers, active, string(optio.RoleObserver), asOf.Add(-7*24*time.Hour), asOf)
	}
	if err != nil {
		return nil, fmt.Errorf("business rollup: %w", err)
	}
	rows, err := db.query(ctx, `SELECT `+userCols+` FROM users WHERE role = 'student' AND portfolio_visibility <> 'private'`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		if u.PublicAllowed(now) {
			d.PortfoliosBeyondFamily++
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	_, err = db.W.ExecContext(ctx, `INSERT INTO business_daily (day, students_with_synced_work, portfolios_beyond_family, badges_earned,
		active_parents, active_observers, onfire_clicks, computed_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)
		ON CONFLICT (day) DO UPDATE SET students_with_synced_work = excluded.students_with_synced_work,
		portfolios_beyond_family = excluded.portfolios_beyond_family, badges_earned = excluded.badges_earned,
		active_parents = excluded.active_parents, active_observers = excluded.active_observers,
		onfire_clicks = excluded.onfire_clicks, computed_at = excluded.computed_at`,
		start, d.StudentsWithSyncedWork, d.PortfoliosBeyondFamily, d.BadgesEarned, d.ActiveParents, d.ActiveObservers, d.OnFireClicks, now)
	if err != nil {
		return nil, fmt.Errorf("business rollup: %w", translate(err))
	}
	return d, nil
}

// BusinessDays implements optio.HealthStore.
func (db *DB) BusinessDays(ctx context.Context, since time.Time) ([]optio.BusinessDay, error) {
	rows, err := db.query(ctx, `SELECT day, students_with_synced_work, portfolios_beyond_family, badges_earned,
		active_parents, active_observers, onfire_clicks FROM business_daily WHERE day >= $1 ORDER BY day`, since.UTC())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []optio.BusinessDay{}
	for rows.Next() {
		var d optio.BusinessDay
		if err := rows.Scan(&d.Day, &d.StudentsWithSyncedWork, &d.PortfoliosBeyondFamily, &d.BadgesEarned,
			&d.ActiveParents, &d.ActiveObservers, &d.OnFireClicks); err != nil {
			return nil, err
		}
		d.Day = d.Day.UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}
