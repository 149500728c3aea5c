-- +goose Up
-- Portfolio versions: numbers that change, in the writing transaction,
-- whenever anything a portfolio page shows changes, so a rendered page can be
-- reused while both numbers it was rendered at are unchanged (web's portfolio
-- cache). Triggers keep them, so every write path is covered, including ones
-- added later. A student without a row is at version 0.
-- portfolio_versions: one student's own data (profile, completions, evidence,
-- XP, badges earned, enrolments and synced submissions behind badge progress).
CREATE TABLE portfolio_versions (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    version INTEGER NOT NULL
);
-- portfolio_global_version: data every portfolio shares (quest and task
-- titles, Spark course titles and assignments, badge definitions).
CREATE TABLE portfolio_global_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO portfolio_global_version (id, version) VALUES (1, 0);

-- Student data. The INSERT … SELECT skips users that no longer exist.
-- +goose StatementBegin
CREATE TRIGGER pv_users_update AFTER UPDATE ON users
WHEN OLD.given_name IS NOT NEW.given_name OR OLD.family_name IS NOT NEW.family_name OR OLD.role IS NOT NEW.role
    OR OLD.portfolio_slug IS NOT NEW.portfolio_slug OR OLD.portfolio_visibility IS NOT NEW.portfolio_visibility
    OR OLD.birth_date IS NOT NEW.birth_date OR OLD.parent_consent IS NOT NEW.parent_consent
