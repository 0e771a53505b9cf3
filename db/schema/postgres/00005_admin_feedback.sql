-- +goose Up
-- The id each chat request was answered under (X-Request-ID), so that a
-- user can rate the answer: NULL for requests logged without one, and for
-- rows logged before this migration. Clients may choose their ids, so an id
-- is unique per user at best; feedback finds a user's request by
-- (user_id, request_id).
ALTER TABLE request_log ADD COLUMN request_id text;
CREATE INDEX request_log_user_request_id_idx ON request_log (user_id, request_id) WHERE request_id IS NOT NULL;

-- The admin request log filtered by outcome ("the latest errors"), newest
-- first; the user and provider filters use the indexes of 00003.
CREATE INDEX request_log_outcome_created_at_idx ON request_log (outcome, created_at);

-- Analytics read every request of a period. This index replaces
-- request_log_created_at_idx (same key, same uses: time ranges and
-- retention deletes) and carries the columns analytics read, so that they
-- scan the index alone instead of the rows with their attempts.
DROP INDEX request_log_created_at_idx;
CREATE INDEX request_log_created_at_idx ON request_log (created_at)
    INCLUDE (user_id, tier, provider, outcome, latency_ms, ttft_ms);

-- The average quota use per day of a period (the key starts with user_id).
CREATE INDEX quota_usage_day_idx ON quota_usage (day) INCLUDE (used);

-- The admin account list, by email in byte order: the same order as SQLite,
-- whatever the database's collation.
CREATE INDEX users_email_order_idx ON users (email COLLATE "C");

-- Users' ratings of their chat answers, one per user and request id: rating
-- again replaces the rating and comment, keeps created_at and moves
-- updated_at. A comment is NULL when none was given.
CREATE TABLE feedback (
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    request_id text        NOT NULL CHECK (length(request_id) BETWEEN 1 AND 128),
    rating     text        NOT NULL CHECK (rating IN ('up', 'down')),
    comment    text        CHECK (char_length(comment) <= 2000),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
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
