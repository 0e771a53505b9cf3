-- +goose Up
-- Which API each chat request came through: 'native' (POST /api/v1/chat) or
-- 'openai' (POST /v1/chat/completions, the OpenAI-compatible API). Every
-- row logged before this migration came through the native API, the only
-- one there was, hence the default.
ALTER TABLE request_log
    ADD COLUMN api text NOT NULL DEFAULT 'native' CHECK (api IN ('native', 'openai'));

-- +goose Down
ALTER TABLE request_log DROP COLUMN api;
