-- +goose Up
-- The showcase shows observers' encouragement next to the work (to the
-- student, their family and observers), so a comment posted or hidden is a
-- change of the student's portfolio: count it in portfolio_versions (00010).
-- +goose StatementBegin
CREATE TRIGGER pv_comments_insert AFTER INSERT ON completion_comments BEGIN
    INSERT INTO portfolio_versions (user_id, version) SELECT id, 1 FROM users WHERE id = NEW.student_id
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_comments_update AFTER UPDATE ON completion_comments BEGIN
    INSERT INTO portfolio_versions (user_id, version) SELECT id, 1 FROM users WHERE id IN (OLD.student_id, NEW.student_id)
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pv_comments_delete AFTER DELETE ON completion_comments BEGIN
    INSERT INTO portfolio_versions (user_id, version) SELECT id, 1 FROM users WHERE id = OLD.student_id
        ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER pv_comments_delete;
DROP TRIGGER pv_comments_update;
DROP TRIGGER pv_comments_insert;
