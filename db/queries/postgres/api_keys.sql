-- name: LockUserForKeys :one
-- LockUserForKeys locks the owner's row for the rest of the transaction, so
-- that concurrent key creations for one user count the keys in turn.
SELECT id FROM users WHERE id = sqlc.arg(user_id) FOR UPDATE;

-- name: CreateAPIKey :one
-- CreateAPIKey adds a key while the owner has fewer than max_keys; no row
-- comes back at the limit. Run after LockUserForKeys in one transaction:
-- this statement's snapshot then sees every key committed before the lock.
INSERT INTO api_keys (user_id, name, prefix, key_hash, created_at, scopes, expires_at)
SELECT sqlc.arg(user_id), sqlc.arg(name), sqlc.arg(prefix), sqlc.arg(key_hash), sqlc.arg(created_at),
       sqlc.arg(scopes)::text[], sqlc.narg(expires_at)::timestamptz
WHERE (SELECT count(*) FROM api_keys k WHERE k.user_id = sqlc.arg(user_id)) < sqlc.arg(max_keys)::int
RETURNING id, user_id, name, prefix, created_at, last_used_at, scopes, expires_at;

-- name: ListAPIKeys :many
-- ListAPIKeys returns a user's keys, oldest first (never the hash).
SELECT id, user_id, name, prefix, created_at, last_used_at, scopes, expires_at
FROM api_keys
WHERE user_id = sqlc.arg(user_id)
ORDER BY created_at, id;

-- name: DeleteAPIKey :execrows
-- DeleteAPIKey revokes one of the user's keys.
DELETE FROM api_keys WHERE id = sqlc.arg(id) AND user_id = sqlc.arg(user_id);

-- name: DeleteUserAPIKeys :exec
-- DeleteUserAPIKeys revokes every key of the user (an account reset or
-- disabled keeps no credential alive).
DELETE FROM api_keys WHERE user_id = sqlc.arg(user_id);

-- name: GetAPIKeyOwner :one
-- GetAPIKeyOwner finds a key by its hash with its owner, in one index probe
-- and one primary-key lookup.
SELECT k.id AS key_id, k.name AS key_name, k.prefix AS key_prefix, k.created_at AS key_created_at,
       k.last_used_at AS key_last_used_at, k.scopes AS key_scopes, k.expires_at AS key_expires_at,
       sqlc.embed(u)
FROM api_keys k
JOIN users u ON u.id = k.user_id
WHERE k.key_hash = sqlc.arg(key_hash);

-- name: TouchAPIKey :exec
-- TouchAPIKey records a use; an older time never overwrites a newer one.
UPDATE api_keys SET last_used_at = sqlc.arg(at)::timestamptz
WHERE id = sqlc.arg(id) AND (last_used_at IS NULL OR last_used_at < sqlc.arg(at)::timestamptz);
