package routing_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/routing"
	"github.com/genzai/genzai/ports"
)

var t0 = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

// fakeProvider answers every call with its script for the key (an error
// refuses the call, deltas answer it); an empty script answers with the
// provider's name.
type fakeProvider struct {
	name domain.Provider
	keys int

	mu     sync.Mutex
	script map[int][]any
	calls  []int // key of each call
}

var _ ports.ChatProvider = (*fakeProvider)(nil)

func newFake(name domain.Provider, keys int) *fakeProvider {
	return &fakeProvider{name: name, keys: keys, script: map[int][]any{}}
}

func (f *fakeProvider) Name() domain.Provider { return f.name }

func (f *fakeProvider) KeyCount() int { return f.keys }

func (f *fakeProvider) on(key int, b any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script[key] = append(f.script[key], b)
}

func (f *fakeProvider) Calls() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.calls...)
}

func (f *fakeProvider) StreamChat(_ context.Context, key int, _ domain.CompletionRequest) (ports.ChatStream, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, key)
	var b any = []domain.ChatDelta{{Content: string(f.name)}, {FinishReason: "stop"}}
	if q := f.script[key]; len(q) > 0 {
		b, f.script[key] = q[0], q[1:]
	}
	if err, ok := b.(*domain.ProviderError); ok {
		pe := *err
		pe.Provider = f.name
		return nil, &pe
	}
	return &fakeStream{deltas: b.([]domain.ChatDelta)}, nil
}

type fakeStream struct{ deltas []domain.ChatDelta }

func (s *fakeStream) Recv() (domain.ChatDelta, error) {
	if len(s.deltas) == 0 {
		return domain.ChatDelta{}, io.EOF
	}
	d := s.deltas[0]
	s.deltas = s.deltas[1:]
	return d, nil
}

func (s *fakeStream) Close() error { return nil }

// CallsPerKey counts the calls made with each key.
func (f *fakeProvider) CallsPerKey() []int {
	out := make([]int, f.keys)
	for _, k := range f.Calls() {
		out[k]++
	}
	return out
}

func rejected() *domain.ProviderError {
	return &domain.ProviderError{Class: domain.FailureKeyRejected, Reason: domain.ReasonKeyRejected, Status: 401}
}

func rateLimited(retryAfter time.Duration) *domain.ProviderError {
	return &domain.ProviderError{Class: domain.FailureRateLimited, Reason: domain.ReasonRateLimited, Status: 429, RetryAfter: retryAfter}
}

func serverError(reason domain.AttemptReason) *domain.ProviderError {
	return &domain.ProviderError{Class: domain.FailureRetryable, Reason: reason, Status: 503}
}

// newRouter builds a router over p for the fast tier, sharing cooldowns
// through shared when it is not nil.
func newRouter(p *fakeProvider, clock ports.Clock, shared ports.CooldownStore) *routing.Router {
	return routing.New(routing.Config{
		Providers:         []routing.ProviderConfig{{Client: p}},
		Chains:            map[domain.Tier][]routing.Route{domain.TierFast: {{Provider: domain.ProviderGroq, Model: "m"}}},
		FirstTokenTimeout: 2 * time.Second, RequestTimeout: 5 * time.Second,
		KeyRejectCoolOff: 10 * time.Minute, BreakerFailures: 3, BreakerCoolOff: time.Minute,
		SharedCooldowns: shared,
	}, clock, slog.New(slog.DiscardHandler))
}

// open asks r for a fast answer and reads it to the end.
func open(t *testing.T, r *routing.Router) (routing.Trace, error) {
	t.Helper()
	a, trace, err := r.Open(context.Background(), routing.Request{Tier: domain.TierFast, Stream: true, Began: time.Now()})
	if err != nil {
		return trace, err
	}
	defer a.Close()
	for {
		if _, err := a.Next(); errors.Is(err, io.EOF) {
			return trace, nil
		} else if err != nil {
			return trace, err
		}
	}
}

