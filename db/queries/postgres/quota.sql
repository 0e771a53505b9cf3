-- name: ConsumeQuota :one
-- ConsumeQuota counts one request in a single statement: it inserts the day's
-- row or increments it only while used < daily_limit. No row comes back when
-- the limit is reached. The guard applies to the update path only, so callers
-- must not call it with a limit below 1.
INSERT INTO quota_usage (user_id, day, used)
VALUES (sqlc.arg(user_id), sqlc.arg(day), 1)
ON CONFLICT (user_id, day) DO UPDATE
SET used = quota_usage.used + 1
WHERE quota_usage.used < sqlc.arg(daily_limit)::int
RETURNING used;

-- name: RefundQuota :exec
-- RefundQuota takes one request back, never below zero.
UPDATE quota_usage
SET used = used - 1
WHERE user_id = sqlc.arg(user_id) AND day = sqlc.arg(day) AND used > 0;

-- name: AddQuotaUsage :exec
-- AddQuotaUsage writes a batch of counts kept behind (quotacount) in one
-- statement: each user's row for the day grows by its count, created when
-- missing; a user deleted meanwhile is skipped. Counts are positive (the
-- batch never counts down).
INSERT INTO quota_usage (user_id, day, used)
SELECT d.user_id, d.day, d.n
FROM (SELECT unnest(sqlc.arg(user_ids)::uuid[]) AS user_id,
             unnest(sqlc.arg(days)::date[]) AS day,
             unnest(sqlc.arg(counts)::int[]) AS n) AS d
WHERE d.n > 0 AND EXISTS (SELECT 1 FROM users u WHERE u.id = d.user_id)
ON CONFLICT (user_id, day) DO UPDATE
SET used = quota_usage.used + excluded.used;

-- name: GetQuotaUsed :one
-- GetQuotaUsed returns the day's count, 0 when there is no row.
SELECT COALESCE(
    (SELECT q.used FROM quota_usage q WHERE q.user_id = sqlc.arg(user_id) AND q.day = sqlc.arg(day)),
    0)::int AS used;

-- name: LockQuotaUsage :one
-- LockQuotaUsage locks the user's row for the day (created at 0 when
-- missing) until the transaction ends and returns its count: every change
-- of the day's leases takes this lock first, so that they are decided one
-- at a time.
INSERT INTO quota_usage (user_id, day, used)
VALUES (sqlc.arg(user_id), sqlc.arg(day), 0)
ON CONFLICT (user_id, day) DO UPDATE
SET used = quota_usage.used
RETURNING used;

-- name: SumQuotaLeases :one
-- SumQuotaLeases returns the units of the user's day held by other
-- instances' live leases, and by the instance's own lease (live or not:
-- its unwritten grants are in it).
SELECT COALESCE(sum(l.units) FILTER (WHERE l.instance_id <> sqlc.arg(instance_id) AND l.expires_at > now()), 0)::int AS others,
       COALESCE(sum(l.units) FILTER (WHERE l.instance_id = sqlc.arg(instance_id)), 0)::int AS mine
FROM quota_leases l
WHERE l.user_id = sqlc.arg(user_id) AND l.day = sqlc.arg(day);

-- name: GrowQuotaLease :exec
-- GrowQuotaLease adds delta units to the instance's lease (created when
-- missing) and renews it for ttl_ms. The change is relative, so that it
-- commutes with the instance's own settling of the same lease.
INSERT INTO quota_leases AS l (user_id, day, instance_id, units, expires_at)
VALUES (sqlc.arg(user_id), sqlc.arg(day), sqlc.arg(instance_id), GREATEST(sqlc.arg(delta)::int, 0),
        now() + make_interval(secs => sqlc.arg(ttl_ms)::int / 1000.0))
ON CONFLICT (user_id, day, instance_id) DO UPDATE
SET units = GREATEST(l.units + sqlc.arg(delta)::int, 0),
    expires_at = excluded.expires_at;

-- name: SettleQuotaLeases :exec
-- SettleQuotaLeases takes from each of the instance's leases the units it
-- wrote to quota_usage or hands back (taken, never below zero) and renews
-- every lease listed for ttl_ms.
UPDATE quota_leases l
SET units = GREATEST(l.units - d.taken, 0),
    expires_at = now() + make_interval(secs => sqlc.arg(ttl_ms)::int / 1000.0)
FROM (SELECT unnest(sqlc.arg(user_ids)::uuid[]) AS user_id,
             unnest(sqlc.arg(days)::date[]) AS day,
             unnest(sqlc.arg(taken)::int[]) AS taken) AS d
WHERE l.instance_id = sqlc.arg(instance_id) AND l.user_id = d.user_id AND l.day = d.day;

-- name: DeleteEmptyQuotaLeases :exec
-- DeleteEmptyQuotaLeases drops the instance's leases with no units left.
DELETE FROM quota_leases
WHERE instance_id = sqlc.arg(instance_id) AND units = 0;

-- name: DeleteQuotaLeases :exec
-- DeleteQuotaLeases drops all of the instance's leases (at shutdown, once
-- their grants are written).
DELETE FROM quota_leases
WHERE instance_id = sqlc.arg(instance_id);

-- name: DeleteStaleQuotaLeases :exec
-- DeleteStaleQuotaLeases drops leases expired more than grace_ms ago: those
-- of instances that stopped without handing them back, which no longer
-- count.
DELETE FROM quota_leases
WHERE expires_at < now() - make_interval(secs => sqlc.arg(grace_ms)::int / 1000.0);
