package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/genzai/genzai/adapters/postgres"
	"github.com/genzai/genzai/adapters/sqlite"
	"github.com/genzai/genzai/adapters/sqlmigrate"
)

// DatabaseReport is what `genzai doctor` found at the configured database,
// looking without changing anything.
type DatabaseReport struct {
	// Location names the database for people: for SQLite the file's
	// absolute path, for PostgreSQL the URL without its password.
	Location string
	// Missing is set when there is no such file or database: serve would
	// create it (SQLite always, PostgreSQL in development only).
	Missing bool
	// Applied and Pending count the schema migrations.
	Applied, Pending int
	// Shared is true for PostgreSQL: several instances can use it.
	Shared bool
}

// Empty reports a database that exists without any migration applied: a
// fresh one, or not the one the gateway has been using.
func (r DatabaseReport) Empty() bool { return !r.Missing && r.Applied == 0 }

// InspectDatabase looks at the database cfg selects without creating or
// changing it (OpenDatabase creates a missing one): an SQLite file is opened
// read-only, PostgreSQL through read-only transactions. It errs when the
// database cannot be read, not when it is missing or empty.
func InspectDatabase(ctx context.Context, cfg Config) (DatabaseReport, error) {
	var st []sqlmigrate.MigrationStatus
	var err error
	r := DatabaseReport{Location: cfg.DatabaseLocation(), Shared: cfg.DatabaseEngine == EnginePostgres}
	if cfg.DatabaseEngine == EngineSQLite {
		abs, aerr := filepath.Abs(cfg.DatabasePath)
		if aerr != nil {
			return r, fmt.Errorf("database %s: %w", r.Location, aerr)
		}
		r.Location = abs
		st, err = sqlite.ReadMigrationStatus(ctx, abs)
		r.Missing = errors.Is(err, fs.ErrNotExist)
	} else {
		st, err = postgres.ReadMigrationStatus(ctx, cfg.DatabaseURL.Reveal())
		r.Missing = errors.Is(err, postgres.ErrNoDatabase)
	}
	switch {
	case r.Missing:
		return r, nil
	case err != nil:
		return r, fmt.Errorf("database %s: %w", r.Location, err)
	}
	for _, s := range st {
		if s.Applied {
			r.Applied++
		} else {
			r.Pending++
		}
	}
	return r, nil
}
