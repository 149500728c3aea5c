-- +goose Up
-- Portfolio versions: numbers that change, in the writing transaction,
-- whenever anything a portfolio page shows changes, so a rendered page can be
-- reused while both numbers it was rendered at are unchanged (web's portfolio
-- cache). Triggers keep them, so every write path is covered, including ones
-- added later. A student without a row is at version 0.
--
-- The triggers are constraint triggers deferred to commit: a transaction
-- takes the version row's lock as its last step, never while it still waits
-- for other rows, so a writer that raises one version (one student's data,
-- or shared data, as every write path does) cannot deadlock on it.
-- portfolio_versions: one student's own data (profile, completions, evidence,
-- XP, badges earned, enrolments and synced submissions behind badge progress).
CREATE TABLE portfolio_versions (
    user_id UUID PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    version BIGINT NOT NULL
);
-- portfolio_global_version: data every portfolio shares (quest and task
-- titles, Spark course titles and assignments, badge definitions).
CREATE TABLE portfolio_global_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO portfolio_global_version (id, version) VALUES (1, 0);

-- portfolio_bump counts a change of student uid's portfolio; users that no
-- longer exist are skipped.
-- +goose StatementBegin
CREATE FUNCTION portfolio_bump(uid UUID) RETURNS void LANGUAGE sql AS $$
    INSERT INTO portfolio_versions (user_id, version) SELECT id, 1 FROM users WHERE id = uid
        ON CONFLICT (user_id) DO UPDATE SET version = portfolio_versions.version + 1;
$$;
-- +goose StatementEnd

-- portfolio_student_changed bumps the student named by the row's column
-- TG_ARGV[0], before and after the change.
-- +goose StatementBegin
CREATE FUNCTION portfolio_student_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_id UUID;
    new_id UUID;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_id := (to_jsonb(OLD) ->> TG_ARGV[0])::uuid;
        PERFORM portfolio_bump(old_id);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_id := (to_jsonb(NEW) ->> TG_ARGV[0])::uuid;
        IF old_id IS DISTINCT FROM new_id THEN
            PERFORM portfolio_bump(new_id);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- portfolio_block_changed bumps the student whose document holds the block. A
-- block deleted with its document finds no document; the document's own
-- trigger has counted it.
-- +goose StatementBegin
CREATE FUNCTION portfolio_block_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM portfolio_bump(d.user_id) FROM evidence_documents d WHERE d.id = OLD.document_id;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND OLD.document_id IS DISTINCT FROM NEW.document_id) THEN
        PERFORM portfolio_bump(d.user_id) FROM evidence_documents d WHERE d.id = NEW.document_id;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION portfolio_global_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE portfolio_global_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- Student data.
CREATE CONSTRAINT TRIGGER pv_users_update AFTER UPDATE ON users DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.given_name, OLD.family_name, OLD.role, OLD.portfolio_slug, OLD.portfolio_visibility, OLD.birth_date, OLD.parent_consent)
        IS DISTINCT FROM (NEW.given_name, NEW.family_name, NEW.role, NEW.portfolio_slug, NEW.portfolio_visibility, NEW.birth_date, NEW.parent_consent))
    EXECUTE FUNCTION portfolio_student_changed('id');
CREATE CONSTRAINT TRIGGER pv_completions AFTER INSERT OR UPDATE OR DELETE ON quest_task_completions DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION portfolio_student_changed('user_id');
CREATE CONSTRAINT TRIGGER pv_documents AFTER INSERT OR UPDATE OR DELETE ON evidence_documents DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION portfolio_student_changed('user_id');
CREATE CONSTRAINT TRIGGER pv_blocks AFTER INSERT OR UPDATE OR DELETE ON evidence_document_blocks DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION portfolio_block_changed();
CREATE CONSTRAINT TRIGGER pv_xp AFTER INSERT OR UPDATE OR DELETE ON xp_ledger DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION portfolio_student_changed('user_id');
CREATE CONSTRAINT TRIGGER pv_user_badges AFTER INSERT OR UPDATE OR DELETE ON user_badges DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION portfolio_student_changed('user_id');
-- Enrolments count for badges only through their status (Spark says the
-- course is complete); an upsert that only refreshes timestamps changes nothing.
CREATE CONSTRAINT TRIGGER pv_enrollments_insert_delete AFTER INSERT OR DELETE ON spark_enrollments DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION portfolio_student_changed('user_id');
CREATE CONSTRAINT TRIGGER pv_enrollments_update AFTER UPDATE ON spark_enrollments DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.status, OLD.user_id, OLD.spark_course_id) IS DISTINCT FROM (NEW.status, NEW.user_id, NEW.spark_course_id))
    EXECUTE FUNCTION portfolio_student_changed('user_id');
