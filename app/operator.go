package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/genzai/genzai/adapters/clock"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/admin"
)

// Operator is the operator's access to accounts, for commands run with the
// database's URL rather than through the API: whoever holds the database
// can change it anyway, so these need no admin account and no second
// admin's confirmation. They are how a deployment gets its first admin
// and recovers from a compromised one; each change is audited with the
// actor "operator".
type Operator struct {
	db    *Database
	admin *admin.Service
}

// OpenOperator opens the database cfg names with one connection. It does
// not migrate: a schema behind this binary is an error that says to run
// `genzai migrate up`, so that an operator command never changes the
// schema of a running deployment by surprise.
func OpenOperator(ctx context.Context, cfg Config, logger *slog.Logger) (*Operator, error) {
	cfg.DatabasePoolSize, cfg.DatabasePoolMaxOverflow = 1, 1
	db, err := OpenDatabase(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	if err := requireMigrated(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return &Operator{db: db, admin: admin.New(db, db, clock.System{}, cfg.UserDailyQuota, emails(), nil)}, nil
}

func requireMigrated(ctx context.Context, db *Database) error {
	m, err := db.NewMigrator(slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer m.Close()
	st, err := m.Status(ctx)
	if err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	for _, s := range st {
		if !s.Applied {
			return fmt.Errorf("database %s: migration %05d is not applied: run 'genzai migrate up' first", db.Location, s.Version)
		}
	}
	return nil
}

// Grant makes the account with email an admin. Errors: CodeInvalid,
// CodeNotFound (no such account), CodeUnavailable.
func (o *Operator) Grant(ctx context.Context, email string) (domain.User, error) {
	return o.admin.SetAdminAsOperator(ctx, email, true)
}

// Revoke takes the account's admin rights away, at once. Errors as Grant.
func (o *Operator) Revoke(ctx context.Context, email string) (domain.User, error) {
	return o.admin.SetAdminAsOperator(ctx, email, false)
}

// Audit returns a page of the audit log, newest first; a nil limit means
// the default. Errors: CodeInvalid, CodeUnavailable.
func (o *Operator) Audit(ctx context.Context, limit *int, cursor string) (admin.AuditPage, error) {
	return o.admin.AuditAsOperator(ctx, limit, cursor)
}

// Close releases the database.
func (o *Operator) Close() { o.db.Close() }
