-- +goose Up
-- The blob collector (jobs: blob_collect) deletes evidence blobs no file row
-- refers to. blob_uses records when each content-addressed blob was last
-- stored or reused by an upload or a sync, so a blob that is about to be
-- referenced (its file row not yet committed) is kept for the grace period.
CREATE TABLE blob_uses (
    blob_key TEXT PRIMARY KEY,
    used_at TIMESTAMP NOT NULL
);
-- "Does any file row still refer to this blob?" for each collected key.
CREATE INDEX files_blob_key_idx ON files(blob_key);

-- +goose Down
DROP INDEX files_blob_key_idx;
DROP TABLE blob_uses;
