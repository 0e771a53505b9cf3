-- name: EnsureQuotaRow :exec
-- EnsureQuotaRow creates the day's row at zero unless it exists.
INSERT INTO quota_usage (user_id, day, used)
VALUES (sqlc.arg(user_id), sqlc.arg(day), 0)
ON CONFLICT (user_id, day) DO NOTHING;

-- name: IncrementQuota :one
-- IncrementQuota counts a request of units units, all or nothing, while
-- used + units stays within daily_limit; no row comes back when they do
-- not fit.
UPDATE quota_usage
SET used = used + sqlc.arg(units)
WHERE user_id = sqlc.arg(user_id) AND day = sqlc.arg(day) AND used + sqlc.arg(units) <= sqlc.arg(daily_limit)
RETURNING used;

-- name: RefundQuota :exec
-- RefundQuota takes units back, never below zero.
UPDATE quota_usage
SET used = MAX(used - sqlc.arg(units), 0)
WHERE user_id = sqlc.arg(user_id) AND day = sqlc.arg(day) AND used > 0;

-- name: AddQuotaUsage :exec
-- AddQuotaUsage writes a batch of counts kept behind (quotacount) in one
-- statement: batch is a JSON array of [user_id, day, count]; each user's
-- row for the day grows by its count, created when missing; a user deleted
-- meanwhile is skipped. Counts are positive (the batch never counts down).
-- The WHERE clause also keeps SQLite from reading ON CONFLICT as a join.
INSERT INTO quota_usage (user_id, day, used)
SELECT json_extract(d.value, '$[0]'), json_extract(d.value, '$[1]'), json_extract(d.value, '$[2]')
FROM json_each(sqlc.arg(batch)) AS d
WHERE json_extract(d.value, '$[2]') > 0
  AND EXISTS (SELECT 1 FROM users u WHERE u.id = json_extract(d.value, '$[0]'))
ON CONFLICT (user_id, day) DO UPDATE
SET used = quota_usage.used + excluded.used;

-- name: GetQuotaUsed :one
-- GetQuotaUsed returns the day's count, 0 when there is no row.
SELECT CAST(COALESCE(
    (SELECT q.used FROM quota_usage q WHERE q.user_id = sqlc.arg(user_id) AND q.day = sqlc.arg(day)),
    0) AS INTEGER) AS used;

-- ConsumeQuota is three statements in one immediate transaction (the
-- adapter runs them): sqlc's sqlite engine drops parameters inside ON
-- CONFLICT DO UPDATE, so the guarded upsert PostgreSQL uses is split into an
-- insert of the day's row and a guarded increment. The transaction holds the
-- write lock throughout, so the count cannot pass the limit.
