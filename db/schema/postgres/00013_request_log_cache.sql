-- +goose Up
-- How each chat request met the response cache: 'hit' (answered from the
-- cache, no provider call), 'miss' (answered by a provider) or 'bypass'
-- (the request opted out, or the cache store could not answer). NULL when
-- the cache is off, and for every row logged before this migration. Adding
-- a nullable column without a default rewrites no rows.
ALTER TABLE request_log
    ADD COLUMN cache text CHECK (cache IN ('hit', 'miss', 'bypass'));

-- Analytics count hits and misses per day: the index they scan alone
-- (00005) carries the new column too. Rebuilding it holds off request log
-- writes while it builds; the writer queues them meanwhile.
DROP INDEX request_log_created_at_idx;
CREATE INDEX request_log_created_at_idx ON request_log (created_at)
    INCLUDE (user_id, tier, provider, outcome, latency_ms, ttft_ms, cache);

-- +goose Down
DROP INDEX request_log_created_at_idx;
CREATE INDEX request_log_created_at_idx ON request_log (created_at)
    INCLUDE (user_id, tier, provider, outcome, latency_ms, ttft_ms);
ALTER TABLE request_log DROP COLUMN cache;
