package ratelimit_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/adapters/ratelimit"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var (
	start   = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	hourly  = domain.Rate{Limit: 10, Period: time.Hour}
	errDown = errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
)

const (
	msgDown     = "rate limiter store unreachable, using the in-process limiter"
	msgDownShut = "rate limiter store unreachable, refusing requests until it is back"
	msgBack     = "rate limiter store is back"
)

// fakeStore is a primary limiter that answers or fails on demand; with a
// gate it holds every call until the gate closes, and tells on entered.
type fakeStore struct {
	mu      sync.Mutex
	err     error
	gate    chan struct{}
	entered chan struct{}
	calls   int
}

var answer = domain.RateDecision{Allowed: true, Limit: 10, Remaining: 7, ResetAfter: time.Minute}

func (s *fakeStore) Allow(ctx context.Context, _ string, _ domain.Rate) (domain.RateDecision, error) {
	s.mu.Lock()
	s.calls++
	err, gate := s.err, s.gate
	s.mu.Unlock()
	if gate != nil {
		s.entered <- struct{}{}
		<-gate
	}
	if ctx.Err() != nil {
		return domain.RateDecision{}, ctx.Err()
	}
	if err != nil {
		return domain.RateDecision{}, err
	}
	return answer, nil
}

func (s *fakeStore) set(err error, gate chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err, s.gate, s.entered = err, gate, make(chan struct{}, 1)
}

func (s *fakeStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// counting counts the calls that reach a limiter.
type counting struct {
	ports.RateLimiter
	calls atomic.Int32
}

func (c *counting) Allow(ctx context.Context, key string, rate domain.Rate) (domain.RateDecision, error) {
	c.calls.Add(1)
	return c.RateLimiter.Allow(ctx, key, rate)
}

// logRecorder keeps the messages logged through it.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	msg := rec.Level.String() + " " + rec.Message
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "error" {
			msg += " error=" + a.Value.String()
		}
		return true
	})
	r.msgs = append(r.msgs, msg)
	return nil
}

func (r *logRecorder) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string{}, r.msgs...)
}

type fixture struct {
	primary   *fakeStore
	secondary *counting
	clock     *memory.Clock
	logs      *logRecorder
	f         *ratelimit.Fallback
}

func newFixture(failOpen bool) *fixture {
	fx := &fixture{primary: &fakeStore{}, clock: memory.NewClock(start), logs: &logRecorder{}}
	fx.secondary = &counting{RateLimiter: memory.NewRateLimiter(fx.clock)}
	fx.f = ratelimit.NewFallback(fx.primary, fx.secondary, failOpen, slog.New(fx.logs), fx.clock)
	return fx
}

// allow asks the Fallback and says who answered: "primary", "secondary"
// or "error".
func (fx *fixture) allow(t *testing.T) string {
	t.Helper()
	p, s := fx.primary.count(), fx.secondary.calls.Load()
	d, err := fx.f.Allow(context.Background(), "ip:192.0.2.1", hourly)
	switch {
	case err != nil:
		assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err), "err: %v", err)
		assert.ErrorIs(t, err, errDown)
		return "error"
	case fx.secondary.calls.Load() > s:
		return "secondary"
	case fx.primary.count() > p:
		assert.Equal(t, answer, d)
		return "primary"
	}
	t.Fatal("nobody answered")
	return ""
}

