package sqlmigrate_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/genzai/genzai/adapters/sqlmigrate"
)

// countingLock is an in-process lock.Locker that counts its use.
type countingLock struct {
	mu             sync.Mutex
	locks, unlocks int
}

func (l *countingLock) Lock(context.Context, *sql.DB) error {
	l.mu.Lock()
	l.locks++
	return nil
}

func (l *countingLock) Unlock(context.Context, *sql.DB) error {
	l.unlocks++
	l.mu.Unlock()
	return nil
}

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "m.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

var migrations = fstest.MapFS{
	"00001_a.sql": {Data: []byte("-- +goose Up\nCREATE TABLE a (x INTEGER);\n-- +goose Down\nDROP TABLE a;\n")},
	"00002_b.sql": {Data: []byte("-- +goose Up\nCREATE TABLE b (x INTEGER);\n-- +goose Down\nDROP TABLE b;\n")},
}

func TestMigrator(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	lk := &countingLock{}
	m, err := sqlmigrate.New(openDB(t), goose.DialectSQLite3, migrations, sqlmigrate.TableLock(lk), nil)
	require.NoError(t, err)
	defer m.Close()

	applied, err := m.Up(ctx)
	require.NoError(t, err)
	assert.Equal(t, []int64{1, 2}, applied)
	v, err := m.Down(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(2), v)
	st, err := m.Status(ctx)
	require.NoError(t, err)
	require.Len(t, st, 2)
	assert.Equal(t, sqlmigrate.MigrationStatus{Version: 1, Name: "00001_a.sql", Applied: true, AppliedAt: st[0].AppliedAt}, st[0])
	assert.False(t, st[0].AppliedAt.IsZero())
	assert.Equal(t, sqlmigrate.MigrationStatus{Version: 2, Name: "00002_b.sql"}, st[1])
	assert.Equal(t, 3, lk.locks, "Up, Down and Status each hold the lock")
	assert.Equal(t, 3, lk.unlocks)
}

func TestNewRefusesNoLock(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	_, err := sqlmigrate.New(db, goose.DialectSQLite3, migrations, sqlmigrate.Lock{}, nil)
	require.Error(t, err)
	assert.Error(t, db.Ping(), "New closes the handle it owns when it fails")
}
