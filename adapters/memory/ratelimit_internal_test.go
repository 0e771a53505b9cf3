package memory

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
)

func TestRateLimiterMemoryIsBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l := NewRateLimiter(clock)
	rate := domain.Rate{Limit: 2, Period: time.Minute}
	allow := func(key string) {
		t.Helper()
		d, err := l.Allow(ctx, key, rate)
		require.NoError(t, err)
		require.True(t, d.Allowed, key)
	}
	size := func() int {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.tat)
	}

	// 3000 keys within one period are all live: nothing can go.
	for i := range 3000 {
		allow(fmt.Sprintf("a%d", i))
	}
	assert.Equal(t, 3000, size())

	// A minute later every one of them has its whole budget back. Reusing
	// old keys does not grow the map.
	clock.Advance(time.Minute)
	for i := range 500 {
		allow(fmt.Sprintf("a%d", i))
	}
	assert.Equal(t, 3000, size())

	// New keys grow it up to twice what the last sweep left (4096 after
	// the sweeps at 1024 and 2048 that found nothing to drop); then one
	// sweep drops the 2500 idle keys.
	peak := 0
	for i := range 2000 {
		allow(fmt.Sprintf("b%d", i))
		peak = max(peak, size())
	}
	assert.Equal(t, 4096, peak, "the map grows to the sweep threshold")
	assert.Equal(t, 2500, size(), "only the 500 reused and 2000 new keys are left")

	// Keys that stay busy are never dropped: their budgets still count.
	for i := range 2 {
		d, err := l.Allow(ctx, "b0", rate)
		require.NoError(t, err)
		assert.Equal(t, i == 0, d.Allowed, "b0 keeps its state across the sweep")
	}
}

func TestRateLimiterSweepKeepsAFloor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l := NewRateLimiter(clock)
	rate := domain.Rate{Limit: 1, Period: time.Second}
	// One new key per second: each sweep finds one live key, yet the next
	// sweep waits for minSweep keys, not two.
	for i := range 3 * minSweep {
		_, err := l.Allow(ctx, fmt.Sprint(i), rate)
		require.NoError(t, err)
		clock.Advance(time.Second)
		l.mu.Lock()
		n, at := len(l.tat), l.sweepAt
		l.mu.Unlock()
		require.LessOrEqual(t, n, minSweep, "after %d keys", i+1)
		require.Equal(t, minSweep, at)
	}
}
