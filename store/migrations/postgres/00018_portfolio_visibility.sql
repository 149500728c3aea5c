-- +goose Up
-- Issue 18: a fourth portfolio visibility, 'school' (viewable only inside
-- Spark through a signed embed token), and the admin's default visibility for
-- new Spark students (app_settings 'spark_default_visibility').
ALTER TABLE users DROP CONSTRAINT IF EXISTS users_portfolio_visibility_check;
ALTER TABLE users ADD CONSTRAINT users_portfolio_visibility_check
    CHECK (portfolio_visibility IN ('public','unlisted','school','private'));
CREATE TABLE app_settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by UUID REFERENCES users(id) ON DELETE SET NULL
);

-- +goose Down
DROP TABLE app_settings;
UPDATE users SET portfolio_visibility = 'private' WHERE portfolio_visibility = 'school';
ALTER TABLE users DROP CONSTRAINT IF EXISTS users_portfolio_visibility_check;
ALTER TABLE users ADD CONSTRAINT users_portfolio_visibility_check
    CHECK (portfolio_visibility IN ('public','unlisted','private'));
