package chat_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/chat"
	"github.com/genzai/genzai/domain/routing"
)

func TestChatFallbackOrderPerTier(t *testing.T) {
	t.Parallel()
	type want struct {
		calls    []string // provider#key in call order
		provider domain.Provider
		model    string
	}
	tests := []struct {
		name  string
		tier  domain.Tier
		setup func(e *env)
		want  want
	}{
		{
			name: "fast: groq answers",
			tier: domain.TierFast,
			want: want{calls: []string{"groq#0"}, provider: domain.ProviderGroq, model: modelGroqFast},
		},
		{
			name:  "balanced: groq answers",
			tier:  domain.TierBalanced,
			setup: func(*env) {},
			want:  want{calls: []string{"groq#0"}, provider: domain.ProviderGroq, model: modelGroqBig},
		},
		{
			name:  "balanced: groq fails, openrouter answers",
			tier:  domain.TierBalanced,
			setup: func(e *env) { e.groq.script(0, serverError("server_error")) },
			want:  want{calls: []string{"groq#0", "openrouter#0"}, provider: domain.ProviderOpenRouter, model: modelORBalanced},
		},
		{
			name: "balanced: groq and openrouter fail, huggingface answers",
			tier: domain.TierBalanced,
			setup: func(e *env) {
				e.groq.script(0, serverError("model_loading"))
				e.or.script(0, serverError("connection_error"))
			},
			want: want{calls: []string{"groq#0", "openrouter#0", "huggingface#0"}, provider: domain.ProviderHuggingFace, model: modelHF},
		},
		{
			name: "smart: openrouter answers",
			tier: domain.TierSmart,
			want: want{calls: []string{"openrouter#0"}, provider: domain.ProviderOpenRouter, model: modelORSmart},
		},
		{
			name:  "smart: openrouter fails, groq answers",
			tier:  domain.TierSmart,
			setup: func(e *env) { e.or.script(0, serverError("server_error")) },
			want:  want{calls: []string{"openrouter#0", "groq#0"}, provider: domain.ProviderGroq, model: modelGroqBig},
		},
		{
			name: "smart: openrouter and groq fail, huggingface answers",
			tier: domain.TierSmart,
			setup: func(e *env) {
				e.or.script(0, serverError("server_error"))
				e.groq.script(0, tokensThenFail(cutOff(domain.ProviderGroq)))
			},
			want: want{calls: []string{"openrouter#0", "groq#0", "huggingface#0"}, provider: domain.ProviderHuggingFace, model: modelHF},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tt.setup != nil {
				tt.setup(e)
			}
			// Whoever answers says the same thing, so the checks below
			// prove which provider's stream reached the sink.
			for _, f := range []*fakeProvider{e.groq, e.or, e.hf} {
				if f.name == tt.want.provider {
					f.script(0, answerWith("stop", &domain.Usage{PromptTokens: 11, CompletionTokens: 3}, "Hel", "lo", " "+string(f.name)))
				}
			}

			res, sink, err := e.chat(context.Background(), req(tt.tier, "hi"))
			require.NoError(t, err)

			assert.Equal(t, tt.want.calls, e.order.list())
			meta := chat.Meta{Tier: tt.tier, Provider: tt.want.provider, UpstreamModel: tt.want.model}
			assert.Equal(t, []string{"begin", "token:Hel", "token:lo", "token: " + string(tt.want.provider)}, sink.Events(),
				"Begin comes once, before the first token; tokens in order")
			assert.Equal(t, []chat.Meta{meta}, sink.Metas())
			assert.Equal(t, chat.Result{Meta: meta, FinishReason: "stop", Usage: domain.Usage{PromptTokens: 11, CompletionTokens: 3}}, res)

			// Every provider got the model of its route in this tier.
			models := map[domain.Provider]string{}
			for _, r := range testChains()[tt.tier] {
				models[r.Provider] = r.Model
			}
			for _, f := range []*fakeProvider{e.groq, e.or, e.hf} {
				for _, c := range f.Calls() {
					assert.Equal(t, models[f.name], c.Req.Model, "%s model", f.name)
				}
			}
			e.assertStreamsClosed(t)
		})
	}
}

