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
)

// fakeGuard is a primary guard that fails on demand and counts calls.
type fakeGuard struct {
	mu    sync.Mutex
	err   error
	calls int
}

func (g *fakeGuard) Attempt(context.Context, string, domain.LoginBackoff) (domain.LoginAttempt, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls++
	if g.err != nil {
		return domain.LoginAttempt{}, g.err
	}
	return domain.LoginAttempt{Allowed: true}, nil
}

func (g *fakeGuard) Reset(context.Context, string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls++
	return g.err
}

func TestGuardFallback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rule := domain.LoginBackoff{MaxFailures: 2, Base: time.Minute, Max: time.Hour, Window: time.Hour}

	t.Run("fail open: the in-process guard takes over, sharing the limiter's view", func(t *testing.T) {
		t.Parallel()
		clock := memory.NewClock(start)
		store, primary := &fakeStore{err: errDown}, &fakeGuard{err: errDown}
		limiter := ratelimit.NewFallback(store, memory.NewRateLimiter(clock), true, nil, clock)
		g := ratelimit.NewGuardFallback(primary, memory.NewLoginGuard(clock), limiter)

		for range 2 {
			a, err := g.Attempt(ctx, "k", rule)
			require.NoError(t, err)
			assert.True(t, a.Allowed)
		}
		a, err := g.Attempt(ctx, "k", rule)
		require.NoError(t, err)
		assert.False(t, a.Allowed, "the in-process guard still locks")
		assert.Equal(t, 1, primary.calls, "after one failure the dead store is left alone")
		_, err = limiter.Allow(ctx, "ip", hourly)
		require.NoError(t, err)
		assert.Zero(t, store.calls, "the limiter, too, leaves it alone")

		require.NoError(t, g.Reset(ctx, "k"), "reset forgets the in-process count")
		a, err = g.Attempt(ctx, "k", rule)
		require.NoError(t, err)
		assert.True(t, a.Allowed)

		primary.mu.Lock()
		primary.err = nil
		primary.mu.Unlock()
		clock.Advance(ratelimit.Backoff)
		_, err = g.Attempt(ctx, "k", rule)
		require.NoError(t, err)
		assert.Equal(t, 2, primary.calls, "probed again after the backoff")
		assert.True(t, limiter.Healthy(), "and the store is back for both")
	})

	t.Run("fail closed: unavailable", func(t *testing.T) {
		t.Parallel()
		clock := memory.NewClock(start)
		limiter := ratelimit.NewFallback(&fakeStore{err: errDown}, nil, false, nil, clock)
		g := ratelimit.NewGuardFallback(&fakeGuard{err: errDown}, nil, limiter)
		_, err := g.Attempt(ctx, "k", rule)
		assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err))
		assert.Equal(t, "Login guard unavailable", domain.ErrorMessage(err))
		assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(g.Reset(ctx, "k")))
	})
}
