-- name: EnsureQuotaRow :exec
-- EnsureQuotaRow creates the day's row at zero unless it exists.
INSERT INTO quota_usage (user_id, day, used)
VALUES (sqlc.arg(user_id), sqlc.arg(day), 0)
ON CONFLICT (user_id, day) DO NOTHING;

-- name: IncrementQuota :one
-- IncrementQuota counts one request while used < daily_limit; no row comes
-- back when the limit is reached.
UPDATE quota_usage
SET used = used + 1
WHERE user_id = sqlc.arg(user_id) AND day = sqlc.arg(day) AND used < sqlc.arg(daily_limit)
RETURNING used;

-- name: RefundQuota :exec
-- RefundQuota takes one request back, never below zero.
UPDATE quota_usage
SET used = used - 1
WHERE user_id = sqlc.arg(user_id) AND day = sqlc.arg(day) AND used > 0;

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
