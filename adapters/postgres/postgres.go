// Package postgres implements the store ports on PostgreSQL through pgx/v5
// and sqlc-generated queries. Generated rows never leave this package: they
// are mapped to domain types here.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/genzai/genzai/adapters/postgres/internal/sqlcgen"
)

// PoolConfig sizes the connection pool.
type PoolConfig struct {
	// MinConns connections are kept open (DATABASE_POOL_SIZE).
	MinConns int32
	// MaxConns bounds open connections (DATABASE_POOL_SIZE + DATABASE_POOL_MAX_OVERFLOW).
	MaxConns int32
	// MaxConnLifetime recycles connections (DATABASE_POOL_RECYCLE_SECONDS).
	MaxConnLifetime time.Duration
	// MaxConnIdleTime closes a connection beyond MinConns once it has been
	// idle this long (DATABASE_POOL_IDLE_SECONDS), so that the overflow a
	// burst opened goes back to the server; checked every half of it.
	MaxConnIdleTime time.Duration
	// ApplicationName names the pool's connections in pg_stat_activity
	// (genzai doctor counts instances by it) unless the URL names them.
	ApplicationName string
	// Tracer, when set, observes every query (metrics, traces); it may also
	// implement pgx.CopyFromTracer and the other pgx tracer interfaces.
	Tracer pgx.QueryTracer
}

// DB is a connection pool with the stores built on it.
type DB struct {
	pool  *pgxpool.Pool
	conns *conns
	q     *sqlcgen.Queries
}

// newDB builds the stores on pool; every statement goes through conns.
func newDB(pool *pgxpool.Pool) *DB {
	c := newConns(pool)
	return &DB{pool: pool, conns: c, q: sqlcgen.New(c)}
}

// NormalizeURL accepts postgres://, postgresql:// and SQLAlchemy's
// postgresql+asyncpg:// (with asyncpg's ssl= parameter) and returns a URL pgx
// understands.
func NormalizeURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse errors quote the input, which may hold a password.
		return "", errors.New("not a valid URL")
	}
	switch u.Scheme {
	case "postgres", "postgresql":
	case "postgresql+asyncpg", "postgres+asyncpg", "postgresql+psycopg", "postgresql+psycopg2":
		u.Scheme = "postgresql"
		q := u.Query()
		if ssl := q.Get("ssl"); ssl != "" {
			q.Del("ssl")
			switch strings.ToLower(ssl) {
			case "true", "1":
				ssl = "require"
			case "false", "0":
				ssl = "disable"
			}
			if q.Get("sslmode") == "" {
				q.Set("sslmode", ssl)
			}
		}
		u.RawQuery = q.Encode()
	default:
		return "", fmt.Errorf("scheme %q is not postgres://, postgresql:// or postgresql+asyncpg://", u.Scheme)
	}
	if u.Host == "" && !strings.Contains(u.RawQuery, "host=") {
		return "", errors.New("no host")
	}
	return u.String(), nil
}

// Open connects a pool to the database at rawURL and checks that it answers.
func Open(ctx context.Context, rawURL string, pc PoolConfig) (*DB, error) {
	dsn, err := NormalizeURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", redactErr(err))
	}
	if pc.MaxConns > 0 {
		cfg.MaxConns = pc.MaxConns
	}
	if pc.MinConns > 0 {
		cfg.MinConns = min(pc.MinConns, cfg.MaxConns)
	}
	if pc.MaxConnLifetime > 0 {
		cfg.MaxConnLifetime = pc.MaxConnLifetime
		// Spread recycling so that connections opened together do not all close together.
		cfg.MaxConnLifetimeJitter = pc.MaxConnLifetime / 10
	}
	if pc.MaxConnIdleTime > 0 {
		cfg.MaxConnIdleTime = pc.MaxConnIdleTime
		cfg.HealthCheckPeriod = max(pc.MaxConnIdleTime/2, 50*time.Millisecond)
	}
	if _, named := cfg.ConnConfig.RuntimeParams["application_name"]; !named && pc.ApplicationName != "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = pc.ApplicationName
	}
	if pc.Tracer != nil {
		cfg.ConnConfig.Tracer = pc.Tracer
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", redactErr(err))
	}
	db := newDB(pool)
	if err := db.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect: %w", err)
	}
	return db, nil
}

// Ping implements ports.Pinger.
// Like every statement it waits for a pooled connection when the server
// has no slot for a new one: a full server is busy, not down.
func (db *DB) Ping(ctx context.Context) error {
	conn, err := db.conns.acquire(ctx)
	if err == nil {
		err = conn.Ping(ctx)
		db.conns.release(conn)
	}
	if err != nil {
		return storeErr("ping", err)
	}
	return nil
}

// Close closes every connection.
func (db *DB) Close() { db.pool.Close() }

// Stat reports the connection pool's statistics (for metrics).
func (db *DB) Stat() *pgxpool.Stat { return db.pool.Stat() }

// CreateDatabaseIfMissing creates the database named in rawURL when it does
// not exist, connecting to the server's "postgres" database to do so. It is a
// development convenience: production databases are provisioned by operators.
func CreateDatabaseIfMissing(ctx context.Context, rawURL string) (created bool, err error) {
	dsn, err := NormalizeURL(rawURL)
	if err != nil {
		return false, fmt.Errorf("database url: %w", err)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return false, fmt.Errorf("database url: %w", redactErr(err))
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return false, conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
		return false, fmt.Errorf("connect: %w", redactErr(err))
	}
	name := cfg.Database
	admin := cfg.Copy()
	admin.Database = "postgres"
	conn, err = pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return false, fmt.Errorf("connect to create database: %w", redactErr(err))
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		// Another instance won the race: duplicate_database, or, when both
		// commands ran at once, a unique violation on the catalog index.
		if errors.As(err, &pgErr) && (pgErr.Code == "42P04" ||
			pgErr.Code == "23505" && pgErr.ConstraintName == "pg_database_datname_index") {
			return false, nil
		}
		return false, fmt.Errorf("create database: %w", err)
	}
	return true, nil
}

// redactErr drops connection-string details from pgx parse and connect
// errors, which can quote the password.
func redactErr(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("cannot parse connection string")
	}
	return err
}

// Unreachable reports whether err, from Open or CreateDatabaseIfMissing,
// means the server is not there yet or is still starting (connection
// refused, host or network unreachable, a connection closed or timed out
// while connecting, SQLSTATE 57P03 "the database system is starting up",
// 53300 "too many clients already": other clients will give slots back):
// worth retrying at start-up. A bad URL, an unknown host or a refused
// login is not: retrying would not change the answer.
func Unreachable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "57P03" || pgErr.Code == "53300" // cannot_connect_now, too_many_connections
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.IsTemporary || dnsErr.IsTimeout
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || pgconn.Timeout(err)
}

// isUnavailable reports errors that mean the database cannot be used right
// now, as opposed to a bad query.
func isUnavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 08: connection exception; 53: insufficient resources; 57P0x: shutdown, cannot connect now.
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "53") ||
			pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connErr) || errors.As(err, &netErr) ||
		// The server closed the connection under a query: it stopped or
		// crashed (its kernel sends a FIN, pgx reads an unexpected EOF).
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) || pgconn.SafeToRetry(err)
}
