// Package sqlmigrate applies embedded goose migrations under a lock, so that
// processes starting together apply each migration once. The PostgreSQL and
// SQLite adapters build their migrators on it, each with its own lock.
package sqlmigrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

// MigrationStatus is one migration and whether it is applied.
type MigrationStatus struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

// Lock keeps two migrators on one database from running at once; build it
// with SessionLock or TableLock.
type Lock struct {
	opt goose.ProviderOption
}

// SessionLock is a lock held by the connection that migrates, such as a
// PostgreSQL advisory lock.
func SessionLock(l lock.SessionLocker) Lock { return Lock{opt: goose.WithSessionLocker(l)} }

// TableLock is a lock kept in the database itself, taken and released
// through any connection, such as a lease row in a table.
func TableLock(l lock.Locker) Lock { return Lock{opt: goose.WithLocker(l)} }

// Migrator applies the goose migrations of one database, holding its Lock
// while it applies or rolls back.
type Migrator struct {
	sqlDB    *sql.DB
	provider *goose.Provider
}

// New builds a Migrator for the migrations in fsys (goose SQL files at its
// root) on sqlDB in dialect. The Migrator owns sqlDB: it closes it in Close,
// and New closes it when it fails. A nil logger keeps goose quiet.
func New(sqlDB *sql.DB, dialect goose.Dialect, fsys fs.FS, lk Lock, logger *slog.Logger) (*Migrator, error) {
	if lk.opt == nil {
		_ = sqlDB.Close()
		return nil, errors.New("migration provider: no lock")
	}
	opts := []goose.ProviderOption{lk.opt, goose.WithDisableGlobalRegistry(true)}
	if logger != nil {
		opts = append(opts, goose.WithSlog(logger))
	}
	p, err := goose.NewProvider(dialect, sqlDB, fsys, opts...)
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

// tableExistsQueries ask whether goose's version table exists, for the
// dialects whose goose store cannot tell.
var tableExistsQueries = map[goose.Dialect]string{
	goose.DialectSQLite3: "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '" + goose.DefaultTablename + "')",
}

// ReadStatus lists every migration in fsys and whether sqlDB has it
// applied, only reading: unlike Migrator.Status it neither creates goose's
// version table nor takes the migration lock, so it works on a read-only
// connection and leaves an empty database empty. A database without the
// version table has every migration pending. The caller keeps sqlDB.
func ReadStatus(ctx context.Context, sqlDB *sql.DB, dialect goose.Dialect, fsys fs.FS) ([]MigrationStatus, error) {
	p, err := goose.NewProvider(dialect, sqlDB, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return nil, fmt.Errorf("migration provider: %w", err)
	}
	store, err := database.NewStore(dialect, goose.DefaultTablename)
	if err != nil {
		return nil, fmt.Errorf("migration store: %w", err)
	}
	applied := map[int64]bool{}
	ext, ok := store.(database.StoreExtender)
	if !ok {
		return nil, errors.New("migration store: cannot tell whether the version table exists")
	}
	exists, err := ext.TableExists(ctx, sqlDB)
	if q, ok := tableExistsQueries[dialect]; ok && errors.Is(err, errors.ErrUnsupported) {
		err = sqlDB.QueryRowContext(ctx, q).Scan(&exists)
	}
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	if exists {
		rows, err := store.ListMigrations(ctx, sqlDB)
		if err != nil {
			return nil, fmt.Errorf("migration status: %w", err)
		}
		for _, r := range rows { // newest first: the first row of a version decides
			if _, seen := applied[r.Version]; !seen {
				applied[r.Version] = r.IsApplied
			}
		}
	}
	sources := p.ListSources()
	out := make([]MigrationStatus, 0, len(sources))
	for _, src := range sources {
		out = append(out, MigrationStatus{Version: src.Version, Name: path.Base(src.Path), Applied: applied[src.Version]})
	}
	return out, nil
}

// Close releases the migrator's database handle.
func (m *Migrator) Close() error { return m.sqlDB.Close() }
