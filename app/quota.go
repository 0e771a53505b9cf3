package app

import (
	"context"
	"log/slog"

	"github.com/genzai/genzai/adapters/quotacount"
	"github.com/genzai/genzai/adapters/redislimit"
)

// countQuotas chooses where daily quotas are counted and installs the
// counter in db. With Redis, in Redis (shared by every instance, seeded
// from the database); on SQLite, which serves one instance, in process;
// on PostgreSQL without Redis, in the database itself, one guarded upsert
// per request (exact across instances). Counts kept off the database are
// written behind every second and when cl unwinds, before the database
// closes.
func countQuotas(db *Database, lim limits, logger *slog.Logger, cl *closers) {
	if lim.redisClient == nil && db.Shared() {
		logger.Info("quotas are counted in the database (set REDIS_URL to count them in redis, written behind)")
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
