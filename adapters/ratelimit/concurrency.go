package ratelimit

import (
	"context"
	"strings"
	"time"

	"github.com/genzai/genzai/ports"
)

var _ ports.ConcurrencyLimiter = (*ConcurrencyFallback)(nil)

// localLease marks the leases the secondary limiter granted, so that
// renewing and releasing them go back to it.
const localLease = "local:"

// ConcurrencyFallback is a ports.ConcurrencyLimiter that takes leases from
// a primary (Redis, shared by every instance) and, while the primary
// fails, from a secondary (in process) or not at all, as its Fallback is
// configured. It shares that Fallback's view of the store (they use the
// same Redis): one outage, one backoff, one warning. Safe for concurrent use.
type ConcurrencyFallback struct {
	primary, secondary ports.ConcurrencyLimiter
	health             *Fallback
}

// NewConcurrencyFallback returns a ConcurrencyFallback over primary that
// follows health's state and fail-open setting; secondary may be nil when
// health does not fail open.
func NewConcurrencyFallback(primary, secondary ports.ConcurrencyLimiter, health *Fallback) *ConcurrencyFallback {
	return &ConcurrencyFallback{primary: primary, secondary: secondary, health: health}
}

// Acquire implements ports.ConcurrencyLimiter. Its errors are *domain.Error
// with CodeUnavailable: the primary failed and the limiter does not fail
// open (or the secondary failed too).
func (f *ConcurrencyFallback) Acquire(ctx context.Context, key string, limit int, ttl time.Duration) (string, bool, error) {
	type grant struct {
		lease string
		ok    bool
	}
	g, err := try(ctx, f.health, unavailable,
		func() (grant, error) {
			lease, ok, err := f.primary.Acquire(ctx, key, limit, ttl)
			return grant{lease, ok}, err
		},
		func() (grant, error) {
			lease, ok, err := f.secondary.Acquire(ctx, key, limit, ttl)
			return grant{localLease + lease, ok}, err
		})
	return g.lease, g.ok, err
}

// Renew implements ports.ConcurrencyLimiter on whichever limiter granted
// the lease.
func (f *ConcurrencyFallback) Renew(ctx context.Context, key, lease string, ttl time.Duration) (bool, error) {
	if local, ok := strings.CutPrefix(lease, localLease); ok {
		return f.secondary.Renew(ctx, key, local, ttl)
	}
	return f.primary.Renew(ctx, key, lease, ttl)
}

// Release implements ports.ConcurrencyLimiter on whichever limiter granted
// the lease.
func (f *ConcurrencyFallback) Release(ctx context.Context, key, lease string) error {
	if local, ok := strings.CutPrefix(lease, localLease); ok {
		return f.secondary.Release(ctx, key, local)
	}
	return f.primary.Release(ctx, key, lease)
}
