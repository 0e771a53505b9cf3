-- +goose Up
-- Key scopes and expiry, the audit log and pending admin changes; see
-- db/schema/postgres/00010_least_privilege.sql. scopes is the scope names
-- separated by one space, in the order chat, admin.
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT 'chat'
    CHECK (scopes IN ('chat', 'admin', 'chat admin'));
ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;

CREATE TABLE audit_log (
    id         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    actor_id   TEXT    CHECK (actor_id IS NULL OR length(actor_id) = 36),
    actor      TEXT    NOT NULL CHECK (length(actor) BETWEEN 1 AND 254),
    action     TEXT    NOT NULL CHECK (length(action) BETWEEN 1 AND 64),
    target_id  TEXT    CHECK (target_id IS NULL OR length(target_id) = 36),
    target     TEXT    NOT NULL DEFAULT '' CHECK (length(target) <= 254),
    details    TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(details) AND json_type(details) = 'object'),
    request_id TEXT    NOT NULL DEFAULT '' CHECK (length(request_id) <= 128),
    created_at INTEGER NOT NULL
);

CREATE TABLE admin_changes (
    id              TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    target_id       TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    requested_by    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    set_daily_quota BOOLEAN NOT NULL DEFAULT 0 CHECK (set_daily_quota IN (0, 1)),
    daily_quota     INTEGER CHECK (daily_quota >= 0),
    is_admin        BOOLEAN CHECK (is_admin IN (0, 1)),
    disabled        BOOLEAN CHECK (disabled IN (0, 1)),
    request_id      TEXT    NOT NULL DEFAULT '' CHECK (length(request_id) <= 128),
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    confirmed_by    TEXT    REFERENCES users (id) ON DELETE SET NULL,
    confirmed_at    INTEGER,
    CHECK (expires_at > created_at)
);

-- +goose Down
DROP TABLE admin_changes;
DROP TABLE audit_log;
ALTER TABLE api_keys DROP COLUMN expires_at;
ALTER TABLE api_keys DROP COLUMN scopes;