func TestRejectedKeyIsSharedAndComesBackAfterItsCoolOff(t *testing.T) {
	t.Parallel()
	clock := memory.NewClock(t0)
	shared := memory.NewCooldownStore(clock)
	groq := newFake(domain.ProviderGroq, 2)
	a, b := newRouter(groq, clock, shared), newRouter(groq, clock, shared)

	groq.on(0, rejected())
	trace, err := open(t, a)
	require.NoError(t, err)
	assert.Equal(t, []domain.Attempt{{Provider: domain.ProviderGroq, Reason: domain.ReasonKeyRejected, KeyIndex: ptr(0)}}, trace.Attempts)
	assert.Equal(t, []int{0, 1}, groq.Calls(), "instance a met the rejection and answered with key 1")

	for range 3 {
		clock.Advance(time.Minute)
		_, err := open(t, b)
		require.NoError(t, err)
	}
	assert.Equal(t, []int{0, 1, 1, 1, 1}, groq.Calls(), "instance b never tried the key a saw rejected")
	assert.True(t, b.Providers()[0].Keys[0].Rejected, "b reports the key rejected")

	clock.Advance(7*time.Minute + time.Second) // the cool-off is over
	for _, r := range []*routing.Router{a, b} {
		_, err := open(t, r)
		require.NoError(t, err)
	}
	assert.Equal(t, []int{0, 1, 1, 1, 1, 0, 0}, groq.Calls(), "after the cool-off, both try the key again (the least used)")
	assert.False(t, b.Providers()[0].Keys[0].Rejected)
}

func TestEveryKeyRejectedIsNoUsableKeyOnEveryInstance(t *testing.T) {
	t.Parallel()
	clock := memory.NewClock(t0)
	shared := memory.NewCooldownStore(clock)
	groq := newFake(domain.ProviderGroq, 1)
	a, b := newRouter(groq, clock, shared), newRouter(groq, clock, shared)

	groq.on(0, rejected())
	_, err := open(t, a)
	var pu *domain.ProvidersUnavailableError
	require.ErrorAs(t, err, &pu)
	assert.Equal(t, []domain.Attempt{
		{Provider: domain.ProviderGroq, Reason: domain.ReasonKeyRejected, KeyIndex: ptr(0)},
		{Provider: domain.ProviderGroq, Reason: domain.ReasonNoUsableKey},
	}, pu.Attempts)

	_, err = open(t, b)
	require.ErrorAs(t, err, &pu)
	assert.Equal(t, []domain.Attempt{{Provider: domain.ProviderGroq, Reason: domain.ReasonNoUsableKey}}, pu.Attempts, "b skips the key a saw rejected")
	assert.Len(t, groq.Calls(), 1)
}

func TestMonitorRejectionIsShared(t *testing.T) {
	t.Parallel()
	clock := memory.NewClock(t0)
	shared := memory.NewCooldownStore(clock)
	groq := newFake(domain.ProviderGroq, 2)
	a, b := newRouter(groq, clock, shared), newRouter(groq, clock, shared)

	a.RejectKey(context.Background(), domain.ProviderGroq, 0) // a probe was refused
	for range 2 {
		key, ok, all := b.ProbeKey(context.Background(), domain.ProviderGroq)
		assert.Equal(t, []any{1, true, false}, []any{key, ok, all}, "b's probes skip the key a's probe saw rejected")
	}
	a.RejectKey(context.Background(), domain.ProviderGroq, 1)
	_, ok, all := b.ProbeKey(context.Background(), domain.ProviderGroq)
	assert.False(t, ok)
	assert.True(t, all, "every key rejected")

	clock.Advance(10 * time.Minute)
	_, ok, _ = b.ProbeKey(context.Background(), domain.ProviderGroq)
	assert.True(t, ok, "after the cool-off the keys are probed again")
}

