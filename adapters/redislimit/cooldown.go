package redislimit

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.CooldownStore = (*CooldownStore)(nil)

// cooldownKey is the sorted set of cooldowns: member = name, score = end in
// Unix milliseconds.
const cooldownKey = KeyPrefix + "cooldowns"

// CooldownStore shares cooldowns between instances through one Redis sorted
// set. ZADD GT only ever raises a score, so concurrent instances can extend
// a cooldown but never shorten it, in one atomic command.
type CooldownStore struct {
	client redis.UniversalClient
}

// NewCooldownStore returns a CooldownStore on client.
func NewCooldownStore(client redis.UniversalClient) *CooldownStore {
	return &CooldownStore{client: client}
}

// Extend implements ports.CooldownStore. Entries that ended more than an
// hour ago are dropped in the same round trip, so the set stays small.
func (s *CooldownStore) Extend(ctx context.Context, name string, until time.Time) error {
	pipe := s.client.Pipeline()
	pipe.ZAddGT(ctx, cooldownKey, redis.Z{Score: float64(until.UnixMilli()), Member: name})
	pipe.ZRemRangeByScore(ctx, cooldownKey, "-inf", "("+strconv.FormatInt(time.Now().Add(-time.Hour).UnixMilli(), 10))
	if _, err := pipe.Exec(ctx); err != nil {
		return &domain.Error{Code: domain.CodeUnavailable, Message: "Cooldown store unavailable", Err: err}
	}
	return nil
}

// Until implements ports.CooldownStore with one ZMSCORE.
func (s *CooldownStore) Until(ctx context.Context, names []string) ([]time.Time, error) {
	out := make([]time.Time, len(names))
	if len(names) == 0 {
		return out, nil
	}
	scores, err := s.client.ZMScore(ctx, cooldownKey, names...).Result()
	if err != nil {
		return nil, &domain.Error{Code: domain.CodeUnavailable, Message: "Cooldown store unavailable", Err: err}
	}
	now := time.Now()
	for i, sc := range scores {
		if sc == 0 || math.IsNaN(sc) {
			continue // not a member
		}
		if u := time.UnixMilli(int64(sc)); u.After(now) {
			out[i] = u
		}
	}
	return out, nil
}
