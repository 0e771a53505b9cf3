-- +goose Up
-- One row per chat request: who asked, which tier, which provider and key
-- answered (NULL when none did), how it ended, which providers were tried
-- and why they failed, and how long it took. Rows are written in batches
-- with COPY, so the constraints only reject values the writer never sends.
CREATE TABLE request_log (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id           uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tier              text        NOT NULL,
    provider          text,
    upstream_model    text,
    key_index         integer     CHECK (key_index >= 0),
    outcome           text        NOT NULL,
    error_code        text,
    -- [{"provider": "groq", "reason": "server_error", "key_index": 0}, ...];
    -- key_index is absent when no key was picked.
    attempts          jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(attempts) = 'array'),
    stream            boolean     NOT NULL,
    latency_ms        integer     NOT NULL CHECK (latency_ms >= 0),
    ttft_ms           integer     CHECK (ttft_ms >= 0),
    prompt_tokens     integer     NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    completion_tokens integer     NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    created_at        timestamptz NOT NULL
);

-- Time-range scans and retention deletes.
CREATE INDEX request_log_created_at_idx ON request_log (created_at);
-- A user's history, newest first; also serves the ON DELETE CASCADE from users.
CREATE INDEX request_log_user_created_at_idx ON request_log (user_id, created_at DESC);
-- Per-provider analytics over a time range.
CREATE INDEX request_log_provider_created_at_idx ON request_log (provider, created_at);

-- +goose Down
DROP TABLE request_log;
