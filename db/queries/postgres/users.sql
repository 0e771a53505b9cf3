-- name: CreateUser :one
-- CreateUser inserts an account; a taken email violates users_email_lower_key,
-- a taken email key users_email_key.
INSERT INTO users (email, email_key, password_hash, is_admin)
VALUES (sqlc.arg(email), sqlc.arg(email_key), sqlc.narg(password_hash), sqlc.arg(is_admin))
RETURNING *;

-- name: GetUserByID :one
-- GetUserByID returns one account.
SELECT * FROM users WHERE id = sqlc.arg(id);

-- name: GetUserByExactEmail :one
-- GetUserByExactEmail finds the account with exactly this address (uses
-- the unique index on email): the accounts that already collided when 00009
-- ran (carol@ and carol+1@) each keep their own.
SELECT * FROM users WHERE email = sqlc.arg(email);

-- name: GetUserByEmail :one
-- GetUserByEmail finds an account by its email key (uses users_email_key),
-- so that every "+tag" spelling of an address finds it.
SELECT * FROM users WHERE email_key = sqlc.arg(email_key);

-- name: RecordLogin :one
-- RecordLogin stamps the login time.
UPDATE users
SET last_login_at = sqlc.arg(at)::timestamptz
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: MarkEmailVerified :one
-- MarkEmailVerified stamps the first verification of the address (later
-- ones keep it) and grants admin when promote is set and this is that
-- first verification, so that a demoted admin stays demoted.
UPDATE users
SET is_admin          = is_admin OR (sqlc.arg(promote)::boolean AND email_verified_at IS NULL),
    email_verified_at = COALESCE(email_verified_at, sqlc.arg(at)::timestamptz)
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

-- name: AnonymiseAuditEntries :exec
-- AnonymiseAuditEntries replaces an account's email in the audit log (as
-- actor or as target) with domain.DeletedAccount; the entries and the ids
-- stay. Run in the account deletion's transaction.
UPDATE audit_log
SET actor = CASE WHEN actor_id = sqlc.arg(id) THEN 'deleted account' ELSE actor END,
    target = CASE WHEN target_id = sqlc.arg(id) THEN 'deleted account' ELSE target END
WHERE actor_id = sqlc.arg(id) OR target_id = sqlc.arg(id);

-- name: DeleteUser :execrows
-- DeleteUser deletes an account and, through the foreign keys, everything
-- tied to it (quota counts, API keys, feedback, admin changes it asked for
-- or targets, conversations and their messages); its request log rows stay
-- with user_id NULL.
DELETE FROM users WHERE id = sqlc.arg(id);
