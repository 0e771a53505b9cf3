package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/sqlite"
	"github.com/genzai/genzai/domain"
)

// newPath is a database file path in a fresh directory; nothing is created.
func newPath(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "genzai.db")
}

// openAt opens the database at path, closed when t ends.
func openAt(t testing.TB, path string, maxConns int) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, sqlite.Config{MaxConns: maxConns})
	require.NoError(t, err)
	t.Cleanup(db.Close)
	return db
}

// migrate applies every migration to db.
func migrate(t testing.TB, db *sqlite.DB) {
	t.Helper()
	m, err := db.NewMigrator(nil)
	require.NoError(t, err)
	defer m.Close()
	_, err = m.Up(context.Background())
	require.NoError(t, err)
}

// open is a fresh migrated database in its own file.
func open(t testing.TB) *sqlite.DB {
	t.Helper()
	db := openAt(t, newPath(t), 0)
	migrate(t, db)
	return db
}

// rawConn is a plain database/sql handle on the file at path, for checks
// and setups the adapter does not offer.
func rawConn(t testing.TB, path string) *sql.DB {
	t.Helper()
	conn, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)")
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func count(t testing.TB, conn *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, conn.QueryRowContext(context.Background(), query, args...).Scan(&n))
	return n
}

func newUser(t testing.TB, db *sqlite.DB, email string) domain.UserID {
	t.Helper()
	u, err := db.CreateUser(context.Background(), domain.NewUser{Email: email})
	require.NoError(t, err)
	return u.ID
}

func ptr[T any](v T) *T { return &v }

// at is a timestamp stored exactly (microseconds, UTC).
var at = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)
