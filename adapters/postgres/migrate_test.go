package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
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
	assert.ElementsMatch(t, []int64{1, 2, 3, 4, 5, 6, 7, 10}, all, "each migration applied once across all instances")

	db, err := postgres.Open(ctx, url, postgres.PoolConfig{MaxConns: 2})
	require.NoError(t, err)
	defer db.Close()
	m, err := db.NewMigrator(nil)
	require.NoError(t, err)
	defer m.Close()
	st, err := m.Status(ctx)
	require.NoError(t, err)
	require.Len(t, st, 8)
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
	for _, want := range []int64{10, 7, 6, 5, 4, 3, 2, 1} {
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
	assert.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7, 10}, applied)
	applied, err = m.Up(ctx)
	require.NoError(t, err)
	assert.Empty(t, applied)
}
