package portstest

import (
	"context"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// guardRule is short enough that a store on real time runs the suite in
// a few seconds.
var guardRule = domain.LoginBackoff{MaxFailures: 3, Base: 200 * time.Millisecond, Max: 800 * time.Millisecond, Window: 2 * time.Second}

// guardTolerance is how far a lock's time left may read from the rule: a
// store on real time loses some to the round trip.
const guardTolerance = 100 * time.Millisecond

// RunLoginGuard checks the ports.LoginGuard contract. newGuard returns a
// guard for each subtest and a function that moves its clock forward by at
// least d: a fake clock's Advance, or time.Sleep for a store on real time.
//
// Every key is unique to one run of one subtest, so a guard may share its
// data with other tests and earlier runs.
func RunLoginGuard(t *testing.T, newGuard func(t *testing.T) (ports.LoginGuard, func(d time.Duration))) {
	ctx := context.Background()
	run := rand.Text()[:10]
	key := func(t *testing.T, n string) string { return "portstest:" + run + ":" + t.Name() + ":" + n }
	attempt := func(t *testing.T, g ports.LoginGuard, k string, rule domain.LoginBackoff) domain.LoginAttempt {
		t.Helper()
		a, err := g.Attempt(ctx, k, rule)
		require.NoError(t, err)
		return a
	}
	// allowN makes n attempts that must all be allowed.
	allowN := func(t *testing.T, g ports.LoginGuard, k string, n int) {
		t.Helper()
		for i := range n {
			require.True(t, attempt(t, g, k, guardRule).Allowed, "attempt %d", i+1)
		}
	}
	refused := func(t *testing.T, g ports.LoginGuard, k string, lock time.Duration, msg string) {
		t.Helper()
		a := attempt(t, g, k, guardRule)
		assert.False(t, a.Allowed, msg)
		assert.LessOrEqual(t, a.RetryAfter, lock, msg)
		assert.Greater(t, a.RetryAfter, lock-guardTolerance, msg)
	}

	t.Run("a rule that is off never locks", func(t *testing.T) {
		t.Parallel()
		g, _ := newGuard(t)
		k := key(t, "a")
		for range 20 {
			a := attempt(t, g, k, domain.LoginBackoff{})
			assert.Equal(t, domain.LoginAttempt{Allowed: true}, a)
		}
		allowN(t, g, k, guardRule.MaxFailures) // and counted nothing
	})

	t.Run("the MaxFailures-th attempt locks for Base", func(t *testing.T) {
		t.Parallel()
		g, _ := newGuard(t)
		k := key(t, "a")
		allowN(t, g, k, guardRule.MaxFailures)
		refused(t, g, k, guardRule.Base, "the next attempt is refused")
		refused(t, g, k, guardRule.Base, "and the one after")
	})

	t.Run("locks double up to Max, refused attempts are not counted", func(t *testing.T) {
		t.Parallel()
		g, advance := newGuard(t)
		k := key(t, "a")
		allowN(t, g, k, guardRule.MaxFailures)
		for _, lock := range []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 800 * time.Millisecond} {
			refused(t, g, k, lock, "locked")
			refused(t, g, k, lock, "still locked, and this refusal did not lengthen the lock")
			advance(lock + 20*time.Millisecond)
			require.True(t, attempt(t, g, k, guardRule).Allowed, "allowed once the %s lock ends", lock)
		}
		refused(t, g, k, guardRule.Max, "capped at Max")
	})

	t.Run("reset forgets the count and the lock", func(t *testing.T) {
		t.Parallel()
		g, _ := newGuard(t)
		k := key(t, "a")
		allowN(t, g, k, guardRule.MaxFailures)
		refused(t, g, k, guardRule.Base, "locked")
		require.NoError(t, g.Reset(ctx, k))
		allowN(t, g, k, guardRule.MaxFailures)
		refused(t, g, k, guardRule.Base, "counted afresh")
		require.NoError(t, g.Reset(ctx, key(t, "never seen")), "resetting an unknown key is fine")
	})

	t.Run("keys are independent", func(t *testing.T) {
		t.Parallel()
		g, _ := newGuard(t)
		a, b := key(t, "a"), key(t, "b")
		allowN(t, g, a, guardRule.MaxFailures)
		refused(t, g, a, guardRule.Base, "a is locked")
		allowN(t, g, b, guardRule.MaxFailures)
		require.NoError(t, g.Reset(ctx, b))
		refused(t, g, a, guardRule.Base, "resetting b leaves a locked")
	})

	t.Run("the count is forgotten a Window after the last attempt", func(t *testing.T) {
		t.Parallel()
		g, advance := newGuard(t)
		k := key(t, "a")
		allowN(t, g, k, guardRule.MaxFailures-1)
		advance(guardRule.Window + 100*time.Millisecond)
		allowN(t, g, k, guardRule.MaxFailures)
		refused(t, g, k, guardRule.Base, "counted from zero again, locks from Base again")
	})

	t.Run("a Window after a lock ends, locks start over from Base", func(t *testing.T) {
		t.Parallel()
		g, advance := newGuard(t)
		k := key(t, "a")
		allowN(t, g, k, guardRule.MaxFailures)
		advance(guardRule.Base + guardRule.Window/2)
		require.True(t, attempt(t, g, k, guardRule).Allowed)
		refused(t, g, k, 2*guardRule.Base, "within the window the count goes on")
		advance(2*guardRule.Base + guardRule.Window + 100*time.Millisecond)
		allowN(t, g, k, guardRule.MaxFailures)
		refused(t, g, k, guardRule.Base, "forgotten")
	})

	t.Run("concurrent attempts: exactly MaxFailures get through", func(t *testing.T) {
		t.Parallel()
		g, _ := newGuard(t)
		k := key(t, "a")
		var allowed atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 40 {
			wg.Go(func() {
				<-start
				a, err := g.Attempt(ctx, k, guardRule)
				assert.NoError(t, err)
				if a.Allowed {
					allowed.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		assert.Equal(t, int32(guardRule.MaxFailures), allowed.Load())
	})
}
