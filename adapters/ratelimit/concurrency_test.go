package ratelimit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/adapters/ratelimit"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// flakyLeases is a primary concurrency limiter that fails on demand.
type flakyLeases struct {
	ports.ConcurrencyLimiter
	mu   sync.Mutex
	down bool
}

func (f *flakyLeases) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

func (f *flakyLeases) Acquire(ctx context.Context, key string, limit int, ttl time.Duration) (string, bool, error) {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return "", false, errDown
	}
	return f.ConcurrencyLimiter.Acquire(ctx, key, limit, ttl)
}

func TestConcurrencyFallback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, failOpen := range []bool{true, false} {
		t.Run(map[bool]string{true: "fail open", false: "fail closed"}[failOpen], func(t *testing.T) {
			t.Parallel()
			clk := memory.NewClock(start)
			primary := &flakyLeases{ConcurrencyLimiter: memory.NewConcurrencyLimiter(clk)}
			local := memory.NewConcurrencyLimiter(clk)
			health := ratelimit.NewFallback(&fakeStore{}, memory.NewRateLimiter(clk), failOpen, nil, clk)
			f := ratelimit.NewConcurrencyFallback(primary, local, health)

			shared, ok, err := f.Acquire(ctx, "user:1", 2, time.Minute)
			require.NoError(t, err)
			require.True(t, ok)

			primary.setDown(true)
			lease, ok, err := f.Acquire(ctx, "user:1", 2, time.Minute)
			if !failOpen {
				assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err))
				assert.False(t, ok)
				return
			}
			require.NoError(t, err)
			require.True(t, ok, "the in-process limiter answers while the store is down")
			_, ok, err = f.Acquire(ctx, "user:1", 1, time.Minute)
			require.NoError(t, err)
			assert.False(t, ok, "and still limits")

			held, err := f.Renew(ctx, "user:1", lease, time.Minute)
			require.NoError(t, err)
			assert.True(t, held, "a local lease renews locally")
			require.NoError(t, f.Release(ctx, "user:1", lease))
			_, ok, err = local.Acquire(ctx, "user:1", 1, time.Minute)
			require.NoError(t, err)
			assert.True(t, ok, "and is released there")

			held, err = f.Renew(ctx, "user:1", shared, time.Minute)
			require.NoError(t, err)
			assert.True(t, held, "a shared lease renews in the store")
			require.NoError(t, f.Release(ctx, "user:1", shared))
		})
	}
}
