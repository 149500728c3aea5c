-- +goose Up
-- portfolio_slug_committed reports whether a user holds slug now, in a fresh
-- snapshot: plpgsql (never inlined) and VOLATILE, so in READ COMMITTED its
-- query sees what committed after the calling statement began. A slug claim
-- (claimSlugSQL) asks it after taking the slug's advisory lock, when every
-- writer of that slug has committed or rolled back; the statement's own
-- snapshot could miss a slug committed meanwhile, and the update would then
-- fail on the unique index.
-- +goose StatementBegin
CREATE FUNCTION portfolio_slug_committed(slug TEXT) RETURNS boolean VOLATILE LANGUAGE plpgsql AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM users WHERE portfolio_slug = slug);
END $$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION portfolio_slug_committed(TEXT);
