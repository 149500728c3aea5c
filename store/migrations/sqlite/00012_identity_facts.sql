-- +goose Up
-- Issue 17. Who may own an email, who recorded a child's age and consent,
-- and what a user can see of their own sessions (docs/architecture.md,
-- "Spark identity" and "Age and consent").

-- email_verified: ownership of the email was proven — Spark vouched for it
-- (SSO or a webhook), or an administrator created the account. Only such an
-- account is ever linked to a Spark identity by email.
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;
-- displaced_email: an unverified (self-registered) account's email after a
-- Spark account proved ownership of it. It stays the account's sign-in name
-- and is matched to nothing else.
ALTER TABLE users ADD COLUMN displaced_email TEXT;
CREATE UNIQUE INDEX users_displaced_email ON users(displaced_email);
-- Who recorded the birth date and the parent consent, and when:
-- student, parent, admin or spark; set_by is the user who did (NULL for Spark).
ALTER TABLE users ADD COLUMN birth_date_source TEXT CHECK (birth_date_source IN ('student','parent','admin','spark'));
ALTER TABLE users ADD COLUMN birth_date_set_at TIMESTAMP;
ALTER TABLE users ADD COLUMN birth_date_set_by TEXT;
ALTER TABLE users ADD COLUMN parent_consent_source TEXT CHECK (parent_consent_source IN ('parent','admin','spark'));
ALTER TABLE users ADD COLUMN parent_consent_set_at TIMESTAMP;
ALTER TABLE users ADD COLUMN parent_consent_set_by TEXT;

-- Accounts Spark already vouches for, and administrators (created by
-- `optio admin create`), have proven their email.
UPDATE users SET email_verified = TRUE WHERE email IS NOT NULL
    AND (role = 'admin' OR id IN (SELECT user_id FROM lms_integrations WHERE platform = 'spark'));
-- Until now nothing recorded who set a birth date, and students could set
-- theirs: an existing one counts as the student's own (it opens no consent
-- gate) until a parent records it again. Consent could only come from a
-- linked parent.
UPDATE users SET birth_date_source = 'student' WHERE birth_date IS NOT NULL;
UPDATE users SET parent_consent_source = 'parent' WHERE parent_consent;

-- Sessions: when each was last used and a coarse description of the
-- browser ("Firefox on Linux"), for the account page's list.
ALTER TABLE sessions ADD COLUMN last_seen_at TIMESTAMP;
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
UPDATE sessions SET last_seen_at = created_at;

-- +goose Down
ALTER TABLE sessions DROP COLUMN user_agent;
ALTER TABLE sessions DROP COLUMN last_seen_at;
DROP INDEX users_displaced_email;
ALTER TABLE users DROP COLUMN parent_consent_set_by;
ALTER TABLE users DROP COLUMN parent_consent_set_at;
ALTER TABLE users DROP COLUMN parent_consent_source;
ALTER TABLE users DROP COLUMN birth_date_set_by;
ALTER TABLE users DROP COLUMN birth_date_set_at;
ALTER TABLE users DROP COLUMN birth_date_source;
ALTER TABLE users DROP COLUMN displaced_email;
ALTER TABLE users DROP COLUMN email_verified;
