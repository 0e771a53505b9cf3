-- name: ConsumeQuota :one
-- ConsumeQuota counts a request of units units in a single statement, all
-- or nothing: it inserts the day's row or grows it only while used + units
-- stays within daily_limit. No row comes back when they do not fit.
INSERT INTO quota_usage (user_id, day, used)
SELECT sqlc.arg(user_id)::uuid, sqlc.arg(day)::date, sqlc.arg(units)::int
WHERE sqlc.arg(units)::int <= sqlc.arg(daily_limit)::int
ON CONFLICT (user_id, day) DO UPDATE
SET used = quota_usage.used + excluded.used
WHERE quota_usage.used + excluded.used <= sqlc.arg(daily_limit)::int
RETURNING used;

-- name: RefundQuota :exec
-- RefundQuota takes units back, never below zero.
UPDATE quota_usage
SET used = GREATEST(used - sqlc.arg(units)::int, 0)
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

-- name: TakeQuotaLease :one
-- TakeQuotaLease grants the instance a block of the user's day. It runs
-- right after LockQuotaUsage, in the same transaction and the same round
-- trip (a pipeline), so that its snapshot (READ COMMITTED: one per
-- statement) is taken once the day's row is locked and sees every lease
-- change committed before: no two instances grant from the same free
-- units. Free units are the limit less the written count, the other
-- instances' live leases and the instance's own lease (live or not: its
-- unwritten grants are in it) less the units it returns. The block is what
-- is needed now and beyond it up to want but at most a quarter of the
-- rest, so that near the limit blocks shrink to the requests waiting. The
-- lease grows by the block less the returned units (relative, so that it
-- commutes with the instance's own settling) and is renewed for ttl_ms.
WITH cur AS (
    SELECT q.used,
           sqlc.arg(daily_limit)::int - q.used
             - COALESCE((SELECT sum(l.units) FROM quota_leases l
                         WHERE l.user_id = q.user_id AND l.day = q.day
                           AND l.instance_id <> sqlc.arg(instance_id)::uuid AND l.expires_at > now()), 0)
             - GREATEST(COALESCE((SELECT l.units FROM quota_leases l
                                  WHERE l.user_id = q.user_id AND l.day = q.day
                                    AND l.instance_id = sqlc.arg(instance_id)::uuid), 0)
                        - sqlc.arg(returned)::int, 0) AS free
    FROM quota_usage q
    WHERE q.user_id = sqlc.arg(user_id)::uuid AND q.day = sqlc.arg(day)::date
), wanted AS (
    SELECT used, free, LEAST(GREATEST(sqlc.arg(need)::int, 1), free) AS need FROM cur
), blk AS (
    SELECT used,
           (CASE WHEN free <= 0 THEN 0
                 ELSE need + LEAST(GREATEST(sqlc.arg(want)::int - need, 0), (free - need) / 4)
            END)::int AS granted
    FROM wanted
), grown AS (
    INSERT INTO quota_leases AS l (user_id, day, instance_id, units, expires_at)
    SELECT sqlc.arg(user_id)::uuid, sqlc.arg(day)::date, sqlc.arg(instance_id)::uuid,
           GREATEST(b.granted - sqlc.arg(returned)::int, 0),
           now() + make_interval(secs => sqlc.arg(ttl_ms)::int / 1000.0)
    FROM blk b
    WHERE b.granted > 0 OR b.granted <> sqlc.arg(returned)::int
    ON CONFLICT (user_id, day, instance_id) DO UPDATE
    SET units = GREATEST(l.units + (SELECT b.granted FROM blk b) - sqlc.arg(returned)::int, 0),
        expires_at = excluded.expires_at
    RETURNING 1
)
SELECT b.used, b.granted FROM blk b;

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
-- DeleteEmptyQuotaLeases drops those of the instance's leases listed that
-- have no units left (a settle's, right after SettleQuotaLeases).
DELETE FROM quota_leases l
USING (SELECT unnest(sqlc.arg(user_ids)::uuid[]) AS user_id,
              unnest(sqlc.arg(days)::date[]) AS day) AS d
WHERE l.instance_id = sqlc.arg(instance_id) AND l.user_id = d.user_id AND l.day = d.day
  AND l.units = 0;

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
