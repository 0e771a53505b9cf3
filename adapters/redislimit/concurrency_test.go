package redislimit_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/redislimit"
	"github.com/genzai/genzai/adapters/redislimit/redistest"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
	"github.com/genzai/genzai/ports/portstest"
)

func TestConcurrencyLimiterContract(t *testing.T) {
	url := redistest.NewURL(t)
	portstest.RunConcurrencyLimiter(t, func(t *testing.T) (ports.ConcurrencyLimiter, func(time.Duration)) {
		// Redis keeps the time: the suite waits for real.
		return redislimit.NewConcurrencyLimiter(open(t, url)), time.Sleep
	})
}

// TestInstancesShareLeases: two instances, each with its own connection
// pool, hold one budget of leases per key; a key's set leaves Redis with
// its last lease.
func TestInstancesShareLeases(t *testing.T) {
	t.Parallel()
	url := redistest.NewURL(t)
	ctx := context.Background()
	client := open(t, url)
	one, two := redislimit.NewConcurrencyLimiter(client), redislimit.NewConcurrencyLimiter(open(t, url))
	k := redistest.UniqueKey("user")

	a, ok, err := one.Acquire(ctx, k, 2, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	_, ok, err = two.Acquire(ctx, k, 2, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	_, ok, err = two.Acquire(ctx, k, 2, time.Minute)
	require.NoError(t, err)
	assert.False(t, ok, "the other instance's lease counts")
	require.NoError(t, two.Release(ctx, k, a), "any instance may release a lease")
	_, ok, err = one.Acquire(ctx, k, 2, time.Minute)
	require.NoError(t, err)
	assert.True(t, ok)

	ttl, err := client.PTTL(ctx, redislimit.ConcurrencyKeyPrefix+k).Result()
	require.NoError(t, err)
	assert.InDelta(t, time.Minute, ttl, float64(time.Second), "the set expires with its last lease")
}

func TestConcurrencyLimiterUnavailable(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-Pa55"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	client, err := redislimit.Open(context.Background(), "redis://:"+secret+"@"+addr+"/0")
	require.Error(t, err)
	t.Cleanup(func() { _ = client.Close() })
	l := redislimit.NewConcurrencyLimiter(client)

	_, _, err = l.Acquire(context.Background(), "k", 1, time.Minute)
	assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err), "err: %v", err)
	assert.NotContains(t, err.Error(), secret)
	_, err = l.Renew(context.Background(), "k", "lease", time.Minute)
	assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err))
	assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(l.Release(context.Background(), "k", "lease")))
}
