-- +goose Up
-- The plan's per-course switches, and the pillar a course's tasks take when
-- Spark or an admin names one (NULL: guessed from the course title).
ALTER TABLE spark_course_mappings ADD COLUMN sync_enabled BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE spark_course_mappings ADD COLUMN auto_enroll_students BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE spark_course_mappings ADD COLUMN pillar TEXT CHECK (pillar IN ('stem','wellness','communication','civics','art'));
ALTER TABLE spark_course_mappings ADD COLUMN pillar_source TEXT CHECK (pillar_source IN ('spark','admin'));

-- +goose Down
ALTER TABLE spark_course_mappings DROP COLUMN pillar_source;
ALTER TABLE spark_course_mappings DROP COLUMN pillar;
ALTER TABLE spark_course_mappings DROP COLUMN auto_enroll_students;
ALTER TABLE spark_course_mappings DROP COLUMN sync_enabled;
