-- +goose Up
-- Observers (invited extended family) follow students. A link is revoked by
-- setting revoked_at, never deleted, so an audit can tell who could see what
-- and when; re-inviting the same observer clears revoked_at on the same row.
CREATE TABLE observer_links (
    id TEXT PRIMARY KEY,
    observer_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    student_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    can_comment BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    UNIQUE (observer_id, student_id),
    CHECK (observer_id <> student_id)
);
CREATE INDEX observer_links_student_idx ON observer_links(student_id);

-- +goose Down
DROP TABLE observer_links;