func TestOpenStopsAtTheFirstToken(t *testing.T) {
	t.Parallel()
	clock := memory.NewClock(t0)
	groq := newFake(domain.ProviderGroq, 1)
	r := newRouter(groq, clock, nil)
	call := []domain.ToolCallDelta{{ID: "call_1", Name: "f"}}
	usage := &domain.Usage{PromptTokens: 3}
	groq.on(0, []domain.ChatDelta{{}, {Usage: usage}, {ToolCalls: call}, {FinishReason: "tool_calls"}})

	a, trace, err := r.Open(context.Background(), routing.Request{Tier: domain.TierFast, Stream: true, Began: time.Now()})
	require.NoError(t, err)
	defer a.Close()
	assert.Empty(t, trace.Attempts)
	assert.True(t, trace.Accepted())
	assert.Equal(t, routing.Trace{Provider: domain.ProviderGroq, Model: "m", KeyIndex: ptr(0)}, trace)
	assert.Equal(t, domain.ProviderGroq, a.Provider)
	assert.Equal(t, "m", a.Model)
	assert.Positive(t, a.FirstToken, "a tool call is the first token")

	var got []domain.ChatDelta
	for {
		d, err := a.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		got = append(got, d)
	}
	assert.Equal(t, []domain.ChatDelta{{Usage: usage}, {ToolCalls: call}, {FinishReason: "tool_calls"}}, got,
		"the deltas read before the first token come first; empty ones are dropped")
}

func TestSetDownSkipsTheProvider(t *testing.T) {
	t.Parallel()
	groq := newFake(domain.ProviderGroq, 1)
	r := newRouter(groq, memory.NewClock(t0), nil)
	r.SetDown([]domain.Provider{domain.ProviderGroq})
	_, err := open(t, r)
	var pu *domain.ProvidersUnavailableError
	require.ErrorAs(t, err, &pu)
	assert.Equal(t, []domain.Attempt{{Provider: domain.ProviderGroq, Reason: domain.ReasonProviderDown}}, pu.Attempts)
	assert.Empty(t, groq.Calls())
	assert.True(t, r.Snapshot().Providers[0].Down)
	assert.False(t, r.Snapshot().Tiers[0].Available)

	r.SetDown(nil) // the next report says it is up
	_, err = open(t, r)
	require.NoError(t, err)
}

func ptr(i int) *int { return &i }

// slowProvider answers every call with one delta after delay, recording
// the delivery each call asked for.
type slowProvider struct {
	delay time.Duration
	name  domain.Provider // groq when empty

	mu         sync.Mutex
	deliveries []domain.Delivery
}

func (p *slowProvider) Name() domain.Provider {
	if p.name == "" {
		return domain.ProviderGroq
	}
	return p.name
}

func (p *slowProvider) KeyCount() int { return 1 }

func (p *slowProvider) StreamChat(ctx context.Context, _ int, req domain.CompletionRequest) (ports.ChatStream, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deliveries = append(p.deliveries, req.Delivery)
	return &slowStream{ctx: ctx, delay: p.delay}, nil
}

func (p *slowProvider) Deliveries() []domain.Delivery {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]domain.Delivery(nil), p.deliveries...)
}

type slowStream struct {
	ctx   context.Context
	delay time.Duration
	done  bool
}

func (s *slowStream) Recv() (domain.ChatDelta, error) {
	if s.done {
		return domain.ChatDelta{}, io.EOF
	}
	t := time.NewTimer(s.delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.ctx.Done():
		return domain.ChatDelta{}, &domain.ProviderError{Provider: domain.ProviderGroq, Class: domain.FailureRetryable,
			Reason: domain.ReasonConnectionError, Err: s.ctx.Err()}
	}
	s.done = true
	return domain.ChatDelta{Content: "the whole answer", FinishReason: "stop"}, nil
}

func (s *slowStream) Close() error { return nil }

