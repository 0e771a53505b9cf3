-- +goose Up
-- How each chat request met the response cache; see
-- db/schema/postgres/00013_request_log_cache.sql. NULL when the cache is
-- off, and for every row logged before this migration.
ALTER TABLE request_log
    ADD COLUMN cache TEXT CHECK (cache IN ('hit', 'miss', 'bypass'));

-- +goose Down
-- SQLite drops a column whose own CHECK names it, so no table rebuild is
-- needed (see 00007_request_log_api.sql).
ALTER TABLE request_log DROP COLUMN cache;
