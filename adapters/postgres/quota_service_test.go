package postgres_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/adapters/postgres"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/quota"
)

// TestQuotaServiceConcurrentConsume runs 200 concurrent Consume calls for
// one user with a limit of 50 through two separate pools, as two gateway
// instances would: exactly 50 succeed and the database says 50.
func TestQuotaServiceConcurrentConsume(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewURL(t)
	clock := memory.NewClock(time.Now())
	var services []*quota.Service
	var first *postgres.DB
	for range 2 {
		// The two instances share one test's connection budget.
		db, err := postgres.Open(ctx, url, postgres.PoolConfig{MaxConns: pgtest.MaxConns / 2})
		require.NoError(t, err)
		t.Cleanup(db.Close)
		if first == nil {
			first = db
		}
		services = append(services, quota.New(db, clock, 50))
	}
	u, err := first.CreateUser(ctx, domain.NewUser{Email: "load@example.com"})
	require.NoError(t, err)

	var granted, refused atomic.Int32
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			_, err := services[i%2].Consume(ctx, u)
			var qe *domain.QuotaExceededError
			switch {
			case err == nil:
				granted.Add(1)
			case errors.As(err, &qe):
				refused.Add(1)
				assert.Equal(t, 50, qe.Limit)
				assert.Equal(t, 50, qe.Used)
			default:
				t.Errorf("consume: %v", err)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(50), granted.Load())
	assert.Equal(t, int32(150), refused.Load())
	used, err := first.QuotaUsed(ctx, u.ID, domain.QuotaDay(clock.Now()))
	require.NoError(t, err)
	assert.Equal(t, 50, used)
}

// TestUnavailableDatabase checks that a database that cannot be reached
// surfaces as CodeUnavailable (503), not as an internal error.
func TestUnavailableDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := open(t)
	u, err := db.CreateUser(ctx, domain.NewUser{Email: "x@example.com"})
	require.NoError(t, err)
	db.Close()
	_, err = db.UserByID(ctx, u.ID)
	require.Error(t, err)

	_, err = postgres.Open(ctx, "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", postgres.PoolConfig{MaxConns: 1})
	assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err), "err: %v", err)
}
