-- +goose Up
-- One row per health probe of a provider: whether it answered well, the
-- upstream HTTP status (NULL when there was no answer), how long it took and
-- the failure reason (NULL when ok). Old rows are pruned by checked_at, in
-- unix microseconds (UTC).
CREATE TABLE provider_checks (
    id          INTEGER PRIMARY KEY,
    provider    TEXT    NOT NULL,
    ok          BOOLEAN NOT NULL CHECK (ok IN (0, 1)),
    status_code INTEGER,
    latency_ms  INTEGER NOT NULL CHECK (latency_ms >= 0),
    error_class TEXT,
    checked_at  INTEGER NOT NULL
);

-- A provider's latest checks and its uptime over a window.
CREATE INDEX provider_checks_provider_checked_at_idx ON provider_checks (provider, checked_at DESC);
-- Retention deletes.
CREATE INDEX provider_checks_checked_at_idx ON provider_checks (checked_at);

-- When each provider is next due for a probe (unix microseconds, UTC).
-- Instances claim a probe by moving next_due_at forward under the write
-- lock (ClaimProbe), so exactly one of them probes per interval.
CREATE TABLE provider_probe_schedule (
    provider    TEXT    NOT NULL PRIMARY KEY,
    next_due_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE provider_probe_schedule;
DROP TABLE provider_checks;
