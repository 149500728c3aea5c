-- +goose Up
-- Throttle counters (issue 17): one row per throttled key (a scope and a
-- hashed account or client address), updated by one upsert per attempt so
-- every process sharing the database counts the same attempts. Times are Unix
-- milliseconds: integer arithmetic is the same on both engines. A row whose
-- expires_ms has passed is forgotten (the next attempt starts a new run) and
-- may be deleted. refused is 1 when the latest attempt found the key locked
-- (the upsert returns it: that attempt counted nothing); prev_locked_until_ms
-- is the lock before the latest counted attempt, restored when that attempt is
-- forgiven (it was not a guess after all).
CREATE TABLE throttle_counters (
    key TEXT PRIMARY KEY,
    window_start_ms BIGINT NOT NULL,
    count INTEGER NOT NULL,
    locked_until_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    refused INTEGER NOT NULL,
    prev_locked_until_ms BIGINT NOT NULL
);
CREATE INDEX throttle_counters_expires ON throttle_counters (expires_ms);
-- The upload quota sums a user's file sizes.
CREATE INDEX files_owner_size ON files (owner_id, size);

-- +goose Down
DROP INDEX files_owner_size;
DROP TABLE throttle_counters;
