package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"

	"github.com/redis/go-redis/v9"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/adapters/ratelimit"
	"github.com/genzai/genzai/adapters/redislimit"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// limits are the rate limiting parts the app wires.
type limits struct {
	// limiter admits requests per client IP, and per provider key when shared.
	limiter ports.RateLimiter
	// shared is true when limiter and cooldowns are shared through Redis.
	shared    bool
	cooldowns ports.CooldownStore
	// guard counts password attempts per account: shared like limiter.
	guard ports.LoginGuard
	// concurrency bounds each user's requests in flight: in process, or
	// through Redis like limiter (falling back the same way).
	concurrency ports.ConcurrencyLimiter
	// redis is pinged by /ready; nil without Redis.
	redis ports.Pinger
	// redisClient counts quotas (countQuotas); nil without Redis.
	redisClient *redis.Client
	close       func()
}

// newLimits builds the rate limiters: in process without REDIS_URL; with
// it, shared through Redis by every instance, falling back to the
// in-process limiter while Redis is unreachable when RATE_LIMIT_FAIL_OPEN.
func newLimits(ctx context.Context, cfg Config, clock ports.Clock, logger *slog.Logger) limits {
	local, localGuard := memory.NewRateLimiter(clock), memory.NewLoginGuard(clock)
	if cfg.RedisURL == "" {
		logger.Info("rate limits are kept in process (set REDIS_URL to share them between instances)")
		return limits{limiter: local, guard: localGuard, concurrency: memory.NewConcurrencyLimiter(clock), close: func() {}}
	}
	client, err := redislimit.Open(ctx, cfg.RedisURL.Reveal())
	if client == nil {
		logger.Error("REDIS_URL cannot be used: rate limits are kept in process", "error", err)
		return limits{limiter: local, guard: localGuard, concurrency: memory.NewConcurrencyLimiter(clock), close: func() {}}
	}
	if err != nil {
		// Start anyway: the fallback keeps serving and reconnects by itself.
		logger.Warn("redis is unreachable at start-up", "redis", RedactURL(cfg.RedisURL.Reveal()), "error", err)
	}
	shared := redislimit.New(client)
	logger.Info("rate limits are shared through redis", "redis", RedactURL(cfg.RedisURL.Reveal()), "fail_open", cfg.RateLimitFailOpen)
	fallback := ratelimit.NewFallback(shared, local, cfg.RateLimitFailOpen, logger, clock)
	return limits{
		limiter:   fallback,
		guard:     ratelimit.NewGuardFallback(redislimit.NewLoginGuard(client), localGuard, fallback),
		shared:    true,
		cooldowns: redislimit.NewCooldownStore(client),
		concurrency: ratelimit.NewConcurrencyFallback(redislimit.NewConcurrencyLimiter(client),
			memory.NewConcurrencyLimiter(clock), fallback),
		redis:       shared,
		redisClient: client,
		close:       func() { _ = client.Close() },
	}
}

// keyFingerprints names a provider's keys in shared stores by provider and
// a short SHA-256 prefix of the key: stable across instances and
// deployments that use the same key, and no help to anyone reading Redis.
func keyFingerprints(p domain.Provider, pc ProviderConfig) []string {
	var names []string
	for _, k := range pc.RevealKeys() {
		sum := sha256.Sum256([]byte(k))
		names = append(names, string(p)+":"+hex.EncodeToString(sum[:8]))
	}
	return names
}
