-- +goose Up
-- A student's conversations with the AI tutor, optionally opened from a quest or task.
CREATE TABLE tutor_conversations (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    mode TEXT NOT NULL CHECK (mode IN ('study_buddy','teacher','discovery','review','creative')),
    quest_id UUID REFERENCES quests(id) ON DELETE SET NULL,
    task_id UUID REFERENCES tasks(id) ON DELETE SET NULL,
    title TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX tutor_conversations_user_idx ON tutor_conversations(user_id, updated_at);

-- Every message in and out. A model message replies to a user message
-- (reply_to); flagged exchanges are shown to linked parents. Student messages
-- are also the daily limit's count (user_id, created_at), so it holds across
-- processes.
CREATE TABLE tutor_messages (
    id UUID PRIMARY KEY,
    conversation_id UUID NOT NULL REFERENCES tutor_conversations(id) ON DELETE CASCADE,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('user','model')),
    text TEXT NOT NULL,
    flagged BOOLEAN NOT NULL DEFAULT FALSE,
    category TEXT NOT NULL DEFAULT '',
    refused BOOLEAN NOT NULL DEFAULT FALSE,
    withheld BOOLEAN NOT NULL DEFAULT FALSE,
    reply_to UUID REFERENCES tutor_messages(id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX tutor_messages_conversation_idx ON tutor_messages(conversation_id, created_at);
CREATE INDEX tutor_messages_user_day_idx ON tutor_messages(user_id, role, created_at);
CREATE INDEX tutor_messages_reply_idx ON tutor_messages(reply_to);

-- A family's daily message limit for one student, set by a linked parent;
-- without a row the server default (OPTIO_TUTOR_DAILY_LIMIT) applies.
CREATE TABLE tutor_limits (
    student_id UUID PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    daily_limit INTEGER NOT NULL CHECK (daily_limit >= 0),
    set_by UUID REFERENCES users(id) ON DELETE SET NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE tutor_limits;
DROP TABLE tutor_messages;
DROP TABLE tutor_conversations;
