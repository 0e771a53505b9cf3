-- +goose Up
-- Blocks of a user's daily quota that an instance took to grant requests in
-- process (quotacount.Leases), so that PostgreSQL without Redis needs no
-- statement per request. units are the block's units not yet written to
-- quota_usage: granted but unwritten, or still free to grant. Every change
-- of a user's leases for a day first locks that day's quota_usage row, so
-- that used + the live leases never pass the limit. A lease whose instance
-- stops renewing it (a crash) counts only until expires_at; rows long
-- expired are deleted by any instance. PostgreSQL only: SQLite serves one
-- instance and counts in process.
CREATE TABLE quota_leases (
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    day         date        NOT NULL,
    instance_id uuid        NOT NULL,
    units       integer     NOT NULL CHECK (units >= 0),
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, day, instance_id)
);

-- Each instance drops its empty leases every second, and all of them at
-- shutdown.
CREATE INDEX quota_leases_instance_idx ON quota_leases (instance_id);

-- +goose Down
DROP TABLE quota_leases;
