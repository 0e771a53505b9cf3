-- name: ListUsersWithUsage :many
-- ListUsersWithUsage returns up to row_limit accounts whose lower-cased
-- email matches the LIKE pattern (backslash escapes), after after_email, in
-- byte order (uses users_email_order_idx), each with its quota count for
-- day (0 when there is no row).
SELECT sqlc.embed(u), COALESCE(q.used, 0)::int AS used_today
FROM users u
LEFT JOIN quota_usage q ON q.user_id = u.id AND q.day = sqlc.arg(day)
WHERE lower(u.email) LIKE sqlc.arg(pattern)::text ESCAPE '\'
  AND u.email COLLATE "C" > sqlc.arg(after_email)::text
ORDER BY u.email COLLATE "C"
LIMIT sqlc.arg(row_limit);

-- name: UpdateUser :one
-- UpdateUser changes the fields the patch sets: daily_quota when
-- set_daily_quota (NULL returns the user to the default), is_admin and
-- disabled when not NULL. A change of disabled revokes every token issued
-- up to at, so that re-enabling an account never revives its old tokens.
UPDATE users
SET daily_quota = CASE WHEN sqlc.arg(set_daily_quota)::boolean THEN sqlc.narg(daily_quota)::int ELSE daily_quota END,
    is_admin    = COALESCE(sqlc.narg(is_admin)::boolean, is_admin),
    disabled    = COALESCE(sqlc.narg(disabled)::boolean, disabled),
    tokens_valid_after = CASE WHEN sqlc.narg(disabled)::boolean IS DISTINCT FROM disabled AND sqlc.narg(disabled)::boolean IS NOT NULL
                              THEN GREATEST(tokens_valid_after, sqlc.arg(at)::timestamptz)
                              ELSE tokens_valid_after END
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: AnalyticsDays :many
-- AnalyticsDays counts each UTC day of [from_at, to_at) that has requests:
-- its distinct users and requests (grouped by day and user first, which
-- hashes, rather than count(DISTINCT), which sorts), the requests whose
-- cache status is hit and those whose status is miss, and the mean quota
-- count of the users whose count is above zero that day (uses
-- quota_usage_day_idx).
SELECT d.day, d.users, d.requests, d.cache_hits, d.cache_misses,
       COALESCE(q.avg_used, 0)::float8 AS avg_quota_used
FROM (
    SELECT du.day, count(*) AS users, sum(du.n)::bigint AS requests,
           sum(du.hits)::bigint AS cache_hits, sum(du.misses)::bigint AS cache_misses
    FROM (
        SELECT (r.created_at AT TIME ZONE 'UTC')::date AS day, r.user_id, count(*) AS n,
               count(*) FILTER (WHERE r.cache = sqlc.arg(hit)::text) AS hits,
               count(*) FILTER (WHERE r.cache = sqlc.arg(miss)::text) AS misses
        FROM request_log r
        WHERE r.created_at >= sqlc.arg(from_at) AND r.created_at < sqlc.arg(to_at)
        GROUP BY 1, 2
    ) du
    GROUP BY du.day
) d
LEFT JOIN (
    SELECT qu.day, avg(qu.used)::float8 AS avg_used
    FROM quota_usage qu
    WHERE qu.day >= (sqlc.arg(from_at)::timestamptz AT TIME ZONE 'UTC')::date
      AND qu.day <= (sqlc.arg(to_at)::timestamptz AT TIME ZONE 'UTC')::date
      AND qu.used > 0
    GROUP BY qu.day
) q ON q.day = d.day
ORDER BY d.day;

-- name: AnalyticsUsers :many
-- AnalyticsUsers ranks the users with requests in [from_at, to_at) by
-- request count, ties by email in byte order, and returns the first
-- row_limit; active_users is how many users had requests (the window
-- counts before LIMIT applies).
SELECT c.user_id, u.email, c.requests, count(*) OVER () AS active_users
FROM (
    SELECT r.user_id, count(*) AS requests
    FROM request_log r
    WHERE r.created_at >= sqlc.arg(from_at) AND r.created_at < sqlc.arg(to_at)
    GROUP BY r.user_id
) c
JOIN users u ON u.id = c.user_id
ORDER BY c.requests DESC, u.email COLLATE "C"
LIMIT sqlc.arg(row_limit);

