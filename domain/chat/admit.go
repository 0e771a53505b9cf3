package chat

import (
	"context"
	"fmt"
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
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(ttl / 3)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				// A long stream keeps its slot; the renewal must not fail
				// with the request's context (the client may be gone while
				// the request winds down).
				held, err := s.cfg.Concurrency.Renew(context.WithoutCancel(ctx), key, lease, ttl)
				if err != nil || !held {
					s.log.Warn("renew request slot", "user_id", u.ID, "held", held, "error", err)
				}
			}
		}
	}()
	return func() {
		close(stop)
		<-stopped
		if err := s.cfg.Concurrency.Release(context.WithoutCancel(ctx), key, lease); err != nil {
			// The lease expires by itself after LeaseTTL.
			s.log.Warn("release request slot", "user_id", u.ID, "error", err)
		}
	}, nil
}
