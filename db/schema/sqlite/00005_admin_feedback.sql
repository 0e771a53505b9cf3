-- +goose Up
-- The id each chat request was answered under (X-Request-ID), so that a
-- user can rate the answer: NULL for requests logged without one, and for
-- rows logged before this migration. Clients may choose their ids, so an id
-- is unique per user at best; feedback finds a user's request by
-- (user_id, request_id).
ALTER TABLE request_log ADD COLUMN request_id TEXT;
CREATE INDEX request_log_user_request_id_idx ON request_log (user_id, request_id) WHERE request_id IS NOT NULL;

-- The admin request log filtered by outcome ("the latest errors"), newest
-- first; the user and provider filters use the indexes of 00003.
CREATE INDEX request_log_outcome_created_at_idx ON request_log (outcome, created_at);

-- Analytics read every request of a period. This index replaces
-- request_log_created_at_idx (same leading key, same uses: time ranges and
-- retention deletes) and carries the columns analytics read, so that they
-- scan the index alone instead of the rows with their attempts. SQLite has
-- no INCLUDE: the columns follow the key.
DROP INDEX request_log_created_at_idx;
CREATE INDEX request_log_created_at_idx ON request_log (created_at, user_id, tier, provider, outcome, latency_ms, ttft_ms);

-- The average quota use per day of a period (the key starts with user_id).
CREATE INDEX quota_usage_day_idx ON quota_usage (day, used);

-- The admin account list, by email in byte order (SQLite's BINARY
-- collation; PostgreSQL orders by COLLATE "C" to match).
CREATE INDEX users_email_order_idx ON users (email);

-- Users' ratings of their chat answers, one per user and request id: rating
-- again replaces the rating and comment, keeps created_at and moves
-- updated_at (unix microseconds, UTC). A comment is NULL when none was given.
CREATE TABLE feedback (
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    request_id TEXT    NOT NULL CHECK (length(request_id) BETWEEN 1 AND 128),
    rating     TEXT    NOT NULL CHECK (rating IN ('up', 'down')),
    comment    TEXT    CHECK (length(comment) <= 2000),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, request_id)
);

-- Analytics count the ratings given over a period.
CREATE INDEX feedback_created_at_idx ON feedback (created_at);

-- +goose Down
DROP TABLE feedback;
DROP INDEX users_email_order_idx;
DROP INDEX quota_usage_day_idx;
DROP INDEX request_log_created_at_idx;
CREATE INDEX request_log_created_at_idx ON request_log (created_at);
DROP INDEX request_log_outcome_created_at_idx;
DROP INDEX request_log_user_request_id_idx;
ALTER TABLE request_log DROP COLUMN request_id;
