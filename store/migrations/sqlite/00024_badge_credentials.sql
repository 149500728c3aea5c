-- +goose Up
-- Open Badges credentials: signing keys rotate (one active key per purpose,
-- retired keys kept so old credentials still verify), and each award gets
-- a revocation status list index and an email-hash salt when its first
-- credential is issued, and can be revoked by an admin with a reason.
CREATE TABLE signing_keys_new (
    kid TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    alg TEXT NOT NULL,
    private_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP
);
INSERT INTO signing_keys_new (kid, purpose, alg, private_key, created_at) SELECT kid, purpose, alg, private_key, created_at FROM signing_keys;
DROP TABLE signing_keys;
ALTER TABLE signing_keys_new RENAME TO signing_keys;
CREATE UNIQUE INDEX signing_keys_active_idx ON signing_keys(purpose) WHERE retired_at IS NULL;

ALTER TABLE user_badges ADD COLUMN status_index INTEGER;
ALTER TABLE user_badges ADD COLUMN identity_salt TEXT;
ALTER TABLE user_badges ADD COLUMN revoked_at TIMESTAMP;
ALTER TABLE user_badges ADD COLUMN revoked_reason TEXT;
-- revoked_by has no foreign key here: SQLite cannot drop a column that has one (the Down step).
ALTER TABLE user_badges ADD COLUMN revoked_by TEXT;
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
CREATE TABLE signing_keys_old (
    kid TEXT PRIMARY KEY,
    purpose TEXT NOT NULL UNIQUE,
    alg TEXT NOT NULL,
    private_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO signing_keys_old (kid, purpose, alg, private_key, created_at) SELECT kid, purpose, alg, private_key, created_at FROM signing_keys;
DROP TABLE signing_keys;
ALTER TABLE signing_keys_old RENAME TO signing_keys;