-- name: AnalyticsRoutes :many
-- AnalyticsRoutes counts the requests of [from_at, to_at) per kind, tier
-- and provider ('' when none answered), with those whose outcome is one of
-- client_outcomes or server_outcomes.
SELECT r.kind, r.tier, COALESCE(r.provider, '')::text AS provider, count(*) AS requests,
       count(*) FILTER (WHERE r.outcome = ANY (sqlc.arg(client_outcomes)::text[])) AS client_errors,
       count(*) FILTER (WHERE r.outcome = ANY (sqlc.arg(server_outcomes)::text[])) AS server_errors
FROM request_log r
WHERE r.created_at >= sqlc.arg(from_at) AND r.created_at < sqlc.arg(to_at)
GROUP BY r.kind, r.tier, r.provider;

-- name: AnalyticsPercentiles :one
-- AnalyticsPercentiles gives the 50th, 95th and 99th percentiles of the
-- latency of the requests of [from_at, to_at) whose outcome is success, and
-- the same of the time to first token of those that had one
-- (continuous: interpolated between the two nearest values; NULL when there
-- are no samples), and counts the ratings given in the period (uses
-- feedback_created_at_idx).
SELECT p.latency, p.first_token, fb.up, fb.down, fb.with_comment
FROM (
    SELECT
        (percentile_cont('{0.5, 0.95, 0.99}'::float8[]) WITHIN GROUP (ORDER BY r.latency_ms)
            FILTER (WHERE r.outcome = sqlc.arg(success)::text))::float8[] AS latency,
        (percentile_cont('{0.5, 0.95, 0.99}'::float8[]) WITHIN GROUP (ORDER BY r.ttft_ms)
            FILTER (WHERE r.ttft_ms IS NOT NULL))::float8[] AS first_token
    FROM request_log r
    WHERE r.created_at >= sqlc.arg(from_at) AND r.created_at < sqlc.arg(to_at)
) p, (
    SELECT count(*) FILTER (WHERE f.rating = 'up')   AS up,
           count(*) FILTER (WHERE f.rating = 'down') AS down,
           count(f.comment)                          AS with_comment
    FROM feedback f
    WHERE f.created_at >= sqlc.arg(from_at) AND f.created_at < sqlc.arg(to_at)
) fb;

-- ListRequests is not here: it builds its statement from the filters given,
-- so that each combination gets the plan and index it calls for (see
-- adapters/postgres/admin.go).

-- name: AnalyticsConversationDays :many
-- AnalyticsConversationDays counts, for each UTC day of [from_at, to_at)
-- that has any, the conversations started and the messages stored (uses
-- conversations_created_at_idx and messages_created_at_idx).
SELECT d.day, sum(d.conversations)::bigint AS conversations, sum(d.messages)::bigint AS messages
FROM (
    SELECT (c.created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS conversations, 0::bigint AS messages
    FROM conversations c
    WHERE c.created_at >= sqlc.arg(from_at) AND c.created_at < sqlc.arg(to_at)
    GROUP BY 1
    UNION ALL
    SELECT (m.created_at AT TIME ZONE 'UTC')::date AS day, 0::bigint AS conversations, count(*) AS messages
    FROM messages m
    WHERE m.created_at >= sqlc.arg(from_at) AND m.created_at < sqlc.arg(to_at)
    GROUP BY 1
) d
GROUP BY d.day
ORDER BY d.day;

-- name: AnalyticsDayOutcomes :many
-- AnalyticsDayOutcomes counts the requests of each UTC day of
-- [from_at, to_at) by outcome, for the days and outcomes that have any.
SELECT (r.created_at AT TIME ZONE 'UTC')::date AS day, r.outcome, count(*) AS requests
FROM request_log r
WHERE r.created_at >= sqlc.arg(from_at) AND r.created_at < sqlc.arg(to_at)
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: AnalyticsDayLatency :many
-- AnalyticsDayLatency gives, for each UTC day of [from_at, to_at) with
-- successful requests, the 50th, 95th and 99th percentiles of their
-- latency (continuous, as AnalyticsPercentiles).
SELECT (r.created_at AT TIME ZONE 'UTC')::date AS day,
       (percentile_cont('{0.5, 0.95, 0.99}'::float8[]) WITHIN GROUP (ORDER BY r.latency_ms))::float8[] AS latency
FROM request_log r
WHERE r.created_at >= sqlc.arg(from_at) AND r.created_at < sqlc.arg(to_at) AND r.outcome = sqlc.arg(success)::text
GROUP BY 1
ORDER BY 1;
