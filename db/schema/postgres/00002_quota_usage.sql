-- +goose Up
-- Requests counted per user and UTC day. One row per (user, day); the count
-- is incremented atomically by ConsumeQuota.
CREATE TABLE quota_usage (
    user_id uuid    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    day     date    NOT NULL,
    used    integer NOT NULL DEFAULT 0 CHECK (used >= 0),
    PRIMARY KEY (user_id, day)
);

-- +goose Down
DROP TABLE quota_usage;
