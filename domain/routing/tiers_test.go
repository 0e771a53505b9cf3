package routing_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/routing"
)

// tierView is what a test checks of a TierInfo.
type tierView struct {
	Provider  domain.Provider
	Available bool
}

func tierViews(infos []routing.TierInfo) map[domain.Tier]tierView {
	out := map[domain.Tier]tierView{}
	for _, i := range infos {
		out[i.Tier] = tierView{i.Provider, i.Available}
	}
	return out
}

// breakGroq opens groq's breaker (threshold 1) with one failed request.
func breakGroq(t *testing.T, e *env) {
	t.Helper()
	e.groq.on(0, serverError("server_error"))
	_, err := e.chat(domain.TierFast)
	require.Error(t, err)
}

func TestTiers(t *testing.T) {
	t.Parallel()
	var (
		groq = domain.ProviderGroq
		or   = domain.ProviderOpenRouter
		hf   = domain.ProviderHuggingFace
	)
	tests := []struct {
		name  string
		opts  []func(*envConfig)
		setup func(t *testing.T, e *env)
		want  map[domain.Tier]tierView
	}{
		{
			name: "all healthy",
			want: map[domain.Tier]tierView{domain.TierFast: {groq, true}, domain.TierBalanced: {groq, true}, domain.TierSmart: {or, true}},
		},
		{
			name: "groq not configured",
			opts: []func(*envConfig){withKeys(groq, 0)},
			want: map[domain.Tier]tierView{domain.TierFast: {groq, false}, domain.TierBalanced: {or, true}, domain.TierSmart: {or, true}},
		},
		{
			name: "nothing configured",
			opts: []func(*envConfig){withKeys(groq, 0), withKeys(or, 0), withKeys(hf, 0)},
			want: map[domain.Tier]tierView{domain.TierFast: {groq, false}, domain.TierBalanced: {groq, false}, domain.TierSmart: {or, false}},
		},
		{
			name: "groq keys rejected",
			opts: []func(*envConfig){withKeys(groq, 2), withRejectionForGood()},
			setup: func(t *testing.T, e *env) {
				e.groq.on(0, rejected())
				e.groq.on(1, rejected())
				_, err := e.chat(domain.TierFast)
				require.Error(t, err)
				e.clock.Advance(time.Hour)
			},
			want: map[domain.Tier]tierView{domain.TierFast: {groq, false}, domain.TierBalanced: {or, true}, domain.TierSmart: {or, true}},
		},
		{
			name: "groq keys one rejected, one cooling",
			opts: []func(*envConfig){withKeys(groq, 2)},
			setup: func(t *testing.T, e *env) {
				e.groq.on(0, rejected())
				e.groq.on(1, rateLimited(time.Minute))
				_, err := e.chat(domain.TierFast)
				require.Error(t, err)
				e.clock.Advance(time.Minute - time.Second)
			},
			want: map[domain.Tier]tierView{domain.TierFast: {groq, false}, domain.TierBalanced: {or, true}, domain.TierSmart: {or, true}},
		},
		{
			name: "groq cooldown over",
			setup: func(t *testing.T, e *env) {
				e.groq.on(0, rateLimited(time.Minute))
				_, err := e.chat(domain.TierFast)
				require.Error(t, err)
				e.clock.Advance(time.Minute)
			},
			want: map[domain.Tier]tierView{domain.TierFast: {groq, true}, domain.TierBalanced: {groq, true}, domain.TierSmart: {or, true}},
		},
		{
			name:  "groq breaker open",
			opts:  []func(*envConfig){withConfig(func(c *routing.Config) { c.BreakerFailures = 1; c.BreakerCoolOff = time.Minute })},
			setup: func(t *testing.T, e *env) { breakGroq(t, e) },
			want:  map[domain.Tier]tierView{domain.TierFast: {groq, false}, domain.TierBalanced: {or, true}, domain.TierSmart: {or, true}},
		},
		{
			name: "groq breaker half-open after the cool-off",
			opts: []func(*envConfig){withConfig(func(c *routing.Config) { c.BreakerFailures = 1; c.BreakerCoolOff = time.Minute })},
			setup: func(t *testing.T, e *env) {
				breakGroq(t, e)
				e.clock.Advance(time.Minute)
			},
			want: map[domain.Tier]tierView{domain.TierFast: {groq, true}, domain.TierBalanced: {groq, true}, domain.TierSmart: {or, true}},
		},
		{
			name: "only huggingface left",
			opts: []func(*envConfig){withKeys(or, 0), withConfig(func(c *routing.Config) { c.BreakerFailures = 1 })},
			setup: func(t *testing.T, e *env) {
				breakGroq(t, e)
			},
			want: map[domain.Tier]tierView{domain.TierFast: {groq, false}, domain.TierBalanced: {hf, true}, domain.TierSmart: {hf, true}},
		},
		{
			name: "every provider down",
			opts: []func(*envConfig){withKeys(or, 0), withConfig(func(c *routing.Config) { c.BreakerFailures = 1 })},
			setup: func(t *testing.T, e *env) {
				breakGroq(t, e)
				e.hf.on(0, rejected())
				_, err := e.chat(domain.TierBalanced)
				require.Error(t, err)
			},
			want: map[domain.Tier]tierView{domain.TierFast: {groq, false}, domain.TierBalanced: {groq, false}, domain.TierSmart: {or, false}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tt.opts...)
			if tt.setup != nil {
				tt.setup(t, e)
			}
			infos := e.router.Tiers()
			require.Len(t, infos, 3)
			for i, tier := range domain.Tiers {
				assert.Equal(t, tier, infos[i].Tier, "display order")
				assert.NotEmpty(t, infos[i].Name)
				assert.NotEmpty(t, infos[i].Description)
			}
			assert.Equal(t, tt.want, tierViews(infos))
		})
	}
}

