-- +goose Up
-- LTI 1.3 (issue 23): LMS platforms an administrator registered, login
-- initiations waiting for their launch (state and nonce, single-use), and
-- the courses (LTI contexts) launches brought, each mapped to a quest, with
-- who is what in each. Platform users are linked through lms_integrations
-- (platform "lti:<platform id>"), course quests through quests.lms_platform.
CREATE TABLE lti_platforms (
    id UUID PRIMARY KEY,
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    deployment_ids TEXT NOT NULL,
    auth_url TEXT NOT NULL,
    token_url TEXT NOT NULL,
    jwks_url TEXT NOT NULL,
    frame_origin TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (issuer, client_id)
);

CREATE TABLE lti_states (
    state_hash TEXT PRIMARY KEY,
    nonce TEXT NOT NULL,
    platform_id UUID NOT NULL REFERENCES lti_platforms(id) ON DELETE CASCADE,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX lti_states_expiry_idx ON lti_states(expires_at);

CREATE TABLE lti_courses (
    id UUID PRIMARY KEY,
    platform_id UUID NOT NULL REFERENCES lti_platforms(id) ON DELETE CASCADE,
    context_id TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    quest_id UUID NOT NULL REFERENCES quests(id) ON DELETE CASCADE,
    -- LTI Advantage endpoints the latest launch named (NRPS, AGS), the
    -- quest's AGS line item once read or created, the last roster sync.
    nrps_url TEXT NOT NULL DEFAULT '',
    ags_lineitems_url TEXT NOT NULL DEFAULT '',
    line_item_url TEXT NOT NULL DEFAULT '',
    roster_synced_at TIMESTAMPTZ,
    roster_error TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (platform_id, context_id)
);
-- "Is this completion's quest an LTI course with AGS?" on every completion.
CREATE INDEX lti_courses_quest_idx ON lti_courses(quest_id);

CREATE TABLE lti_memberships (
    course_id UUID NOT NULL REFERENCES lti_courses(id) ON DELETE CASCADE,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('learner','instructor','mentor')),
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (course_id, user_id)
);
CREATE INDEX lti_memberships_user_idx ON lti_memberships(user_id);

-- +goose Down
DROP TABLE lti_memberships;
DROP TABLE lti_courses;
DROP TABLE lti_states;
DROP TABLE lti_platforms;
