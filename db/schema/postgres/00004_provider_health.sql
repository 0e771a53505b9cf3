-- +goose Up
-- One row per health probe of a provider: whether it answered well, the
-- upstream HTTP status (NULL when there was no answer), how long it took and
-- the failure reason (NULL when ok). Old rows are pruned by checked_at.
CREATE TABLE provider_checks (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider    text        NOT NULL,
    ok          boolean     NOT NULL,
    status_code integer,
    latency_ms  integer     NOT NULL CHECK (latency_ms >= 0),
    error_class text,
    checked_at  timestamptz NOT NULL
);

-- A provider's latest checks and its uptime over a window.
CREATE INDEX provider_checks_provider_checked_at_idx ON provider_checks (provider, checked_at DESC);
-- Retention deletes.
CREATE INDEX provider_checks_checked_at_idx ON provider_checks (checked_at);

-- When each provider is next due for a probe. Instances claim a probe by
-- moving next_due_at forward in one guarded upsert (ClaimProbe), so exactly
-- one of them probes per interval.
CREATE TABLE provider_probe_schedule (
    provider    text        PRIMARY KEY,
    next_due_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE provider_probe_schedule;
DROP TABLE provider_checks;
