-- +goose Up
-- How each chat request met the response cache: 'hit' (answered from the
-- cache, no provider call), 'miss' (answered by a provider) or 'bypass'
-- (the request opted out, or the cache store could not answer). NULL when
-- the cache is off, and for every row logged before this migration. Adding
-- a nullable column without a default rewrites no rows.
ALTER TABLE request_log
    ADD COLUMN cache text CHECK (cache IN ('hit', 'miss', 'bypass'));

-- +goose Down
ALTER TABLE request_log DROP COLUMN cache;
