-- +goose Up
-- Open Badges credentials: signing keys rotate (one active key per purpose,
-- retired keys kept so old credentials still verify), and each award gets
-- a revocation status list index and an email-hash salt when its first
-- credential is issued, and can be revoked by an admin with a reason.
ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_purpose_key;
ALTER TABLE signing_keys ADD COLUMN retired_at TIMESTAMPTZ;
CREATE UNIQUE INDEX signing_keys_active_idx ON signing_keys(purpose) WHERE retired_at IS NULL;

ALTER TABLE user_badges ADD COLUMN status_index BIGINT;
ALTER TABLE user_badges ADD COLUMN identity_salt TEXT;
ALTER TABLE user_badges ADD COLUMN revoked_at TIMESTAMPTZ;
ALTER TABLE user_badges ADD COLUMN revoked_reason TEXT;
ALTER TABLE user_badges ADD COLUMN revoked_by UUID REFERENCES users(id) ON DELETE SET NULL;
CREATE UNIQUE INDEX user_badges_status_idx ON user_badges(status_index) WHERE status_index IS NOT NULL;

-- +goose Down
DROP INDEX user_badges_status_idx;
ALTER TABLE user_badges DROP COLUMN revoked_by;
ALTER TABLE user_badges DROP COLUMN revoked_reason;
ALTER TABLE user_badges DROP COLUMN revoked_at;
ALTER TABLE user_badges DROP COLUMN identity_salt;
ALTER TABLE user_badges DROP COLUMN status_index;
DROP INDEX signing_keys_active_idx;
DELETE FROM signing_keys WHERE retired_at IS NOT NULL;
ALTER TABLE signing_keys DROP COLUMN retired_at;
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_purpose_key UNIQUE (purpose);
