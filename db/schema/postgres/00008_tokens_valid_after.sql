-- +goose Up
-- Access tokens issued at or before tokens_valid_after are refused: logout,
-- a password change or reset, and any change of disabled move it forward,
-- so that no token issued earlier works again (re-enabling an account does
-- not revive its old tokens). NULL means no token was ever revoked.
ALTER TABLE users ADD COLUMN tokens_valid_after timestamptz;

-- +goose Down
ALTER TABLE users DROP COLUMN tokens_valid_after;
