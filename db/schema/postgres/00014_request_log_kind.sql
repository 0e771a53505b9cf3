-- +goose Up
-- What each logged request asked for: a chat, an image, or (reserved for
-- the voice routes) a transcription or speech. Every row logged before
-- this migration was a chat. A constant default adds the column without
-- rewriting the table.
ALTER TABLE request_log
    ADD COLUMN kind text NOT NULL DEFAULT 'chat'
        CHECK (kind IN ('chat', 'image', 'transcription', 'speech'));

-- +goose Down
ALTER TABLE request_log DROP COLUMN kind;
