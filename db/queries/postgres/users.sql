-- name: CreateUser :one
-- CreateUser inserts an account; a taken email violates users_email_lower_key.
INSERT INTO users (email, password_hash, is_admin)
VALUES (sqlc.arg(email), sqlc.narg(password_hash), sqlc.arg(is_admin))
RETURNING *;

-- name: GetUserByID :one
-- GetUserByID returns one account.
SELECT * FROM users WHERE id = sqlc.arg(id);

-- name: GetUserByEmail :one
-- GetUserByEmail finds an account by email, case-insensitively (uses users_email_lower_key).
SELECT * FROM users WHERE lower(email) = lower(sqlc.arg(email));

-- name: RecordLogin :one
-- RecordLogin stamps the login time and, when promote is set, grants admin.
UPDATE users
SET last_login_at = sqlc.arg(at)::timestamptz,
    is_admin      = is_admin OR sqlc.arg(promote)::boolean
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: SetPassword :one
-- SetPassword replaces the password hash and refuses every token issued at
-- or before at (never moving tokens_valid_after backwards).
UPDATE users
SET password_hash      = sqlc.arg(password_hash),
    tokens_valid_after = GREATEST(tokens_valid_after, sqlc.arg(at)::timestamptz)
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: RevokeTokens :execrows
-- RevokeTokens refuses every token issued at or before at, never moving
-- tokens_valid_after backwards.
UPDATE users
SET tokens_valid_after = GREATEST(tokens_valid_after, sqlc.arg(at)::timestamptz)
WHERE id = sqlc.arg(id);
