-- +goose Up
-- Access tokens issued at or before tokens_valid_after (INTEGER unix
-- microseconds) are refused; see db/schema/postgres/00008_tokens_valid_after.sql.
ALTER TABLE users ADD COLUMN tokens_valid_after INTEGER;

-- +goose Down
ALTER TABLE users DROP COLUMN tokens_valid_after;
