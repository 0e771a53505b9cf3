package redislimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/genzai/genzai/adapters/quotacount"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.QuotaStore = (*QuotaStore)(nil)

// QuotaKeyPrefix starts the Redis key of every daily count: the count of
// user u on 2025-12-25 is "genzai:quota:2025-12-25:u".
const QuotaKeyPrefix = "genzai:quota:"

// quotaKeyTTL is how long a day's count outlives its day: long enough for a
// refund of a request started before midnight, short enough to keep Redis
// small. A count of a day already past (a test's, or a late refund's) lives
// this long from its first use.
const quotaKeyTTL = time.Hour

// consumeScript counts a request of several units within the limit, all
// or nothing, in one atomic step. KEYS[1] the count; ARGV: limit, the
// database's count ("" when not read yet), ttl in ms, units. A missing
// count is seeded from ARGV[2] (SET NX); without it the script returns
// {-1, 0} to ask for it. Returns {1, used} when granted, {0, used} when
// the units do not fit.
var consumeScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  if ARGV[2] == '' then
    return {-1, 0}
  end
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3], 'NX')
  v = ARGV[2]
end
v = tonumber(v)
local n = tonumber(ARGV[4])
if v + n > tonumber(ARGV[1]) then
  return {0, v}
end
return {1, redis.call('INCRBY', KEYS[1], n)}
`)

// refundScript takes up to ARGV[1] units back, never below zero. KEYS[1]
// the count. Returns how many it took back (0 at zero), -1 when the count
// is missing (the database holds it).
var refundScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  return -1
end
local n = math.min(tonumber(v), tonumber(ARGV[1]))
if n > 0 then
  redis.call('DECRBY', KEYS[1], n)
end
return n
`)

// QuotaStore is a ports.QuotaStore counting in Redis, shared by every
// instance: each decision is one Lua script, so no interleaving of
// instances passes the limit. A day's count is seeded from the database on
// first use and written back behind through a quotacount.WriteBehind.
// While Redis cannot be reached it counts in the database directly (exact
// there; Redis's counts, if they survive, then miss the outage's requests,
// in the users' favour); a Redis that answers too slowly is
// CodeUnavailable.
type QuotaStore struct {
	client redis.UniversalClient
	db     ports.QuotaStore
	wb     *quotacount.WriteBehind
	log    *slog.Logger
	now    func() time.Time

	// While Redis is unreachable the store counts in the database without
	// asking Redis again until downUntil, backing off from minRetry to
	// maxRetry, so that an outage costs neither a dial per request nor a
	// log line per request.
	mu        sync.Mutex
	downUntil time.Time
	retry     time.Duration
	// touched are the keys of the counts taken in the database while Redis
	// was down: Redis's copies miss those grants, so they are dropped when
	// Redis answers again and seeded anew from the database.
	touched map[string]struct{}
}

// How often an unreachable Redis is tried again while counting in the
// database: from minRetry, doubling to maxRetry.
const (
	minRetry = time.Second
	maxRetry = 30 * time.Second
)

// skipRedis reports whether Redis is known to be down and not due for
// another try.
func (s *QuotaStore) skipRedis() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now().Before(s.downUntil)
}

// wentDown records that Redis could not be reached; it logs only when Redis
// was up before, and says when it will be tried again.
func (s *QuotaStore) wentDown(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	first := s.retry == 0
	if first {
		s.retry = minRetry
	} else {
		s.retry = min(2*s.retry, maxRetry)
	}
	s.downUntil = s.now().Add(s.retry)
	if first {
		s.log.Warn("redis is unreachable: counting quota in the database until it answers", "error", err, "retry_in", s.retry.String())
	}
}

// touch records that key's count was taken in the database.
func (s *QuotaStore) touch(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.touched == nil {
		s.touched = map[string]struct{}{}
	}
	s.touched[key] = struct{}{}
}

// resync runs before Redis is used again after an outage: it drops from
// Redis the counts this instance took in the database meanwhile, so that
// their next use seeds them from the database, which holds the outage's
// grants. Its success is what says Redis is back.
func (s *QuotaStore) resync(ctx context.Context) error {
	s.mu.Lock()
	if s.retry == 0 {
		s.mu.Unlock()
		return nil
	}
	keys := make([]string, 0, len(s.touched))
	for k := range s.touched {
		keys = append(keys, k)
	}
	s.mu.Unlock()
	if len(keys) > 0 {
		if err := s.client.Del(ctx, keys...).Err(); err != nil {
			return err
		}
	} else if err := s.client.Ping(ctx).Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		delete(s.touched, k)
	}
	if s.retry != 0 {
		s.log.Info("redis answers again: counting quota in redis", "counts_reseeded", len(keys))
		s.retry, s.downUntil = 0, time.Time{}
	}
	return nil
}

// redisDown handles an error from Redis: an unreachable Redis is marked down
// (the caller then uses the database), anything else is the counter being
// unavailable.
func (s *QuotaStore) redisDown(ctx context.Context, err error) error {
	if !unreachable(ctx, err) {
		return quotaUnavailable(err)
	}
	s.wentDown(err)
	return nil
}

