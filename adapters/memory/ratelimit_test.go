package memory_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
	"github.com/genzai/genzai/ports/portstest"
)

var rateStart = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC)

func TestRateLimiterContract(t *testing.T) {
	portstest.RunRateLimiter(t, func(*testing.T) (ports.RateLimiter, func(time.Duration)) {
		clock := memory.NewClock(rateStart)
		return memory.NewRateLimiter(clock), clock.Advance
	})
}

// TestRateLimiterExact checks the numbers to the nanosecond on a fake
// clock: they are redis_rate's, without its floating-point rounding.
func TestRateLimiterExact(t *testing.T) {
	t.Parallel()
	type step struct {
		advance time.Duration
		want    domain.RateDecision
	}
	allowed := func(limit, remaining int, reset time.Duration) domain.RateDecision {
		return domain.RateDecision{Allowed: true, Limit: limit, Remaining: remaining, ResetAfter: reset}
	}
	refused := func(limit int, retry, reset time.Duration) domain.RateDecision {
		return domain.RateDecision{Limit: limit, RetryAfter: retry, ResetAfter: reset}
	}
	const m = time.Minute
	for _, tc := range []struct {
		name  string
		rate  domain.Rate
		steps []step
	}{
		{
			name: "5 per hour: burst, refusal, one back per 12 minutes",
			rate: domain.Rate{Limit: 5, Period: time.Hour},
			steps: []step{
				{0, allowed(5, 4, 12*m)},
				{0, allowed(5, 3, 24*m)},
				{0, allowed(5, 2, 36*m)},
				{0, allowed(5, 1, 48*m)},
				{0, allowed(5, 0, 60*m)},
				{0, refused(5, 12*m, 60*m)},
				{5 * m, refused(5, 7*m, 55*m)},
				{7*m - time.Nanosecond, refused(5, time.Nanosecond, 48*m+time.Nanosecond)},
				{time.Nanosecond, allowed(5, 0, 60*m)},
				{0, refused(5, 12*m, 60*m)},
				// Half an hour idle gives back two and a half requests: two.
				{42 * m, allowed(5, 2, 30*m)},
				{0, allowed(5, 1, 42*m)},
				// Long idle: the whole budget, no more.
				{24 * time.Hour, allowed(5, 4, 12*m)},
			},
		},
		{
			name: "7 per minute: the first request leaves 6",
			rate: domain.Rate{Limit: 7, Period: time.Minute},
			steps: []step{
				{0, allowed(7, 6, 8571428571)},
				{0, allowed(7, 5, 2*8571428571)},
			},
		},
		{
			name: "1 per second",
			rate: domain.Rate{Limit: 1, Period: time.Second},
			steps: []step{
				{0, allowed(1, 0, time.Second)},
				{0, refused(1, time.Second, time.Second)},
				{999 * time.Millisecond, refused(1, time.Millisecond, time.Millisecond)},
				{time.Millisecond, allowed(1, 0, time.Second)},
			},
		},
		{
			name: "more than one per nanosecond: one per nanosecond",
			rate: domain.Rate{Limit: 3, Period: 2},
			steps: []step{
				{0, allowed(3, 2, 1)},
				{0, allowed(3, 1, 2)},
				{0, allowed(3, 0, 3)},
				{0, refused(3, 1, 3)},
				{1, allowed(3, 0, 3)},
			},
		},
		{
			name: "no limit",
			rate: domain.Rate{Limit: 0, Period: time.Minute},
			steps: []step{
				{0, domain.RateDecision{Allowed: true, Remaining: -1}},
				{0, domain.RateDecision{Allowed: true, Remaining: -1}},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := memory.NewClock(rateStart)
			l := memory.NewRateLimiter(clock)
			for i, st := range tc.steps {
				clock.Advance(st.advance)
				got, err := l.Allow(context.Background(), "k", tc.rate)
				require.NoError(t, err)
				assert.Equal(t, st.want, got, "step %d (+%s)", i+1, st.advance)
			}
		})
	}
}
