// Package sqlite implements the store ports on an SQLite file through
// modernc.org/sqlite (pure Go, no cgo) and sqlc-generated queries, with the
// same behaviour as adapters/postgres, so that the gateway runs without any
// database server. Generated rows never leave this package: they are mapped
// to domain types here.
//
// The schema (db/schema/sqlite) stores instants as INTEGER unix
// microseconds, UTC (PostgreSQL's precision; times are truncated to the
// microsecond), days as 'YYYY-MM-DD' text and user ids as UUID text
// generated here.
//
// Every connection runs in WAL mode with a busy timeout, and transactions
// begin IMMEDIATE (they take the write lock at once), so that
// read-then-write steps such as ConsumeQuota are atomic across connections
// and across processes sharing the file.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"

	"github.com/genzai/genzai/adapters/sqlite/internal/sqlcgen"
	"github.com/genzai/genzai/domain"
)

// pragmas are set on every pooled connection as it opens. busy_timeout makes
// a writer wait for the write lock instead of failing at once; WAL lets
// readers run beside the writer; synchronous=NORMAL is durable in WAL mode
// except for the last transactions on power loss; _txlock=immediate makes
// BeginTx take the write lock up front, so that a transaction never has to
// upgrade a read lock (which fails with SQLITE_BUSY, whatever the timeout).
const pragmas = "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
	"&_pragma=synchronous(NORMAL)&_txlock=immediate"

// defaultMaxConns bounds the pool when Config.MaxConns is 0: SQLite has one
// writer at a time, so more connections only help concurrent readers.
const defaultMaxConns = 8

// Config sizes the connection pool.
type Config struct {
	// MaxConns bounds open connections; 0 means 8.
	MaxConns int
}

// DB is a connection pool on one SQLite file with the stores built on it.
type DB struct {
	sql  *sql.DB
	q    *sqlcgen.Queries
	path string
}

// ParseURL returns the file path of an sqlite URL:
//
//   - "sqlite:///abs/path.db" (three slashes) is the absolute path /abs/path.db;
//   - "sqlite://relative/path.db" (two slashes) is relative/path.db, relative
//     to the working directory: what follows "//" is the path, so its first
//     segment is a directory, not a host;
//   - "sqlite:relative.db" (no slashes) is relative.db, also relative to the
//     working directory;
//   - "sqlite:///./data/genzai.db" and "sqlite:///../x.db" are relative too:
//     SQLAlchemy writes relative paths after three slashes, and a path
//     starting with . or .. can only mean one, so settings carried over from
//     a SQLAlchemy deployment keep their file. Four slashes
//     ("sqlite:////abs/path.db", SQLAlchemy's absolute form) are absolute.
//
// A SQLAlchemy driver suffix (sqlite+aiosqlite:) is ignored. Percent-escapes
// are decoded. Other schemes, an empty path, query
// parameters and in-memory databases (":memory:") are errors.
func ParseURL(raw string) (string, error) {
	scheme, rest, ok := strings.Cut(raw, ":")
	// SQLAlchemy names the driver after a plus (sqlite+aiosqlite:): same file.
	scheme, _, _ = strings.Cut(scheme, "+")
	if !ok || !strings.EqualFold(scheme, "sqlite") {
		return "", errors.New("scheme is not sqlite: (want sqlite:///abs/path.db or sqlite://relative/path.db)")
	}
	if strings.ContainsAny(rest, "?#") {
		return "", errors.New("sqlite URL: query parameters are not supported")
	}
	rest = strings.TrimPrefix(rest, "//")
	if strings.HasPrefix(rest, "/./") || strings.HasPrefix(rest, "/../") {
		rest = rest[1:]
	}
	p, err := url.PathUnescape(rest)
	if err != nil {
		return "", errors.New("sqlite URL: invalid percent-escape")
	}
	switch {
	case p == "" || p == "/":
		return "", errors.New("sqlite URL: no file path")
	case p == ":memory:" || strings.HasPrefix(p, "file:"):
		return "", errors.New("sqlite URL: only a file path is supported, not an in-memory or file: database")
	case strings.ContainsRune(p, 0):
		return "", errors.New("sqlite URL: NUL in file path")
	}
	return filepath.Clean(filepath.FromSlash(p)), nil
}

