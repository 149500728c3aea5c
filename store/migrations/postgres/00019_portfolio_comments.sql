-- +goose Up
-- The showcase shows observers' encouragement next to the work (to the
-- student, their family and observers), so a comment posted or hidden is a
-- change of the student's portfolio: count it in portfolio_versions (00010).
CREATE CONSTRAINT TRIGGER pv_comments AFTER INSERT OR UPDATE OR DELETE ON completion_comments DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION portfolio_student_changed('student_id');

-- +goose Down
DROP TRIGGER pv_comments ON completion_comments;
