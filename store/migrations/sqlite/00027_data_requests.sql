-- +goose Up
-- Issue 25. Exports and deletions families (or a school, through an admin)
-- ask for. A live request (pending or running) is unique per student and
-- kind, so asking twice makes one job. The rows go with the student when the
-- student is deleted; the audit log keeps that a deletion happened, without
-- personal data (docs/privacy.md).
CREATE TABLE data_requests (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('export','deletion')),
    student_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    requested_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    status TEXT NOT NULL CHECK (status IN ('pending','running','ready','failed','cancelled')),
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    due_at TIMESTAMP,
    expires_at TIMESTAMP,
    blob_key TEXT,
    error_message TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX data_requests_live_idx ON data_requests(student_id, kind) WHERE status IN ('pending','running');
CREATE INDEX data_requests_due_idx ON data_requests(kind, status, due_at);

-- +goose Down
DROP TABLE data_requests;
