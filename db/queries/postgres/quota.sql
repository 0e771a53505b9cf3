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
