-- name: InsertAudit :one
-- InsertAudit appends one entry to the audit log.
INSERT INTO audit_log (actor_id, actor, action, target_id, target, details, request_id, created_at)
VALUES (sqlc.narg(actor_id), sqlc.arg(actor), sqlc.arg(action), sqlc.narg(target_id), sqlc.arg(target),
        sqlc.arg(details)::jsonb, sqlc.arg(request_id), sqlc.arg(created_at))
RETURNING *;

-- name: ListAudit :many
-- ListAudit returns up to row_limit entries with ids below before_id,
-- newest first (callers pass the largest id for "from the newest").
SELECT * FROM audit_log
WHERE id < sqlc.arg(before_id)::bigint
ORDER BY id DESC
LIMIT sqlc.arg(row_limit);

-- name: CreateAdminChange :one
-- CreateAdminChange records a change that waits for a second admin.
INSERT INTO admin_changes (target_id, requested_by, set_daily_quota, daily_quota, is_admin, disabled,
                           request_id, created_at, expires_at)
VALUES (sqlc.arg(target_id), sqlc.arg(requested_by), sqlc.arg(set_daily_quota), sqlc.narg(daily_quota),
        sqlc.narg(is_admin), sqlc.narg(disabled), sqlc.arg(request_id), sqlc.arg(created_at), sqlc.arg(expires_at))
RETURNING id;

-- name: GetAdminChange :one
-- GetAdminChange returns a change with the emails of its target, requester
-- and confirmer.
SELECT c.id, c.target_id, c.requested_by, c.set_daily_quota, c.daily_quota, c.is_admin, c.disabled,
       c.request_id, c.created_at, c.expires_at, c.confirmed_by, c.confirmed_at,
       t.email AS target_email, r.email AS requested_by_email, cf.email AS confirmed_by_email
FROM admin_changes c
JOIN users t ON t.id = c.target_id
JOIN users r ON r.id = c.requested_by
LEFT JOIN users cf ON cf.id = c.confirmed_by
WHERE c.id = sqlc.arg(id);

-- name: ClaimAdminChange :one
-- ClaimAdminChange marks a change confirmed by confirmer unless it is
-- already confirmed, has expired, or confirmer asked for it: no row then.
-- One statement, so that two confirmations never both succeed.
UPDATE admin_changes
SET confirmed_by = sqlc.arg(confirmer)::uuid, confirmed_at = sqlc.arg(at)::timestamptz
WHERE id = sqlc.arg(id) AND confirmed_at IS NULL AND expires_at > sqlc.arg(at)::timestamptz AND requested_by <> sqlc.arg(confirmer)::uuid
RETURNING id;