// Open opens the SQLite database at path (relative to the working
// directory unless absolute), creating its directory (mode 0700) and the
// file (mode 0600) when they are missing, and checks that it answers. It
// does not migrate: see NewMigrator.
func Open(ctx context.Context, path string, cfg Config) (*DB, error) {
	if path == "" {
		return nil, errors.New("open sqlite: no file path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("open sqlite: create directory: %w", err)
	}
	// Create the file ourselves so that it is private to its owner: it holds
	// password hashes. SQLite gives the -wal and -shm files the same mode.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}

	sqlDB, err := openPool(abs, positiveOr(cfg.MaxConns, defaultMaxConns))
	if err != nil {
		return nil, err
	}
	db := &DB{sql: sqlDB, q: sqlcgen.New(sqlDB), path: abs}
	if err := db.Ping(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("connect: %w", err)
	}
	return db, nil
}

// openPool opens a database/sql pool on the file at abs with the pragmas.
func openPool(abs string, maxConns int) (*sql.DB, error) {
	sqlDB, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	sqlDB.SetMaxOpenConns(maxConns)
	// Keep idle connections: a new one re-runs the pragmas and re-reads the
	// schema.
	sqlDB.SetMaxIdleConns(maxConns)
	return sqlDB, nil
}

// dsn is the driver's name for the file at abs: a file: URI, so that any
// character of the path survives (escaped), carrying the pragmas.
func dsn(abs string) string {
	return "file:" + (&url.URL{Path: filepath.ToSlash(abs)}).EscapedPath() + "?" + pragmas
}

// positiveOr is n when it is positive, else def.
func positiveOr(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}

// Path is the absolute path of the database file.
func (db *DB) Path() string { return db.path }

// Ping implements ports.Pinger.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.sql.PingContext(ctx); err != nil {
		return storeErr("ping", err)
	}
	return nil
}

// Close closes every connection; the last one to close checkpoints the WAL
// into the database file.
func (db *DB) Close() { _ = db.sql.Close() }

// Stats reports the connection pool's statistics (for metrics).
func (db *DB) Stats() sql.DBStats { return db.sql.Stats() }

// inTx runs fn in one IMMEDIATE transaction: it holds the database's write
// lock from the start, so nothing else writes between fn's statements.
func (db *DB) inTx(ctx context.Context, fn func(q *sqlcgen.Queries) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(db.q.WithTx(tx)); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// storeErr wraps a database error with the operation, classifying the
// failures the caller can act on.
func storeErr(op string, err error) error {
	switch {
	case isUniqueViolation(err):
		return &domain.Error{Code: domain.CodeConflict, Message: "Already exists", Err: fmt.Errorf("%s: %w", op, err)}
	case isUnavailable(err):
		return &domain.Error{Code: domain.CodeUnavailable, Message: "Service temporarily unavailable", Err: fmt.Errorf("%s: %w", op, err)}
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
}

// sqliteCode is the extended result code of an SQLite error, 0 for other errors.
func sqliteCode(err error) int {
	var se *sqlite3.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

func isUniqueViolation(err error) bool {
	code := sqliteCode(err)
	return code == sqlite3lib.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY
}

// isUnavailable reports errors that mean the database cannot be used right
// now, as opposed to a bad query: it is locked past the busy timeout, the
// file cannot be opened, read or written, or the pool is closed.
func isUnavailable(err error) bool {
	switch sqliteCode(err) & 0xff { // the primary result code
	case sqlite3lib.SQLITE_BUSY, sqlite3lib.SQLITE_LOCKED, sqlite3lib.SQLITE_CANTOPEN, sqlite3lib.SQLITE_IOERR,
		sqlite3lib.SQLITE_FULL, sqlite3lib.SQLITE_NOMEM, sqlite3lib.SQLITE_PROTOCOL:
		return true
	}
	return errors.Is(err, sql.ErrConnDone) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errDBClosed)
}

// errDBClosed is database/sql's error for a closed pool, which it does not
// export: taken once from a pool closed on purpose, so that it is compared
// by identity rather than by its text.
var errDBClosed = func() error {
	db := sql.OpenDB(closedConnector{})
	_ = db.Close()
	return db.PingContext(context.Background())
}()

// closedConnector serves only to obtain errDBClosed: a closed pool never
// connects.
type closedConnector struct{}

func (closedConnector) Connect(context.Context) (driver.Conn, error) {
	return nil, errors.New("closedConnector: never connects")
}

func (closedConnector) Driver() driver.Driver { return nil }

// isDataError reports errors caused by the rows themselves, which retrying
// the same rows cannot fix: a constraint (foreign key, check, not null), a
// type mismatch or a value too big.
func isDataError(err error) bool {
	switch sqliteCode(err) & 0xff {
	case sqlite3lib.SQLITE_CONSTRAINT, sqlite3lib.SQLITE_MISMATCH, sqlite3lib.SQLITE_TOOBIG, sqlite3lib.SQLITE_RANGE:
		return true
	}
	return false
}

// parseID turns a domain id into the canonical text of its UUID; an id that
// is not a UUID names no user.
func parseID(id domain.UserID) (string, bool) {
	u, err := uuid.Parse(string(id))
	if err != nil {
		return "", false
	}
	return u.String(), true
}
