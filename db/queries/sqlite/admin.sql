-- name: ListUsersWithUsage :many
-- ListUsersWithUsage returns up to row_limit accounts whose email matches
-- the lower-case LIKE pattern (backslash escapes; SQLite's LIKE ignores
-- ASCII case), after after_email, in byte order (uses
-- users_email_order_idx), each with its quota count for day (0 when there
-- is no row).
SELECT sqlc.embed(u), CAST(COALESCE(q.used, 0) AS INTEGER) AS used_today
FROM users u
LEFT JOIN quota_usage q ON q.user_id = u.id AND q.day = sqlc.arg(day)
WHERE u.email > sqlc.arg(after_email)
  AND (u.email LIKE sqlc.arg(pattern) ESCAPE '\')
ORDER BY u.email
LIMIT sqlc.arg(row_limit);

-- name: UpdateUser :one
-- UpdateUser changes the fields the patch sets: daily_quota when
-- set_daily_quota (NULL returns the user to the default), is_admin and
-- disabled when not NULL. A change of disabled revokes every token issued
-- up to at, so that re-enabling an account never revives its old tokens.
UPDATE users
SET daily_quota = CASE WHEN CAST(sqlc.arg(set_daily_quota) AS BOOLEAN) THEN CAST(sqlc.narg(daily_quota) AS INTEGER) ELSE daily_quota END,
    is_admin    = COALESCE(CAST(sqlc.narg(is_admin) AS BOOLEAN), is_admin),
    disabled    = COALESCE(CAST(sqlc.narg(disabled) AS BOOLEAN), disabled),
    tokens_valid_after = CASE WHEN CAST(sqlc.narg(disabled) AS BOOLEAN) IS NOT NULL AND CAST(sqlc.narg(disabled) AS BOOLEAN) <> disabled
                              THEN max(COALESCE(tokens_valid_after, CAST(sqlc.arg(at) AS INTEGER)), CAST(sqlc.arg(at) AS INTEGER))
                              ELSE tokens_valid_after END
WHERE id = sqlc.arg(id)
RETURNING *;

-- The analytics queries read the period from request_log_created_at_idx,
-- which carries every column they need. They name it: once ANALYZE has run,
-- SQLite prefers a skip-scan of request_log_outcome_created_at_idx, which
-- does not carry them.

-- name: AnalyticsDays :many
-- AnalyticsDays counts each UTC day of [from_at, to_at) that has requests
-- (day is the day number since the Unix epoch): its distinct users and
-- requests, the requests whose cache status is hit and those whose status
-- is miss, and the mean quota count of the users whose count is above
-- zero that day (from_day and to_day bound the quota rows read; uses
-- quota_usage_day_idx).
SELECT CAST(d.day AS INTEGER) AS day, CAST(d.users AS INTEGER) AS users, CAST(d.requests AS INTEGER) AS requests,
       CAST(d.cache_hits AS INTEGER) AS cache_hits, CAST(d.cache_misses AS INTEGER) AS cache_misses,
       CAST(COALESCE(q.avg_used, 0) AS REAL) AS avg_quota_used
FROM (
    SELECT du.day, count(*) AS users, sum(du.n) AS requests,
           sum(du.hits) AS cache_hits, sum(du.misses) AS cache_misses
    FROM (
        SELECT r.created_at / 86400000000 AS day, r.user_id, count(*) AS n,
               sum(CASE WHEN r.cache = sqlc.arg(hit) THEN 1 ELSE 0 END) AS hits,
               sum(CASE WHEN r.cache = sqlc.arg(miss) THEN 1 ELSE 0 END) AS misses
        FROM request_log AS r INDEXED BY request_log_created_at_idx
        WHERE r.created_at >= sqlc.arg(from_at) AND r.created_at < sqlc.arg(to_at)
        GROUP BY 1, 2
    ) du
    GROUP BY du.day
) d
LEFT JOIN (
    SELECT qu.day, avg(qu.used) AS avg_used
    FROM quota_usage qu
    WHERE qu.day >= sqlc.arg(from_day) AND qu.day <= sqlc.arg(to_day) AND qu.used > 0
    GROUP BY qu.day
) q ON q.day = date(d.day * 86400, 'unixepoch')
ORDER BY d.day;

-- name: AnalyticsUsers :many
-- AnalyticsUsers ranks the users with requests in [from_at, to_at) by
-- request count, ties by email in byte order, and returns the first
-- row_limit; active_users is how many users had requests (the window
-- counts before LIMIT applies).
SELECT c.user_id, u.email, c.requests, CAST(count(*) OVER () AS INTEGER) AS active_users
FROM (
    SELECT r.user_id, count(*) AS requests
    FROM request_log AS r INDEXED BY request_log_created_at_idx
    WHERE r.created_at >= sqlc.arg(from_at) AND r.created_at < sqlc.arg(to_at)
    GROUP BY r.user_id
) c
JOIN users u ON u.id = c.user_id
ORDER BY c.requests DESC, u.email
LIMIT sqlc.arg(row_limit);

-- name: AnalyticsRoutes :many
-- AnalyticsRoutes counts the requests of [from_at, to_at) per kind, tier
-- and provider ('' when none answered), with the client errors (outcome
-- quota_outcome or invalid_outcome) and server errors (error_outcome or
-- interrupted_outcome) among them. The outcomes are separate arguments, not
-- slices: sqlc's sqlite engine numbers a slice's placeholders apart from
-- the other parameters, and FILTER clauses lose their parameters.
SELECT r.kind, r.tier, CAST(COALESCE(r.provider, '') AS TEXT) AS provider, CAST(count(*) AS INTEGER) AS requests,
       CAST(sum(r.outcome IN (sqlc.arg(quota_outcome), sqlc.arg(invalid_outcome))) AS INTEGER) AS client_errors,
       CAST(sum(r.outcome IN (sqlc.arg(error_outcome), sqlc.arg(interrupted_outcome))) AS INTEGER) AS server_errors
FROM request_log AS r INDEXED BY request_log_created_at_idx
WHERE r.created_at >= sqlc.arg(from_at) AND r.created_at < sqlc.arg(to_at)
GROUP BY r.kind, r.tier, r.provider;

-- name: AnalyticsSamples :many
-- AnalyticsSamples counts each latency of the requests of [from_at, to_at)
-- whose outcome is success_outcome (metric 0) and each time to first token
-- there was (metric 1), in value order: enough to find the sorted samples
-- at any rank, for percentiles (SQLite has none), in far fewer rows than
-- the samples (values are whole milliseconds).
SELECT CAST(0 AS INTEGER) AS metric, r.latency_ms AS value, CAST(count(*) AS INTEGER) AS samples
FROM request_log AS r INDEXED BY request_log_created_at_idx
WHERE r.created_at >= sqlc.arg(from_at) AND r.created_at < sqlc.arg(to_at) AND r.outcome = sqlc.arg(success_outcome)
GROUP BY r.latency_ms
UNION ALL
SELECT 1, r.ttft_ms, count(*)
FROM request_log AS r INDEXED BY request_log_created_at_idx
WHERE r.created_at >= sqlc.arg(from_at) AND r.created_at < sqlc.arg(to_at) AND r.ttft_ms IS NOT NULL
GROUP BY r.ttft_ms
ORDER BY 1, 2;

-- name: AnalyticsFeedback :one
-- AnalyticsFeedback counts the ratings given in [from_at, to_at) (uses
-- feedback_created_at_idx).
SELECT CAST(count(*) FILTER (WHERE f.rating = 'up') AS INTEGER)   AS up,
       CAST(count(*) FILTER (WHERE f.rating = 'down') AS INTEGER) AS down,
       CAST(count(f.comment) AS INTEGER)                          AS with_comment
FROM feedback f
WHERE f.created_at >= sqlc.arg(from_at) AND f.created_at < sqlc.arg(to_at);

-- ListRequests is not here: it builds its statement from the filters given,
-- so that each combination gets the plan and index it calls for (see
-- adapters/sqlite/admin.go).

-- name: AnalyticsConversationDays :many
-- AnalyticsConversationDays counts, for each UTC day of [from_at, to_at)
-- that has any (day is the day number since the Unix epoch), the
-- conversations started and the messages stored (uses
-- conversations_created_at_idx and messages_created_at_idx).
SELECT CAST(d.day AS INTEGER) AS day, CAST(sum(d.conversations) AS INTEGER) AS conversations,
       CAST(sum(d.messages) AS INTEGER) AS messages
FROM (
    SELECT c.created_at / 86400000000 AS day, count(*) AS conversations, 0 AS messages
    FROM conversations c
    WHERE c.created_at >= sqlc.arg(from_at) AND c.created_at < sqlc.arg(to_at)
    GROUP BY 1
    UNION ALL
    SELECT m.created_at / 86400000000 AS day, 0 AS conversations, count(*) AS messages
    FROM messages m
    WHERE m.created_at >= sqlc.arg(from_at) AND m.created_at < sqlc.arg(to_at)
    GROUP BY 1
) d
GROUP BY d.day
ORDER BY d.day;

-- name: AnalyticsDayOutcomes :many
-- AnalyticsDayOutcomes counts the requests of each UTC day of
-- [from_at, to_at) by outcome (day is the day number since the Unix
-- epoch), for the days and outcomes that have any.
SELECT CAST(r.created_at / 86400000000 AS INTEGER) AS day, r.outcome, CAST(count(*) AS INTEGER) AS requests
FROM request_log AS r INDEXED BY request_log_created_at_idx
WHERE r.created_at >= sqlc.arg(from_at) AND r.created_at < sqlc.arg(to_at)
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: AnalyticsDayLatencySamples :many
-- AnalyticsDayLatencySamples counts each latency of the successful
-- requests of each UTC day of [from_at, to_at) (day is the day number
-- since the Unix epoch), in day and value order: the per-day percentiles
-- are computed from them, as AnalyticsSamples' are.
SELECT CAST(r.created_at / 86400000000 AS INTEGER) AS day, r.latency_ms AS value, CAST(count(*) AS INTEGER) AS samples
FROM request_log AS r INDEXED BY request_log_created_at_idx
WHERE r.created_at >= sqlc.arg(from_at) AND r.created_at < sqlc.arg(to_at) AND r.outcome = sqlc.arg(success_outcome)
GROUP BY 1, 2
ORDER BY 1, 2;