func TestChatAllProvidersOfChainFail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		tier  domain.Tier
		setup func(e *env)
		want  []domain.Attempt
	}{
		{
			name:  "fast",
			tier:  domain.TierFast,
			setup: func(e *env) { e.groq.script(0, serverError("server_error")) },
			want:  []domain.Attempt{attempt(domain.ProviderGroq, "server_error", 0)},
		},
		{
			name: "balanced",
			tier: domain.TierBalanced,
			setup: func(e *env) {
				e.groq.script(0, serverError("server_error"))
				e.or.script(0, serverError("model_loading"))
				e.hf.script(0, tokensThenFail(cutOff(domain.ProviderHuggingFace)))
			},
			want: []domain.Attempt{
				attempt(domain.ProviderGroq, "server_error", 0),
				attempt(domain.ProviderOpenRouter, "model_loading", 0),
				attempt(domain.ProviderHuggingFace, "cut_off", 0),
			},
		},
		{
			name: "smart",
			tier: domain.TierSmart,
			setup: func(e *env) {
				e.or.script(0, serverError("bad_response"))
				e.groq.script(0, serverError("connection_error"))
				e.hf.script(0, serverError("server_error"))
			},
			want: []domain.Attempt{
				attempt(domain.ProviderOpenRouter, "bad_response", 0),
				attempt(domain.ProviderGroq, "connection_error", 0),
				attempt(domain.ProviderHuggingFace, "server_error", 0),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			tt.setup(e)
			_, sink, err := e.chat(context.Background(), req(tt.tier, "hi"))
			var pu *domain.ProvidersUnavailableError
			require.ErrorAs(t, err, &pu)
			assert.Equal(t, tt.want, pu.Attempts)
			assert.Empty(t, sink.Events(), "nothing reaches the sink")
			e.assertStreamsClosed(t)
		})
	}
}

func TestChatAnswerShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		b          behaviour
		wantEvents []string
		wantFinish string
		wantUsage  domain.Usage
	}{
		{
			name:       "tokens, finish reason and usage",
			b:          answerWith("length", &domain.Usage{PromptTokens: 5, CompletionTokens: 2}, "a", "b"),
			wantEvents: []string{"begin", "token:a", "token:b"},
			wantFinish: "length",
			wantUsage:  domain.Usage{PromptTokens: 5, CompletionTokens: 2},
		},
		{
			name:       "usage unknown",
			b:          answer("x"),
			wantEvents: []string{"begin", "token:x"},
			wantFinish: "stop",
		},
		{
			name:       "empty answer still begins",
			b:          answerWith("stop", nil),
			wantEvents: []string{"begin"},
			wantFinish: "stop",
		},
		{
			name:       "stream ends without finish reason",
			b:          behaviour{tokens: []string{"only"}},
			wantEvents: []string{"begin", "token:only"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.groq.script(0, tt.b)
			res, sink, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
			require.NoError(t, err)
			assert.Equal(t, tt.wantEvents, sink.Events())
			assert.Equal(t, tt.wantFinish, res.FinishReason)
			assert.Equal(t, tt.wantUsage, res.Usage)
			assert.Equal(t, chat.Meta{Tier: domain.TierFast, Provider: domain.ProviderGroq, UpstreamModel: modelGroqFast}, res.Meta)
		})
	}
}

func TestChatRateLimitedKeyTriesNextKeyOfSameProvider(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withKeys(domain.ProviderGroq, 3))
	e.groq.script(0, rateLimited(10*time.Second))
	e.groq.script(1, rateLimited(10*time.Second))

	res, _, err := e.chat(context.Background(), req(domain.TierBalanced, "hi"))
	require.NoError(t, err)
	assert.Equal(t, domain.ProviderGroq, res.Provider)
	assert.Equal(t, []string{"groq#0", "groq#1", "groq#2"}, e.order.list(), "next key of the same provider, not the next provider")
	assert.Empty(t, e.or.Calls())
	rec := e.onlyRecord(t)
	assert.Equal(t, []domain.Attempt{
		attempt(domain.ProviderGroq, "rate_limited", 0),
		attempt(domain.ProviderGroq, "rate_limited", 1),
	}, rec.Attempts)
	assert.Equal(t, intp(2), rec.KeyIndex)
}

func TestChatKeyCooldown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		retryAfter time.Duration
		cfg        func(*config)
		cooldown   time.Duration
	}{
		{name: "as the upstream asked", retryAfter: 20 * time.Second, cooldown: 20 * time.Second},
		{name: "default 30s when the upstream does not say", retryAfter: 0, cooldown: 30 * time.Second},
		{name: "configured default", retryAfter: 0, cfg: func(c *config) { c.DefaultCooldown = 45 * time.Second }, cooldown: 45 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := []func(*envConfig){withKeys(domain.ProviderGroq, 2)}
			if tt.cfg != nil {
				opts = append(opts, withConfig(tt.cfg))
			}
			e := newEnv(t, opts...)
			e.groq.script(0, rateLimited(tt.retryAfter))

			_, _, err := e.chat(context.Background(), req(domain.TierFast, "first"))
			require.NoError(t, err)
			require.Equal(t, []int{1, 1}, e.groq.CallsPerKey())

			// Key 0 is the least used key, but it is cooling down.
			e.clock.Advance(tt.cooldown - time.Second)
			_, _, err = e.chat(context.Background(), req(domain.TierFast, "cooling"))
			require.NoError(t, err)
			assert.Equal(t, []int{1, 2}, e.groq.CallsPerKey(), "key 0 is skipped 1s before its cooldown ends")

			e.clock.Advance(time.Second)
			_, _, err = e.chat(context.Background(), req(domain.TierFast, "back"))
			require.NoError(t, err)
			assert.Equal(t, []int{2, 2}, e.groq.CallsPerKey(), "key 0 is used again when its cooldown ends")
		})
	}
}

