package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/genzai/genzai/adapters/postgres"
	"github.com/genzai/genzai/adapters/quotacount"
	"github.com/genzai/genzai/adapters/sqlite"
	"github.com/genzai/genzai/adapters/sqlmigrate"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// store is what the gateway needs from its database, whichever the engine.
type store interface {
	ports.UserStore
	ports.QuotaStore
	quotacount.Sink
	ports.HealthStore
	ports.AdminStore
	ports.FeedbackStore
	ports.APIKeyStore
	ports.AuditLog
	ports.ChangeStore
	ports.ConversationStore
	ports.Pinger
	NewMigrator(logger *slog.Logger) (*sqlmigrate.Migrator, error)
	Close()
}

// requestLog is a request log writer that can flush on demand, and
// flushes on Close.
type requestLog interface {
	ports.RequestLog
	ports.RequestLogFlusher
	Close(ctx context.Context) error
}

// Database is the open store, PostgreSQL or SQLite, behind the same ports.
type Database struct {
	store
	// Engine is EnginePostgres or EngineSQLite.
	Engine string
	// Location names it for people, without secrets.
	Location string

	newRequestLog func(*slog.Logger) requestLog
	// feed tells the account cache of changes made elsewhere: nil on
	// SQLite, and until New caches accounts (cacheAccounts).
	feed ports.AccountFeed

	// counter counts quotas in front of the store when set (newQuotaStore):
	// the app's quota reads and writes through Database then go to it.
	counter ports.QuotaStore
	// flushQuotas writes the counter's queue (nil without a counter).
	flushQuotas func(context.Context) error
	// leases is the store of quota leases: PostgreSQL's, nil on SQLite.
	// Kept apart from store, which decorators wrap.
	leases quotacount.LeaseStore
}

// ListUsers implements ports.AdminStore. It writes this instance's queued
// quota counts first, so that the list shows them (other instances' within
// their next write).
func (d *Database) ListUsers(ctx context.Context, f domain.UserFilter, day time.Time) ([]domain.UserUsage, error) {
	d.writeQuotas(ctx)
	return d.store.ListUsers(ctx, f, day)
}

// Analytics implements ports.AdminStore, writing queued quota counts first
// as ListUsers does.
func (d *Database) Analytics(ctx context.Context, q domain.AnalyticsQuery) (domain.Analytics, error) {
	d.writeQuotas(ctx)
	return d.store.Analytics(ctx, q)
}

// writeQuotas writes the counter's queue; a failure leaves it queued for
// the next write and the reader sees the database as it is.
func (d *Database) writeQuotas(ctx context.Context) {
	if d.flushQuotas != nil {
		// Not the reader's context: a reader leaving mid-write must not
		// leave a batch whose fate is unknown.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = d.flushQuotas(ctx)
	}
}

// ConsumeQuota implements ports.QuotaStore: through the counter when one
// is set, else in the database.
func (d *Database) ConsumeQuota(ctx context.Context, id domain.UserID, day time.Time, limit, units int) (int, bool, error) {
	if d.counter != nil {
		return d.counter.ConsumeQuota(ctx, id, day, limit, units)
	}
	return d.store.ConsumeQuota(ctx, id, day, limit, units)
}

// RefundQuota implements ports.QuotaStore, as ConsumeQuota.
func (d *Database) RefundQuota(ctx context.Context, id domain.UserID, day time.Time, units int) error {
	if d.counter != nil {
		return d.counter.RefundQuota(ctx, id, day, units)
	}
	return d.store.RefundQuota(ctx, id, day, units)
}

// QuotaUsed implements ports.QuotaStore, as ConsumeQuota.
func (d *Database) QuotaUsed(ctx context.Context, id domain.UserID, day time.Time) (int, error) {
	if d.counter != nil {
		return d.counter.QuotaUsed(ctx, id, day)
	}
	return d.store.QuotaUsed(ctx, id, day)
}

// Shared reports whether several instances can run on this database: true
// for PostgreSQL, false for an SQLite file.
func (d *Database) Shared() bool { return d.Engine == EnginePostgres }

// OpenDatabase opens the database cfg selects, with the configured pool. In
// development a missing PostgreSQL database, and always a missing SQLite
// file and its directory, are created first.
func OpenDatabase(ctx context.Context, cfg Config, logger *slog.Logger) (*Database, error) {
	return openDatabase(ctx, cfg, logger, nil)
}

