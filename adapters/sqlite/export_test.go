package sqlite

import (
	"log/slog"
	"time"

	"github.com/genzai/genzai/adapters/sqlmigrate"
)

// NewMigratorWithLockTiming is NewMigrator with a faster migration lock, so
// that tests of waiting and stale leases run in milliseconds.
func (d *DB) NewMigratorWithLockTiming(logger *slog.Logger, lease, retry, timeout time.Duration) (*sqlmigrate.Migrator, error) {
	return d.newMigrator(logger, lockTiming{lease: lease, retry: retry, timeout: timeout})
}
