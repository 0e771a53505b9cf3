package app

import (
	"log/slog"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/adapters/redislimit"
	"github.com/genzai/genzai/ports"
)

// responseCache is the store of the response cache: nil when it is off; in
// Redis when REDIS_URL gave a client (every instance shares it: a store
// that cannot answer makes requests bypass it, never fail); else in
// process, bounded by CACHE_MAX_BYTES (its entries and bytes on /metrics).
func responseCache(cfg Config, obs *observability, lim limits, clk ports.Clock, logger *slog.Logger) ports.ResponseCache {
	if !cfg.CacheEnabled {
		return nil
	}
	if lim.redisClient != nil {
		logger.Info("response cache in redis, shared by every instance", "ttl", cfg.CacheTTL, "scope", cfg.CacheScope)
		return redislimit.NewResponseCache(lim.redisClient)
	}
	logger.Info("response cache in process", "ttl", cfg.CacheTTL, "max_bytes", cfg.CacheMaxBytes, "scope", cfg.CacheScope)
	store := memory.NewResponseCache(cfg.CacheMaxBytes, clk)
	obs.watchResponseCache(store)
	return store
}
