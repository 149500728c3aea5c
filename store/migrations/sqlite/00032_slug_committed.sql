-- +goose Up
-- Nothing on SQLite: PostgreSQL's migration 00032 adds a function its slug
-- claims need; SQLite has one writer, so a slug it reads free stays free.
SELECT 1;

-- +goose Down
SELECT 1;