// openDatabase is OpenDatabase with a tracer observing every PostgreSQL
// statement (nil: none).
func openDatabase(ctx context.Context, cfg Config, logger *slog.Logger, tracer pgx.QueryTracer) (*Database, error) {
	if cfg.DatabaseEngine == EngineSQLite {
		db, err := sqlite.Open(ctx, cfg.DatabasePath, sqlite.Config{})
		if err != nil {
			return nil, fmt.Errorf("database %s: %w", cfg.DatabaseLocation(), err)
		}
		return &Database{
			store:    db,
			Engine:   EngineSQLite,
			Location: cfg.DatabaseLocation(),
			newRequestLog: func(l *slog.Logger) requestLog {
				return db.NewRequestLogWriter(l, sqlite.RequestLogConfig{})
			},
		}, nil
	}

	if !cfg.Production() {
		created, err := postgres.CreateDatabaseIfMissing(ctx, cfg.DatabaseURL.Reveal())
		if err != nil {
			return nil, fmt.Errorf("database %s: %w", cfg.DatabaseLocation(), err)
		}
		if created {
			logger.Info("created database", "database", cfg.DatabaseLocation())
		}
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL.Reveal(), postgres.PoolConfig{
		MinConns:        int32(cfg.DatabasePoolSize),
		MaxConns:        int32(cfg.DatabasePoolSize + cfg.DatabasePoolMaxOverflow),
		MaxConnLifetime: cfg.DatabasePoolRecycle,
		MaxConnIdleTime: cfg.DatabasePoolIdle,
		ApplicationName: instanceName(),
		Tracer:          tracer,
	})
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", cfg.DatabaseLocation(), err)
	}
	return &Database{
		store:    db,
		leases:   db,
		Engine:   EnginePostgres,
		Location: cfg.DatabaseLocation(),
		newRequestLog: func(l *slog.Logger) requestLog {
			return db.NewRequestLogWriter(l, postgres.RequestLogConfig{})
		},
	}, nil
}

// instanceApplicationPrefix starts the application_name of every gateway
// instance's connections, so that genzai doctor can count instances.
const instanceApplicationPrefix = "genzai "

// instanceName names this process's connections in pg_stat_activity:
// "genzai <hostname>:<pid>", distinct per instance.
func instanceName() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return fmt.Sprintf("%s%s:%d", instanceApplicationPrefix, host, os.Getpid())
}

// Backoff between attempts to reach a database that is still starting:
// quick at first (a container that is nearly up), then capped so that a
// long wait still notices the server within two seconds of its start.
const (
	firstDatabaseRetry = 100 * time.Millisecond
	maxDatabaseRetry   = 2 * time.Second
)

// openDatabaseWaiting is openDatabase retried, with exponential backoff and
// one warning per retry, for as long as cfg.DatabaseWait allows while the
// server refuses connections or is still starting. Any other failure (bad
// credentials, a bad URL) is returned at once.
func openDatabaseWaiting(ctx context.Context, cfg Config, logger *slog.Logger, tracer pgx.QueryTracer) (*Database, error) {
	deadline := time.Now().Add(cfg.DatabaseWait)
	delay := firstDatabaseRetry
	for attempt := 1; ; attempt++ {
		db, err := openDatabase(ctx, cfg, logger, tracer)
		if err == nil || cfg.DatabaseEngine == EngineSQLite || !postgres.Unreachable(err) {
			return db, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			if cfg.DatabaseWait <= 0 {
				return nil, err
			}
			return nil, fmt.Errorf("gave up waiting %s for the database (DATABASE_WAIT_SECONDS) after %d attempts: %w",
				cfg.DatabaseWait, attempt, err)
		}
		// The last retry lands on the deadline rather than giving up early.
		delay = min(delay, left)
		// err names the database by its redacted location only.
		logger.Warn("database not reachable yet, retrying", "database", cfg.DatabaseLocation(),
			"attempt", attempt, "retry_in", delay.String(), "error", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("wait for the database: %w", errors.Join(ctx.Err(), err))
		case <-t.C:
		}
		delay = min(2*delay, maxDatabaseRetry)
	}
}

func migrateUp(ctx context.Context, db *Database, logger *slog.Logger) error {
	m, err := db.NewMigrator(nil)
	if err != nil {
		return err
	}
	defer m.Close()
	applied, err := m.Up(ctx)
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		logger.Info("applied migrations", "versions", applied)
	}
	return nil
}
