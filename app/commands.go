package app

import (
	"context"

	"github.com/genzai/genzai/adapters/httpapi"
	"github.com/genzai/genzai/adapters/redislimit"
	"github.com/genzai/genzai/adapters/sqlmigrate"
)

// What the commands of cmd/genzai need from the adapters, named here so
// that the binary talks to app only and the composition root stays the
// one place that knows which adapter does what.

// ErrShuttingDown is the cause with which serve cancels the requests still
// running shortly before its shutdown deadline: a stream then ends with an
// error event (code shutting_down) instead of being cut.
var ErrShuttingDown = httpapi.ErrShuttingDown

// Migrator applies, rolls back and lists the schema migrations of an open
// Database (Database.NewMigrator).
type Migrator = sqlmigrate.Migrator

// MigrationStatus is one migration and whether it is applied.
type MigrationStatus = sqlmigrate.MigrationStatus

// PingRedis connects to REDIS_URL and pings it once, for `genzai doctor`.
// The caller checks that cfg.RedisURL is set.
func PingRedis(ctx context.Context, cfg Config) error {
	client, err := redislimit.Open(ctx, cfg.RedisURL.Reveal())
	if client != nil {
		defer client.Close()
	}
	return err
}