func TestChatLeastUsedRotationSequential(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withKeys(domain.ProviderGroq, 3))
	for i := range 300 {
		_, _, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
		require.NoError(t, err, "request %d", i)
	}
	assert.Equal(t, []int{100, 100, 100}, e.groq.CallsPerKey())
	// With equal use, ties go to the least recently used key: round robin.
	calls := e.order.list()
	assert.Equal(t, []string{"groq#0", "groq#1", "groq#2", "groq#0", "groq#1", "groq#2"}, calls[:6])
}

func TestChatLeastUsedRotationConcurrent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withKeys(domain.ProviderGroq, 3))
	const workers, each = 30, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for range workers {
		wg.Go(func() {
			for range each {
				_, _, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	perKey := e.groq.CallsPerKey()
	// A key is counted when it is picked, under the pool's lock, so the
	// spread stays within one of even at every moment; 300 over 3 is exact.
	assert.Equal(t, []int{100, 100, 100}, perKey)
}

func TestChatRPMPerKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withKeys(domain.ProviderGroq, 1), withRPM(domain.ProviderGroq, 2))
	for range 2 {
		_, _, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
		require.NoError(t, err)
	}
	e.clock.Advance(10 * time.Second)

	_, _, err := e.chat(context.Background(), req(domain.TierFast, "third"))
	var rl *domain.ProviderRateLimitedError
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, 50*time.Second, rl.RetryAfter, "the oldest request leaves the window 60s after it was made")
	assert.Equal(t, []domain.Attempt{attempt(domain.ProviderGroq, "rate_limited", noKey)}, rl.Attempts)
	assert.Len(t, e.groq.Calls(), 2, "a key at its limit is not called")

	e.clock.Advance(49 * time.Second)
	_, _, err = e.chat(context.Background(), req(domain.TierFast, "still"))
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, time.Second, rl.RetryAfter)

	e.clock.Advance(time.Second)
	_, _, err = e.chat(context.Background(), req(domain.TierFast, "window passed"))
	require.NoError(t, err)
	assert.Len(t, e.groq.Calls(), 3)
}

func TestChatKeyRejected(t *testing.T) {
	t.Parallel()

	t.Run("taken out of rotation for good", func(t *testing.T) {
		t.Parallel()
		// "For good": a rejection's cool-off longer than the test.
		e := newEnv(t, withKeys(domain.ProviderGroq, 2), withRejectionForGood())
		e.groq.script(0, keyRejected())
		_, _, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
		require.NoError(t, err)
		assert.Equal(t, []string{"groq#0", "groq#1"}, e.order.list())

		for range 4 {
			e.clock.Advance(time.Hour) // no cooldown or window brings it back
			_, _, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
			require.NoError(t, err)
		}
		assert.Equal(t, []int{1, 5}, e.groq.CallsPerKey())
	})

	t.Run("all keys rejected", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, withKeys(domain.ProviderGroq, 2))
		e.groq.script(0, keyRejected())
		e.groq.script(1, keyRejected())
		_, _, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
		var pu *domain.ProvidersUnavailableError
		require.ErrorAs(t, err, &pu)
		assert.Equal(t, []domain.Attempt{
			attempt(domain.ProviderGroq, "key_rejected", 0),
			attempt(domain.ProviderGroq, "key_rejected", 1),
			attempt(domain.ProviderGroq, "no_usable_key", noKey),
		}, pu.Attempts)

		// Later requests do not call the provider at all.
		_, _, err = e.chat(context.Background(), req(domain.TierFast, "again"))
		require.ErrorAs(t, err, &pu)
		assert.Equal(t, []domain.Attempt{attempt(domain.ProviderGroq, "no_usable_key", noKey)}, pu.Attempts)
		assert.Len(t, e.groq.Calls(), 2)
	})

	t.Run("all keys rejected falls back to the next provider", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.groq.script(0, keyRejected())
		res, _, err := e.chat(context.Background(), req(domain.TierBalanced, "hi"))
		require.NoError(t, err)
		assert.Equal(t, domain.ProviderOpenRouter, res.Provider)
		assert.Equal(t, []domain.Attempt{
			attempt(domain.ProviderGroq, "key_rejected", 0),
			attempt(domain.ProviderGroq, "no_usable_key", noKey),
		}, e.onlyRecord(t).Attempts)
	})
}

