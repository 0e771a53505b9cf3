-- +goose Up
-- Personal API keys. A key is a bearer credential for its owner, shown once
-- at creation; only its SHA-256 is kept (a key carries 256 random bits, so a
-- slow password hash would add nothing, and a lookup stays one index probe).
-- prefix is the key's first characters, to tell keys apart in lists.
-- Revoking deletes the row; deleting the owner deletes their keys.
CREATE TABLE api_keys (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    prefix       text        NOT NULL CHECK (char_length(prefix) BETWEEN 1 AND 16),
    key_hash     bytea       NOT NULL CHECK (length(key_hash) = 32),
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz
);

CREATE UNIQUE INDEX api_keys_key_hash_key ON api_keys (key_hash);
CREATE INDEX api_keys_user_id_created_at_idx ON api_keys (user_id, created_at);

-- +goose Down
DROP TABLE api_keys;