func TestFallbackOutageAndRecovery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		failOpen bool
		outage   string // who answers while the primary is down
		down     string // the warning
	}{
		{"fail open", true, "secondary", msgDown},
		{"fail closed", false, "error", msgDownShut},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(tc.failOpen)
			warn := "WARN " + tc.down + " error=" + errDown.Error()

			assert.Equal(t, "primary", fx.allow(t))
			assert.True(t, fx.f.Healthy())

			fx.primary.set(errDown, nil)
			assert.Equal(t, tc.outage, fx.allow(t), "the failing request itself is answered")
			assert.False(t, fx.f.Healthy())
			assert.Equal(t, 2, fx.primary.count())

			// During the back-off the primary is not asked at all.
			for range 20 {
				assert.Equal(t, tc.outage, fx.allow(t))
			}
			fx.clock.Advance(ratelimit.Backoff - time.Nanosecond)
			assert.Equal(t, tc.outage, fx.allow(t))
			assert.Equal(t, 2, fx.primary.count(), "not asked during the back-off")

			// Then once per back-off, and warned about once a minute.
			probes := 0
			for elapsed := ratelimit.Backoff; elapsed < ratelimit.WarnEvery; elapsed += ratelimit.Backoff {
				fx.clock.Set(start.Add(elapsed))
				assert.Equal(t, tc.outage, fx.allow(t))
				assert.Equal(t, tc.outage, fx.allow(t))
				probes++
			}
			assert.Equal(t, 2+probes, fx.primary.count(), "one probe per back-off")
			assert.Equal(t, []string{warn}, fx.logs.lines(), "one warning in the first minute")
			fx.clock.Set(start.Add(ratelimit.WarnEvery))
			assert.Equal(t, tc.outage, fx.allow(t))
			assert.Equal(t, []string{warn, warn}, fx.logs.lines(), "reminded after a minute")

			// The primary is back: the next probe finds it, and it answers
			// from then on.
			fx.primary.set(nil, nil)
			assert.Equal(t, tc.outage, fx.allow(t), "still backing off")
			fx.clock.Advance(ratelimit.Backoff)
			for range 5 {
				assert.Equal(t, "primary", fx.allow(t))
			}
			assert.True(t, fx.f.Healthy())
			assert.Equal(t, []string{warn, warn, "INFO " + msgBack}, fx.logs.lines())
		})
	}
}

func TestFallbackProbesOnceWhileOthersGoOn(t *testing.T) {
	t.Parallel()
	fx := newFixture(true)
	fx.primary.set(errDown, nil)
	require.Equal(t, "secondary", fx.allow(t))
	fx.clock.Advance(ratelimit.Backoff)

	// The probe hangs, like a request to a black-holed store; everyone
	// else is answered meanwhile by the secondary.
	gate := make(chan struct{})
	fx.primary.set(errDown, gate)
	probed := make(chan domain.RateDecision)
	go func() {
		d, _ := fx.f.Allow(context.Background(), "ip:192.0.2.1", hourly)
		probed <- d
	}()
	<-fx.primary.entered
	var admitted atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			d, err := fx.f.Allow(context.Background(), "ip:192.0.2.1", hourly)
			if assert.NoError(t, err) && d.Allowed {
				admitted.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 2, fx.primary.count(), "one probe at a time")
	assert.Equal(t, int32(51), fx.secondary.calls.Load())
	assert.Equal(t, int32(hourly.Limit-1), admitted.Load(), "the secondary limits: one of its budget went before")
	close(gate)
	d := <-probed
	assert.Equal(t, int32(52), fx.secondary.calls.Load(), "the failed probe is answered by the secondary")
	assert.False(t, d.Allowed)
	assert.Len(t, fx.logs.lines(), 1)
}

func TestFallbackCallerGivingUpIsNoOutage(t *testing.T) {
	t.Parallel()
	fx := newFixture(true)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := fx.f.Allow(ctx, "k", hourly)
	assert.ErrorIs(t, err, context.Canceled)
	assert.True(t, fx.f.Healthy())
	assert.Empty(t, fx.logs.lines())
	assert.Equal(t, "primary", fx.allow(t), "the next request asks the primary")
	assert.Zero(t, fx.secondary.calls.Load())

	// A probe abandoned by its caller is no probe: the next request probes.
	fx.primary.set(errDown, nil)
	require.Equal(t, "secondary", fx.allow(t))
	fx.clock.Advance(ratelimit.Backoff)
	_, err = fx.f.Allow(ctx, "k", hourly)
	assert.ErrorIs(t, err, context.Canceled)
	fx.primary.set(nil, nil)
	assert.Equal(t, "primary", fx.allow(t))
}

// pingStore is a primary that can be pinged.
type pingStore struct {
	fakeStore
	pingErr error
}

func (p *pingStore) Ping(context.Context) error { return p.pingErr }

func TestFallbackPing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pingErr := errors.New("ping: i/o timeout")
	for _, tc := range []struct {
		name    string
		primary ports.RateLimiter
		fail    func()
		want    error
	}{
		{name: "pinger, answering", primary: &pingStore{}},
		{name: "pinger, failing", primary: &pingStore{pingErr: pingErr}, want: pingErr},
		{name: "no pinger, healthy", primary: &fakeStore{}},
		{name: "no pinger, down", primary: &fakeStore{err: errDown}, want: errDown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := ratelimit.NewFallback(tc.primary, memory.NewRateLimiter(memory.NewClock(start)), true, nil, nil)
			_, err := f.Allow(ctx, "k", hourly)
			require.NoError(t, err)
			assert.Equal(t, tc.want, f.Ping(ctx))
		})
	}
}
