-- +goose Up
-- How each chat request met the response cache; see
-- db/schema/postgres/00013_request_log_cache.sql. NULL when the cache is
-- off, and for every row logged before this migration.
ALTER TABLE request_log
    ADD COLUMN cache TEXT CHECK (cache IN ('hit', 'miss', 'bypass'));

-- Analytics count hits and misses per day: the index they read the period
-- from (00005, named by the analytics queries) carries the new column too.
DROP INDEX request_log_created_at_idx;
CREATE INDEX request_log_created_at_idx ON request_log (created_at, user_id, tier, provider, outcome, latency_ms, ttft_ms, cache);

-- +goose Down
-- The index goes back first: SQLite refuses to drop a column an index
-- names (its own CHECK does not stand in the way).
DROP INDEX request_log_created_at_idx;
CREATE INDEX request_log_created_at_idx ON request_log (created_at, user_id, tier, provider, outcome, latency_ms, ttft_ms);
ALTER TABLE request_log DROP COLUMN cache;
