package portstest

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// rateTolerance is how much shorter than computed a RetryAfter or
// ResetAfter may be: on a real clock time passes between the calls.
const rateTolerance = 500 * time.Millisecond

// RunRateLimiter checks the ports.RateLimiter contract. newLimiter returns a
// limiter for each subtest and a function that moves the limiter's clock
// forward by at least d: a fake clock's Advance, or time.Sleep for a
// limiter on real time (the suite then sleeps about five seconds in all,
// spread over parallel subtests).
//
// Every key is unique to one run of one subtest, so a limiter may share its
// store with other tests and earlier runs.
func RunRateLimiter(t *testing.T, newLimiter func(t *testing.T) (ports.RateLimiter, func(d time.Duration))) {
	ctx := context.Background()
	run := rand.Text()[:10]
	key := func(t *testing.T, name string) string { return "portstest:" + run + ":" + t.Name() + ":" + name }
	allow := func(t *testing.T, l ports.RateLimiter, key string, rate domain.Rate) domain.RateDecision {
		t.Helper()
		d, err := l.Allow(ctx, key, rate)
		require.NoError(t, err)
		assert.Equal(t, rate.Limit, d.Limit, "Limit is the rate's")
		assert.GreaterOrEqual(t, d.ResetAfter, time.Duration(0), "ResetAfter")
		if d.Allowed {
			assert.Zero(t, d.RetryAfter, "RetryAfter of an allowed request")
		} else {
			assert.Zero(t, d.Remaining, "Remaining of a refused request")
		}
		return d
	}
	// near checks got is want, or up to rateTolerance less.
	near := func(t *testing.T, want, got time.Duration, msgAndArgs ...any) {
		t.Helper()
		assert.LessOrEqual(t, got, want+time.Millisecond, msgAndArgs...)
		assert.GreaterOrEqual(t, got, want-rateTolerance, msgAndArgs...)
	}

	t.Run("a burst of Limit, then refused", func(t *testing.T) {
		t.Parallel()
		l, _ := newLimiter(t)
		for _, rate := range []domain.Rate{
			{Limit: 1, Period: time.Hour},
			{Limit: 5, Period: time.Hour},
			{Limit: 7, Period: time.Minute},
			{Limit: 60, Period: time.Minute},
			{Limit: 50, Period: 24 * time.Hour},
		} {
			k := key(t, fmt.Sprintf("%d/%s", rate.Limit, rate.Period))
			interval := rate.Period / time.Duration(rate.Limit)
			for i := range rate.Limit {
				d := allow(t, l, k, rate)
				require.True(t, d.Allowed, "%v: request %d of a burst", rate, i+1)
				assert.Equal(t, rate.Limit-1-i, d.Remaining, "%v: Remaining after request %d", rate, i+1)
				near(t, time.Duration(i+1)*interval, d.ResetAfter, "%v: ResetAfter after request %d", rate, i+1)
			}
			for i := range 3 {
				d := allow(t, l, k, rate)
				require.False(t, d.Allowed, "%v: request %d past the burst", rate, i+1)
				near(t, interval, d.RetryAfter, "%v: RetryAfter is one emission interval", rate)
				near(t, rate.Period, d.ResetAfter, "%v: ResetAfter is the period", rate)
			}
		}
	})

	t.Run("refusals use no budget; one request comes back per interval", func(t *testing.T) {
		t.Parallel()
		l, advance := newLimiter(t)
		rate := domain.Rate{Limit: 2, Period: 2 * time.Second}
		k := key(t, "k")
		for range 2 {
			require.True(t, allow(t, l, k, rate).Allowed)
		}
		var last domain.RateDecision
		for i := range 10 {
			d := allow(t, l, k, rate)
			require.False(t, d.Allowed, "refusal %d", i+1)
			if i > 0 {
				assert.LessOrEqual(t, d.RetryAfter, last.RetryAfter, "a refusal does not push the next admission back")
			}
			last = d
		}
		near(t, time.Second, last.RetryAfter)
		advance(last.RetryAfter)
		d := allow(t, l, k, rate)
		assert.True(t, d.Allowed, "admitted once RetryAfter has passed")
		assert.Equal(t, 0, d.Remaining)
		assert.False(t, allow(t, l, k, rate).Allowed, "but only one")
	})

	t.Run("the whole budget is back after ResetAfter", func(t *testing.T) {
		t.Parallel()
		l, advance := newLimiter(t)
		rate := domain.Rate{Limit: 3, Period: 2 * time.Second}
		k := key(t, "k")
		var last domain.RateDecision
		for range 3 {
			last = allow(t, l, k, rate)
			require.True(t, last.Allowed)
		}
		require.False(t, allow(t, l, k, rate).Allowed)
		advance(last.ResetAfter)
		for i := range 3 {
			d := allow(t, l, k, rate)
			require.True(t, d.Allowed, "request %d of the second burst", i+1)
			assert.Equal(t, 2-i, d.Remaining, "request %d of the second burst", i+1)
		}
		assert.False(t, allow(t, l, k, rate).Allowed)
	})

	t.Run("keys are independent", func(t *testing.T) {
		t.Parallel()
		l, _ := newLimiter(t)
		rate := domain.Rate{Limit: 2, Period: time.Hour}
		a, b := key(t, "a"), key(t, "b")
		for range 2 {
			require.True(t, allow(t, l, a, rate).Allowed)
		}
		require.False(t, allow(t, l, a, rate).Allowed)
		d := allow(t, l, b, rate)
		assert.True(t, d.Allowed, "another key has its own budget")
		assert.Equal(t, 1, d.Remaining)
		assert.False(t, allow(t, l, a, rate).Allowed, "and leaves the first one alone")
	})

	t.Run("concurrent requests: exactly Limit admitted", func(t *testing.T) {
		t.Parallel()
		l, _ := newLimiter(t)
		rate := domain.Rate{Limit: 50, Period: time.Hour}
		k := key(t, "k")
		var mu sync.Mutex
		var remaining []int
		refused := 0
		var wg sync.WaitGroup
		for range 200 {
			wg.Go(func() {
				d, err := l.Allow(ctx, k, rate)
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if d.Allowed {
					remaining = append(remaining, d.Remaining)
				} else {
					refused++
				}
			})
		}
		wg.Wait()
		assert.Len(t, remaining, 50, "admitted")
		assert.Equal(t, 150, refused)
		// Each admitted request saw a different budget: 49 down to 0.
		slices.Sort(remaining)
		want := make([]int, 50)
		for i := range want {
			want[i] = i
		}
		assert.Equal(t, want, remaining)
	})

	t.Run("a rate without a positive Limit and Period imposes no limit", func(t *testing.T) {
		t.Parallel()
		l, _ := newLimiter(t)
		for _, rate := range []domain.Rate{
			{Limit: 0, Period: time.Minute},
			{Limit: -1, Period: time.Minute},
			{Limit: 5, Period: 0},
			{Limit: 5, Period: -time.Second},
			{},
		} {
			k := key(t, fmt.Sprintf("%d/%s", rate.Limit, rate.Period))
			for i := range 20 {
				d, err := l.Allow(ctx, k, rate)
				require.NoError(t, err)
				assert.Equal(t, domain.RateDecision{Allowed: true, Limit: 0, Remaining: -1}, d, "%v: request %d", rate, i+1)
			}
			// Unlimited requests leave no trace on the key.
			d := allow(t, l, k, domain.Rate{Limit: 3, Period: time.Hour})
			assert.True(t, d.Allowed)
			assert.Equal(t, 2, d.Remaining, "%v: then a real rate starts from a whole budget", rate)
		}
	})
}
