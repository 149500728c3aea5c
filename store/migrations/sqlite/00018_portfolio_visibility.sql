-- +goose Up
-- Issue 18: a fourth portfolio visibility, 'school' (viewable only inside
-- Spark through a signed embed token), and the admin's default visibility for
-- new Spark students (app_settings 'spark_default_visibility').
-- SQLite cannot alter a CHECK constraint; loosening one by rewriting the
-- stored schema is the procedure SQLite documents for it ("Making Other Kinds
-- Of Table Schema Changes"): every existing row satisfies the new constraint.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, 'portfolio_visibility IN (''public'',''unlisted'',''private'')', 'portfolio_visibility IN (''public'',''unlisted'',''school'',''private'')')
 WHERE type = 'table' AND name = 'users';
PRAGMA writable_schema = OFF;
-- A new schema cookie makes every open connection reload the schema. It
-- only has to differ from every earlier value; later changes count up from it.
PRAGMA schema_version = 1000018;
CREATE TABLE app_settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    updated_by TEXT REFERENCES users(id) ON DELETE SET NULL
);

-- +goose Down
DROP TABLE app_settings;
UPDATE users SET portfolio_visibility = 'private' WHERE portfolio_visibility = 'school';
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, 'portfolio_visibility IN (''public'',''unlisted'',''school'',''private'')', 'portfolio_visibility IN (''public'',''unlisted'',''private'')')
 WHERE type = 'table' AND name = 'users';
PRAGMA writable_schema = OFF;
PRAGMA schema_version = 2000018;
