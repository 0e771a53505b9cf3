-- name: ClaimProbe :one
-- ClaimProbe takes the provider's next probe in a single statement: it
-- inserts the schedule row or moves next_due_at to next_due only once it has
-- passed (next_due_at <= now). Concurrent callers serialise on the row, and
-- each re-checks the guard against the row the winner wrote, so exactly one
-- gets the row back; no row means another caller holds this interval.
INSERT INTO provider_probe_schedule (provider, next_due_at)
VALUES (sqlc.arg(provider), sqlc.arg(next_due))
ON CONFLICT (provider) DO UPDATE
SET next_due_at = EXCLUDED.next_due_at
WHERE provider_probe_schedule.next_due_at <= sqlc.arg(now)::timestamptz
RETURNING provider;

-- name: InsertProviderCheck :exec
-- InsertProviderCheck stores one health check.
INSERT INTO provider_checks (provider, ok, status_code, latency_ms, error_class, checked_at)
VALUES (sqlc.arg(provider), sqlc.arg(ok), sqlc.narg(status_code), sqlc.arg(latency_ms),
        sqlc.narg(error_class), sqlc.arg(checked_at));

-- name: RecentProviderChecks :many
-- RecentProviderChecks returns the provider's newest checks first, at most
-- row_limit of them (uses provider_checks_provider_checked_at_idx).
SELECT * FROM provider_checks
WHERE provider = sqlc.arg(provider)
ORDER BY checked_at DESC, id DESC
LIMIT sqlc.arg(row_limit);

-- name: ProviderUptime :one
-- ProviderUptime counts the provider's successful and total checks since a
-- time, inclusive (uses provider_checks_provider_checked_at_idx).
SELECT
    count(*) FILTER (WHERE ok) AS ok,
    count(*)                   AS total
FROM provider_checks
WHERE provider = sqlc.arg(provider) AND checked_at >= sqlc.arg(since);

-- name: PruneProviderChecks :execrows
-- PruneProviderChecks deletes checks older than before (uses
-- provider_checks_checked_at_idx).
DELETE FROM provider_checks WHERE checked_at < sqlc.arg(before);

-- name: ProviderTraffic :one
-- ProviderTraffic counts the provider's chat outcomes since a time, inclusive,
-- in one range scan of request_log_created_at_idx: answered is the requests
-- it answered with at least a first token, failed the attempts on it whose
-- reason is one of reasons (a request can hold several, one per key tried).
-- The containment test skips rows that never tried the provider without
-- expanding their attempts.
SELECT
    count(*) FILTER (WHERE r.provider = sqlc.arg(provider)::text AND r.ttft_ms IS NOT NULL) AS answered,
    COALESCE(sum((
        SELECT count(*)
        FROM jsonb_array_elements(r.attempts) AS a
        WHERE a ->> 'provider' = sqlc.arg(provider)::text
          AND a ->> 'reason' = ANY (sqlc.arg(reasons)::text[])
    )), 0)::bigint AS failed
FROM request_log r
WHERE r.created_at >= sqlc.arg(since)
  AND (r.provider = sqlc.arg(provider)::text
       OR r.attempts @> jsonb_build_array(jsonb_build_object('provider', sqlc.arg(provider)::text)));