BEGIN
    INSERT INTO portfolio_versions (user_id, version) SELECT id, 1 FROM users WHERE id = NEW.id
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER pv_completions_insert AFTER INSERT ON quest_task_completions BEGIN
    INSERT INTO portfolio_versions (user_id, version) SELECT id, 1 FROM users WHERE id = NEW.user_id
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_completions_update AFTER UPDATE ON quest_task_completions BEGIN
    INSERT INTO portfolio_versions (user_id, version) SELECT id, 1 FROM users WHERE id IN (OLD.user_id, NEW.user_id)
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_completions_delete AFTER DELETE ON quest_task_completions BEGIN
    INSERT INTO portfolio_versions (user_id, version) SELECT id, 1 FROM users WHERE id = OLD.user_id
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER pv_documents_insert AFTER INSERT ON evidence_documents BEGIN
    INSERT INTO portfolio_versions (user_id, version) SELECT id, 1 FROM users WHERE id = NEW.user_id
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_documents_update AFTER UPDATE ON evidence_documents BEGIN
    INSERT INTO portfolio_versions (user_id, version) SELECT id, 1 FROM users WHERE id IN (OLD.user_id, NEW.user_id)
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_documents_delete AFTER DELETE ON evidence_documents BEGIN
    INSERT INTO portfolio_versions (user_id, version) SELECT id, 1 FROM users WHERE id = OLD.user_id
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- Blocks name their student through their document. A block deleted with its
-- document finds no document; the document's own trigger has counted it.
-- +goose StatementBegin
CREATE TRIGGER pv_blocks_insert AFTER INSERT ON evidence_document_blocks BEGIN
    INSERT INTO portfolio_versions (user_id, version)
        SELECT user_id, 1 FROM evidence_documents WHERE id = NEW.document_id
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_blocks_update AFTER UPDATE ON evidence_document_blocks BEGIN
    INSERT INTO portfolio_versions (user_id, version)
        SELECT DISTINCT user_id, 1 FROM evidence_documents WHERE id IN (OLD.document_id, NEW.document_id)
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_blocks_delete AFTER DELETE ON evidence_document_blocks BEGIN
    INSERT INTO portfolio_versions (user_id, version)
        SELECT user_id, 1 FROM evidence_documents WHERE id = OLD.document_id
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER pv_xp_insert AFTER INSERT ON xp_ledger BEGIN
    INSERT INTO portfolio_versions (user_id, version) SELECT id, 1 FROM users WHERE id = NEW.user_id
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_xp_update AFTER UPDATE ON xp_ledger BEGIN
    INSERT INTO portfolio_versions (user_id, version) SELECT id, 1 FROM users WHERE id IN (OLD.user_id, NEW.user_id)
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_xp_delete AFTER DELETE ON xp_ledger BEGIN
    INSERT INTO portfolio_versions (user_id, version) SELECT id, 1 FROM users WHERE id = OLD.user_id
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER pv_user_badges_insert AFTER INSERT ON user_badges BEGIN
    INSERT INTO portfolio_versions (user_id, version) SELECT id, 1 FROM users WHERE id = NEW.user_id
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_user_badges_update AFTER UPDATE ON user_badges BEGIN
    INSERT INTO portfolio_versions (user_id, version) SELECT id, 1 FROM users WHERE id IN (OLD.user_id, NEW.user_id)
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_user_badges_delete AFTER DELETE ON user_badges BEGIN
    INSERT INTO portfolio_versions (user_id, version) SELECT id, 1 FROM users WHERE id = OLD.user_id
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- Enrolments count for badges only through their status (Spark says the
-- course is complete); an upsert that only refreshes timestamps changes nothing.
-- +goose StatementBegin
CREATE TRIGGER pv_enrollments_insert AFTER INSERT ON spark_enrollments BEGIN
    INSERT INTO portfolio_versions (user_id, version) SELECT id, 1 FROM users WHERE id = NEW.user_id
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_enrollments_update AFTER UPDATE ON spark_enrollments
WHEN OLD.status IS NOT NEW.status OR OLD.user_id IS NOT NEW.user_id OR OLD.spark_course_id IS NOT NEW.spark_course_id
BEGIN
    INSERT INTO portfolio_versions (user_id, version) SELECT id, 1 FROM users WHERE id IN (OLD.user_id, NEW.user_id)
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_enrollments_delete AFTER DELETE ON spark_enrollments BEGIN
    INSERT INTO portfolio_versions (user_id, version) SELECT id, 1 FROM users WHERE id = OLD.user_id
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- Submissions count for badges only once synced (a course is complete when
-- every assignment has a synced submission).
-- +goose StatementBegin
CREATE TRIGGER pv_submissions_insert AFTER INSERT ON spark_assignment_submissions WHEN NEW.synced_to_optio BEGIN
    INSERT INTO portfolio_versions (user_id, version) SELECT id, 1 FROM users WHERE id = NEW.user_id
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_submissions_update AFTER UPDATE ON spark_assignment_submissions
WHEN OLD.synced_to_optio IS NOT NEW.synced_to_optio OR OLD.user_id IS NOT NEW.user_id
    OR OLD.spark_assignment_id IS NOT NEW.spark_assignment_id
BEGIN
    INSERT INTO portfolio_versions (user_id, version) SELECT id, 1 FROM users WHERE id IN (OLD.user_id, NEW.user_id)
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_submissions_delete AFTER DELETE ON spark_assignment_submissions WHEN OLD.synced_to_optio BEGIN
    INSERT INTO portfolio_versions (user_id, version) SELECT id, 1 FROM users WHERE id = OLD.user_id
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- Shared data: any row added or removed, or a shown column changed.
-- +goose StatementBegin
CREATE TRIGGER pv_quests_insert AFTER INSERT ON quests BEGIN
    UPDATE portfolio_global_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_quests_update AFTER UPDATE ON quests
WHEN OLD.title IS NOT NEW.title OR OLD.source IS NOT NEW.source OR OLD.lms_platform IS NOT NEW.lms_platform
    OR OLD.lms_course_id IS NOT NEW.lms_course_id
BEGIN
    UPDATE portfolio_global_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_quests_delete AFTER DELETE ON quests BEGIN
    UPDATE portfolio_global_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER pv_tasks_insert AFTER INSERT ON tasks BEGIN
    UPDATE portfolio_global_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_tasks_update AFTER UPDATE ON tasks
