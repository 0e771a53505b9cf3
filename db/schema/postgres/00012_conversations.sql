-- +goose Up
-- Conversations kept by the server: a user's threads and their messages.
-- updated_at is the last activity (creation, then each message appended),
-- which orders a user's list and decides the retention purge. A turn in
-- progress holds turn_lease until turn_expires_at, so that two chats on
-- one conversation never interleave, whichever instance serves them; an
-- instance that died holding one loses it at expiry. Titles are empty until
-- the first prompt names them.
CREATE TABLE conversations (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title           text        NOT NULL DEFAULT '' CHECK (char_length(title) <= 200),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    turn_lease      text        CHECK (char_length(turn_lease) BETWEEN 1 AND 64),
    turn_expires_at timestamptz,
    CHECK ((turn_lease IS NULL) = (turn_expires_at IS NULL))
);

-- A user's list, most recently active first (scanned backwards), and its
-- keyset cursor; also
-- serves the ON DELETE CASCADE from users and the per-user count.
CREATE INDEX conversations_user_updated_at_idx ON conversations (user_id, updated_at, id);
-- The retention purge of idle conversations.
CREATE INDEX conversations_updated_at_idx ON conversations (updated_at);
-- Analytics: conversations started per day.
CREATE INDEX conversations_created_at_idx ON conversations (created_at);
-- Full-text search over titles. The 'simple' configuration lower-cases
-- words without stemming, so that every language matches the same way.
-- ASCII punctuation becomes a space first, so that the words are those of
-- domain.SearchWords and SQLite's FTS5 (runs of letters and digits): the
-- PostgreSQL parser would keep an email or a decimal as one token.
CREATE INDEX conversations_title_search_idx ON conversations
    USING gin (to_tsvector('simple', regexp_replace(title, '[!-/:-@[-`{-~]+', ' ', 'g')));

-- A conversation's messages in order (id grows with each one). Assistant
-- messages carry how they were answered; usage is what the upstream
-- reported; sources are the web search results the answer was given.
CREATE TABLE messages (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id   uuid        NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role              text        NOT NULL CHECK (role IN ('user', 'assistant')),
    content           text        NOT NULL,
    status            text        NOT NULL CHECK (status IN ('complete', 'interrupted')),
    tier              text,
    provider          text,
    upstream_model    text,
    request_id        text        CHECK (char_length(request_id) <= 128),
    prompt_tokens     integer     NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    completion_tokens integer     NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    -- [{"title": "...", "url": "...", "snippet": "..."}, ...]
    sources           jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(sources) = 'array'),
    created_at        timestamptz NOT NULL,
    -- The words of content for full-text search, kept by the database.
    -- The 'simple' configuration lower-cases words without stemming, so
    -- that every language matches the same way; punctuation is a space
    -- (see conversations_title_search_idx).
    search            tsvector    GENERATED ALWAYS AS (to_tsvector('simple', regexp_replace(content, '[!-/:-@[-`{-~]+', ' ', 'g'))) STORED
);

-- A conversation's messages in order, its latest ones, and the cascade.
CREATE INDEX messages_conversation_id_idx ON messages (conversation_id, id);
-- Analytics: messages stored per day.
CREATE INDEX messages_created_at_idx ON messages (created_at);
-- Full-text search over message text.
CREATE INDEX messages_search_idx ON messages USING gin (search);

-- Deleting an account keeps its request log rows, anonymised: user_id
-- becomes NULL instead of the rows going with the account.
ALTER TABLE request_log ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE request_log DROP CONSTRAINT request_log_user_id_fkey;
-- NOT VALID then VALIDATE: the check of existing rows runs under a lock
-- that lets users be written meanwhile.
ALTER TABLE request_log ADD CONSTRAINT request_log_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL NOT VALID;
ALTER TABLE request_log VALIDATE CONSTRAINT request_log_user_id_fkey;

-- +goose Down
-- Rows of deleted accounts have no user to return to.
DELETE FROM request_log WHERE user_id IS NULL;
ALTER TABLE request_log DROP CONSTRAINT request_log_user_id_fkey;
ALTER TABLE request_log ADD CONSTRAINT request_log_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE request_log ALTER COLUMN user_id SET NOT NULL;
DROP TABLE messages;
DROP TABLE conversations;
