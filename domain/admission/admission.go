// Package admission bounds each user's requests in flight, of every kind
// (chat, images, voice), through one ports.ConcurrencyLimiter: every kind
// takes its slot under the same key, so MAX_CONCURRENT_REQUESTS_PER_USER
// bounds them together.
package admission

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// DefaultLeaseTTL is the lease of a slot when New is given none.
const DefaultLeaseTTL = time.Minute

// Gate hands out the users' request slots. A nil Gate, or one without a
// limiter or with a limit of 0, admits everything.
type Gate struct {
	limiter ports.ConcurrencyLimiter
	limit   int
	ttl     time.Duration
	log     *slog.Logger
}

// New builds a Gate allowing limit requests in flight per user (0: no
// bound). ttl is how long a slot outlives an instance that stopped renewing
// it (it crashed); running requests renew theirs every ttl/3 (0:
// DefaultLeaseTTL).
func New(limiter ports.ConcurrencyLimiter, limit int, ttl time.Duration, logger *slog.Logger) *Gate {
	if ttl <= 0 {
		ttl = DefaultLeaseTTL
	}
	return &Gate{limiter: limiter, limit: limit, ttl: ttl, log: logger}
}

// Admit takes one of the user's request slots, renewed in the background
// while the request runs; release gives it back (call it once, deferred,
// so that the slot comes back however the request ends). Errors:
// CodeRateLimited (with RetryAfter) when every slot is taken, and the
// limiter's own (CodeUnavailable) when it cannot decide.
func (g *Gate) Admit(ctx context.Context, user domain.UserID) (release func(), err error) {
	if g == nil || g.limiter == nil || g.limit <= 0 {
		return func() {}, nil
	}
	key := "user:" + string(user)
	lease, ok, err := g.limiter.Acquire(ctx, key, g.limit, g.ttl)
	if err != nil {
		return nil, fmt.Errorf("acquire request slot: %w", err)
	}
	if !ok {
		return nil, &domain.Error{Code: domain.CodeRateLimited, RetryAfter: time.Second,
			Message: fmt.Sprintf("Too many concurrent requests (at most %d at a time)", g.limit)}
	}
	sl := &slot{g: g, ctx: context.WithoutCancel(ctx), user: user, key: key, lease: lease}
	sl.mu.Lock()
	sl.timer = time.AfterFunc(g.ttl/3, sl.renew)
	sl.mu.Unlock()
	return sl.release, nil
}

// slot is a request slot held while the request runs. Its renewals run
// from a timer rather than a goroutine with a ticker: a stream may hold its
// slot for minutes, and tens of thousands of streams may be open at once,
// each of whose goroutines would keep a stack.
type slot struct {
	g *Gate
	// ctx is the request's without its cancellation: a long stream keeps
	// its slot, and neither a renewal nor the release may fail with the
	// request's context (the client may be gone while the request winds
	// down).
	ctx   context.Context
	user  domain.UserID
	key   string
	lease string

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
	held, err := sl.g.limiter.Renew(sl.ctx, sl.key, sl.lease, sl.g.ttl)
	if err != nil || !held {
		sl.g.log.Warn("renew request slot", "user_id", sl.user, "held", held, "error", err)
	}
	sl.timer.Reset(sl.g.ttl / 3)
}

// release stops the renewals and gives the slot back; later calls do
// nothing.
func (sl *slot) release() {
	sl.mu.Lock()
	if sl.released {
		sl.mu.Unlock()
		return
	}
	sl.released = true
	sl.timer.Stop()
	sl.mu.Unlock()
	if err := sl.g.limiter.Release(sl.ctx, sl.key, sl.lease); err != nil {
		// The lease expires by itself after the TTL.
		sl.g.log.Warn("release request slot", "user_id", sl.user, "error", err)
	}
}
