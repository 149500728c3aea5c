-- +goose Up
-- Where polling Spark's API stands for each assignment, so a poll stopped by
-- an error or a limit resumes at the page it stopped on, and a poll reads only
-- what changed since the last complete walk (docs/spark/API_SPECIFICATION.md).
CREATE TABLE spark_poll_assignments (
    spark_assignment_id TEXT PRIMARY KEY,
    spark_course_id TEXT NOT NULL,
    -- start of the last complete walk: the next asks since (watermark - overlap)
    watermark TIMESTAMPTZ,
    -- start of the last complete walk without since (the full reconciliation)
    reconciled_at TIMESTAMPTZ,
    -- an unfinished walk: when it started, whether it is full, the since it
    -- asked with and the cursor of the next page to read
    walk_started TIMESTAMPTZ,
    walk_full BOOLEAN NOT NULL DEFAULT FALSE,
    walk_since TIMESTAMPTZ,
    walk_cursor TEXT,
    updated_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE spark_poll_assignments;