// NewQuotaStore counts in Redis through client, over db (seed and
// fallback), writing behind through wb.
func NewQuotaStore(client redis.UniversalClient, db ports.QuotaStore, wb *quotacount.WriteBehind, logger *slog.Logger) *QuotaStore {
	return &QuotaStore{client: client, db: db, wb: wb, log: logger, now: time.Now}
}

func quotaKey(id domain.UserID, day time.Time) string {
	return QuotaKeyPrefix + day.UTC().Format(time.DateOnly) + ":" + string(id)
}

// ttl is the life of day's count from now, in milliseconds.
func (s *QuotaStore) ttl(day time.Time) int64 {
	end := day.UTC().Truncate(24*time.Hour).AddDate(0, 0, 1).Add(quotaKeyTTL)
	return max(end.Sub(s.now()), quotaKeyTTL).Milliseconds()
}

// ConsumeQuota implements ports.QuotaStore.
func (s *QuotaStore) ConsumeQuota(ctx context.Context, id domain.UserID, day time.Time, limit, units int) (int, bool, error) {
	key := quotaKey(id, day)
	inDatabase := func() (int, bool, error) {
		s.touch(key)
		return s.db.ConsumeQuota(ctx, id, day, limit, units)
	}
	if s.skipRedis() {
		return inDatabase()
	}
	if err := s.resync(ctx); err != nil {
		if err := s.redisDown(ctx, err); err != nil {
			return 0, false, err
		}
		return inDatabase()
	}
	res, err := consumeScript.Run(ctx, s.client, []string{key}, limit, "", s.ttl(day), units).Int64Slice()
	if err == nil && res[0] == -1 {
		var seed int
		if seed, err = s.db.QuotaUsed(ctx, id, day); err != nil {
			return 0, false, err
		}
		res, err = consumeScript.Run(ctx, s.client, []string{key}, limit, seed, s.ttl(day), units).Int64Slice()
	}
	if err != nil {
		if err := s.redisDown(ctx, err); err != nil {
			return 0, false, err
		}
		return inDatabase()
	}
	if res[0] == 0 {
		return int(res[1]), false, nil
	}
	s.wb.Add(id, day, units)
	return int(res[1]), true, nil
}

// RefundQuota implements ports.QuotaStore.
func (s *QuotaStore) RefundQuota(ctx context.Context, id domain.UserID, day time.Time, units int) error {
	key := quotaKey(id, day)
	// Whether Redis counted the grants or not, grants still queued are
	// cancelled there first, and only the rest taken back in the database.
	refund := func(n int) error {
		return s.wb.Refund(ctx, id, day, n, func(ctx context.Context, n int) error { return s.db.RefundQuota(ctx, id, day, n) })
	}
	inDatabase := func() error {
		s.touch(key)
		return refund(units)
	}
	if s.skipRedis() {
		return inDatabase()
	}
	if err := s.resync(ctx); err != nil {
		if err := s.redisDown(ctx, err); err != nil {
			return err
		}
		return inDatabase()
	}
	n, err := refundScript.Run(ctx, s.client, []string{key}, units).Int64()
	switch {
	case err != nil:
		if err := s.redisDown(ctx, err); err != nil {
			return err
		}
		return inDatabase()
	case n == 0:
		return nil
	case n < 0:
		return refund(units)
	}
	return refund(int(n))
}

// QuotaUsed implements ports.QuotaStore: Redis's count, the database's
// when Redis holds none or cannot answer.
func (s *QuotaStore) QuotaUsed(ctx context.Context, id domain.UserID, day time.Time) (int, error) {
	if s.skipRedis() {
		return s.db.QuotaUsed(ctx, id, day)
	}
	if err := s.resync(ctx); err != nil {
		if err := s.redisDown(ctx, err); err != nil {
			s.log.Warn("redis cannot read quota: reading the database", "error", err)
		}
		return s.db.QuotaUsed(ctx, id, day)
	}
	n, err := s.client.Get(ctx, quotaKey(id, day)).Int()
	if err == nil {
		return n, nil
	}
	switch {
	case errors.Is(err, redis.Nil):
	case unreachable(ctx, err):
		s.wentDown(err)
	case ctx.Err() == nil:
		s.log.Warn("redis cannot read quota: reading the database", "error", err)
	}
	return s.db.QuotaUsed(ctx, id, day)
}

// unreachable reports whether err says Redis could not be reached at all
// (no connection), as opposed to a slow answer or a full pool. Only then
// does the store count in the database: Redis then counts nothing, so the
// database's count cannot run behind a Redis that is still granting.
func unreachable(ctx context.Context, err error) bool {
	var op *net.OpError
	return ctx.Err() == nil && errors.As(err, &op) && op.Op == "dial"
}

// quotaUnavailable is the error of a count Redis did not answer in time.
func quotaUnavailable(err error) error {
	return &domain.Error{Code: domain.CodeUnavailable, Message: "Quota counter unavailable", Err: fmt.Errorf("redis quota: %w", err)}
}
