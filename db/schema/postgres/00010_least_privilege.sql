-- +goose Up
-- Least privilege for personal API keys: what a key may do (scopes) and
-- until when. 'chat' covers chat, models, quota, feedback and web search;
-- 'admin' covers /api/v1/admin/*. Keys made before this migration acted as
-- their owner in everything, admin routes included; they become 'chat' keys,
-- so an admin who needs an admin key makes one on purpose. NULL expires_at:
-- the key does not expire.
ALTER TABLE api_keys
    ADD COLUMN scopes text[] NOT NULL DEFAULT '{chat}'
        CHECK (cardinality(scopes) BETWEEN 1 AND 2 AND scopes <@ ARRAY['chat', 'admin']::text[]),
    ADD COLUMN expires_at timestamptz;

-- Every change administrators (or the operator, with the database's URL)
-- make to accounts, newest first by id. actor_id is NULL for the operator;
-- actor and target keep the emails as they were, so that the log still
-- reads right after an account changes. Rows are never updated.
CREATE TABLE audit_log (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id   uuid,
    actor      text        NOT NULL CHECK (char_length(actor) BETWEEN 1 AND 254),
    action     text        NOT NULL CHECK (char_length(action) BETWEEN 1 AND 64),
    target_id  uuid,
    target     text        NOT NULL DEFAULT '' CHECK (char_length(target) <= 254),
    details    jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
    request_id text        NOT NULL DEFAULT '' CHECK (char_length(request_id) <= 128),
    created_at timestamptz NOT NULL
);

-- Changes one admin asked for that take effect only when a different admin
-- confirms them: disabling or demoting another admin. Kept in the database
-- so that any instance can confirm. The patch is stored as asked
-- (set_daily_quota and daily_quota as in UserPatch).
CREATE TABLE admin_changes (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    target_id       uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    requested_by    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    set_daily_quota boolean     NOT NULL DEFAULT false,
    daily_quota     integer     CHECK (daily_quota >= 0),
    is_admin        boolean,
    disabled        boolean,
    request_id      text        NOT NULL DEFAULT '' CHECK (char_length(request_id) <= 128),
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    confirmed_by    uuid        REFERENCES users (id) ON DELETE SET NULL,
    confirmed_at    timestamptz,
    CHECK (expires_at > created_at)
);

-- +goose Down
DROP TABLE admin_changes;
DROP TABLE audit_log;
ALTER TABLE api_keys DROP COLUMN expires_at, DROP COLUMN scopes;
