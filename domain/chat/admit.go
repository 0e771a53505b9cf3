package chat

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/genzai/genzai/domain"
)

// admit takes one of the user's concurrent request slots, renewed in the
// background while the request runs; release gives it back. Errors:
// CodeRateLimited (with RetryAfter) when every slot is taken, and the
// limiter's own (CodeUnavailable) when it cannot decide.
func (s *Service) admit(ctx context.Context, u domain.User) (release func(), err error) {
	limit := s.cfg.MaxConcurrentPerUser
	if s.cfg.Concurrency == nil || limit <= 0 {
		return func() {}, nil
	}
	key := "user:" + string(u.ID)
	ttl := s.cfg.LeaseTTL
	lease, ok, err := s.cfg.Concurrency.Acquire(ctx, key, limit, ttl)
	if err != nil {
		return nil, fmt.Errorf("acquire request slot: %w", err)
	}
	if !ok {
		return nil, &domain.Error{Code: domain.CodeRateLimited, RetryAfter: time.Second,
			Message: fmt.Sprintf("Too many concurrent requests (at most %d at a time)", limit)}
	}
	sl := &slot{s: s, ctx: context.WithoutCancel(ctx), user: u.ID, key: key, lease: lease, ttl: ttl}
	sl.mu.Lock()
	sl.timer = time.AfterFunc(ttl/3, sl.renew)
	sl.mu.Unlock()
	return sl.release, nil
}

// slot is a request slot held while the request runs. Its renewals run
// from a timer rather than a goroutine with a ticker: a stream may hold its
// slot for minutes, and tens of thousands of streams may be open at once,
// each of whose goroutines would keep a stack.
type slot struct {
	s *Service
	// ctx is the request's without its cancellation: a long stream keeps
	// its slot, and neither a renewal nor the release may fail with the
	// request's context (the client may be gone while the request winds
	// down).
	ctx   context.Context
	user  domain.UserID
	key   string
	lease string
	ttl   time.Duration

	// mu is held for a whole renewal, so that release, which takes it,
	// never gives the slot back while a renewal is in flight (a renewal
	// after the release could hold the slot again).
	mu       sync.Mutex
	timer    *time.Timer
	released bool
}

// renew extends the slot's lease and sets the timer for the next renewal.
func (sl *slot) renew() {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.released {
		return
	}
	held, err := sl.s.cfg.Concurrency.Renew(sl.ctx, sl.key, sl.lease, sl.ttl)
	if err != nil || !held {
		sl.s.log.Warn("renew request slot", "user_id", sl.user, "held", held, "error", err)
	}
	sl.timer.Reset(sl.ttl / 3)
}

// release stops the renewals and gives the slot back.
func (sl *slot) release() {
	sl.mu.Lock()
	sl.released = true
	sl.timer.Stop()
	sl.mu.Unlock()
	if err := sl.s.cfg.Concurrency.Release(sl.ctx, sl.key, sl.lease); err != nil {
		// The lease expires by itself after LeaseTTL.
		sl.s.log.Warn("release request slot", "user_id", sl.user, "error", err)
	}
}