func TestChatAllRateLimited(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		tier      domain.Tier
		setup     func(e *env)
		opts      []func(*envConfig)
		wantAfter time.Duration
		wantAtt   []domain.Attempt
	}{
		{
			name:      "rounded up to whole seconds",
			tier:      domain.TierFast,
			setup:     func(e *env) { e.groq.script(0, rateLimited(1500*time.Millisecond)) },
			wantAfter: 2 * time.Second,
			wantAtt: []domain.Attempt{
				attempt(domain.ProviderGroq, "rate_limited", 0),
				attempt(domain.ProviderGroq, "rate_limited", noKey),
			},
		},
		{
			name:      "at least one second",
			tier:      domain.TierFast,
			setup:     func(e *env) { e.groq.script(0, rateLimited(200*time.Millisecond)) },
			wantAfter: time.Second,
			wantAtt: []domain.Attempt{
				attempt(domain.ProviderGroq, "rate_limited", 0),
				attempt(domain.ProviderGroq, "rate_limited", noKey),
			},
		},
		{
			name:      "default cooldown",
			tier:      domain.TierFast,
			setup:     func(e *env) { e.groq.script(0, rateLimited(0)) },
			wantAfter: 30 * time.Second,
			wantAtt: []domain.Attempt{
				attempt(domain.ProviderGroq, "rate_limited", 0),
				attempt(domain.ProviderGroq, "rate_limited", noKey),
			},
		},
		{
			name: "first key of several to come back",
			tier: domain.TierFast,
			opts: []func(*envConfig){withKeys(domain.ProviderGroq, 2)},
			setup: func(e *env) {
				e.groq.script(0, rateLimited(7*time.Second))
				e.groq.script(1, rateLimited(3*time.Second))
			},
			wantAfter: 3 * time.Second,
			wantAtt: []domain.Attempt{
				attempt(domain.ProviderGroq, "rate_limited", 0),
				attempt(domain.ProviderGroq, "rate_limited", 1),
				attempt(domain.ProviderGroq, "rate_limited", noKey),
			},
		},
		{
			name: "first key of the whole chain to come back",
			tier: domain.TierBalanced,
			setup: func(e *env) {
				e.groq.script(0, rateLimited(10*time.Second))
				e.or.script(0, rateLimited(4200*time.Millisecond))
				e.hf.script(0, rateLimited(0))
			},
			wantAfter: 5 * time.Second,
			wantAtt: []domain.Attempt{
				attempt(domain.ProviderGroq, "rate_limited", 0),
				attempt(domain.ProviderGroq, "rate_limited", noKey),
				attempt(domain.ProviderOpenRouter, "rate_limited", 0),
				attempt(domain.ProviderOpenRouter, "rate_limited", noKey),
				attempt(domain.ProviderHuggingFace, "rate_limited", 0),
				attempt(domain.ProviderHuggingFace, "rate_limited", noKey),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tt.opts...)
			tt.setup(e)
			_, _, err := e.chat(context.Background(), req(tt.tier, "hi"))
			var rl *domain.ProviderRateLimitedError
			require.ErrorAs(t, err, &rl)
			assert.Equal(t, tt.wantAfter, rl.RetryAfter)
			assert.Equal(t, tt.wantAtt, rl.Attempts)
			assert.Equal(t, "provider_rate_limited", string(domain.ErrorCode(err)))
		})
	}
}

func TestChatRetryAfterAtLeastOneSecond(t *testing.T) {
	t.Parallel()
	// Time passes during the search: by its end groq's key is back, yet
	// every attempt was rate limited.
	e := newEnv(t)
	e.groq.script(0, rateLimited(2*time.Second))
	b := rateLimited(time.Minute)
	b.onCall = func() { e.clock.Advance(2 * time.Second) }
	e.or.script(0, b)
	e.hf.script(0, rateLimited(time.Minute))

	_, _, err := e.chat(context.Background(), req(domain.TierBalanced, "hi"))
	var rl *domain.ProviderRateLimitedError
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, time.Second, rl.RetryAfter)
}

func TestChatMixedFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withKeys(domain.ProviderHuggingFace, 2))
	e.groq.script(0, rateLimited(5*time.Second))
	e.or.script(0, serverError("server_error"))
	e.hf.script(0, keyRejected())
	e.hf.script(1, serverError("model_loading"))

	_, _, err := e.chat(context.Background(), req(domain.TierBalanced, "hi"))
	var pu *domain.ProvidersUnavailableError
	require.ErrorAs(t, err, &pu, "not every attempt was rate limited")
	assert.Equal(t, []domain.Attempt{
		attempt(domain.ProviderGroq, "rate_limited", 0),
		attempt(domain.ProviderGroq, "rate_limited", noKey),
		attempt(domain.ProviderOpenRouter, "server_error", 0),
		attempt(domain.ProviderHuggingFace, "key_rejected", 0),
		attempt(domain.ProviderHuggingFace, "model_loading", 1),
	}, pu.Attempts)
	assert.Equal(t, "providers_unavailable", string(domain.ErrorCode(err)))
}

func TestChatCallerErrorDoesNotFallBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *config) { c.BreakerFailures = 1 }))
	e.groq.script(0, callerError(400, "max_tokens is too large for this model"))

	_, sink, err := e.chat(context.Background(), req(domain.TierBalanced, "hi"))
	var ur *domain.UpstreamRejectedError
	require.ErrorAs(t, err, &ur)
	assert.Equal(t, &domain.UpstreamRejectedError{Provider: domain.ProviderGroq, Status: 400, Message: "max_tokens is too large for this model"}, ur)
	assert.Equal(t, []string{"groq#0"}, e.order.list(), "no other provider is asked")
	assert.Empty(t, sink.Events())
	assert.Equal(t, "upstream_error", string(domain.ErrorCode(err)))
	// The provider answered: a caller error says nothing against its health.
	assert.Equal(t, routing.BreakerClosed, providerStatus(t, e, domain.ProviderGroq).Breaker)
}

