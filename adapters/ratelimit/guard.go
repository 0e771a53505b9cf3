package ratelimit

import (
	"context"
	"fmt"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.LoginGuard = (*GuardFallback)(nil)

// GuardFallback is a ports.LoginGuard that asks a primary guard (Redis,
// shared by every instance) and, while it fails, answers from a secondary
// one (in process) or fails, as its Fallback is configured. It shares the
// Fallback's view of the store: while the rate limiter bypasses a dead
// Redis, so does the guard, and each one's errors and successes inform the
// other. Safe for concurrent use.
type GuardFallback struct {
	primary, secondary ports.LoginGuard
	health             *Fallback
}

// NewGuardFallback returns a GuardFallback over primary that judges the
// store's health together with health (the rate limiter over the same
// store). secondary may be nil when health does not fail open.
func NewGuardFallback(primary, secondary ports.LoginGuard, health *Fallback) *GuardFallback {
	return &GuardFallback{primary: primary, secondary: secondary, health: health}
}

// Attempt implements ports.LoginGuard. Its errors are *domain.Error with
// CodeUnavailable: the primary failed and the fallback does not fail open
// (or the secondary failed too).
func (g *GuardFallback) Attempt(ctx context.Context, key string, rule domain.LoginBackoff) (domain.LoginAttempt, error) {
	return try(ctx, g.health, guardUnavailable,
		func() (domain.LoginAttempt, error) { return g.primary.Attempt(ctx, key, rule) },
		func() (domain.LoginAttempt, error) { return g.secondary.Attempt(ctx, key, rule) })
}

// Reset implements ports.LoginGuard: it resets both guards, since either
// may hold the account's count. Errors: CodeUnavailable when the primary
// fails and the fallback does not fail open.
func (g *GuardFallback) Reset(ctx context.Context, key string) error {
	if g.secondary != nil {
		_ = g.secondary.Reset(ctx, key) // in process: never fails
	}
	err := g.health.skip()
	if err == nil {
		if err = g.primary.Reset(ctx, key); err == nil {
			g.health.succeeded()
			return nil
		}
		if ctx.Err() == nil {
			g.health.failed(err)
		}
	}
	if g.health.failOpen {
		return nil
	}
	return guardUnavailable(err)
}

func guardUnavailable(err error) error {
	return &domain.Error{Code: domain.CodeUnavailable, Message: "Login guard unavailable", Err: fmt.Errorf("login guard: %w", err)}
}
