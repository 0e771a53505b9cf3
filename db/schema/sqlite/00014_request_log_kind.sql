-- +goose Up
-- What each logged request asked for; see
-- db/schema/postgres/00014_request_log_kind.sql. Every row logged before
-- this migration was a chat.
ALTER TABLE request_log
    ADD COLUMN kind TEXT NOT NULL DEFAULT 'chat'
        CHECK (kind IN ('chat', 'image', 'transcription', 'speech'));

-- +goose Down
ALTER TABLE request_log DROP COLUMN kind;
