-- +goose Up
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT UNIQUE,
    password_hash TEXT,
    given_name TEXT NOT NULL DEFAULT '',
    family_name TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL CHECK (role IN ('student','parent','observer','admin')),
    portfolio_slug TEXT UNIQUE,
    portfolio_visibility TEXT NOT NULL DEFAULT 'public' CHECK (portfolio_visibility IN ('public','unlisted','private')),
    birth_date DATE,
    parent_consent BOOLEAN NOT NULL DEFAULT FALSE,
    provisional BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions(user_id);

CREATE TABLE lms_integrations (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    platform TEXT NOT NULL,
    external_user_id TEXT NOT NULL,
    linked_via TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (platform, external_user_id),
    UNIQUE (user_id, platform)
);

CREATE TABLE parent_links (
    parent_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    student_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    linked_via TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (parent_id, student_id)
);
CREATE INDEX parent_links_student_idx ON parent_links(student_id);

CREATE TABLE quests (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL CHECK (source IN ('optio','lms')),
    lms_platform TEXT,
    lms_course_id TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (lms_platform, lms_course_id)
);

CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    quest_id TEXT NOT NULL REFERENCES quests(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    pillar TEXT NOT NULL CHECK (pillar IN ('stem','wellness','communication','civics','art')),
    xp_value INTEGER NOT NULL CHECK (xp_value >= 0),
    position INTEGER NOT NULL DEFAULT 0,
    lms_assignment_id TEXT,
    due_at TIMESTAMP,
    max_points REAL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (quest_id, lms_assignment_id)
);
CREATE INDEX tasks_quest_idx ON tasks(quest_id, position);
CREATE INDEX tasks_lms_assignment_idx ON tasks(lms_assignment_id);

CREATE TABLE user_quests (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    quest_id TEXT NOT NULL REFERENCES quests(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('active','dropped','completed')),
    started_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, quest_id)
);
CREATE INDEX user_quests_quest_idx ON user_quests(quest_id);

CREATE TABLE quest_task_completions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    quest_id TEXT NOT NULL REFERENCES quests(id) ON DELETE CASCADE,
    source TEXT NOT NULL DEFAULT 'optio',
    grade TEXT,
    completed_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (user_id, task_id)
);
CREATE INDEX completions_user_idx ON quest_task_completions(user_id, completed_at);

CREATE TABLE files (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    blob_key TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE evidence_documents (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    completion_id TEXT NOT NULL UNIQUE REFERENCES quest_task_completions(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX evidence_documents_user_idx ON evidence_documents(user_id);

CREATE TABLE evidence_document_blocks (
    id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL REFERENCES evidence_documents(id) ON DELETE CASCADE,
    block_type TEXT NOT NULL CHECK (block_type IN ('text','image','video','link','document')),
    content TEXT NOT NULL,
    order_index INTEGER NOT NULL,
    file_id TEXT REFERENCES files(id),
    is_private BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (document_id, order_index)
);
CREATE INDEX evidence_blocks_file_idx ON evidence_document_blocks(file_id);

CREATE TABLE xp_ledger (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    pillar TEXT NOT NULL,
    amount INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (user_id, task_id)
);

-- +goose Down
DROP TABLE xp_ledger;
DROP TABLE evidence_document_blocks;
DROP TABLE evidence_documents;
DROP TABLE files;
DROP TABLE quest_task_completions;
DROP TABLE user_quests;
DROP TABLE tasks;
DROP TABLE quests;
DROP TABLE parent_links;
DROP TABLE lms_integrations;
DROP TABLE sessions;
DROP TABLE users;
