package memory

import (
	"context"
	"sync"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.RateLimiter = (*RateLimiter)(nil)

// minSweep is the number of keys below which the limiter never sweeps.
const minSweep = 1024

// RateLimiter is an in-process ports.RateLimiter, safe for concurrent use.
//
// It runs the generic cell rate algorithm as redis_rate does (burst =
// Limit, one request every Period/Limit on average) and answers the same
// numbers, so that it can stand in for the Redis limiter: a key's whole
// state is its theoretical arrival time (TAT), the instant at which its
// budget is whole again. A rate whose Limit or Period is not positive
// imposes no limit: every request is allowed with Limit 0 and Remaining -1,
// and no state is kept.
//
// Memory is bounded: a key whose TAT has passed is indistinguishable from a
// key never seen, so it is dropped. Whenever a new key would make the map
// reach twice the size the previous sweep left it at (at least 1024 keys),
// every such key is dropped in one pass, whose cost the inserts since the
// previous sweep pay for. The map therefore holds at most max(1024, 2·K)
// keys, where K is the number of keys used within the longest Period.
type RateLimiter struct {
	clock ports.Clock

	mu      sync.Mutex
	tat     map[string]int64 // key -> TAT in Unix nanoseconds
	sweepAt int
}

// NewRateLimiter returns a RateLimiter that tells the time by clock.
func NewRateLimiter(clock ports.Clock) *RateLimiter {
	return &RateLimiter{clock: clock, tat: map[string]int64{}, sweepAt: minSweep}
}

// Allow implements ports.RateLimiter. It never fails.
func (l *RateLimiter) Allow(_ context.Context, key string, rate domain.Rate) (domain.RateDecision, error) {
	if rate.Limit <= 0 || rate.Period <= 0 {
		return domain.RateDecision{Allowed: true, Remaining: -1}, nil
	}
	// One request is due every emission interval; a nanosecond at least,
	// for absurd rates of more than one request per nanosecond.
	interval := max(rate.Period/time.Duration(rate.Limit), 1)
	burst := interval * time.Duration(rate.Limit)

	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now().UnixNano()
	tat, ok := l.tat[key]
	tat = max(tat, now)
	newTAT := tat + int64(interval)
	// diff is how far now is past the earliest time this request may come.
	diff := time.Duration(now - (newTAT - int64(burst)))
	if diff < 0 {
		return domain.RateDecision{
			Limit:      rate.Limit,
			RetryAfter: -diff,
			ResetAfter: time.Duration(tat - now),
		}, nil
	}
	if !ok && len(l.tat) >= l.sweepAt {
		l.sweep(now)
	}
	l.tat[key] = newTAT
	return domain.RateDecision{
		Allowed:    true,
		Limit:      rate.Limit,
		Remaining:  int(diff / interval),
		ResetAfter: time.Duration(newTAT - now),
	}, nil
}

// sweep drops the keys whose budget is whole again at now.
func (l *RateLimiter) sweep(now int64) {
	for k, tat := range l.tat {
		if tat <= now {
			delete(l.tat, k)
		}
	}
	l.sweepAt = max(minSweep, 2*len(l.tat))
}
