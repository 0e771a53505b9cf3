package redislimit_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/redislimit"
	"github.com/genzai/genzai/adapters/redislimit/redistest"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
	"github.com/genzai/genzai/ports/portstest"
)

func TestCooldownStoreContract(t *testing.T) {
	url := redistest.NewURL(t)
	portstest.RunCooldownStore(t, func(t *testing.T) (ports.CooldownStore, func(time.Duration)) {
		// Until judges by the wall clock: the suite waits for real.
		return redislimit.NewCooldownStore(open(t, url)), time.Sleep
	})
}

func TestLoginGuardContract(t *testing.T) {
	url := redistest.NewURL(t)
	portstest.RunLoginGuard(t, func(t *testing.T) (ports.LoginGuard, func(time.Duration)) {
		// Locks are timed by the Redis server's clock: the suite waits for real.
		return redislimit.NewLoginGuard(open(t, url)), time.Sleep
	})
}

// TestInstancesShareLoginGuard has two instances, each with its own pool,
// guess at one account concurrently: together they get exactly the rule's
// attempts, and a success on one unlocks it for both.
func TestInstancesShareLoginGuard(t *testing.T) {
	t.Parallel()
	url := redistest.NewURL(t)
	ctx := context.Background()
	one, two := redislimit.NewLoginGuard(open(t, url)), redislimit.NewLoginGuard(open(t, url))
	k := redistest.UniqueKey("account")
	rule := domain.LoginBackoff{MaxFailures: 5, Base: time.Minute, Max: time.Hour, Window: time.Minute}
	t.Cleanup(func() { _ = one.Reset(context.Background(), k) })
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for i := range 30 {
		g := []*redislimit.LoginGuard{one, two}[i%2]
		wg.Go(func() {
			a, err := g.Attempt(ctx, k, rule)
			assert.NoError(t, err)
			if a.Allowed {
				allowed.Add(1)
			} else {
				assert.InDelta(t, time.Minute, a.RetryAfter, float64(5*time.Second))
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(5), allowed.Load())
	require.NoError(t, two.Reset(ctx, k))
	a, err := one.Attempt(ctx, k, rule)
	require.NoError(t, err)
	assert.True(t, a.Allowed)
}

func TestLoginGuardUnavailable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	client, err := redislimit.Open(context.Background(), "redis://"+addr+"/0")
	require.Error(t, err)
	t.Cleanup(func() { _ = client.Close() })
	g := redislimit.NewLoginGuard(client)
	_, err = g.Attempt(context.Background(), "k", domain.DefaultLoginBackoff)
	assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err), "err: %v", err)
	assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(g.Reset(context.Background(), "k")))
}

func TestInstancesShareCooldowns(t *testing.T) {
	t.Parallel()
	url := redistest.NewURL(t)
	ctx := context.Background()
	// Two gateway instances, each with its own connection pool.
	one, two := redislimit.NewCooldownStore(open(t, url)), redislimit.NewCooldownStore(open(t, url))
	a, b := redistest.UniqueKey("a"), redistest.UniqueKey("b")
	now := time.Now()

	require.NoError(t, one.Extend(ctx, a, now.Add(time.Minute)))
	require.NoError(t, two.Extend(ctx, b, now.Add(2*time.Minute)))
	require.NoError(t, two.Extend(ctx, a, now.Add(30*time.Second)), "shorter, from the other instance")
	for _, s := range []*redislimit.CooldownStore{one, two} {
		got, err := s.Until(ctx, []string{a, b})
		require.NoError(t, err)
		assert.WithinDuration(t, now.Add(time.Minute), got[0], time.Millisecond)
		assert.WithinDuration(t, now.Add(2*time.Minute), got[1], time.Millisecond)
	}
}

func TestCooldownsLongOverAreDropped(t *testing.T) {
	t.Parallel()
	client := open(t, redistest.NewURL(t))
	ctx := context.Background()
	s := redislimit.NewCooldownStore(client)
	old, recent := redistest.UniqueKey("old"), redistest.UniqueKey("recent")
	require.NoError(t, s.Extend(ctx, old, time.Now().Add(-2*time.Hour)))
	require.NoError(t, s.Extend(ctx, recent, time.Now().Add(-time.Minute)))
	// Each Extend prunes, the one that added old included.
	err := client.ZScore(ctx, redislimit.CooldownKey, old).Err()
	assert.ErrorIs(t, err, redis.Nil, "a cooldown over for two hours is removed")
	score, err := client.ZScore(ctx, redislimit.CooldownKey, recent).Result()
	require.NoError(t, err, "a cooldown over for a minute stays a while")
	t.Cleanup(func() { client.ZRem(context.Background(), redislimit.CooldownKey, recent) })
	assert.Positive(t, score)
}

func TestCooldownStoreUnavailable(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-Pa55"
	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	client, err := redislimit.Open(context.Background(), "redis://:"+secret+"@"+addr+"/0")
	require.Error(t, err)
	t.Cleanup(func() { _ = client.Close() })
	s := redislimit.NewCooldownStore(client)

	err = s.Extend(context.Background(), "k", time.Now().Add(time.Minute))
	assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err), "err: %v", err)
	assert.NotContains(t, err.Error(), secret)
	_, err = s.Until(context.Background(), []string{"k"})
	assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err), "err: %v", err)
	assert.NotContains(t, err.Error(), secret)
}
