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
			name:   "interrupted, not streaming: the user got nothing",
			stream: false,
			setup: func(e *env, _ context.CancelFunc) {
				e.groq.script(0, tokensThenFail(cutOff(domain.ProviderGroq), "a", "b"))
			},
			wantErr:   true,
			wantQuota: 0,
		},
		{
			name:   "interrupted while streaming: the user has tokens",
			stream: true,
			setup: func(e *env, _ context.CancelFunc) {
				e.groq.script(0, tokensThenFail(cutOff(domain.ProviderGroq), "a", "b"))
			},
			wantErr:   true,
			wantQuota: 1,
		},
		{
			name:      "cancelled while streaming",
			stream:    true,
			setup:     func(e *env, _ context.CancelFunc) { e.groq.script(0, tokensThenHang("a")) },
			cancelAt:  1,
			wantErr:   true,
			wantQuota: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, withConfig(func(c *chat.Config) { c.FirstTokenTimeout = 10 * time.Second; c.RequestTimeout = 20 * time.Second }))
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
			if tt.name == "client gone before routing" {
				assert.ErrorIs(t, err, context.Canceled)
				assert.Empty(t, e.order.list(), "no provider is called for a client that left")
			}
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
