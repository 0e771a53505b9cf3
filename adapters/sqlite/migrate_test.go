package sqlite_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/sqlite"
	"github.com/genzai/genzai/domain"
)

// tables lists the application tables in the file.
func tables(t *testing.T, path string) []string {
	t.Helper()
	rows, err := rawConn(t, path).QueryContext(context.Background(),
		`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
		 AND name NOT IN ('goose_db_version', 'genzai_migration_lock')
		 AND name NOT LIKE '%\_fts\_%' ESCAPE '\' ORDER BY name`) // not FTS5's shadow tables
	require.NoError(t, err)
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		out = append(out, name)
	}
	require.NoError(t, rows.Err())
	return out
}

func TestMigrateDownAndUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := newPath(t)
	db := openAt(t, path, 2)
	m, err := db.NewMigrator(nil)
	require.NoError(t, err)
	defer m.Close()

	st, err := m.Status(ctx)
	require.NoError(t, err)
	require.Len(t, st, 13)
	assert.Equal(t, "00001_users.sql", st[0].Name)
	assert.Equal(t, "00004_provider_health.sql", st[3].Name)
	assert.Equal(t, "00005_admin_feedback.sql", st[4].Name)
	assert.Equal(t, "00006_api_keys.sql", st[5].Name)
	assert.Equal(t, "00007_request_log_api.sql", st[6].Name)
	assert.Equal(t, "00008_tokens_valid_after.sql", st[7].Name)
	assert.Equal(t, "00009_email_identity.sql", st[8].Name)
	assert.Equal(t, "00010_least_privilege.sql", st[9].Name)
	assert.Equal(t, "00012_conversations.sql", st[10].Name, "no 00011 on SQLite: goose takes the gap")
	assert.Equal(t, "00013_request_log_cache.sql", st[11].Name)
	assert.Equal(t, "00014_request_log_kind.sql", st[12].Name)
	for _, s := range st {
		assert.False(t, s.Applied, "migration %d", s.Version)
	}

	applied, err := m.Up(ctx)
	require.NoError(t, err)
	assert.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14}, applied)
	assert.Equal(t, []string{"admin_changes", "api_keys", "audit_log", "conversations", "conversations_fts", "feedback", "messages", "messages_fts", "provider_checks", "provider_probe_schedule", "quota_usage", "request_log", "users"}, tables(t, path))
	st, err = m.Status(ctx)
	require.NoError(t, err)
	for _, s := range st {
		assert.True(t, s.Applied, "migration %d", s.Version)
		assert.WithinDuration(t, time.Now(), s.AppliedAt, time.Hour, "migration %d", s.Version)
	}

	wantTables := map[int64][]string{
		14: {"admin_changes", "api_keys", "audit_log", "conversations", "conversations_fts", "feedback", "messages", "messages_fts", "provider_checks", "provider_probe_schedule", "quota_usage", "request_log", "users"},
		13: {"admin_changes", "api_keys", "audit_log", "conversations", "conversations_fts", "feedback", "messages", "messages_fts", "provider_checks", "provider_probe_schedule", "quota_usage", "request_log", "users"},
		12: {"admin_changes", "api_keys", "audit_log", "feedback", "provider_checks", "provider_probe_schedule", "quota_usage", "request_log", "users"},
		10: {"api_keys", "feedback", "provider_checks", "provider_probe_schedule", "quota_usage", "request_log", "users"},
		9:  {"api_keys", "feedback", "provider_checks", "provider_probe_schedule", "quota_usage", "request_log", "users"},
		8:  {"api_keys", "feedback", "provider_checks", "provider_probe_schedule", "quota_usage", "request_log", "users"},
		7:  {"api_keys", "feedback", "provider_checks", "provider_probe_schedule", "quota_usage", "request_log", "users"},
		6:  {"feedback", "provider_checks", "provider_probe_schedule", "quota_usage", "request_log", "users"},
		5:  {"provider_checks", "provider_probe_schedule", "quota_usage", "request_log", "users"},
		4:  {"quota_usage", "request_log", "users"},
		3:  {"quota_usage", "users"},
		2:  {"users"},
		1:  {},
	}
	for _, want := range []int64{14, 13, 12, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1} {
		v, err := m.Down(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, v)
		assert.Equal(t, wantTables[want], tables(t, path), "after rolling back %d", want)
	}
	v, err := m.Down(ctx)
	assert.Error(t, err, "nothing left to roll back")
	assert.Zero(t, v)

	applied, err = m.Up(ctx)
	require.NoError(t, err)
	assert.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14}, applied)
	applied, err = m.Up(ctx)
	require.NoError(t, err)
	assert.Empty(t, applied)
	assert.Zero(t, count(t, rawConn(t, path), "SELECT count(*) FROM genzai_migration_lock"), "the lock is released")
}

