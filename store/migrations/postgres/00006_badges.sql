-- +goose Up
-- Badge definitions: a set of Spark courses plus an XP bar. Badges are
-- retired (active = false), never deleted, because awards point at them.
CREATE TABLE badges (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    xp_required INTEGER NOT NULL DEFAULT 0 CHECK (xp_required >= 0),
    pillar TEXT CHECK (pillar IN ('stem','wellness','communication','civics','art')),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX badges_name_idx ON badges(lower(name));

-- The Spark courses a badge requires (ids need not be mapped yet).
CREATE TABLE badge_courses (
    badge_id UUID NOT NULL REFERENCES badges(id) ON DELETE CASCADE,
    spark_course_id TEXT NOT NULL,
    PRIMARY KEY (badge_id, spark_course_id)
);
CREATE INDEX badge_courses_course_idx ON badge_courses(spark_course_id);

-- Awards are history: once earned, a badge stays earned. evidence is a JSON
-- snapshot of what satisfied the rules at that moment.
CREATE TABLE user_badges (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    badge_id UUID NOT NULL REFERENCES badges(id),
    earned_at TIMESTAMPTZ NOT NULL,
    evidence JSONB NOT NULL,
    UNIQUE (user_id, badge_id)
);
CREATE INDEX user_badges_badge_idx ON user_badges(badge_id);

-- Optio's own signing keys (Open Badges credentials), shared by every
-- process: the first process to start creates the key for a purpose.
CREATE TABLE signing_keys (
    kid UUID PRIMARY KEY,
    purpose TEXT NOT NULL UNIQUE,
    alg TEXT NOT NULL,
    private_key TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE user_badges;
DROP TABLE badge_courses;
DROP TABLE badges;
