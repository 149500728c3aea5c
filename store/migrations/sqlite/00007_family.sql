-- +goose Up
-- Observer links belong to the portfolio migration (00005); this creates the
-- same table only when that migration is absent, so either order works.
CREATE TABLE IF NOT EXISTS observer_links (
    id TEXT PRIMARY KEY,
    observer_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    student_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    can_comment BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP NULL,
    UNIQUE (observer_id, student_id)
);

-- Single-use codes a student gives a parent; only the code's hash is kept.
CREATE TABLE parent_link_codes (
    id TEXT PRIMARY KEY,
    code_hash TEXT NOT NULL UNIQUE,
    student_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    used_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX parent_link_codes_student_idx ON parent_link_codes(student_id);

-- Single-use observer invitations; only the code's hash is kept.
CREATE TABLE observer_invitations (
    id TEXT PRIMARY KEY,
    code_hash TEXT NOT NULL UNIQUE,
    student_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_by TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    can_comment BOOLEAN NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    expires_at TIMESTAMP NOT NULL,
    accepted_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    accepted_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX observer_invitations_student_idx ON observer_invitations(student_id);

-- Observers' encouragement on completed work. The (author_id, created_at)
-- index serves the per-observer rate limit.
CREATE TABLE completion_comments (
    id TEXT PRIMARY KEY,
    completion_id TEXT NOT NULL REFERENCES quest_task_completions(id) ON DELETE CASCADE,
    student_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    author_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    hidden_at TIMESTAMP,
    hidden_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX completion_comments_completion_idx ON completion_comments(completion_id, created_at);
CREATE INDEX completion_comments_author_idx ON completion_comments(author_id, created_at);

-- +goose Down
-- observer_links is left alone: it belongs to the portfolio migration.
DROP TABLE completion_comments;
DROP TABLE observer_invitations;
DROP TABLE parent_link_codes;
