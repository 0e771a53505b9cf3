package routing_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/routing"
	"github.com/genzai/genzai/ports"
)

// instances builds n routers ("gateway instances") over one fake provider,
// sharing a key budget and cooldowns the way Redis shares them.
func instances(n, keys, rpm int) ([]*routing.Router, *fakeProvider) {
	clock := memory.NewClock(t0)
	groq := newFake(domain.ProviderGroq, keys)
	budget, cooldowns := memory.NewRateLimiter(clock), memory.NewCooldownStore(clock)
	var out []*routing.Router
	for range n {
		out = append(out, routing.New(routing.Config{
			Providers:         []routing.ProviderConfig{{Client: groq, RPMPerKey: rpm}},
			Chains:            map[domain.Tier][]routing.Route{domain.TierFast: {{Provider: domain.ProviderGroq, Model: "m"}}},
			FirstTokenTimeout: 2 * time.Second, RequestTimeout: 5 * time.Second,
			BreakerFailures: 5, BreakerCoolOff: time.Minute,
			SharedBudget: budget, SharedCooldowns: cooldowns,
		}, clock, slog.New(slog.DiscardHandler)))
	}
	return out, groq
}

func TestKeyBudgetHoldsAcrossInstances(t *testing.T) {
	t.Parallel()
	svcs, groq := instances(3, 2, 3)
	var answered, limited int
	for i := range 12 {
		_, err := answer(svcs[i%3], domain.TierFast)
		var rl *domain.ProviderRateLimitedError
		switch {
		case err == nil:
			answered++
		case errors.As(err, &rl):
			limited++
			assert.Positive(t, rl.RetryAfter)
		default:
			t.Fatalf("chat %d: %v", i, err)
		}
	}
	assert.Equal(t, 6, answered, "2 keys x 3 per minute, whatever instance asks")
	assert.Equal(t, 6, limited)
	assert.Equal(t, []int{3, 3}, groq.CallsPerKey())
}

func TestKeyCooldownHoldsAcrossInstances(t *testing.T) {
	t.Parallel()
	svcs, groq := instances(2, 2, 0)
	groq.on(0, rateLimited(30*time.Second))
	// Instance A meets the 429 on key 0 and answers with key 1.
	_, err := answer(svcs[0], domain.TierFast)
	require.NoError(t, err)
	// Instance B never saw the 429, yet does not touch key 0.
	for range 4 {
		_, err := answer(svcs[1], domain.TierFast)
		require.NoError(t, err)
	}
	assert.Equal(t, []int{1, 5}, groq.CallsPerKey())
}

// countingCooldowns counts the reads of a shared cooldown store.
type countingCooldowns struct {
	ports.CooldownStore
	reads atomic.Int32
}

func (c *countingCooldowns) Until(ctx context.Context, names []string) ([]time.Time, error) {
	c.reads.Add(1)
	return c.CooldownStore.Until(ctx, names)
}

func TestSharedCooldownsReadOncePerInterval(t *testing.T) {
	t.Parallel()
	clock := memory.NewClock(t0)
	shared := &countingCooldowns{CooldownStore: memory.NewCooldownStore(clock)}
	groq := newFake(domain.ProviderGroq, 2)
	a, b := newRouter(groq, clock, shared), newRouter(groq, clock, shared)

	for range 5 {
		_, err := open(t, b)
		require.NoError(t, err)
	}
	assert.Equal(t, int32(1), shared.reads.Load(), "one read for five requests within the interval")

	groq.on(0, rateLimited(30*time.Second))
	groq.on(1, rateLimited(30*time.Second))
	_, err := open(t, a) // a meets the 429s of both keys
	var rl *domain.ProviderRateLimitedError
	require.ErrorAs(t, err, &rl)
	calls := len(groq.Calls())

	clock.Advance(routing.DefaultSharedSyncEvery)
	_, err = open(t, b)
	require.ErrorAs(t, err, &rl, "after the interval b reads the cooldowns a shared")
	assert.Len(t, groq.Calls(), calls, "and sends neither key")
	assert.Equal(t, int32(3), shared.reads.Load())
}
