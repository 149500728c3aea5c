-- +goose Up
-- A student's conversations with the AI tutor, optionally opened from a quest or task.
CREATE TABLE tutor_conversations (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    mode TEXT NOT NULL CHECK (mode IN ('study_buddy','teacher','discovery','review','creative')),
    quest_id TEXT REFERENCES quests(id) ON DELETE SET NULL,
    task_id TEXT REFERENCES tasks(id) ON DELETE SET NULL,
    title TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX tutor_conversations_user_idx ON tutor_conversations(user_id, updated_at);

-- Every message in and out. A model message replies to a user message
-- (reply_to); flagged exchanges are shown to linked parents. Student messages
-- are also the daily limit's count (user_id, created_at), so it holds across
-- processes.
CREATE TABLE tutor_messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES tutor_conversations(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('user','model')),
    text TEXT NOT NULL,
    flagged BOOLEAN NOT NULL DEFAULT FALSE,
    category TEXT NOT NULL DEFAULT '',
    refused BOOLEAN NOT NULL DEFAULT FALSE,
    withheld BOOLEAN NOT NULL DEFAULT FALSE,
    reply_to TEXT REFERENCES tutor_messages(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX tutor_messages_conversation_idx ON tutor_messages(conversation_id, created_at);
CREATE INDEX tutor_messages_user_day_idx ON tutor_messages(user_id, role, created_at);
CREATE INDEX tutor_messages_reply_idx ON tutor_messages(reply_to);

-- A family's daily message limit for one student, set by a linked parent;
-- without a row the server default (OPTIO_TUTOR_DAILY_LIMIT) applies.
CREATE TABLE tutor_limits (
    student_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    daily_limit INTEGER NOT NULL CHECK (daily_limit >= 0),
    set_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    updated_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE tutor_limits;
DROP TABLE tutor_messages;
DROP TABLE tutor_conversations;
