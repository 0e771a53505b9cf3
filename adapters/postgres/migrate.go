package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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

// ErrNoDatabase is returned by ReadMigrationStatus when the server has no
// database of the URL's name.
var ErrNoDatabase = errors.New("no such database")

// ReadMigrationStatus lists the migrations and whether the database at
// rawURL has each applied, on one connection whose transactions are
// read-only: it creates neither the database nor goose's version table.
func ReadMigrationStatus(ctx context.Context, rawURL string) ([]sqlmigrate.MigrationStatus, error) {
	dsn, err := NormalizeURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", redactErr(err))
	}
	cfg.RuntimeParams["default_transaction_read_only"] = "on"
	sqlDB := stdlib.OpenDB(*cfg)
	defer sqlDB.Close()
	sqlDB.SetMaxOpenConns(1)
	if err := sqlDB.PingContext(ctx); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "3D000" { // invalid_catalog_name
			return nil, fmt.Errorf("database %q: %w", cfg.Database, ErrNoDatabase)
		}
		return nil, fmt.Errorf("connect: %w", redactErr(err))
	}
	return sqlmigrate.ReadStatus(ctx, sqlDB, goose.DialectPostgres, db.PostgresMigrations)
}
