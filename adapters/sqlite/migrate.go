package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/genzai/genzai/adapters/sqlmigrate"
	"github.com/genzai/genzai/db"
)

// lockTiming is how the migration lock behaves.
type lockTiming struct {
	// lease is how long a lock stays valid without a heartbeat; a process
	// that died holding it loses it after this long.
	lease time.Duration
	// retry is how often a waiting migrator tries again.
	retry time.Duration
	// timeout is how long a migrator waits for the lock before giving up.
	timeout time.Duration
}

// defaultLockTiming: a 30 s lease renewed every 10 s; waiting migrators
// retry every second for up to 5 minutes, as on PostgreSQL.
var defaultLockTiming = lockTiming{lease: 30 * time.Second, retry: time.Second, timeout: 5 * time.Minute}

// NewMigrator builds a migrator for the embedded SQLite migrations on the
// database file. Every run holds a lease in the genzai_migration_lock table,
// so that processes starting together on one file (a server and `genzai
// migrate`) apply each migration once. The migrator has its own
// connections; closing it leaves the database open.
func (d *DB) NewMigrator(logger *slog.Logger) (*sqlmigrate.Migrator, error) {
	return d.newMigrator(logger, defaultLockTiming)
}

func (d *DB) newMigrator(logger *slog.Logger, timing lockTiming) (*sqlmigrate.Migrator, error) {
	// Goose holds one connection for the migrations while the lock's
	// heartbeat and release use another.
	sqlDB, err := openPool(d.path, 3)
	if err != nil {
		return nil, err
	}
	return sqlmigrate.New(sqlDB, goose.DialectSQLite3, db.SQLiteMigrations,
		sqlmigrate.TableLock(newMigrationLock(timing, logger)), logger)
}

// ReadMigrationStatus lists the migrations and whether the SQLite file at
// path has each applied, opening it read-only: it creates neither the file
// nor anything in it. A missing file is an error wrapping fs.ErrNotExist.
func ReadMigrationStatus(ctx context.Context, path string) ([]sqlmigrate.MigrationStatus, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	sqlDB, err := sql.Open("sqlite", "file:"+(&url.URL{Path: filepath.ToSlash(abs)}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	defer sqlDB.Close()
	return sqlmigrate.ReadStatus(ctx, sqlDB, goose.DialectSQLite3, db.SQLiteMigrations)
}
