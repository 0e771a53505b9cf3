package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/genzai/genzai/db"
)

// MigrationStatus is one migration and whether it is applied.
type MigrationStatus struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

// Migrator applies the embedded goose migrations. Every run holds a
// PostgreSQL advisory lock, so instances starting together apply each
// migration once.
type Migrator struct {
	sqlDB    *sql.DB
	provider *goose.Provider
}

// NewMigrator builds a Migrator on the pool's database.
func (d *DB) NewMigrator(logger *slog.Logger) (*Migrator, error) {
	fsys, err := fs.Sub(db.Migrations, "schema")
	if err != nil {
		return nil, fmt.Errorf("open migrations: %w", err)
	}
	return newMigrator(stdlib.OpenDBFromPool(d.pool), fsys, logger)
}

func newMigrator(sqlDB *sql.DB, fsys fs.FS, logger *slog.Logger) (*Migrator, error) {
	// Retry the lock every second (goose's default is every 5 s) for up to
	// 5 minutes: instances starting together wait for one that migrates.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true)}
	if logger != nil {
		opts = append(opts, goose.WithSlog(logger))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, fsys, opts...)
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("migration provider: %w", err)
	}
	return &Migrator{sqlDB: sqlDB, provider: p}, nil
}

// Up applies every pending migration and returns the versions it applied.
func (m *Migrator) Up(ctx context.Context) ([]int64, error) {
	res, err := m.provider.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate up: %w", err)
	}
	versions := make([]int64, 0, len(res))
	for _, r := range res {
		versions = append(versions, r.Source.Version)
	}
	return versions, nil
}

// Down rolls back the newest applied migration and returns its version
// (0 when none was applied).
func (m *Migrator) Down(ctx context.Context) (int64, error) {
	r, err := m.provider.Down(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate down: %w", err)
	}
	if r == nil {
		return 0, nil
	}
	return r.Source.Version, nil
}

// Status lists every known migration in order.
func (m *Migrator) Status(ctx context.Context) ([]MigrationStatus, error) {
	st, err := m.provider.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, s := range st {
		out = append(out, MigrationStatus{
			Version:   s.Source.Version,
			Name:      path.Base(s.Source.Path),
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt,
		})
	}
	return out, nil
}

// Close releases the migrator's handle; the pool stays open.
func (m *Migrator) Close() error { return m.sqlDB.Close() }
