package redislimit_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/adapters/redislimit"
	"github.com/genzai/genzai/adapters/redislimit/redistest"
	"github.com/genzai/genzai/ports"
)

// runCooldownContract checks ports.CooldownStore; now is the store's clock.
func runCooldownContract(t *testing.T, store ports.CooldownStore, now func() time.Time) {
	ctx := context.Background()
	a, b, c := redistest.UniqueKey("a"), redistest.UniqueKey("b"), redistest.UniqueKey("c")
	got, err := store.Until(ctx, []string{a, b})
	require.NoError(t, err)
	assert.Equal(t, []time.Time{{}, {}}, got, "unknown names have no cooldown")

	later := now().Add(time.Minute).Truncate(time.Millisecond)
	require.NoError(t, store.Extend(ctx, a, later))
	require.NoError(t, store.Extend(ctx, a, later.Add(-30*time.Second)), "a shorter cooldown")
	require.NoError(t, store.Extend(ctx, b, later.Add(time.Minute)))
	require.NoError(t, store.Extend(ctx, c, now().Add(-time.Second)), "already over")
	got, err = store.Until(ctx, []string{b, c, a})
	require.NoError(t, err)
	assert.True(t, later.Add(time.Minute).Equal(got[0]), "results follow the order of names")
	assert.True(t, got[1].IsZero(), "a passed cooldown reads as none")
	assert.True(t, later.Equal(got[2]), "never shortened: %s", got[2])

	var wg sync.WaitGroup
	var mu sync.Mutex
	var maxUntil time.Time
	for range 50 {
		wg.Go(func() {
			u := now().Add(time.Duration(rand.IntN(600)+1) * time.Second).Truncate(time.Millisecond)
			mu.Lock()
			if u.After(maxUntil) {
				maxUntil = u
			}
			mu.Unlock()
			assert.NoError(t, store.Extend(ctx, c, u))
		})
	}
	wg.Wait()
	got, err = store.Until(ctx, []string{c})
	require.NoError(t, err)
	assert.True(t, maxUntil.Equal(got[0]), "concurrent extends keep the maximum")
}

func TestCooldownStoreContract(t *testing.T) {
	t.Parallel()
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		clock := memory.NewClock(time.Now())
		runCooldownContract(t, memory.NewCooldownStore(clock), clock.Now)
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		opts, err := redis.ParseURL(redistest.NewURL(t))
		require.NoError(t, err)
		one, two := redis.NewClient(opts), redis.NewClient(opts)
		t.Cleanup(func() { one.Close(); two.Close() })
		runCooldownContract(t, redislimit.NewCooldownStore(one), time.Now)

		// A second instance sees the first one's cooldowns.
		name := redistest.UniqueKey("shared")
		until := time.Now().Add(time.Minute).Truncate(time.Millisecond)
		require.NoError(t, redislimit.NewCooldownStore(one).Extend(context.Background(), name, until))
		got, err := redislimit.NewCooldownStore(two).Until(context.Background(), []string{name})
		require.NoError(t, err)
		assert.True(t, until.Equal(got[0]))
	})
}
