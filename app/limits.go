package app

import (
	"context"
	"log/slog"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/adapters/ratelimit"
	"github.com/genzai/genzai/adapters/redislimit"
	"github.com/genzai/genzai/ports"
)

// newLimiter builds the per-IP rate limiter: in process without REDIS_URL;
// with it, shared through Redis by every instance, falling back to the
// in-process limiter while Redis is unreachable when RATE_LIMIT_FAIL_OPEN.
// It returns a close function and a Redis pinger for /ready (nil without
// Redis).
func newLimiter(ctx context.Context, cfg Config, clock ports.Clock, logger *slog.Logger) (ports.RateLimiter, func(), ports.Pinger) {
	local := memory.NewRateLimiter(clock)
	if cfg.RedisURL == "" {
		logger.Info("rate limits are kept in process (set REDIS_URL to share them between instances)")
		return local, func() {}, nil
	}
	client, err := redislimit.Open(ctx, cfg.RedisURL.Reveal())
	if client == nil {
		logger.Error("REDIS_URL cannot be used: rate limits are kept in process", "error", err)
		return local, func() {}, nil
	}
	if err != nil {
		// Start anyway: the fallback keeps serving and reconnects by itself.
		logger.Warn("redis is unreachable at start-up", "redis", RedactURL(cfg.RedisURL.Reveal()), "error", err)
	}
	shared := redislimit.New(client)
	logger.Info("rate limits are shared through redis", "redis", RedactURL(cfg.RedisURL.Reveal()), "fail_open", cfg.RateLimitFailOpen)
	return ratelimit.NewFallback(shared, local, cfg.RateLimitFailOpen, logger, clock), func() { _ = client.Close() }, shared
}
