-- +goose Up
-- Requests counted per user and UTC day ('YYYY-MM-DD'). One row per (user,
-- day); ConsumeQuota increments it under the database's write lock.
CREATE TABLE quota_usage (
    user_id TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    day     TEXT    NOT NULL CHECK (length(day) = 10 AND date(day) = day),
    used    INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0),
    PRIMARY KEY (user_id, day)
);

-- +goose Down
DROP TABLE quota_usage;
