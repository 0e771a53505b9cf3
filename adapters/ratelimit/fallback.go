// Package ratelimit composes rate limiters.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/genzai/genzai/adapters/clock"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var (
	_ ports.RateLimiter = (*Fallback)(nil)
	_ ports.Pinger      = (*Fallback)(nil)
)

const (
	// Backoff is how long Fallback leaves the primary alone after it failed.
	Backoff = 2 * time.Second
	// WarnEvery is the least time between two warnings about the primary.
	WarnEvery = time.Minute
)

// Fallback is a ports.RateLimiter that asks a primary limiter (Redis,
// shared by every instance) and, while the primary fails, either answers
// from a secondary one (in process) or fails, as configured. Safe for
// concurrent use.
//
// After a primary error it stops asking the primary for Backoff, so that a
// dead store does not add its timeout to every request; then a single
// request probes it while the others keep using the secondary, and the
// first success switches back. The outage is logged as a warning at most
// once per WarnEvery, and its end once, at info level.
type Fallback struct {
	primary, secondary ports.RateLimiter
	failOpen           bool
	logger             *slog.Logger
	clock              ports.Clock

	mu       sync.Mutex
	down     bool      // the primary's last answer was an error
	probeAt  time.Time // while down, when the next request may ask the primary
	lastErr  error     // the primary's last error, while down
	warned   bool      // this outage has been logged
	warnedAt time.Time // when an outage was last logged
}

// NewFallback returns a Fallback over primary. With failOpen, requests are
// answered by secondary while primary fails; without it they get primary's
// error (secondary may then be nil). A nil logger discards the log; a nil
// clock is the system clock.
func NewFallback(primary, secondary ports.RateLimiter, failOpen bool, logger *slog.Logger, clk ports.Clock) *Fallback {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if clk == nil {
		clk = clock.System{}
	}
	return &Fallback{primary: primary, secondary: secondary, failOpen: failOpen, logger: logger, clock: clk}
}

// Allow implements ports.RateLimiter. Its errors are *domain.Error with
// CodeUnavailable: the primary failed and the Fallback does not fail open
// (or the secondary failed too).
func (f *Fallback) Allow(ctx context.Context, key string, rate domain.Rate) (domain.RateDecision, error) {
	return try(ctx, f, unavailable,
		func() (domain.RateDecision, error) { return f.primary.Allow(ctx, key, rate) },
		func() (domain.RateDecision, error) { return f.secondary.Allow(ctx, key, rate) })
}

// try is the one decision behind every limiter that shares a store (rates,
// the login guard, concurrency): ask primary unless f is bypassing the
// store, record what its answer says about the store's health, and, when
// it cannot answer, use secondary if f fails open, else fail with
// unavailable. A caller that gave up says nothing about the store.
func try[T any](ctx context.Context, f *Fallback, unavailable func(error) error, primary, secondary func() (T, error)) (T, error) {
	var zero T
	err := f.skip()
	if err == nil {
		v, perr := primary()
		switch {
		case perr == nil:
			f.succeeded()
			return v, nil
		case ctx.Err() != nil:
			f.abandoned()
			return zero, perr
		}
		f.failed(perr)
		err = perr
	}
	if !f.failOpen {
		return zero, unavailable(err)
	}
	v, serr := secondary()
	if serr != nil {
		return zero, unavailable(errors.Join(err, serr))
	}
	return v, nil
}

// Healthy reports whether the primary answered the last time it was asked.
func (f *Fallback) Healthy() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.down
}

// Ping implements ports.Pinger, for a readiness report: it pings the
// primary when that is a ports.Pinger, and otherwise returns the primary's
// last error while it is being bypassed. It changes no state: requests
// themselves find out when the primary is back.
func (f *Fallback) Ping(ctx context.Context) error {
	if p, ok := f.primary.(ports.Pinger); ok {
		return p.Ping(ctx)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return f.lastErr
	}
	return nil
}

// skip returns the primary's last error while it must not be asked, and
// nil when it may be. While the primary is down, it lets one request
// through per Backoff, so that concurrent requests do not all wait for a
// dead store.
func (f *Fallback) skip() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.down {
		return nil
	}
	now := f.clock.Now()
	if now.Before(f.probeAt) {
		return f.lastErr
	}
	f.probeAt = now.Add(Backoff)
	return nil
}

// succeeded records an answer from the primary.
func (f *Fallback) succeeded() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.down {
		return
	}
	if f.warned {
		f.logger.Info("rate limiter store is back")
	}
	f.down, f.warned, f.lastErr = false, false, nil
}

// abandoned releases a probe whose caller gave up, so that the next
// request probes at once.
func (f *Fallback) abandoned() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		f.probeAt = time.Time{}
	}
}

// failed records a primary error and warns at most once per WarnEvery.
func (f *Fallback) failed(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock.Now()
	if !f.down {
		f.down = true
		f.probeAt = now.Add(Backoff)
	}
	f.lastErr = err
	if !f.warnedAt.IsZero() && now.Sub(f.warnedAt) < WarnEvery {
		return
	}
	f.warned, f.warnedAt = true, now
	if f.failOpen {
		f.logger.Warn("rate limiter store unreachable, using the in-process limiter", "error", err)
	} else {
		f.logger.Warn("rate limiter store unreachable, refusing requests until it is back", "error", err)
	}
}

func unavailable(err error) error {
	return &domain.Error{Code: domain.CodeUnavailable, Message: "Rate limiter unavailable", Err: fmt.Errorf("rate limit: %w", err)}
}
