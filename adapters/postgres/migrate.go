package postgres

import (
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/genzai/genzai/adapters/sqlmigrate"
	"github.com/genzai/genzai/db"
)

// NewMigrator builds a migrator for the embedded PostgreSQL migrations on the
// pool's database. Every run holds a PostgreSQL advisory lock, so instances
// starting together apply each migration once. Closing the migrator leaves
// the pool open.
func (d *DB) NewMigrator(logger *slog.Logger) (*sqlmigrate.Migrator, error) {
	// Retry the lock every second (goose's default is every 5 s) for up to
	// 5 minutes: instances starting together wait for one that migrates.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	return sqlmigrate.New(stdlib.OpenDBFromPool(d.pool), goose.DialectPostgres, db.PostgresMigrations,
		sqlmigrate.SessionLock(locker), logger)
}
