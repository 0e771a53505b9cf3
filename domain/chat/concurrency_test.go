package chat_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
)

// failingLimiter cannot decide, like an unreachable Redis.
type failingLimiter struct{}

func (failingLimiter) Acquire(context.Context, string, int, time.Duration) (string, bool, error) {
	return "", false, domain.Errorf(domain.CodeUnavailable, "Concurrency limiter unavailable")
}

func (failingLimiter) Renew(context.Context, string, string, time.Duration) (bool, error) {
	return false, nil
}

func (failingLimiter) Release(context.Context, string, string) error { return nil }

func withConcurrency(limit int) func(*envConfig) {
	return withConfig(func(c *config) {
		c.Concurrency = memory.NewConcurrencyLimiter(memory.NewClock(time.Now()))
		c.MaxConcurrentPerUser = limit
	})
}

func TestChatConcurrentRequestsPerUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConcurrency(2), withConfig(func(c *config) { c.FirstTokenTimeout = 10 * time.Second; c.RequestTimeout = 20 * time.Second }))
	started := make(chan struct{}, 2)
	for range 2 {
		b := tokensThenHang("a")
		b.onCall = func() { started <- struct{}{} }
		e.groq.script(0, b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 2)
	for _, stream := range []bool{true, false} {
		go func() {
			r := req(domain.TierFast, "hi")
			r.Stream = stream
			_, err := e.svc.Chat(ctx, e.user, r, &collectSink{})
			done <- err
		}()
	}
	<-started
	<-started

	_, err := e.svc.Chat(context.Background(), e.user, req(domain.TierFast, "hi"), &collectSink{})
	var de *domain.Error
	require.ErrorAs(t, err, &de)
	assert.Equal(t, domain.CodeRateLimited, de.Code)
	assert.Equal(t, "Too many concurrent requests (at most 2 at a time)", de.Message)
	assert.Equal(t, time.Second, de.RetryAfter)
	assert.Equal(t, 2, e.quotaUsed(t), "a refused request does not touch the quota")
	assert.Len(t, e.groq.Calls(), 2, "nor any provider")

	other := e.user
	other.ID = "someone-else"
	_, err = e.svc.Chat(context.Background(), other, req(domain.TierFast, "hi"), &collectSink{})
	assert.NoError(t, err, "another user has their own slots")

	cancel() // both clients leave: their slots come back
	for range 2 {
		require.ErrorIs(t, <-done, context.Canceled)
	}
	for range 2 {
		_, err = e.svc.Chat(context.Background(), e.user, req(domain.TierFast, "hi"), &collectSink{})
		assert.NoError(t, err, "admitted again")
	}
}

// panicSink panics on the first token, like a bug in a handler.
type panicSink struct{ collectSink }

func (p *panicSink) Token(string) error { panic("sink exploded") }

func TestChatSlotReleasedHoweverTheRequestEnds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(e *env) error
	}{
		{"answered", func(e *env) error {
			_, err := e.svc.Chat(context.Background(), e.user, req(domain.TierFast, "hi"), &collectSink{})
			return err
		}},
		{"providers failed", func(e *env) error {
			e.groq.script(0, serverError("server_error"))
			_, err := e.svc.Chat(context.Background(), e.user, req(domain.TierFast, "hi"), &collectSink{})
			return err
		}},
		{"invalid", func(e *env) error {
			_, err := e.svc.Chat(context.Background(), e.user, req(domain.TierFast, ""), &collectSink{})
			return err
		}},
		{"quota exceeded", func(e *env) error {
			e.user.DailyQuota = intp(0)
			_, err := e.svc.Chat(context.Background(), e.user, req(domain.TierFast, "hi"), &collectSink{})
			e.user.DailyQuota = nil
			return err
		}},
		{"panic", func(e *env) (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = errors.New("panicked")
				}
			}()
			_, err = e.svc.Chat(context.Background(), e.user, req(domain.TierFast, "hi"), &panicSink{})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, withConcurrency(1))
			_ = tt.run(e)
			_, err := e.svc.Chat(context.Background(), e.user, req(domain.TierFast, "hi"), &collectSink{})
			assert.NoError(t, err, "the single slot is free")
		})
	}
}

func TestChatConcurrencyLimiterUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *config) { c.Concurrency, c.MaxConcurrentPerUser = failingLimiter{}, 3 }))
	_, err := e.svc.Chat(context.Background(), e.user, req(domain.TierFast, "hi"), &collectSink{})
	assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err))
	assert.Equal(t, 0, e.quotaUsed(t))
	assert.Empty(t, e.groq.Calls())

	off := newEnv(t, withConfig(func(c *config) { c.Concurrency, c.MaxConcurrentPerUser = failingLimiter{}, 0 }))
	_, err = off.svc.Chat(context.Background(), off.user, req(domain.TierFast, "hi"), &collectSink{})
	assert.NoError(t, err, "a limit of 0 turns the limiter off")
}

// recordingLimiter wraps a limiter and records the calls on it, in order.
type recordingLimiter struct {
	*memory.ConcurrencyLimiter
	mu    sync.Mutex
	calls []string
}

func (l *recordingLimiter) Renew(ctx context.Context, key, lease string, ttl time.Duration) (bool, error) {
	l.mu.Lock()
	l.calls = append(l.calls, "renew")
	l.mu.Unlock()
	return l.ConcurrencyLimiter.Renew(ctx, key, lease, ttl)
}

func (l *recordingLimiter) Release(ctx context.Context, key, lease string) error {
	l.mu.Lock()
	l.calls = append(l.calls, "release")
	l.mu.Unlock()
	return l.ConcurrencyLimiter.Release(ctx, key, lease)
}

func (l *recordingLimiter) recorded() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.calls...)
}

func TestChatSlotRenewedWhileTheRequestRunsThenReleased(t *testing.T) {
	t.Parallel()
	lim := &recordingLimiter{ConcurrencyLimiter: memory.NewConcurrencyLimiter(memory.NewClock(time.Now()))}
	e := newEnv(t, withConfig(func(c *config) {
		c.Concurrency, c.MaxConcurrentPerUser, c.LeaseTTL = lim, 1, 30*time.Millisecond
		c.FirstTokenTimeout, c.RequestTimeout = 10*time.Second, 20*time.Second
	}))
	started := make(chan struct{})
	b := tokensThenHang("a")
	b.onCall = func() { close(started) }
	e.groq.script(0, b)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := e.svc.Chat(ctx, e.user, req(domain.TierFast, "hi"), &collectSink{})
		done <- err
	}()
	<-started
	require.Eventually(t, func() bool { return len(lim.recorded()) >= 3 }, 5*time.Second, 5*time.Millisecond,
		"a running request renews its slot every LeaseTTL/3")
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	calls := lim.recorded()
	require.NotEmpty(t, calls)
	assert.Equal(t, "release", calls[len(calls)-1], "released once, after every renewal")
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, calls, lim.recorded(), "no renewal after the release")
	for _, c := range calls[:len(calls)-1] {
		assert.Equal(t, "renew", c)
	}
}