func providerStatus(t *testing.T, e *env, p domain.Provider) routing.ProviderStatus {
	t.Helper()
	for _, s := range e.router.Providers() {
		if s.Provider == p {
			return s
		}
	}
	require.Failf(t, "provider not reported", "%s", p)
	return routing.ProviderStatus{}
}

func TestChatCircuitBreaker(t *testing.T) {
	t.Parallel()
	const coolOff = 30 * time.Second
	open := func(t *testing.T) *env {
		t.Helper()
		e := newEnv(t, withConfig(func(c *config) { c.BreakerFailures = 2; c.BreakerCoolOff = coolOff }))
		e.groq.script(0, serverError("server_error"), serverError("server_error"))
		for range 2 {
			res, _, err := e.chat(context.Background(), req(domain.TierBalanced, "hi"))
			require.NoError(t, err)
			require.Equal(t, domain.ProviderOpenRouter, res.Provider)
		}
		require.Len(t, e.groq.Calls(), 2)
		return e
	}
	skipped := func(t *testing.T, e *env) {
		t.Helper()
		before := len(e.groq.Calls())
		res, _, err := e.chat(context.Background(), req(domain.TierBalanced, "hi"))
		require.NoError(t, err)
		assert.Equal(t, domain.ProviderOpenRouter, res.Provider)
		assert.Len(t, e.groq.Calls(), before, "an open breaker does not call the provider")
		assert.Equal(t, routing.BreakerOpen, providerStatus(t, e, domain.ProviderGroq).Breaker)
	}

	t.Run("open after consecutive failures", func(t *testing.T) {
		t.Parallel()
		e := open(t)
		for range 3 {
			skipped(t, e)
		}
		e.clock.Advance(coolOff - time.Second)
		skipped(t, e)

		// The attempt says why groq was not asked.
		_, _, err := e.chat(context.Background(), req(domain.TierFast, "fast has only groq"))
		var pu *domain.ProvidersUnavailableError
		require.ErrorAs(t, err, &pu)
		assert.Equal(t, []domain.Attempt{attempt(domain.ProviderGroq, "circuit_open", noKey)}, pu.Attempts)
	})

	t.Run("success between failures resets the count", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, withConfig(func(c *config) { c.BreakerFailures = 2 }))
		e.groq.script(0, serverError("server_error"), answer("ok"), serverError("server_error"), answer("ok"))
		for i, want := range []domain.Provider{domain.ProviderOpenRouter, domain.ProviderGroq, domain.ProviderOpenRouter, domain.ProviderGroq} {
			res, _, err := e.chat(context.Background(), req(domain.TierBalanced, "hi"))
			require.NoError(t, err)
			assert.Equal(t, want, res.Provider, "request %d", i)
		}
		assert.Equal(t, routing.BreakerClosed, providerStatus(t, e, domain.ProviderGroq).Breaker)
	})

	t.Run("trial success closes", func(t *testing.T) {
		t.Parallel()
		e := open(t)
		e.clock.Advance(coolOff)
		assert.Equal(t, routing.BreakerHalfOpen, providerStatus(t, e, domain.ProviderGroq).Breaker)
		res, _, err := e.chat(context.Background(), req(domain.TierBalanced, "trial"))
		require.NoError(t, err)
		assert.Equal(t, domain.ProviderGroq, res.Provider)
		assert.Equal(t, routing.BreakerClosed, providerStatus(t, e, domain.ProviderGroq).Breaker)

		// Closed again: one failure does not open it (threshold 2).
		e.groq.script(0, serverError("server_error"))
		_, _, err = e.chat(context.Background(), req(domain.TierBalanced, "hi"))
		require.NoError(t, err)
		res, _, err = e.chat(context.Background(), req(domain.TierBalanced, "hi"))
		require.NoError(t, err)
		assert.Equal(t, domain.ProviderGroq, res.Provider)
	})

	t.Run("trial failure re-opens", func(t *testing.T) {
		t.Parallel()
		e := open(t)
		e.clock.Advance(coolOff)
		e.groq.script(0, serverError("server_error"))
		res, _, err := e.chat(context.Background(), req(domain.TierBalanced, "trial"))
		require.NoError(t, err)
		assert.Equal(t, domain.ProviderOpenRouter, res.Provider)
		assert.Len(t, e.groq.Calls(), 3, "the trial went to groq")
		skipped(t, e)
		e.clock.Advance(coolOff - time.Second)
		skipped(t, e)
		e.clock.Advance(time.Second)
		res, _, err = e.chat(context.Background(), req(domain.TierBalanced, "second trial"))
		require.NoError(t, err)
		assert.Equal(t, domain.ProviderGroq, res.Provider)
	})

	t.Run("exactly one trial at a time", func(t *testing.T) {
		t.Parallel()
		e := open(t)
		e.clock.Advance(coolOff)
		gate, started := make(chan struct{}), make(chan struct{})
		trial := answer("trial")
		trial.gate, trial.started = gate, started
		e.groq.script(0, trial)

		type outcome struct {
			res chat.Result
			err error
		}
		done := make(chan outcome, 1)
		go func() {
			res, _, err := e.chat(context.Background(), req(domain.TierBalanced, "trial"))
			done <- outcome{res, err}
		}()
		<-started

		// While the trial is in flight every other request skips groq.
		for range 3 {
			res, _, err := e.chat(context.Background(), req(domain.TierBalanced, "meanwhile"))
			require.NoError(t, err)
			assert.Equal(t, domain.ProviderOpenRouter, res.Provider)
		}
		assert.Len(t, e.groq.Calls(), 3, "two failures and the one trial")

		close(gate)
		o := <-done
		require.NoError(t, o.err)
		assert.Equal(t, domain.ProviderGroq, o.res.Provider)
		assert.Equal(t, routing.BreakerClosed, providerStatus(t, e, domain.ProviderGroq).Breaker)
	})

	t.Run("a trial that met only rate limits does not block later trials", func(t *testing.T) {
		t.Parallel()
		e := open(t)
		e.clock.Advance(coolOff)
		e.groq.script(0, rateLimited(5*time.Second))
		_, _, err := e.chat(context.Background(), req(domain.TierFast, "trial"))
		var rl *domain.ProviderRateLimitedError
		require.ErrorAs(t, err, &rl)
		assert.Equal(t, routing.BreakerHalfOpen, providerStatus(t, e, domain.ProviderGroq).Breaker)

		e.clock.Advance(5 * time.Second)
		res, _, err := e.chat(context.Background(), req(domain.TierBalanced, "next trial"))
		require.NoError(t, err)
		assert.Equal(t, domain.ProviderGroq, res.Provider, "the rate limited trial was released")
		assert.Equal(t, routing.BreakerClosed, providerStatus(t, e, domain.ProviderGroq).Breaker)
	})

	t.Run("a trial cancelled by its client does not block later trials", func(t *testing.T) {
		t.Parallel()
		e := open(t)
		e.clock.Advance(coolOff)
		ctx, cancel := context.WithCancel(context.Background())
		b := hang()
		b.started = make(chan struct{})
		go func() {
			<-b.started
			cancel()
		}()
		e.groq.script(0, b)
		_, err := e.svc.Chat(ctx, e.user, req(domain.TierBalanced, "trial"), &collectSink{})
		require.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, routing.BreakerHalfOpen, providerStatus(t, e, domain.ProviderGroq).Breaker, "a client leaving says nothing about groq")

		res, _, err := e.chat(context.Background(), req(domain.TierBalanced, "next trial"))
		require.NoError(t, err)
		assert.Equal(t, domain.ProviderGroq, res.Provider)
	})

	t.Run("rate limits and rejected keys do not count", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, withKeys(domain.ProviderGroq, 3), withConfig(func(c *config) { c.BreakerFailures = 1 }))
		e.groq.script(0, keyRejected())
		e.groq.script(1, rateLimited(time.Second), rateLimited(time.Second), rateLimited(time.Second))
		e.groq.script(2, rateLimited(time.Second), rateLimited(time.Second), rateLimited(time.Second))
		// First request: key 0 rejected, keys 1 and 2 rate limited.
		_, _, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
		var pu *domain.ProvidersUnavailableError
		require.ErrorAs(t, err, &pu)
		assert.Equal(t, []domain.Attempt{
			attempt(domain.ProviderGroq, "key_rejected", 0),
			attempt(domain.ProviderGroq, "rate_limited", 1),
			attempt(domain.ProviderGroq, "rate_limited", 2),
			attempt(domain.ProviderGroq, "rate_limited", noKey),
		}, pu.Attempts)
		// Then only rate limits; with a threshold of 1 any counted failure
		// would show up as circuit_open.
		for range 2 {
			e.clock.Advance(time.Second)
			_, _, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
			var rl *domain.ProviderRateLimitedError
			require.ErrorAs(t, err, &rl)
			assert.Equal(t, []domain.Attempt{
				attempt(domain.ProviderGroq, "rate_limited", 1),
				attempt(domain.ProviderGroq, "rate_limited", 2),
				attempt(domain.ProviderGroq, "rate_limited", noKey),
			}, rl.Attempts)
		}
		e.clock.Advance(time.Second)
		assert.Equal(t, routing.BreakerClosed, providerStatus(t, e, domain.ProviderGroq).Breaker)
		res, _, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
		require.NoError(t, err)
		assert.Equal(t, domain.ProviderGroq, res.Provider)
		assert.Len(t, e.groq.Calls(), 8)
	})
}

func TestChatNoFallbackAfterFirstToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cause := cutOff(domain.ProviderGroq)
	e.groq.script(0, tokensThenFail(cause, "first", "second"))

	_, sink, err := e.chat(context.Background(), req(domain.TierBalanced, "hi"))
	var ie *domain.InterruptedError
	require.ErrorAs(t, err, &ie)
	var pe *domain.ProviderError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "cut_off", string(pe.Reason))
	assert.Equal(t, "stream_interrupted", string(domain.ErrorCode(err)))
	assert.Equal(t, []string{"begin", "token:first", "token:second"}, sink.Events())
	assert.Empty(t, e.or.Calls(), "no fallback once the user has part of the answer")
	assert.Empty(t, e.hf.Calls())
	e.assertStreamsClosed(t)
}

func TestChatFirstTokenTimeout(t *testing.T) {
	t.Parallel()
	const ftt = 100 * time.Millisecond
	tests := []struct {
		name string
		b    behaviour
	}{
		{name: "hangs before the stream opens", b: hang()},
		{name: "hangs after the stream opens", b: tokensThenHang()},
		{name: "first token too slow", b: slow(time.Minute, "late")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, withConfig(func(c *config) { c.FirstTokenTimeout = ftt; c.RequestTimeout = 5 * time.Second }))
			e.groq.script(0, tt.b)

			start := time.Now()
			res, sink, err := e.chat(context.Background(), req(domain.TierBalanced, "hi"))
			elapsed := time.Since(start)
			require.NoError(t, err)
			assert.Equal(t, domain.ProviderOpenRouter, res.Provider)
			assert.Equal(t, []string{"begin", "token:openrouter"}, sink.Events())
			assert.GreaterOrEqual(t, elapsed, ftt)
			assert.Less(t, elapsed, 2*time.Second)
			assert.Equal(t, []domain.Attempt{attempt(domain.ProviderGroq, "timeout", 0)}, e.onlyRecord(t).Attempts)

			calls := e.groq.Calls()
			require.Len(t, calls, 1)
			cancelled, ctxErr := calls[0].Cancelled()
			assert.True(t, cancelled, "the hanging provider's ctx was cancelled")
			assert.ErrorIs(t, ctxErr, context.Canceled)
			e.assertStreamsClosed(t)
		})
	}

	t.Run("only the first token is bounded", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, withConfig(func(c *config) { c.FirstTokenTimeout = ftt; c.RequestTimeout = 5 * time.Second }))
		// 8 tokens 30ms apart: the stream outlasts the first-token timeout.
		e.groq.script(0, slow(30*time.Millisecond, "1", "2", "3", "4", "5", "6", "7", "8"))
		start := time.Now()
		res, sink, err := e.chat(context.Background(), req(domain.TierBalanced, "hi"))
		require.NoError(t, err)
		assert.Greater(t, time.Since(start), ftt)
		assert.Equal(t, domain.ProviderGroq, res.Provider)
		assert.Len(t, sink.Tokens(), 8)
		assert.Empty(t, e.or.Calls())
	})
}

