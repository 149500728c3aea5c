-- +goose Up
-- Small durable state of background jobs, e.g. when Spark was last polled.
CREATE TABLE job_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX spark_sync_queue_completed_idx ON spark_evidence_sync_queue(completed_at);

-- +goose Down
DROP INDEX spark_sync_queue_completed_idx;
DROP TABLE job_state;
