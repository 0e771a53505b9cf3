package redislimit

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.ConcurrencyLimiter = (*ConcurrencyLimiter)(nil)

// ConcurrencyKeyPrefix starts the Redis key of every limited key: the
// leases of "user:42" are the sorted set "genzai:cc:user:42", whose members
// are lease ids scored by their expiry in Unix milliseconds.
const ConcurrencyKeyPrefix = "genzai:cc:"

// acquireScript drops the expired leases, counts the others and adds one
// when there is room, in one atomic step timed by the Redis server's clock
// (instances' clocks may disagree). The set itself expires with its last
// lease, so that a key nobody uses any more leaves nothing behind.
// KEYS[1] the set; ARGV: limit, ttl in ms, lease id. Returns 1 or 0.
var acquireScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
local exp = now + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], exp, ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], math.max(exp, tonumber(last[2])) + 1)
return 1
`)

// renewScript moves an unexpired lease's expiry to ttl from now.
// KEYS[1] the set; ARGV: lease id, ttl in ms. Returns 1, or 0 when the
// lease is gone.
var renewScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) <= now then
  return 0
end
local exp = now + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], 'XX', exp, ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], math.max(exp, tonumber(last[2])) + 1)
return 1
`)

// ConcurrencyLimiter is a ports.ConcurrencyLimiter over Redis sorted sets,
// safe for concurrent use, shared by every instance: each decision is one
// Lua script, so no interleaving of instances holds more leases than the
// limit. Expiry is judged by the Redis server's clock, to the millisecond.
type ConcurrencyLimiter struct {
	client redis.UniversalClient
}

// NewConcurrencyLimiter returns a ConcurrencyLimiter storing its leases
// through client.
func NewConcurrencyLimiter(client redis.UniversalClient) *ConcurrencyLimiter {
	return &ConcurrencyLimiter{client: client}
}

// Acquire implements ports.ConcurrencyLimiter. Its errors are
// *domain.Error with CodeUnavailable.
func (l *ConcurrencyLimiter) Acquire(ctx context.Context, key string, limit int, ttl time.Duration) (string, bool, error) {
	id := rand.Text()
	n, err := acquireScript.Run(ctx, l.client, []string{ConcurrencyKeyPrefix + key}, limit, ttl.Milliseconds(), id).Int()
	if err != nil {
		return "", false, leasesUnavailable(fmt.Errorf("redis acquire lease: %w", err))
	}
	if n == 0 {
		return "", false, nil
	}
	return id, true, nil
}

// Renew implements ports.ConcurrencyLimiter. Its errors are *domain.Error
// with CodeUnavailable.
func (l *ConcurrencyLimiter) Renew(ctx context.Context, key, lease string, ttl time.Duration) (bool, error) {
	n, err := renewScript.Run(ctx, l.client, []string{ConcurrencyKeyPrefix + key}, lease, ttl.Milliseconds()).Int()
	if err != nil {
		return false, leasesUnavailable(fmt.Errorf("redis renew lease: %w", err))
	}
	return n == 1, nil
}

// Release implements ports.ConcurrencyLimiter. Its errors are
// *domain.Error with CodeUnavailable.
func (l *ConcurrencyLimiter) Release(ctx context.Context, key, lease string) error {
	if err := l.client.ZRem(ctx, ConcurrencyKeyPrefix+key, lease).Err(); err != nil {
		return leasesUnavailable(fmt.Errorf("redis release lease: %w", err))
	}
	return nil
}

// leasesUnavailable wraps a Redis failure for the port. go-redis errors
// name the address at most, never the password.
func leasesUnavailable(err error) error {
	return &domain.Error{Code: domain.CodeUnavailable, Message: "Concurrency limiter unavailable", Err: err}
}
