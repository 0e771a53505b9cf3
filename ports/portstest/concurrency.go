package portstest

import (
	"context"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/ports"
)

// RunConcurrencyLimiter checks the ports.ConcurrencyLimiter contract.
// newLimiter returns a limiter for each subtest and a function that moves
// its clock forward by at least d: a fake clock's Advance, or time.Sleep
// for a limiter on real time (the suite then sleeps about three seconds).
//
// Every key is unique to one run of one subtest, so a limiter may share its
// data with other tests and earlier runs.
func RunConcurrencyLimiter(t *testing.T, newLimiter func(t *testing.T) (ports.ConcurrencyLimiter, func(d time.Duration))) {
	ctx := context.Background()
	run := rand.Text()[:10]
	key := func(t *testing.T, n string) string { return "portstest:" + run + ":" + t.Name() + ":" + n }
	acquire := func(t *testing.T, l ports.ConcurrencyLimiter, k string, limit int, ttl time.Duration) (string, bool) {
		t.Helper()
		lease, ok, err := l.Acquire(ctx, k, limit, ttl)
		require.NoError(t, err)
		if ok {
			assert.NotEmpty(t, lease, "a granted lease has an id")
		}
		return lease, ok
	}

	t.Run("up to the limit, then refused until one is released", func(t *testing.T) {
		t.Parallel()
		l, _ := newLimiter(t)
		k := key(t, "user")
		var leases []string
		for i := range 3 {
			lease, ok := acquire(t, l, k, 3, time.Minute)
			require.True(t, ok, "lease %d", i)
			assert.NotContains(t, leases, lease, "lease ids are distinct")
			leases = append(leases, lease)
		}
		_, ok := acquire(t, l, k, 3, time.Minute)
		assert.False(t, ok, "the fourth is refused")

		require.NoError(t, l.Release(ctx, k, leases[1]))
		_, ok = acquire(t, l, k, 3, time.Minute)
		assert.True(t, ok, "a released slot is free again")
		_, ok = acquire(t, l, k, 3, time.Minute)
		assert.False(t, ok, "but only one")

		require.NoError(t, l.Release(ctx, k, leases[1]), "releasing twice does nothing")
		require.NoError(t, l.Release(ctx, k, "no-such-lease"), "nor does an unknown lease")
		require.NoError(t, l.Release(ctx, key(t, "unknown"), "no-such-lease"), "nor an unknown key")
		_, ok = acquire(t, l, k, 3, time.Minute)
		assert.False(t, ok, "a second release freed nothing")
	})

	t.Run("keys are independent", func(t *testing.T) {
		t.Parallel()
		l, _ := newLimiter(t)
		a, b := key(t, "a"), key(t, "b")
		_, ok := acquire(t, l, a, 1, time.Minute)
		require.True(t, ok)
		_, ok = acquire(t, l, a, 1, time.Minute)
		assert.False(t, ok)
		_, ok = acquire(t, l, b, 1, time.Minute)
		assert.True(t, ok, "another key has its own slots")
	})

	t.Run("a lease expires at its ttl, unless renewed", func(t *testing.T) {
		t.Parallel()
		l, advance := newLimiter(t)
		short, renewed := key(t, "short"), key(t, "renewed")
		_, ok := acquire(t, l, short, 1, time.Second)
		require.True(t, ok)
		kept, ok := acquire(t, l, renewed, 1, time.Second)
		require.True(t, ok)

		advance(700 * time.Millisecond)
		held, err := l.Renew(ctx, renewed, kept, 2*time.Second)
		require.NoError(t, err)
		assert.True(t, held, "renewed before its end")
		advance(700 * time.Millisecond) // 1.4s: past the first ttl

		_, ok = acquire(t, l, short, 1, time.Second)
		assert.True(t, ok, "an expired lease frees its slot (a crashed holder)")
		_, ok = acquire(t, l, renewed, 1, time.Second)
		assert.False(t, ok, "a renewed lease still holds its slot")

		advance(1500 * time.Millisecond) // 2.9s: past the renewal's end
		held, err = l.Renew(ctx, renewed, kept, time.Second)
		require.NoError(t, err)
		assert.False(t, held, "an expired lease cannot be renewed")
		held, err = l.Renew(ctx, renewed, "no-such-lease", time.Second)
		require.NoError(t, err)
		assert.False(t, held, "nor an unknown one")
	})

	t.Run("parallel acquires never pass the limit", func(t *testing.T) {
		t.Parallel()
		l, _ := newLimiter(t)
		k := key(t, "race")
		const limit, callers = 7, 60
		var granted atomic.Int32
		leases := make(chan string, callers)
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				lease, ok, err := l.Acquire(ctx, k, limit, time.Minute)
				assert.NoError(t, err)
				if ok {
					granted.Add(1)
					leases <- lease
				}
			})
		}
		wg.Wait()
		close(leases)
		assert.Equal(t, int32(limit), granted.Load(), "exactly the limit")

		// Releasing them all in parallel frees every slot.
		for lease := range leases {
			wg.Go(func() { assert.NoError(t, l.Release(ctx, k, lease)) })
		}
		wg.Wait()
		granted.Store(0)
		for range callers {
			wg.Go(func() {
				_, ok, err := l.Acquire(ctx, k, limit, time.Minute)
				assert.NoError(t, err)
				if ok {
					granted.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(limit), granted.Load(), "all slots came back")
	})
}