// TestConcurrentMigrations starts several migrators on one new file at once,
// each through its own *DB as separate processes would (a server starting
// while `genzai migrate` runs): the lock makes each migration apply exactly
// once and every caller succeed.
func TestConcurrentMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := newPath(t)

	const instances = 5
	dbs := make([]*sqlite.DB, instances)
	for i := range dbs {
		dbs[i] = openAt(t, path, 2)
	}
	applied := make([][]int64, instances)
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Go(func() {
			m, err := db.NewMigratorWithLockTiming(nil, 5*time.Second, 10*time.Millisecond, time.Minute)
			if !assert.NoError(t, err) {
				return
			}
			defer m.Close()
			applied[i], err = m.Up(ctx)
			assert.NoError(t, err)
		})
	}
	wg.Wait()

	var all []int64
	for _, a := range applied {
		all = append(all, a...)
	}
	assert.ElementsMatch(t, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14}, all, "each migration applied once across all instances")
	conn := rawConn(t, path)
	for v := int64(1); v <= 8; v++ {
		assert.Equal(t, 1, count(t, conn, "SELECT count(*) FROM goose_db_version WHERE version_id = ?", v), "version %d", v)
	}
	assert.Zero(t, count(t, conn, "SELECT count(*) FROM genzai_migration_lock"))
}

