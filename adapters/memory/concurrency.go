package memory

import (
	"context"
	"crypto/rand"
	"sync"
	"time"

	"github.com/genzai/genzai/ports"
)

var _ ports.ConcurrencyLimiter = (*ConcurrencyLimiter)(nil)

// ConcurrencyLimiter is an in-process ports.ConcurrencyLimiter, safe for
// concurrent use: for tests, and for a single instance (without Redis).
type ConcurrencyLimiter struct {
	clock ports.Clock

	mu sync.Mutex
	// leases maps a key to its leases and their expiry; a key without
	// leases is removed, so that the map holds only keys in use.
	leases map[string]map[string]time.Time
}

// NewConcurrencyLimiter returns a ConcurrencyLimiter that tells the time by clock.
func NewConcurrencyLimiter(clock ports.Clock) *ConcurrencyLimiter {
	return &ConcurrencyLimiter{clock: clock, leases: map[string]map[string]time.Time{}}
}

// Acquire implements ports.ConcurrencyLimiter. It never fails.
func (l *ConcurrencyLimiter) Acquire(_ context.Context, key string, limit int, ttl time.Duration) (string, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	held := l.leases[key]
	for id, exp := range held {
		if !exp.After(now) {
			delete(held, id)
		}
	}
	if len(held) >= limit {
		return "", false, nil
	}
	if held == nil {
		held = map[string]time.Time{}
		l.leases[key] = held
	}
	id := rand.Text()
	held[id] = now.Add(ttl)
	return id, true, nil
}

// Renew implements ports.ConcurrencyLimiter. It never fails.
func (l *ConcurrencyLimiter) Renew(_ context.Context, key, lease string, ttl time.Duration) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	exp, ok := l.leases[key][lease]
	if !ok || !exp.After(now) {
		return false, nil
	}
	l.leases[key][lease] = now.Add(ttl)
	return true, nil
}

// Release implements ports.ConcurrencyLimiter. It never fails.
func (l *ConcurrencyLimiter) Release(_ context.Context, key, lease string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.leases[key], lease)
	if len(l.leases[key]) == 0 {
		delete(l.leases, key)
	}
	return nil
}
