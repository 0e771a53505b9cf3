package memory

import (
	"context"
	"sync"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.LoginGuard = (*LoginGuard)(nil)

// loginGuardSweep is how often LoginGuard drops forgotten accounts, so that
// guesses at many addresses do not grow the map for ever.
const loginGuardSweep = time.Minute

// LoginGuard is an in-process ports.LoginGuard, safe for concurrent use:
// for tests, and for a single instance.
type LoginGuard struct {
	clock ports.Clock

	mu        sync.Mutex
	accounts  map[string]guardState
	lastSweep time.Time
}

// guardState is one account's count and lock.
type guardState struct {
	count       int
	lockedUntil time.Time
	forgetAt    time.Time
}

// NewLoginGuard returns an empty LoginGuard that tells the time by clock.
func NewLoginGuard(clock ports.Clock) *LoginGuard {
	return &LoginGuard{clock: clock, accounts: map[string]guardState{}}
}

// Attempt implements ports.LoginGuard. It never fails.
func (g *LoginGuard) Attempt(_ context.Context, key string, rule domain.LoginBackoff) (domain.LoginAttempt, error) {
	if !rule.Enabled() {
		return domain.LoginAttempt{Allowed: true}, nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.clock.Now()
	g.sweep(now)
	st, ok := g.accounts[key]
	if ok && !now.Before(st.forgetAt) {
		st = guardState{}
	}
	if st.lockedUntil.After(now) {
		return domain.LoginAttempt{RetryAfter: st.lockedUntil.Sub(now)}, nil
	}
	st.count++
	lock := rule.Lock(st.count)
	if lock > 0 {
		st.lockedUntil = now.Add(lock)
	}
	st.forgetAt = now.Add(lock + rule.Window)
	g.accounts[key] = st
	return domain.LoginAttempt{Allowed: true}, nil
}

// Reset implements ports.LoginGuard. It never fails.
func (g *LoginGuard) Reset(_ context.Context, key string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.accounts, key)
	return nil
}

// sweep drops forgotten accounts at most once per loginGuardSweep.
func (g *LoginGuard) sweep(now time.Time) {
	if now.Sub(g.lastSweep) < loginGuardSweep {
		return
	}
	g.lastSweep = now
	for k, st := range g.accounts {
		if !now.Before(st.forgetAt) {
			delete(g.accounts, k)
		}
	}
}