// TestMigrationLock covers the lease: a live lease held by another process
// makes a migrator wait and give up, a lease that ended (its holder died) is
// taken over, and a lease is renewed while its holder works.
func TestMigrationLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// hold writes the lock row another process would leave.
	hold := func(t *testing.T, path, owner string, expires time.Time) {
		t.Helper()
		conn := rawConn(t, path)
		_, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS genzai_migration_lock (
			id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1), owner TEXT NOT NULL, expires_at INTEGER NOT NULL)`)
		require.NoError(t, err)
		_, err = conn.ExecContext(ctx, "INSERT OR REPLACE INTO genzai_migration_lock VALUES (1, ?, ?)", owner, expires.UnixMicro())
		require.NoError(t, err)
	}

	t.Run("a live lease blocks until the timeout", func(t *testing.T) {
		t.Parallel()
		path := newPath(t)
		db := openAt(t, path, 2)
		hold(t, path, "other-host-42", time.Now().Add(time.Hour))
		m, err := db.NewMigratorWithLockTiming(nil, time.Second, 20*time.Millisecond, 200*time.Millisecond)
		require.NoError(t, err)
		defer m.Close()
		start := time.Now()
		applied, err := m.Up(ctx)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "still held by other-host-42")
		assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
		assert.Empty(t, applied)
		assert.Empty(t, tables(t, path), "nothing was migrated")
	})

	t.Run("a lease released while waiting is taken", func(t *testing.T) {
		t.Parallel()
		path := newPath(t)
		db := openAt(t, path, 2)
		hold(t, path, "other-host-42", time.Now().Add(time.Hour))
		m, err := db.NewMigratorWithLockTiming(nil, time.Second, 20*time.Millisecond, time.Minute)
		require.NoError(t, err)
		defer m.Close()
		go func() {
			time.Sleep(100 * time.Millisecond)
			_, err := rawConn(t, path).ExecContext(ctx, "DELETE FROM genzai_migration_lock")
			assert.NoError(t, err)
		}()
		applied, err := m.Up(ctx)
		require.NoError(t, err)
		assert.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14}, applied)
	})

	t.Run("a stale lease is taken over", func(t *testing.T) {
		t.Parallel()
		path := newPath(t)
		db := openAt(t, path, 2)
		hold(t, path, "dead-host-7", time.Now().Add(-time.Second))
		logs := &syncBuffer{}
		m, err := db.NewMigratorWithLockTiming(newTextLogger(logs), time.Second, 20*time.Millisecond, 200*time.Millisecond)
		require.NoError(t, err)
		defer m.Close()
		applied, err := m.Up(ctx)
		require.NoError(t, err)
		assert.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14}, applied)
		assert.Contains(t, logs.String(), `msg="taking over a stale migration lock" stale_owner=dead-host-7`)
		assert.Zero(t, count(t, rawConn(t, path), "SELECT count(*) FROM genzai_migration_lock"))
	})

	t.Run("a cancelled wait gives up at once", func(t *testing.T) {
		t.Parallel()
		path := newPath(t)
		db := openAt(t, path, 2)
		hold(t, path, "other-host-42", time.Now().Add(time.Hour))
		m, err := db.NewMigratorWithLockTiming(nil, time.Second, 20*time.Millisecond, time.Minute)
		require.NoError(t, err)
		defer m.Close()
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err = m.Up(cctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

// TestEmailKeyBackfill applies migration 00009 to accounts made before it:
// every account gets a key, an untagged address keeps its own, and of
// accounts that already collide (carol@ and carol+1@) all survive, the
// oldest claimant getting the untagged key.
func TestEmailKeyBackfill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := newPath(t)
	db := openAt(t, path, 2)
	m, err := db.NewMigrator(nil)
	require.NoError(t, err)
	defer m.Close()
	_, err = m.Up(ctx)
	require.NoError(t, err)
	for _, want := range []int64{14, 13, 12, 10, 9} { // down to just before 00009
		v, err := m.Down(ctx)
		require.NoError(t, err)
		require.Equal(t, want, v)
	}

	conn := rawConn(t, path)
	rows := []struct{ id, email, wantKey string }{
		{"00000000-0000-4000-8000-000000000001", "carol+1@example.com", "carol+1@example.com"},
		{"00000000-0000-4000-8000-000000000002", "carol@example.com", "carol@example.com"},
		{"00000000-0000-4000-8000-000000000003", "dave+b@example.com", "dave@example.com"},
		{"00000000-0000-4000-8000-000000000004", "dave+a@example.com", "dave+a@example.com"},
		{"00000000-0000-4000-8000-000000000005", "+news@example.com", "+news@example.com"},
		{"00000000-0000-4000-8000-000000000006", "erin+x@example.com", "erin@example.com"},
	}
	for i, r := range rows {
		_, err := conn.ExecContext(ctx, `INSERT INTO users (id, email, created_at) VALUES (?, ?, ?)`, r.id, r.email, int64(1_000_000+i))
		require.NoError(t, err)
	}
	applied, err := m.Up(ctx)
	require.NoError(t, err)
	require.Equal(t, []int64{9, 10, 12, 13, 14}, applied)
	for _, r := range rows {
		var key string
		require.NoError(t, conn.QueryRowContext(ctx, `SELECT email_key FROM users WHERE id = ?`, r.id).Scan(&key))
		assert.Equal(t, r.wantKey, key, r.email)
	}
	// The untagged spelling finds the account that owns the untagged key.
	u, err := db.UserByEmail(ctx, "dave@example.com")
	require.NoError(t, err)
	assert.Equal(t, "dave+b@example.com", u.Email)
	u, err = db.UserByEmail(ctx, "erin+y@example.com")
	require.NoError(t, err)
	assert.Equal(t, "erin+x@example.com", u.Email)
	_, err = db.CreateUser(ctx, domain.NewUser{Email: "erin@example.com"})
	assert.Equal(t, domain.CodeConflict, domain.ErrorCode(err)) // Accounts that already collided keep their own address: each finds
	// itself, not the holder of the untagged key.
	for _, email := range []string{"carol+1@example.com", "carol@example.com", "dave+a@example.com", "dave+b@example.com"} {
		u, err := db.UserByEmail(ctx, email)
		require.NoError(t, err, email)
		assert.Equal(t, email, u.Email)
	}
}