func TestChatRequestTimeoutBoundsSearch(t *testing.T) {
	t.Parallel()
	const ftt, rt = 100 * time.Millisecond, 250 * time.Millisecond
	newHanging := func(t *testing.T) *env {
		e := newEnv(t, withConfig(func(c *config) { c.FirstTokenTimeout = ftt; c.RequestTimeout = rt }))
		e.groq.script(0, hang())
		e.or.script(0, hang())
		e.hf.script(0, hang())
		return e
	}

	t.Run("streaming", func(t *testing.T) {
		t.Parallel()
		e := newHanging(t)
		start := time.Now()
		_, _, err := e.chat(context.Background(), req(domain.TierBalanced, "hi"))
		elapsed := time.Since(start)
		var pu *domain.ProvidersUnavailableError
		require.ErrorAs(t, err, &pu)
		// groq and openrouter each get the full first-token timeout; what
		// is left of the request timeout goes to huggingface, if anything.
		require.GreaterOrEqual(t, len(pu.Attempts), 2)
		for _, a := range pu.Attempts {
			assert.Equal(t, "timeout", string(a.Reason))
		}
		assert.Equal(t, domain.ProviderGroq, pu.Attempts[0].Provider)
		assert.Equal(t, domain.ProviderOpenRouter, pu.Attempts[1].Provider)
		assert.GreaterOrEqual(t, elapsed, 2*ftt)
		assert.Less(t, elapsed, rt+time.Second)
	})

	t.Run("not streaming", func(t *testing.T) {
		t.Parallel()
		e := newHanging(t)
		r := req(domain.TierBalanced, "hi")
		r.Stream = false
		start := time.Now()
		_, _, err := e.chat(context.Background(), r)
		elapsed := time.Since(start)
		require.Error(t, err)
		// Which of the two timers ends the search first is a matter of
		// microseconds; either way the request ends near RequestTimeout.
		var pu *domain.ProvidersUnavailableError
		if !errors.As(err, &pu) {
			assert.ErrorIs(t, err, context.DeadlineExceeded)
		}
		assert.GreaterOrEqual(t, elapsed, 2*ftt)
		assert.Less(t, elapsed, rt+time.Second)
		assert.Equal(t, 0, e.quotaUsed(t), "refunded")
	})
}

