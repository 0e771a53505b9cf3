package routing

import (
	"sync"
	"time"
)

// BreakerState is a circuit breaker's state.
type BreakerState string

// The breaker states.
const (
	BreakerClosed   BreakerState = "closed"
	BreakerOpen     BreakerState = "open"
	BreakerHalfOpen BreakerState = "half_open"
)

// breaker is a per-provider circuit breaker: it opens after `threshold`
// consecutive failures, and after `coolOff` lets one trial request through;
// the trial's success closes it, its failure opens it again.
type breaker struct {
	mu        sync.Mutex
	threshold int
	coolOff   time.Duration
	failures  int
	openUntil time.Time
	trial     bool // a half-open trial is in flight
}

func newBreaker(threshold int, coolOff time.Duration) *breaker {
	return &breaker{threshold: max(threshold, 1), coolOff: coolOff}
}

func (b *breaker) stateLocked(now time.Time) BreakerState {
	switch {
	case b.failures < b.threshold:
		return BreakerClosed
	case now.Before(b.openUntil):
		return BreakerOpen
	default:
		return BreakerHalfOpen
	}
}

// state reports the state at now.
func (b *breaker) state(now time.Time) BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stateLocked(now)
}

// allow reports whether a request may go to the provider; in half-open
// state only one trial at a time is allowed.
func (b *breaker) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.stateLocked(now) {
	case BreakerClosed:
		return true
	case BreakerHalfOpen:
		if b.trial {
			return false
		}
		b.trial = true
		return true
	default:
		return false
	}
}

// success records an answer from the provider and closes the breaker.
func (b *breaker) success() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures, b.trial = 0, false
}

// failure records a provider failure; at the threshold the breaker opens.
func (b *breaker) failure(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	b.trial = false
	if b.failures >= b.threshold {
		b.openUntil = now.Add(b.coolOff)
	}
}

// release ends a trial that said nothing about the provider's health (a
// rate-limited or rejected key, a cancelled request).
func (b *breaker) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.trial = false
}
