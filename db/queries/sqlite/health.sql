-- name: InsertProbeSchedule :execrows
-- InsertProbeSchedule claims a provider's first probe: one row affected
-- when it was never claimed before, none otherwise.
INSERT INTO provider_probe_schedule (provider, next_due_at)
VALUES (sqlc.arg(provider), sqlc.arg(next_due))
ON CONFLICT (provider) DO NOTHING;

-- name: AdvanceProbeSchedule :execrows
-- AdvanceProbeSchedule claims the provider's next probe once it is due
-- (next_due_at <= now): one row affected when claimed, none when another
-- caller holds this interval.
UPDATE provider_probe_schedule
SET next_due_at = sqlc.arg(next_due)
WHERE provider = sqlc.arg(provider) AND next_due_at <= sqlc.arg(now);

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
    CAST(count(*) FILTER (WHERE ok) AS INTEGER) AS ok,
    CAST(count(*) AS INTEGER)                   AS total
FROM provider_checks
WHERE provider = sqlc.arg(provider) AND checked_at >= sqlc.arg(since);

-- name: PruneProviderChecks :execrows
-- PruneProviderChecks deletes checks older than before (uses
-- provider_checks_checked_at_idx).
DELETE FROM provider_checks WHERE checked_at < sqlc.arg(before);

-- ProviderTraffic is not here: it counts attempts with json_each, whose
-- columns sqlc's sqlite engine cannot resolve (sqlc-dev/sqlc#1830, #3802).
-- adapters/sqlite/health.go holds it, next to the code that runs it.

-- ClaimProbe is two statements in one immediate transaction (the adapter
-- runs them): sqlc's sqlite engine drops parameters inside ON CONFLICT DO
-- UPDATE, so the guarded upsert PostgreSQL uses is split into an insert for
-- a provider never claimed and a guarded move of next_due_at. The
-- transaction holds the write lock, so exactly one caller claims each
-- interval.
