package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/domain"
)

// TestConcurrentMigrations starts several migrators on one empty database at
// once, as instances starting together do: the advisory lock makes each
// migration apply exactly once and every caller succeed.
func TestConcurrentMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewEmptyURL(t)

	const instances = 5
	applied := make([][]int64, instances)
	var wg sync.WaitGroup
	for i := range instances {
		wg.Go(func() {
			db, err := postgres.Open(ctx, url, postgres.PoolConfig{MaxConns: 2})
			if !assert.NoError(t, err) {
				return
			}
			defer db.Close()
			m, err := db.NewMigrator(nil)
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
	assert.ElementsMatch(t, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}, all, "each migration applied once across all instances")

	db, err := postgres.Open(ctx, url, postgres.PoolConfig{MaxConns: 2})
	require.NoError(t, err)
	defer db.Close()
	m, err := db.NewMigrator(nil)
	require.NoError(t, err)
	defer m.Close()
	st, err := m.Status(ctx)
	require.NoError(t, err)
	require.Len(t, st, 14)
	for _, s := range st {
		assert.True(t, s.Applied, "migration %d", s.Version)
	}
	assert.Equal(t, "00001_users.sql", st[0].Name)
}

func TestMigrateDownAndUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewEmptyURL(t), postgres.PoolConfig{MaxConns: 2})
	require.NoError(t, err)
	defer db.Close()
	m, err := db.NewMigrator(nil)
	require.NoError(t, err)
	defer m.Close()

	_, err = m.Up(ctx)
	require.NoError(t, err)
	for _, want := range []int64{14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1} {
		v, err := m.Down(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, v)
	}
	st, err := m.Status(ctx)
	require.NoError(t, err)
	for _, s := range st {
		assert.False(t, s.Applied)
	}
	applied, err := m.Up(ctx)
	require.NoError(t, err)
	assert.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}, applied)
	applied, err = m.Up(ctx)
	require.NoError(t, err)
	assert.Empty(t, applied)
}

// TestEmailKeyBackfill applies migration 00009 to accounts made before it;
// see the SQLite test of the same name.
func TestEmailKeyBackfill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewEmptyURL(t)
	db, err := postgres.Open(ctx, url, postgres.PoolConfig{MaxConns: 2})
	require.NoError(t, err)
	defer db.Close()
	m, err := db.NewMigrator(nil)
	require.NoError(t, err)
	defer m.Close()
	_, err = m.Up(ctx)
	require.NoError(t, err)
	for _, want := range []int64{14, 13, 12, 11, 10, 9} { // down to just before 00009
		v, err := m.Down(ctx)
		require.NoError(t, err)
		require.Equal(t, want, v)
	}

	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := []struct{ id, email, wantKey string }{
		{"00000000-0000-4000-8000-000000000001", "carol+1@example.com", "carol+1@example.com"},
		{"00000000-0000-4000-8000-000000000002", "carol@example.com", "carol@example.com"},
		{"00000000-0000-4000-8000-000000000003", "dave+b@example.com", "dave@example.com"},
		{"00000000-0000-4000-8000-000000000004", "dave+a@example.com", "dave+a@example.com"},
		{"00000000-0000-4000-8000-000000000005", "+news@example.com", "+news@example.com"},
		{"00000000-0000-4000-8000-000000000006", "erin+x@example.com", "erin@example.com"},
	}
	for i, r := range rows {
		_, err := conn.Exec(ctx, `INSERT INTO users (id, email, created_at) VALUES ($1, $2, $3)`, r.id, r.email, base.Add(time.Duration(i)*time.Second))
		require.NoError(t, err)
	}
	applied, err := m.Up(ctx)
	require.NoError(t, err)
	require.Equal(t, []int64{9, 10, 11, 12, 13, 14}, applied)
	for _, r := range rows {
		var key string
		require.NoError(t, conn.QueryRow(ctx, `SELECT email_key FROM users WHERE id = $1`, r.id).Scan(&key))
		assert.Equal(t, r.wantKey, key, r.email)
	}
	u, err := db.UserByEmail(ctx, "dave@example.com")
	require.NoError(t, err)
	assert.Equal(t, "dave+b@example.com", u.Email)
	_, err = db.CreateUser(ctx, domain.NewUser{Email: "erin@example.com"})
	assert.Equal(t, domain.CodeConflict, domain.ErrorCode(err)) // Accounts that already collided keep their own address: each finds
	// itself, not the holder of the untagged key.
	for _, email := range []string{"carol+1@example.com", "carol@example.com", "dave+a@example.com", "dave+b@example.com"} {
		u, err := db.UserByEmail(ctx, email)
		require.NoError(t, err, email)
		assert.Equal(t, email, u.Email)
	}
}
