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
)

func TestChatQuotaRefund(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		stream    bool
		setup     func(e *env, cancel context.CancelFunc)
		cancelAt  int // cancel when the sink got this many tokens (0 = never)
		wantErr   bool
		wantQuota int
	}{
		{name: "success", stream: true, wantQuota: 1},
		{name: "success, not streaming", stream: false, wantQuota: 1},
		{
			name:      "every provider failed",
			stream:    true,
			setup:     func(e *env, _ context.CancelFunc) { e.groq.script(0, serverError("server_error")) },
			wantErr:   true,
			wantQuota: 0,
		},
		{
			name:      "every provider failed, not streaming",
			stream:    false,
			setup:     func(e *env, _ context.CancelFunc) { e.groq.script(0, serverError("server_error")) },
			wantErr:   true,
			wantQuota: 0,
		},
		{
			name:      "client gone before routing",
			stream:    true,
			setup:     func(_ *env, cancel context.CancelFunc) { cancel() },
			wantErr:   true,
			wantQuota: 0,
		},
		{
			name:      "rate limited",
			stream:    true,
			setup:     func(e *env, _ context.CancelFunc) { e.groq.script(0, rateLimited(time.Second)) },
			wantErr:   true,
			wantQuota: 0,
		},
		{
			name:      "caller error",
			stream:    true,
			setup:     func(e *env, _ context.CancelFunc) { e.groq.script(0, callerError(422, "bad")) },
			wantErr:   true,
			wantQuota: 0,
		},
		{
			name:   "cancelled before the first token",
			stream: true,
			setup: func(e *env, cancel context.CancelFunc) {
				b := hang()
				b.started = make(chan struct{})
				go func() {
					<-b.started
					cancel()
				}()
				e.groq.script(0, b)
			},
			wantErr:   true,
			wantQuota: 0,
		},
		{
			// The provider accepted and worked: the user pays even though the
			// answer failed before it was sent (issue 19; it used to be refunded).
			name:   "interrupted, not streaming: the provider did the work",
			stream: false,
			setup: func(e *env, _ context.CancelFunc) {
				e.groq.script(0, tokensThenFail(cutOff(domain.ProviderGroq), "a", "b"))
			},
			wantErr:   true,
			wantQuota: 1,
		},
		{
			name:   "cancelled after the provider accepted, before the first token",
			stream: true,
			setup: func(e *env, cancel context.CancelFunc) {
				b := tokensThenHang()
				b.started = make(chan struct{})
				go func() {
					<-b.started
					cancel()
				}()
				e.groq.script(0, b)
			},
			wantErr:   true,
			wantQuota: 1,
		},
		{
			name:   "cancelled after the provider accepted, not streaming",
			stream: false,
			setup: func(e *env, cancel context.CancelFunc) {
				b := tokensThenHang("a")
				b.started = make(chan struct{})
				go func() {
					<-b.started
					cancel()
				}()
				e.groq.script(0, b)
			},
			wantErr:   true,
			wantQuota: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, withConfig(func(c *config) { c.FirstTokenTimeout = 10 * time.Second; c.RequestTimeout = 20 * time.Second }))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.setup != nil {
				tt.setup(e, cancel)
			}
			sink := &collectSink{}
			if tt.cancelAt > 0 {
				sink.onToken = func(n int) {
					if n == tt.cancelAt {
						cancel()
					}
				}
			}
			r := req(domain.TierFast, "hi")
			r.Stream = tt.stream
			_, err := e.svc.Chat(ctx, e.user, r, sink)
			if tt.wantErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.wantQuota, e.quotaUsed(t))
			rec := e.onlyRecord(t)
			assert.Equal(t, tt.wantQuota == 1, rec.Provider != "", "the request log names a provider exactly when the user paid: %+v", rec)
			if tt.name == "client gone before routing" {
				assert.ErrorIs(t, err, context.Canceled)
				assert.Empty(t, e.order.list(), "no provider is called for a client that left")
			}
		})
	}
}

