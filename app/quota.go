package app

import (
	"context"
	"log/slog"

	"github.com/genzai/genzai/adapters/quotacount"
	"github.com/genzai/genzai/adapters/redislimit"
)

// countQuotas chooses where daily quotas are counted (QUOTA_COUNTING) and
// installs the counter in db. With QUOTA_COUNTING=database, in the
// database itself, one guarded upsert per request. Otherwise (auto): with
// Redis, in Redis (shared by every instance, seeded from the database); on
// SQLite, which serves one instance, in process; on PostgreSQL without
// Redis, from blocks of each user's quota that every instance leases from
// the database (quotacount.Leases). Counts kept off the database are
// written behind every second and when cl unwinds, before the database
// closes.
func countQuotas(db *Database, cfg Config, lim limits, logger *slog.Logger, cl *closers) {
	if cfg.QuotaCounting == QuotaCountingDatabase {
		logger.Info("quotas are counted in the database, one statement per request (QUOTA_COUNTING=database)")
		return
	}
	if lim.redisClient == nil && db.Shared() {
		if db.leases == nil {
			// Never count in process on a shared database.
			logger.Warn("quotas are counted in the database, one statement per request (this store keeps no leases)")
			return
		}
		leases := quotacount.NewLeases(db.leases, logger, quotacount.LeaseConfig{})
		logger.Info("quotas are counted from leases of each user's quota, written to the database behind",
			"interval", quotacount.DefaultInterval.String(), "lease_ttl", quotacount.DefaultLeaseTTL.String())
		db.counter = leases
		db.flushQuotas = leases.Flush
		cl.push(func(ctx context.Context) {
			if err := leases.Close(ctx); err != nil {
				logger.Error("write quota leases and hand them back at shutdown", "error", err)
			}
		})
		return
	}
	wb := quotacount.NewWriteBehind(db.store, logger, quotacount.DefaultInterval)
	db.flushQuotas = wb.Flush
	cl.push(func(ctx context.Context) {
		if err := wb.Close(ctx); err != nil {
			logger.Error("write quota counts behind at shutdown", "error", err)
		}
	})
	if lim.redisClient == nil {
		logger.Info("quotas are counted in process (one instance on SQLite), written behind to the database",
			"interval", quotacount.DefaultInterval.String())
		db.counter = quotacount.NewLocal(db.store, wb)
		return
	}
	logger.Info("quotas are counted in redis, written behind to the database",
		"interval", quotacount.DefaultInterval.String())
	db.counter = redislimit.NewQuotaStore(lim.redisClient, db.store, wb, logger)
}
