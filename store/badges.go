package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/optio-edu/optio"
)

const badgeCols = `id, name, description, xp_required, pillar, active, created_at, updated_at`

func scanBadge(s scanner) (*optio.Badge, error) {
	var b optio.Badge
	var pillar sql.NullString
	if err := s.Scan(&b.ID, &b.Name, &b.Description, &b.XPRequired, &pillar, &b.Active, &b.CreatedAt, &b.UpdatedAt); err != nil {
		return nil, err
	}
	if pillar.Valid && pillar.String != "" {
		p := optio.Pillar(pillar.String)
		b.Pillar = &p
	}
	b.CreatedAt, b.UpdatedAt = b.CreatedAt.UTC(), b.UpdatedAt.UTC()
	b.ImageURL = optio.BadgeImagePath(b.ID)
	b.RequiredCourses = []string{}
	return &b, nil
}

// nameTaken is the answer to a badge name already in use.
func nameTaken() error {
	return &optio.Error{Code: optio.ECONFLICT, Message: "A badge with this name already exists.",
		Fields: map[string]string{"name": "is already used by another badge"}}
}

func nullPillar(p *string) any {
	if p == nil || *p == "" {
		return nil
	}
	return *p
}

// CreateBadge implements optio.BadgeStore: the badge and its courses in one
// transaction.
func (db *DB) CreateBadge(ctx context.Context, in optio.BadgeInput) (*optio.Badge, error) {
	in.Normalize()
	if err := in.Validate(true); err != nil {
		return nil, err
	}
	id := newID()
	desc, xp := "", 0
	if in.Description != nil {
		desc = *in.Description
	}
	if in.XPRequired != nil {
		xp = *in.XPRequired
	}
	active := in.Active == nil || *in.Active
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		now := db.now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO badges (id, name, description, xp_required, pillar, active, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$7)`, id, *in.Name, desc, xp, nullPillar(in.Pillar), active, now); err != nil {
			if isConflict(err) {
				return nameTaken()
			}
			return err
		}
		return setBadgeCoursesTx(ctx, tx, id, *in.RequiredCourses)
	})
	if err != nil {
		return nil, fmt.Errorf("create badge: %w", err)
	}
	return db.BadgeByID(ctx, id)
}

func setBadgeCoursesTx(ctx context.Context, tx *sql.Tx, badgeID string, courses []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM badge_courses WHERE badge_id = $1`, badgeID); err != nil {
		return translate(err)
	}
	for _, c := range courses {
		if _, err := tx.ExecContext(ctx, `INSERT INTO badge_courses (badge_id, spark_course_id) VALUES ($1,$2)`, badgeID, c); err != nil {
			return translate(err)
		}
	}
	return nil
}