// TestWholeAnswerIsBoundByTheRequestTimeout: a non-streaming request asks
// the provider for the whole answer, whose first token is its last, so
// the first-token timeout does not cut it: the request timeout does.
func TestWholeAnswerIsBoundByTheRequestTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		stream         bool
		delay          time.Duration
		requestTimeout time.Duration
		wantDelivery   domain.Delivery
		wantAnswer     bool
	}{
		{name: "streamed: the first token is late", stream: true, delay: 300 * time.Millisecond, requestTimeout: 5 * time.Second,
			wantDelivery: domain.DeliveryStreamed},
		{name: "whole: as late, but within the request timeout", delay: 300 * time.Millisecond, requestTimeout: 5 * time.Second,
			wantDelivery: domain.DeliveryWhole, wantAnswer: true},
		{name: "whole: past the request timeout", delay: time.Minute, requestTimeout: 200 * time.Millisecond,
			wantDelivery: domain.DeliveryWhole},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &slowProvider{delay: tt.delay}
			r := routing.New(routing.Config{
				Providers:         []routing.ProviderConfig{{Client: p}},
				Chains:            map[domain.Tier][]routing.Route{domain.TierFast: {{Provider: domain.ProviderGroq, Model: "m"}}},
				FirstTokenTimeout: 50 * time.Millisecond, RequestTimeout: tt.requestTimeout,
				KeyRejectCoolOff: 10 * time.Minute, BreakerFailures: 3, BreakerCoolOff: time.Minute,
			}, memory.NewClock(t0), slog.New(slog.DiscardHandler))

			a, trace, err := r.Open(context.Background(), routing.Request{Tier: domain.TierFast, Stream: tt.stream, Began: time.Now()})
			assert.Equal(t, []domain.Delivery{tt.wantDelivery}, p.Deliveries())
			if !tt.wantAnswer {
				var pu *domain.ProvidersUnavailableError
				require.ErrorAs(t, err, &pu)
				assert.Equal(t, []domain.Attempt{{Provider: domain.ProviderGroq, Reason: domain.ReasonTimeout, KeyIndex: ptr(0)}}, pu.Attempts)
				return
			}
			require.NoError(t, err)
			defer a.Close()
			assert.Empty(t, trace.Attempts)
			d, err := a.Next()
			require.NoError(t, err)
			assert.Equal(t, "the whole answer", d.Content)
			_, err = a.Next()
			assert.ErrorIs(t, err, io.EOF)
		})
	}
}

// A provider that hangs on a whole answer is cut before the request's
// deadline, leaving one first-token timeout for the next provider.
func TestWholeAnswerFallsBackFromAHungProvider(t *testing.T) {
	t.Parallel()
	hung := &slowProvider{delay: time.Minute}
	quick := &slowProvider{name: domain.ProviderOpenRouter, delay: 10 * time.Millisecond}
	r := routing.New(routing.Config{
		Providers: []routing.ProviderConfig{{Client: hung}, {Client: quick}},
		Chains: map[domain.Tier][]routing.Route{domain.TierFast: {
			{Provider: domain.ProviderGroq, Model: "m"}, {Provider: domain.ProviderOpenRouter, Model: "m"}}},
		FirstTokenTimeout: 300 * time.Millisecond, RequestTimeout: 2 * time.Second,
		KeyRejectCoolOff: 10 * time.Minute, BreakerFailures: 3, BreakerCoolOff: time.Minute,
	}, memory.NewClock(t0), slog.New(slog.DiscardHandler))

	a, trace, err := r.Open(context.Background(), routing.Request{Tier: domain.TierFast, Began: time.Now()})
	require.NoError(t, err)
	defer a.Close()
	assert.Equal(t, domain.ProviderOpenRouter, a.Provider)
	assert.Equal(t, []domain.Attempt{{Provider: domain.ProviderGroq, Reason: domain.ReasonTimeout, KeyIndex: ptr(0)}}, trace.Attempts)
	assert.Equal(t, []domain.Delivery{domain.DeliveryWhole}, quick.Deliveries())
}