-- Submissions count for badges only once synced (a course is complete when
-- every assignment has a synced submission).
CREATE CONSTRAINT TRIGGER pv_submissions_insert AFTER INSERT ON spark_assignment_submissions DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.synced_to_optio) EXECUTE FUNCTION portfolio_student_changed('user_id');
CREATE CONSTRAINT TRIGGER pv_submissions_update AFTER UPDATE ON spark_assignment_submissions DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.synced_to_optio, OLD.user_id, OLD.spark_assignment_id) IS DISTINCT FROM (NEW.synced_to_optio, NEW.user_id, NEW.spark_assignment_id))
    EXECUTE FUNCTION portfolio_student_changed('user_id');
CREATE CONSTRAINT TRIGGER pv_submissions_delete AFTER DELETE ON spark_assignment_submissions DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.synced_to_optio) EXECUTE FUNCTION portfolio_student_changed('user_id');

-- Shared data: any row added or removed, or a shown column changed.
CREATE CONSTRAINT TRIGGER pv_quests_insert_delete AFTER INSERT OR DELETE ON quests DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION portfolio_global_changed();
CREATE CONSTRAINT TRIGGER pv_quests_update AFTER UPDATE ON quests DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.title, OLD.source, OLD.lms_platform, OLD.lms_course_id) IS DISTINCT FROM (NEW.title, NEW.source, NEW.lms_platform, NEW.lms_course_id))
    EXECUTE FUNCTION portfolio_global_changed();
CREATE CONSTRAINT TRIGGER pv_tasks_insert_delete AFTER INSERT OR DELETE ON tasks DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION portfolio_global_changed();
CREATE CONSTRAINT TRIGGER pv_tasks_update AFTER UPDATE ON tasks DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.title, OLD.pillar, OLD.quest_id) IS DISTINCT FROM (NEW.title, NEW.pillar, NEW.quest_id))
    EXECUTE FUNCTION portfolio_global_changed();
CREATE CONSTRAINT TRIGGER pv_course_mappings_insert_delete AFTER INSERT OR DELETE ON spark_course_mappings DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION portfolio_global_changed();
CREATE CONSTRAINT TRIGGER pv_course_mappings_update AFTER UPDATE ON spark_course_mappings DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.spark_course_id, OLD.course_title) IS DISTINCT FROM (NEW.spark_course_id, NEW.course_title))
    EXECUTE FUNCTION portfolio_global_changed();
CREATE CONSTRAINT TRIGGER pv_assignments_insert_delete AFTER INSERT OR DELETE ON spark_assignments DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION portfolio_global_changed();
CREATE CONSTRAINT TRIGGER pv_assignments_update AFTER UPDATE ON spark_assignments DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.spark_assignment_id, OLD.spark_course_id) IS DISTINCT FROM (NEW.spark_assignment_id, NEW.spark_course_id))
    EXECUTE FUNCTION portfolio_global_changed();
CREATE CONSTRAINT TRIGGER pv_badges AFTER INSERT OR UPDATE OR DELETE ON badges DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION portfolio_global_changed();
CREATE CONSTRAINT TRIGGER pv_badge_courses AFTER INSERT OR UPDATE OR DELETE ON badge_courses DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION portfolio_global_changed();

-- +goose Down
DROP TRIGGER pv_badge_courses ON badge_courses;
DROP TRIGGER pv_badges ON badges;
DROP TRIGGER pv_assignments_update ON spark_assignments;
DROP TRIGGER pv_assignments_insert_delete ON spark_assignments;
DROP TRIGGER pv_course_mappings_update ON spark_course_mappings;
DROP TRIGGER pv_course_mappings_insert_delete ON spark_course_mappings;
DROP TRIGGER pv_tasks_update ON tasks;
DROP TRIGGER pv_tasks_insert_delete ON tasks;
DROP TRIGGER pv_quests_update ON quests;
DROP TRIGGER pv_quests_insert_delete ON quests;
DROP TRIGGER pv_submissions_delete ON spark_assignment_submissions;
DROP TRIGGER pv_submissions_update ON spark_assignment_submissions;
DROP TRIGGER pv_submissions_insert ON spark_assignment_submissions;
DROP TRIGGER pv_enrollments_update ON spark_enrollments;
DROP TRIGGER pv_enrollments_insert_delete ON spark_enrollments;
DROP TRIGGER pv_user_badges ON user_badges;
DROP TRIGGER pv_xp ON xp_ledger;
DROP TRIGGER pv_blocks ON evidence_document_blocks;
DROP TRIGGER pv_documents ON evidence_documents;
DROP TRIGGER pv_completions ON quest_task_completions;
DROP TRIGGER pv_users_update ON users;
DROP FUNCTION portfolio_global_changed();
DROP FUNCTION portfolio_block_changed();
DROP FUNCTION portfolio_student_changed();
DROP FUNCTION portfolio_bump(UUID);
DROP TABLE portfolio_global_version;
DROP TABLE portfolio_versions;
