package portstest

import (
	"context"
	"crypto/rand"
	mrand "math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/ports"
)

// cooldownTolerance is how far a cooldown may read back from what was set:
// Redis keeps whole milliseconds.
const cooldownTolerance = time.Millisecond

// RunCooldownStore checks the ports.CooldownStore contract. newStore returns
// a store for each subtest, whose clock shows about the wall clock, and a
// function that moves that clock forward by at least d: a fake clock's
// Advance, or time.Sleep for a store on real time (the suite then sleeps
// about two seconds).
//
// Every name is unique to one run of one subtest, so a store may share its
// data with other tests and earlier runs.
func RunCooldownStore(t *testing.T, newStore func(t *testing.T) (ports.CooldownStore, func(d time.Duration))) {
	ctx := context.Background()
	run := rand.Text()[:10]
	name := func(t *testing.T, n string) string { return "portstest:" + run + ":" + t.Name() + ":" + n }
	until := func(t *testing.T, s ports.CooldownStore, names ...string) []time.Time {
		t.Helper()
		got, err := s.Until(ctx, names)
		require.NoError(t, err)
		require.Len(t, got, len(names))
		return got
	}
	near := func(t *testing.T, want, got time.Time, msgAndArgs ...any) {
		t.Helper()
		assert.WithinDuration(t, want, got, cooldownTolerance, msgAndArgs...)
	}

	t.Run("unknown names have no cooldown", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		for _, u := range until(t, s, name(t, "a"), name(t, "b")) {
			assert.True(t, u.IsZero(), "got %s", u)
		}
		got, err := s.Until(ctx, nil)
		require.NoError(t, err)
		assert.Empty(t, got)
	})

	t.Run("extend then read, never shortened", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		a := name(t, "a")
		end := time.Now().Add(time.Minute)
		require.NoError(t, s.Extend(ctx, a, end))
		near(t, end, until(t, s, a)[0], "as set")

		require.NoError(t, s.Extend(ctx, a, end.Add(-30*time.Second)))
		near(t, end, until(t, s, a)[0], "a shorter cooldown does not shorten")
		require.NoError(t, s.Extend(ctx, a, time.Now().Add(-time.Second)))
		near(t, end, until(t, s, a)[0], "a past one neither")

		longer := end.Add(time.Minute)
		require.NoError(t, s.Extend(ctx, a, longer))
		near(t, longer, until(t, s, a)[0], "a longer cooldown extends")
	})

	t.Run("names are independent, results in order", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		a, b, c, unknown := name(t, "a"), name(t, "b"), name(t, "c"), name(t, "unknown")
		now := time.Now()
		ends := map[string]time.Time{a: now.Add(time.Minute), b: now.Add(3 * time.Minute), c: now.Add(2 * time.Minute)}
		for n, e := range ends {
			require.NoError(t, s.Extend(ctx, n, e))
		}
		names := []string{c, unknown, a, b, a}
		got := until(t, s, names...)
		for i, n := range names {
			if n == unknown {
				assert.True(t, got[i].IsZero(), "unknown name at %d", i)
				continue
			}
			near(t, ends[n], got[i], "name at %d", i)
		}
	})

	t.Run("a cooldown in the past reads as none", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		recent, old := name(t, "recent"), name(t, "old")
		require.NoError(t, s.Extend(ctx, recent, time.Now().Add(-time.Second)))
		require.NoError(t, s.Extend(ctx, old, time.Now().Add(-2*time.Hour)))
		for _, u := range until(t, s, recent, old) {
			assert.True(t, u.IsZero(), "got %s", u)
		}
	})

	t.Run("a cooldown ends when its time passes", func(t *testing.T) {
		t.Parallel()
		s, advance := newStore(t)
		a := name(t, "a")
		end := time.Now().Add(time.Second)
		require.NoError(t, s.Extend(ctx, a, end))
		near(t, end, until(t, s, a)[0], "before its end")
		advance(1500 * time.Millisecond)
		assert.True(t, until(t, s, a)[0].IsZero(), "after its end")
	})

	t.Run("concurrent extends keep the maximum", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		a := name(t, "a")
		now := time.Now()
		ends := make([]time.Time, 50)
		latest := now
		for i := range ends {
			ends[i] = now.Add(time.Duration(mrand.IntN(600_000)+1) * time.Millisecond)
			if ends[i].After(latest) {
				latest = ends[i]
			}
		}
		var wg sync.WaitGroup
		for _, e := range ends {
			wg.Go(func() { assert.NoError(t, s.Extend(ctx, a, e)) })
		}
		wg.Wait()
		near(t, latest, until(t, s, a)[0])
	})
}
