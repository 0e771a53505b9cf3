package redislimit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.CooldownStore = (*CooldownStore)(nil)

// CooldownKey is the sorted set holding every cooldown: the member is the
// name, the score the end in Unix milliseconds.
const CooldownKey = "genzai:cooldowns"

// cooldownRetention is how long an ended cooldown may stay in the set
// before an Extend removes it.
const cooldownRetention = time.Hour

// CooldownStore is a ports.CooldownStore over one Redis sorted set, safe
// for concurrent use, shared by every instance.
//
// Cooldowns are kept to the millisecond, rounded down. Whether one has
// ended is judged by this instance's wall clock.
type CooldownStore struct {
	client redis.UniversalClient
}

// NewCooldownStore returns a CooldownStore storing its cooldowns through
// client.
func NewCooldownStore(client redis.UniversalClient) *CooldownStore {
	return &CooldownStore{client: client}
}

// Extend implements ports.CooldownStore. Its errors are *domain.Error with
// CodeUnavailable: Redis could not be reached or did not answer in time.
func (s *CooldownStore) Extend(ctx context.Context, name string, until time.Time) error {
	// ZADD GT only ever raises a score (and adds missing members), in one
	// atomic command, so that concurrent instances never shorten a
	// cooldown. Cooldowns long over are dropped in the same round trip, so
	// that the set does not grow without bound.
	old := time.Now().Add(-cooldownRetention).UnixMilli()
	pipe := s.client.Pipeline()
	pipe.ZAddGT(ctx, CooldownKey, redis.Z{Score: float64(until.UnixMilli()), Member: name})
	pipe.ZRemRangeByScore(ctx, CooldownKey, "-inf", "("+strconv.FormatInt(old, 10))
	if _, err := pipe.Exec(ctx); err != nil {
		return unavailable(fmt.Errorf("redis extend cooldown: %w", err))
	}
	return nil
}

// Until implements ports.CooldownStore in one round trip. Its errors are
// *domain.Error with CodeUnavailable.
func (s *CooldownStore) Until(ctx context.Context, names []string) ([]time.Time, error) {
	out := make([]time.Time, len(names))
	if len(names) == 0 {
		return out, nil
	}
	scores, err := s.client.ZMScore(ctx, CooldownKey, names...).Result()
	if err != nil {
		return nil, unavailable(fmt.Errorf("redis read cooldowns: %w", err))
	}
	now := time.Now()
	for i, score := range scores {
		// go-redis reads a missing member as 0, the epoch: long past too.
		if u := time.UnixMilli(int64(score)); u.After(now) {
			out[i] = u
		}
	}
	return out, nil
}

// unavailable wraps a Redis failure for the port. go-redis errors name the
// address at most, never the password.
func unavailable(err error) error {
	return &domain.Error{Code: domain.CodeUnavailable, Message: "Cooldown store unavailable", Err: err}
}