WHEN OLD.title IS NOT NEW.title OR OLD.pillar IS NOT NEW.pillar OR OLD.quest_id IS NOT NEW.quest_id
BEGIN
    UPDATE portfolio_global_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_tasks_delete AFTER DELETE ON tasks BEGIN
    UPDATE portfolio_global_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER pv_course_mappings_insert AFTER INSERT ON spark_course_mappings BEGIN
    UPDATE portfolio_global_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_course_mappings_update AFTER UPDATE ON spark_course_mappings
WHEN OLD.spark_course_id IS NOT NEW.spark_course_id OR OLD.course_title IS NOT NEW.course_title
BEGIN
    UPDATE portfolio_global_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_course_mappings_delete AFTER DELETE ON spark_course_mappings BEGIN
    UPDATE portfolio_global_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER pv_assignments_insert AFTER INSERT ON spark_assignments BEGIN
    UPDATE portfolio_global_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_assignments_update AFTER UPDATE ON spark_assignments
WHEN OLD.spark_assignment_id IS NOT NEW.spark_assignment_id OR OLD.spark_course_id IS NOT NEW.spark_course_id
BEGIN
    UPDATE portfolio_global_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_assignments_delete AFTER DELETE ON spark_assignments BEGIN
    UPDATE portfolio_global_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER pv_badges_insert AFTER INSERT ON badges BEGIN
    UPDATE portfolio_global_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_badges_update AFTER UPDATE ON badges BEGIN
    UPDATE portfolio_global_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_badges_delete AFTER DELETE ON badges BEGIN
    UPDATE portfolio_global_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER pv_badge_courses_insert AFTER INSERT ON badge_courses BEGIN
    UPDATE portfolio_global_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_badge_courses_update AFTER UPDATE ON badge_courses BEGIN
    UPDATE portfolio_global_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_badge_courses_delete AFTER DELETE ON badge_courses BEGIN
    UPDATE portfolio_global_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER pv_badge_courses_delete;
DROP TRIGGER pv_badge_courses_update;
DROP TRIGGER pv_badge_courses_insert;
DROP TRIGGER pv_badges_delete;
DROP TRIGGER pv_badges_update;
DROP TRIGGER pv_badges_insert;
DROP TRIGGER pv_assignments_delete;
DROP TRIGGER pv_assignments_update;
DROP TRIGGER pv_assignments_insert;
DROP TRIGGER pv_course_mappings_delete;
DROP TRIGGER pv_course_mappings_update;
DROP TRIGGER pv_course_mappings_insert;
DROP TRIGGER pv_tasks_delete;
DROP TRIGGER pv_tasks_update;
DROP TRIGGER pv_tasks_insert;
DROP TRIGGER pv_quests_delete;
DROP TRIGGER pv_quests_update;
DROP TRIGGER pv_quests_insert;
DROP TRIGGER pv_submissions_delete;
DROP TRIGGER pv_submissions_update;
DROP TRIGGER pv_submissions_insert;
DROP TRIGGER pv_enrollments_delete;
DROP TRIGGER pv_enrollments_update;
DROP TRIGGER pv_enrollments_insert;
DROP TRIGGER pv_user_badges_delete;
DROP TRIGGER pv_user_badges_update;
DROP TRIGGER pv_user_badges_insert;
DROP TRIGGER pv_xp_delete;
DROP TRIGGER pv_xp_update;
DROP TRIGGER pv_xp_insert;
DROP TRIGGER pv_blocks_delete;
DROP TRIGGER pv_blocks_update;
DROP TRIGGER pv_blocks_insert;
DROP TRIGGER pv_documents_delete;
DROP TRIGGER pv_documents_update;
DROP TRIGGER pv_documents_insert;
DROP TRIGGER pv_completions_delete;
DROP TRIGGER pv_completions_update;
DROP TRIGGER pv_completions_insert;
DROP TRIGGER pv_users_update;
DROP TABLE portfolio_global_version;
DROP TABLE portfolio_versions;
