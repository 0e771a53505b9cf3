package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

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

// connectionHeadroom is the slots a deployment leaves free beyond the
// gateway's pools: for psql, migrations, backups and doctor itself.
const connectionHeadroom = 5

// doctorApplicationName names doctor's own connection; it is no instance.
const doctorApplicationName = "genzai doctor"

// ConnectionBudget sets what the gateway's pools may open against what the
// PostgreSQL server admits: instances × (DATABASE_POOL_SIZE +
// DATABASE_POOL_MAX_OVERFLOW) must fit in max_connections less the
// reserved slots, the connections other clients hold and a little
// headroom.
type ConnectionBudget struct {
	// MaxConnections and Reserved are the server's max_connections and
	// the slots kept for superusers (and pg_use_reserved_connections).
	MaxConnections, Reserved int
	// Others counts the connections held now by clients that are not
	// instances of this gateway: other clients of its database (doctor's
	// own left out) and every client of the server's other databases.
	Others int
	// Configured is DATABASE_INSTANCES.
	Configured int
	// Connected counts the gateway instances connected to its database
	// now, told apart by the application_name each gives its connections.
	Connected int
	// Pool and Overflow are DATABASE_POOL_SIZE and DATABASE_POOL_MAX_OVERFLOW.
	Pool, Overflow int
}

// Instances is DATABASE_INSTANCES, or the instances connected now when
// more are.
func (b ConnectionBudget) Instances() int { return max(b.Configured, b.Connected) }

// Available is the connections the gateway's pools may take together.
func (b ConnectionBudget) Available() int {
	return b.MaxConnections - b.Reserved - b.Others - connectionHeadroom
}

// Need is the most connections the gateway's pools open together.
func (b ConnectionBudget) Need() int { return b.Instances() * (b.Pool + b.Overflow) }

// Fits reports whether every pool may open its overflow at once.
func (b ConnectionBudget) Fits() bool { return b.Need() <= b.Available() }

// String spells out the sum, for doctor's line.
func (b ConnectionBudget) String() string {
	return fmt.Sprintf("%d instance(s) (DATABASE_INSTANCES %d, %d connected now) × (pool %d + overflow %d) = %d connections; "+
		"the server has %d for them (max_connections %d − %d reserved − %d held by other clients − %d headroom)",
		b.Instances(), b.Configured, b.Connected, b.Pool, b.Overflow, b.Need(),
		b.Available(), b.MaxConnections, b.Reserved, b.Others, connectionHeadroom)
}

// Fix says how to make the budget fit: lower the overflow when the pools'
// minimum fits, else the pool, or raise max_connections.
func (b ConnectionBudget) Fix() string {
	raise := fmt.Sprintf("raise max_connections to at least %d", b.Need()+b.MaxConnections-b.Available())
	each := b.Available() / max(b.Instances(), 1)
	switch {
	case each >= b.Pool:
		return fmt.Sprintf("set DATABASE_POOL_MAX_OVERFLOW=%d, or %s (statements past the limit wait for a pooled connection, and psql and migrations may be refused)",
			each-b.Pool, raise)
	case each >= 1:
		return fmt.Sprintf("set DATABASE_POOL_SIZE=%d and DATABASE_POOL_MAX_OVERFLOW=0, or %s", each, raise)
	default:
		return raise
	}
}

// InspectConnections reads the PostgreSQL server's connection limit and who
// holds its connections now, and sets the configured pools against it. The
// caller checks that the engine is PostgreSQL.
func InspectConnections(ctx context.Context, cfg Config) (ConnectionBudget, error) {
	b := ConnectionBudget{Configured: cfg.DatabaseInstances, Pool: cfg.DatabasePoolSize, Overflow: cfg.DatabasePoolMaxOverflow}
	c, err := postgres.ReadConnections(ctx, cfg.DatabaseURL.Reveal(), doctorApplicationName)
	if err != nil {
		return b, fmt.Errorf("database %s: %w", cfg.DatabaseLocation(), err)
	}
	b.MaxConnections, b.Reserved = c.MaxConnections, c.Reserved
	b.Others = c.Elsewhere
	for name, n := range c.Here {
		if strings.HasPrefix(name, instanceApplicationPrefix) && name != doctorApplicationName {
			b.Connected++
		} else {
			b.Others += n
		}
	}
	return b, nil
}
