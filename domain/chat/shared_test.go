package chat_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/chat"
	"github.com/genzai/genzai/domain/quota"
	"github.com/genzai/genzai/domain/routing"
)

// instances builds n routers ("gateway instances") over one fake provider,
// sharing a key budget and cooldowns the way Redis shares them.
func instances(t *testing.T, n, keys, rpm int) ([]*chat.Service, *fakeProvider, domain.User) {
	t.Helper()
	clock := memory.NewClock(t0)
	store := memory.NewStore()
	u, err := store.CreateUser(context.Background(), domain.NewUser{Email: "u@example.com"})
	require.NoError(t, err)
	groq := newFake(domain.ProviderGroq, keys, &callOrder{})
	budget, cooldowns := memory.NewRateLimiter(clock), memory.NewCooldownStore(clock)
	var out []*chat.Service
	for range n {
		router := routing.New(routing.Config{
			Providers:         []routing.ProviderConfig{{Client: groq, RPMPerKey: rpm}},
			Chains:            map[domain.Tier][]routing.Route{domain.TierFast: {{Provider: domain.ProviderGroq, Model: "m"}}},
			FirstTokenTimeout: 2 * time.Second, RequestTimeout: 5 * time.Second,
			BreakerFailures: 5, BreakerCoolOff: time.Minute,
			SharedBudget: budget, SharedCooldowns: cooldowns,
		}, clock, slog.New(slog.DiscardHandler))
		out = append(out, chat.New(chat.Config{}, router, quota.New(store, clock, 1000), nil, clock, slog.New(slog.DiscardHandler)))
	}
	return out, groq, u
}

func TestKeyBudgetHoldsAcrossInstances(t *testing.T) {
	t.Parallel()
	svcs, groq, u := instances(t, 3, 2, 3)
	var answered, limited int
	for i := range 12 {
		_, err := svcs[i%3].Chat(context.Background(), u, chat.Request{Prompt: "hi"}, &collectSink{})
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
	svcs, groq, u := instances(t, 2, 2, 0)
	groq.script(0, rateLimited(30*time.Second))
	// Instance A meets the 429 on key 0 and answers with key 1.
	_, err := svcs[0].Chat(context.Background(), u, chat.Request{Prompt: "hi"}, &collectSink{})
	require.NoError(t, err)
	// Instance B never saw the 429, yet does not touch key 0.
	for range 4 {
		_, err := svcs[1].Chat(context.Background(), u, chat.Request{Prompt: "hi"}, &collectSink{})
		require.NoError(t, err)
	}
	assert.Equal(t, []int{1, 5}, groq.CallsPerKey())
}
