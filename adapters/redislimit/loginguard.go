package redislimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.LoginGuard = (*LoginGuard)(nil)

// LoginGuardPrefix starts the key of each account's hash: fields "count"
// and "locked_until" (Unix milliseconds by the Redis server's clock).
const LoginGuardPrefix = "genzai:lg:"

// attemptScript is domain.LoginBackoff in one atomic step, timed by the
// Redis server's clock so that instances whose clocks disagree still share
// one lock. KEYS[1] is the account's hash; ARGV are MaxFailures, Base, Max
// and Window, the durations in milliseconds. It answers {1, 0} when the
// attempt is allowed (and counted), {0, ms left} when the account is
// locked. The key expires Window after the lock it sets ends, which is
// when the count is forgotten.
const attemptScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local locked = tonumber(redis.call('HGET', KEYS[1], 'locked_until') or '0')
if locked > now then
  return {0, locked - now}
end
local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
local maxFailures = tonumber(ARGV[1])
local lock = 0
if count >= maxFailures then
  lock = tonumber(ARGV[2])
  local cap = tonumber(ARGV[3])
  for _ = 1, count - maxFailures do
    if lock >= cap then break end
    lock = lock * 2
  end
  if lock > cap then lock = cap end
  redis.call('HSET', KEYS[1], 'locked_until', now + lock)
end
redis.call('PEXPIRE', KEYS[1], lock + tonumber(ARGV[4]))
return {1, 0}
`

// LoginGuard is a ports.LoginGuard over Redis, safe for concurrent use and
// shared by every instance: each attempt is one script run, atomic.
// Durations are kept to the millisecond.
type LoginGuard struct {
	client redis.UniversalClient
	script *redis.Script
}

// NewLoginGuard returns a LoginGuard storing its counts through client.
func NewLoginGuard(client redis.UniversalClient) *LoginGuard {
	return &LoginGuard{client: client, script: redis.NewScript(attemptScript)}
}

// Attempt implements ports.LoginGuard. Its errors are *domain.Error with
// CodeUnavailable: Redis could not be reached or did not answer in time.
func (g *LoginGuard) Attempt(ctx context.Context, key string, rule domain.LoginBackoff) (domain.LoginAttempt, error) {
	if !rule.Enabled() {
		return domain.LoginAttempt{Allowed: true}, nil
	}
	res, err := g.script.Run(ctx, g.client, []string{LoginGuardPrefix + key},
		rule.MaxFailures, rule.Base.Milliseconds(), rule.Max.Milliseconds(), rule.Window.Milliseconds()).Int64Slice()
	if err != nil {
		return domain.LoginAttempt{}, guardUnavailable(fmt.Errorf("redis count login attempt: %w", err))
	}
	if len(res) != 2 {
		return domain.LoginAttempt{}, guardUnavailable(fmt.Errorf("redis count login attempt: %d values in the answer", len(res)))
	}
	if res[0] == 1 {
		return domain.LoginAttempt{Allowed: true}, nil
	}
	return domain.LoginAttempt{RetryAfter: time.Duration(res[1]) * time.Millisecond}, nil
}

// Reset implements ports.LoginGuard. Its errors are *domain.Error with
// CodeUnavailable.
func (g *LoginGuard) Reset(ctx context.Context, key string) error {
	if err := g.client.Del(ctx, LoginGuardPrefix+key).Err(); err != nil {
		return guardUnavailable(fmt.Errorf("redis reset login attempts: %w", err))
	}
	return nil
}

// guardUnavailable wraps a Redis failure for the port.
func guardUnavailable(err error) error {
	return &domain.Error{Code: domain.CodeUnavailable, Message: "Login guard unavailable", Err: err}
}