// TestChatRefundOnlyWithoutAcceptance walks a whole chain: one attempt a
// provider accepted is enough for the user to pay, even when it then failed
// and every fallback refused; refusals alone are refunded.
func TestChatRefundOnlyWithoutAcceptance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		setup        func(e *env)
		wantQuota    int
		wantProvider domain.Provider
	}{
		{
			name: "every provider refused before work began",
			setup: func(e *env) {
				e.groq.script(0, serverError("server_error"))
				e.or.script(0, rateLimited(time.Second))
				e.hf.script(0, keyRejected())
			},
			wantQuota: 0,
		},
		{
			name: "accepted, no first token in time, then the fallbacks refused",
			setup: func(e *env) {
				e.groq.script(0, tokensThenHang())
				e.or.script(0, serverError("server_error"))
				e.hf.script(0, callerError(400, "bad"))
			},
			wantQuota:    1,
			wantProvider: domain.ProviderGroq,
		},
		{
			name: "refused, then accepted and cut off before the first token",
			setup: func(e *env) {
				e.groq.script(0, serverError("server_error"))
				e.or.script(0, tokensThenFail(cutOff(domain.ProviderOpenRouter)))
				e.hf.script(0, serverError("server_error"))
			},
			wantQuota:    1,
			wantProvider: domain.ProviderOpenRouter,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, withConfig(func(c *config) { c.FirstTokenTimeout = 50 * time.Millisecond }))
			tt.setup(e)
			r := req(domain.TierBalanced, "hi")
			_, err := e.svc.Chat(context.Background(), e.user, r, &collectSink{})
			require.Error(t, err)
			assert.Equal(t, tt.wantQuota, e.quotaUsed(t))
			assert.Equal(t, tt.wantProvider, e.onlyRecord(t).Provider, "the request log agrees with the quota")
		})
	}
}

func TestChatQuotaExceeded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withQuota(2))
	for range 2 {
		_, _, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
		require.NoError(t, err)
	}
	_, sink, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
	var qe *domain.QuotaExceededError
	require.ErrorAs(t, err, &qe)
	assert.Equal(t, &domain.QuotaExceededError{Used: 2, Limit: 2}, qe)
	assert.Len(t, e.groq.Calls(), 2, "no provider is called over quota")
	assert.Empty(t, sink.Events())
	assert.Equal(t, 2, e.quotaUsed(t))

	// A user with their own, higher limit is not held to the default.
	e.user.DailyQuota = intp(3)
	_, _, err = e.chat(context.Background(), req(domain.TierFast, "hi"))
	require.NoError(t, err)
	assert.Equal(t, 3, e.quotaUsed(t))
}

func TestChatQuotaConcurrent(t *testing.T) {
	t.Parallel()
	const limit, users = 20, 100
	e := newEnv(t, withQuota(limit), withKeys(domain.ProviderGroq, 3))
	var wg sync.WaitGroup
	errs := make([]error, users)
	for i := range users {
		wg.Go(func() {
			_, _, errs[i] = e.chat(context.Background(), req(domain.TierFast, "hi"))
		})
	}
	wg.Wait()
	answered, exceeded := 0, 0
	for _, err := range errs {
		var qe *domain.QuotaExceededError
		switch {
		case err == nil:
			answered++
		case errors.As(err, &qe):
			exceeded++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	assert.Equal(t, limit, answered)
	assert.Equal(t, users-limit, exceeded)
	assert.Len(t, e.groq.Calls(), limit)
	assert.Equal(t, limit, e.quotaUsed(t))
}

// TestChatPanicRefunds: a panic under Chat before any provider accepted (a
// bug in a provider's adapter) delivered nothing: the unit goes back before
// the panic goes on up (to the server's recovery), streamed or not.
func TestChatPanicRefunds(t *testing.T) {
	t.Parallel()
	for _, stream := range []bool{true, false} {
		e := newEnv(t)
		e.groq.script(0, behaviour{onCall: func() { panic("provider bug") }})
		r := req(domain.TierFast, "hi")
		r.Stream = stream
		assert.PanicsWithValue(t, "provider bug", func() { _, _ = e.svc.Chat(t.Context(), e.user, r, &collectSink{}) }, "stream %v", stream)
		assert.Equal(t, 0, e.quotaUsed(t), "stream %v: the unit went back", stream)
	}
}