func TestChatNonStreamingSearchTimeoutIsConsistent(t *testing.T) {
	t.Parallel()
	// A hanging provider and a request timeout shorter than the first-token
	// timeout: every run must end the same way, like the streaming case.
	for i := range 20 {
		e := newEnv(t, withConfig(func(c *config) { c.FirstTokenTimeout = 5 * time.Second; c.RequestTimeout = 30 * time.Millisecond }))
		e.groq.script(0, hang())
		r := req(domain.TierFast, "hi")
		r.Stream = false
		_, _, err := e.chat(context.Background(), r)
		var pu *domain.ProvidersUnavailableError
		require.ErrorAs(t, err, &pu, "run %d", i)
		assert.Equal(t, []domain.Attempt{attempt(domain.ProviderGroq, "timeout", 0)}, pu.Attempts, "run %d", i)
	}
}

func TestChatStallAfterFirstToken(t *testing.T) {
	t.Parallel()
	const rt = 150 * time.Millisecond
	tests := []struct {
		name   string
		tokens []string
	}{
		{name: "silence after the first token", tokens: []string{"a"}},
		{name: "silence after later tokens", tokens: []string{"a", "b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, withConfig(func(c *config) { c.FirstTokenTimeout = 100 * time.Millisecond; c.RequestTimeout = rt }))
			e.groq.script(0, tokensThenHang(tt.tokens...))

			start := time.Now()
			_, sink, err := e.chat(context.Background(), req(domain.TierBalanced, "hi"))
			elapsed := time.Since(start)
			var ie *domain.InterruptedError
			require.ErrorAs(t, err, &ie)
			var pe *domain.ProviderError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, "timeout", string(pe.Reason))
			assert.Equal(t, tt.tokens, sink.Tokens())
			assert.GreaterOrEqual(t, elapsed, rt)
			assert.Less(t, elapsed, rt+time.Second)
			assert.Empty(t, e.or.Calls())
			cancelled, _ := e.groq.Calls()[0].Cancelled()
			assert.True(t, cancelled)
			assert.Equal(t, 1, e.quotaUsed(t), "the user has part of the answer")
		})
	}
}

func TestChatClientDisconnect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		b    behaviour
		// cancelAfterTokens cancels when the sink got that many tokens;
		// 0 cancels as soon as the provider is called.
		cancelAfterTokens int
		wantTokens        int
		wantQuota         int
	}{
		{name: "provider hanging before the first token", b: hang(), wantQuota: 0},
		// The provider accepted (its stream opened): the user pays (issue 19).
		{name: "stream open, no token yet", b: tokensThenHang(), wantQuota: 1},
		{name: "while streaming", b: tokensThenHang("a", "b"), cancelAfterTokens: 2, wantTokens: 2, wantQuota: 1},
		{name: "slow stream", b: slow(20*time.Millisecond, "a", "b", "c", "d"), cancelAfterTokens: 1, wantTokens: 1, wantQuota: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Timeouts far away: only the cancellation can end the request.
			e := newEnv(t, withConfig(func(c *config) { c.FirstTokenTimeout = 10 * time.Second; c.RequestTimeout = 20 * time.Second }))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b := tt.b
			sink := &collectSink{}
			if tt.cancelAfterTokens == 0 {
				b.started = make(chan struct{})
				go func() {
					<-b.started
					cancel()
				}()
			} else {
				sink.onToken = func(n int) {
					if n == tt.cancelAfterTokens {
						cancel()
					}
				}
			}
			e.groq.script(0, b)

			start := time.Now()
			_, err := e.svc.Chat(ctx, e.user, req(domain.TierBalanced, "hi"), sink)
			assert.Less(t, time.Since(start), time.Second, "returns promptly")
			require.ErrorIs(t, err, context.Canceled)
			assert.Len(t, sink.Tokens(), tt.wantTokens)
			assert.Empty(t, e.or.Calls(), "no fallback for a client that left")

			calls := e.groq.Calls()
			require.Len(t, calls, 1)
			cancelled, ctxErr := calls[0].Cancelled()
			assert.True(t, cancelled, "the provider's ctx was cancelled")
			assert.ErrorIs(t, ctxErr, context.Canceled)
			assert.Equal(t, tt.wantQuota, e.quotaUsed(t))
			rec := e.onlyRecord(t)
			assert.Equal(t, domain.OutcomeCancelled, rec.Outcome)
			assert.Equal(t, tt.wantQuota == 1, rec.Provider != "", "the log names a provider exactly when the user paid")
			e.assertStreamsClosed(t)
		})
	}
}

func TestChatSinkBeginFailureIsNotAProviderFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *config) { c.BreakerFailures = 1 }))
	sink := &collectSink{beginErr: errors.New("write: broken pipe")}
	_, err := e.svc.Chat(context.Background(), e.user, req(domain.TierBalanced, "hi"), sink)
	require.Error(t, err)
	assert.ErrorContains(t, err, "broken pipe")
	assert.Len(t, sink.Metas(), 1, "Begin is called once")
	assert.Empty(t, e.or.Calls(), "a failing sink is not a reason to ask another provider")
	assert.Equal(t, routing.BreakerClosed, providerStatus(t, e, domain.ProviderGroq).Breaker)
}
