-- +goose Up
-- Spark courses Optio knows of, and the quest each maps to (null: unmapped).
CREATE TABLE spark_course_mappings (
    id UUID PRIMARY KEY,
    spark_course_id TEXT NOT NULL UNIQUE,
    course_title TEXT NOT NULL DEFAULT '',
    course_description TEXT NOT NULL DEFAULT '',
    optio_quest_id UUID REFERENCES quests(id) ON DELETE SET NULL,
    mapping_mode TEXT NOT NULL DEFAULT 'auto' CHECK (mapping_mode IN ('auto','manual')),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Spark assignments and the task each maps to.
CREATE TABLE spark_assignments (
    spark_assignment_id TEXT PRIMARY KEY,
    spark_course_id TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    due_at TIMESTAMPTZ,
    max_points DOUBLE PRECISION,
    optio_task_id UUID REFERENCES tasks(id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX spark_assignments_course_idx ON spark_assignments(spark_course_id);

-- A student's enrolment in a Spark course as Spark reports it (roster
-- webhooks and SSO spark_course_ids); kept for unmapped courses too.
CREATE TABLE spark_enrollments (
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    spark_course_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('enrolled','dropped','completed')),
    occurred_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, spark_course_id)
);
CREATE INDEX spark_enrollments_course_idx ON spark_enrollments(spark_course_id);

CREATE TABLE spark_assignment_submissions (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    spark_user_id TEXT NOT NULL,
    spark_assignment_id TEXT NOT NULL,
    spark_course_id TEXT NOT NULL,
    submission_text TEXT NOT NULL DEFAULT '',
    submission_files JSONB NOT NULL,
    submitted_at TIMESTAMPTZ NOT NULL,
    grade TEXT,
    synced_to_optio BOOLEAN NOT NULL DEFAULT FALSE,
    optio_task_completion_id UUID REFERENCES quest_task_completions(id) ON DELETE SET NULL,
    last_webhook_id TEXT,
    revision INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (user_id, spark_assignment_id)
);
CREATE INDEX spark_submissions_assignment_idx ON spark_assignment_submissions(spark_assignment_id);
CREATE INDEX spark_submissions_course_idx ON spark_assignment_submissions(spark_course_id);

-- The admin-visible record of each evidence sync (River runs the job).
CREATE TABLE spark_evidence_sync_queue (
    id UUID PRIMARY KEY,
    submission_id UUID NOT NULL REFERENCES spark_assignment_submissions(id) ON DELETE CASCADE,
    revision INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending','processing','completed','failed','waiting')),
    attempts INTEGER NOT NULL DEFAULT 0,
    error_message TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    started_at TIMESTAMPTZ,
    completed_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX spark_sync_queue_status_idx ON spark_evidence_sync_queue(status, created_at);
CREATE INDEX spark_sync_queue_submission_idx ON spark_evidence_sync_queue(submission_id);

-- SSO nonces seen, kept until the token they came in could no longer be valid.
CREATE TABLE sso_nonces (
    nonce TEXT PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sso_nonces_expiry_idx ON sso_nonces(expires_at);

-- Every webhook-id accepted: the idempotency key across all processes.
CREATE TABLE webhook_deliveries (
    webhook_id TEXT PRIMARY KEY,
    endpoint TEXT NOT NULL,
    outcome TEXT NOT NULL,
    ref_id TEXT,
    received_at TIMESTAMPTZ NOT NULL
);

-- Who did what to whose data: account links, views by observers, admin actions.
CREATE TABLE audit_log (
    id UUID PRIMARY KEY,
    actor_id UUID,
    action TEXT NOT NULL,
    subject_id UUID,
    detail JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_log_subject_idx ON audit_log(subject_id, created_at);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE webhook_deliveries;
DROP TABLE sso_nonces;
DROP TABLE spark_evidence_sync_queue;
DROP TABLE spark_assignment_submissions;
DROP TABLE spark_enrollments;
DROP TABLE spark_assignments;
DROP TABLE spark_course_mappings;
