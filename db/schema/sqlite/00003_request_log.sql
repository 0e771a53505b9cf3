-- +goose Up
-- One row per chat request: who asked, which tier, which provider and key
-- answered (NULL when none did), how it ended, which providers were tried
-- and why they failed, and how long it took. Rows are written in batches,
-- one transaction per batch. created_at is in unix microseconds (UTC).
CREATE TABLE request_log (
    id                INTEGER PRIMARY KEY,
    user_id           TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tier              TEXT    NOT NULL,
    provider          TEXT,
    upstream_model    TEXT,
    key_index         INTEGER CHECK (key_index >= 0),
    outcome           TEXT    NOT NULL,
    error_code        TEXT,
    -- [{"provider": "groq", "reason": "server_error", "key_index": 0}, ...];
    -- key_index is absent when no key was picked.
    attempts          TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(attempts) AND json_type(attempts) = 'array'),
    stream            BOOLEAN NOT NULL CHECK (stream IN (0, 1)),
    latency_ms        INTEGER NOT NULL CHECK (latency_ms >= 0),
    ttft_ms           INTEGER CHECK (ttft_ms >= 0),
    prompt_tokens     INTEGER NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    completion_tokens INTEGER NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    created_at        INTEGER NOT NULL
);

-- Time-range scans and retention deletes.
CREATE INDEX request_log_created_at_idx ON request_log (created_at);
-- A user's history, newest first; also serves the ON DELETE CASCADE from users.
CREATE INDEX request_log_user_created_at_idx ON request_log (user_id, created_at DESC);
-- Per-provider analytics over a time range.
CREATE INDEX request_log_provider_created_at_idx ON request_log (provider, created_at);

-- +goose Down
DROP TABLE request_log;