func TestProviders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withKeys(domain.ProviderGroq, 3), withKeys(domain.ProviderHuggingFace, 0),
		withConfig(func(c *routing.Config) { c.BreakerFailures = 1; c.BreakerCoolOff = time.Minute }))
	e.groq.on(0, rejected())
	e.groq.on(1, rateLimited(30*time.Second))
	e.groq.on(2, serverError("server_error"))
	_, err := e.chat(domain.TierFast)
	require.Error(t, err)
	_, err = e.chat(domain.TierSmart)
	require.NoError(t, err)

	e.clock.Advance(10 * time.Second)
	want := []routing.ProviderStatus{
		{Provider: domain.ProviderGroq, Breaker: routing.BreakerOpen, Keys: []routing.KeyStatus{
			{Index: 0, RequestsLastMin: 1, Rejected: true, RejectedUntil: t0.Add(routing.DefaultKeyRejectCoolOff)},
			{Index: 1, RequestsLastMin: 1, CoolingDown: true, CoolingDownUntil: t0.Add(30 * time.Second)},
			{Index: 2, RequestsLastMin: 1},
		}},
		{Provider: domain.ProviderOpenRouter, Breaker: routing.BreakerClosed, Keys: []routing.KeyStatus{
			{Index: 0, RequestsLastMin: 1},
		}},
	}
	// Exact equality: keys are addressed by index only, nothing else is in
	// a status, and unconfigured providers are left out.
	assert.Equal(t, want, e.router.Providers())

	e.clock.Advance(50 * time.Second)
	got := e.router.Providers()
	assert.Equal(t, routing.BreakerHalfOpen, got[0].Breaker)
	assert.Equal(t, []routing.KeyStatus{
		{Index: 0, Rejected: true, RejectedUntil: t0.Add(routing.DefaultKeyRejectCoolOff)},
		{Index: 1},
		{Index: 2},
	}, got[0].Keys, "a minute later nothing was used and the cooldown is over")
}

func TestTiersHonourTheMonitor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.router.SetDown([]domain.Provider{domain.ProviderGroq})
	for _, info := range e.router.Tiers() {
		if info.Tier == domain.TierFast { // groq only
			assert.False(t, info.Available)
			continue
		}
		assert.True(t, info.Available)
		assert.NotEqual(t, domain.ProviderGroq, info.Provider, "tier %s is not offered through a provider the monitor reports down", info.Tier)
	}
}
