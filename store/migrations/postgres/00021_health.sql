-- +goose Up
-- Issue 21: the plan's success metrics, kept in the database so every
-- instance's figures add up and survive restarts (docs/ops/health.md).
-- health_hourly: events counted per UTC hour, added by an upsert of each
-- process's in-memory tally (SSO attempts, webhook deliveries, polls).
CREATE TABLE health_hourly (
    hour TIMESTAMPTZ NOT NULL,
    metric TEXT NOT NULL,
    dim TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL DEFAULT '',
    n BIGINT NOT NULL CHECK (n >= 0),
    PRIMARY KEY (metric, hour, dim, outcome)
);

-- business_daily: the business figures of a UTC day, rewritten by each
-- rollup of that day (the last one of a day stays).
CREATE TABLE business_daily (
    day TIMESTAMPTZ PRIMARY KEY,
    students_with_synced_work INTEGER NOT NULL,
    portfolios_beyond_family INTEGER NOT NULL,
    badges_earned INTEGER NOT NULL,
    active_parents INTEGER NOT NULL,
    active_observers INTEGER NOT NULL,
    onfire_clicks INTEGER NOT NULL,
    computed_at TIMESTAMPTZ NOT NULL
);

-- onfire_clicks: a click on an OnFire catalog link of a badge page
-- (GET /go/onfire/{course_id}); enrolments that follow come from
-- spark_enrollments (roster events).
CREATE TABLE onfire_clicks (
    id UUID PRIMARY KEY,
    user_id UUID REFERENCES users(id) ON DELETE SET NULL,
    spark_course_id TEXT NOT NULL,
    badge_id UUID REFERENCES badges(id) ON DELETE SET NULL,
    clicked_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX onfire_clicks_at_idx ON onfire_clicks(clicked_at);

-- +goose Down
DROP TABLE onfire_clicks;
DROP TABLE business_daily;
DROP TABLE health_hourly;
