-- +goose Up
-- Which API each chat request came through; see
-- db/schema/postgres/00007_request_log_api.sql. Rows logged before this
-- migration came through the native API, hence the default.
ALTER TABLE request_log
    ADD COLUMN api TEXT NOT NULL DEFAULT 'native' CHECK (api IN ('native', 'openai'));

-- +goose Down
-- SQLite drops a column whose own CHECK names it (only constraints naming
-- other columns, indexes, views and triggers stand in the way), so no table
-- rebuild is needed.
ALTER TABLE request_log DROP COLUMN api;