// UpdateBadge implements optio.BadgeStore: the fields set in in, in one
// transaction.
func (db *DB) UpdateBadge(ctx context.Context, id string, in optio.BadgeInput) (*optio.Badge, error) {
	in.Normalize()
	if err := in.Validate(false); err != nil {
		return nil, err
	}
	if !validID(id) {
		return nil, notFound("Badge")
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		b, err := scanBadge(tx.QueryRowContext(ctx, `SELECT `+badgeCols+` FROM badges WHERE id = $1`, id))
		if err != nil {
			return translateNotFound(err, "Badge")
		}
		name, desc, xp, active := b.Name, b.Description, b.XPRequired, b.Active
		var pillar *string
		if b.Pillar != nil {
			s := string(*b.Pillar)
			pillar = &s
		}
		if in.Name != nil {
			name = *in.Name
		}
		if in.Description != nil {
			desc = *in.Description
		}
		if in.XPRequired != nil {
			xp = *in.XPRequired
		}
		if in.Pillar != nil {
			pillar = in.Pillar
		}
		if in.Active != nil {
			active = *in.Active
		}
		if _, err := tx.ExecContext(ctx, `UPDATE badges SET name = $2, description = $3, xp_required = $4, pillar = $5, active = $6, updated_at = $7
			WHERE id = $1`, id, name, desc, xp, nullPillar(pillar), active, db.now()); err != nil {
			if isConflict(err) {
				return nameTaken()
			}
			return err
		}
		if in.RequiredCourses != nil {
			return setBadgeCoursesTx(ctx, tx, id, *in.RequiredCourses)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update badge %s: %w", id, err)
	}
	return db.BadgeByID(ctx, id)
}

// RetireBadge implements optio.BadgeStore.
func (db *DB) RetireBadge(ctx context.Context, id string) (*optio.Badge, error) {
	f := false
	return db.UpdateBadge(ctx, id, optio.BadgeInput{Active: &f})
}

// BadgeByID implements optio.BadgeStore.
func (db *DB) BadgeByID(ctx context.Context, id string) (*optio.Badge, error) {
	if !validID(id) {
		return nil, notFound("Badge")
	}
	b, err := scanBadge(db.R.QueryRowContext(ctx, `SELECT `+badgeCols+` FROM badges WHERE id = $1`, id))
	if err != nil {
		return nil, translateNotFound(err, "Badge")
	}
	courses, err := db.badgeCourses(ctx, id)
	if err != nil {
		return nil, err
	}
	b.RequiredCourses = courses[id]
	if b.RequiredCourses == nil {
		b.RequiredCourses = []string{}
	}
	return b, nil
}

// ListBadges implements optio.BadgeStore.
func (db *DB) ListBadges(ctx context.Context, includeRetired bool) ([]optio.Badge, error) {
	q := `SELECT ` + badgeCols + ` FROM badges`
	if !includeRetired {
		q += ` WHERE active = TRUE`
	}
	rows, err := db.query(ctx, q+` ORDER BY lower(name), id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []optio.Badge{}
	for rows.Next() {
		b, err := scanBadge(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *b)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	courses, err := db.badgeCourses(ctx, "")
	if err != nil {
		return nil, err
	}
	for i := range out {
		if cs := courses[out[i].ID]; cs != nil {
			out[i].RequiredCourses = cs
		}
	}
	return out, nil
}

// badgeCourses maps badge ids to their course ids (one badge, or all when
// badgeID is empty), sorted.
func (db *DB) badgeCourses(ctx context.Context, badgeID string) (map[string][]string, error) {
	q := `SELECT badge_id, spark_course_id FROM badge_courses`
	var args []any
	if badgeID != "" {
		q += ` WHERE badge_id = $1`
		args = append(args, badgeID)
	}
	rows, err := db.query(ctx, q+` ORDER BY badge_id, spark_course_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var b, c string
		if err := rows.Scan(&b, &c); err != nil {
			return nil, err
		}
		out[b] = append(out[b], c)
	}
	return out, rows.Err()
}

// UnknownSparkCourses implements optio.BadgeStore.
func (db *DB) UnknownSparkCourses(ctx context.Context, ids []string) ([]string, error) {
	var out []string
	for _, id := range ids {
		var n int
		if err := db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM spark_course_mappings WHERE spark_course_id = $1`, id).Scan(&n); err != nil {
			return nil, translate(err)
		}
		if n == 0 {
			out = append(out, id)
		}
	}
	return out, nil
}

// planBadges are the Spark plan's example badges, seeded for the demo. The
// course ids are the ones the Spark sandbox creates.
var planBadges = []struct {
	name, description string
	courses           []string
	xp                int
	pillar            optio.Pillar
}{
	{"STEM Scholar", "Physics, Chemistry and Advanced Math on Spark, with 1,500 XP earned in them.",
		[]string{"spark-physics", "spark-chemistry", "spark-advanced-math"}, 1500, optio.PillarSTEM},
	{"Digital Arts Creator", "Graphic Design, Illustration and the Adobe certification on Spark, with 750 XP earned in them.",
		[]string{"spark-graphic-design", "spark-illustration", "spark-adobe-cert"}, 750, optio.PillarArt},
	{"Minecraft Master", "Minecraft Biology, Geology and Zoology on Spark, with 900 XP earned in them.",
		[]string{"spark-minecraft-biology", "spark-minecraft-geology", "spark-minecraft-zoology"}, 900, optio.PillarSTEM},
}

// SeedPlanBadges implements optio.BadgeStore. A badge whose name exists
// (ignoring case) is left as it is, so re-running it, or running it in several
// processes at once, is harmless.
func (db *DB) SeedPlanBadges(ctx context.Context) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		now := db.now()
		for _, p := range planBadges {
			id := newID()
			res, err := tx.ExecContext(ctx, `INSERT INTO badges (id, name, description, xp_required, pillar, active, created_at, updated_at)
				VALUES ($1,$2,$3,$4,$5,TRUE,$6,$6) ON CONFLICT DO NOTHING`, id, p.name, p.description, p.xp, string(p.pillar), now)
			if err != nil {
				return fmt.Errorf("seed badge %s: %w", p.name, translate(err))
			}
			if n, _ := res.RowsAffected(); n == 1 {
				if err := setBadgeCoursesTx(ctx, tx, id, slices.Clone(p.courses)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
