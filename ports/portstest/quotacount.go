package portstest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// WriteBehind is what RunQuotaWriteBehind needs: a quota store counting in
// front of a database (in Redis or in process) whose queue writes only
// when Flush says so, and the database's own store.
type WriteBehind struct {
	Users ports.UserStore
	// Quota counts in front of DB.
	Quota ports.QuotaStore
	// DB is the database's own quota store, read directly.
	DB ports.QuotaStore
	// Flush writes the queue now.
	Flush func(t *testing.T)
	// Crash stops Quota's queue without writing it, as a kill would.
	Crash func(t *testing.T)
	// Restart returns a new counting store over the same database (and
	// Redis), as a restarted instance would build.
	Restart func(t *testing.T) ports.QuotaStore
}

// RunQuotaWriteBehind checks what a quota store that writes behind
// promises: the database sees the counts once written, refunds never
// count the database down before it counted up, and a crash loses at most
// the grants not yet written, in the user's favour.
func RunQuotaWriteBehind(t *testing.T, newStores func(t *testing.T) WriteBehind) {
	ctx := context.Background()
	day := time.Date(2025, 12, 25, 0, 0, 0, 0, time.UTC)
	newUser := func(t *testing.T, s WriteBehind, email string) domain.UserID {
		t.Helper()
		u, err := s.Users.CreateUser(ctx, domain.NewUser{Email: email})
		require.NoError(t, err)
		return u.ID
	}
	used := func(t *testing.T, q ports.QuotaStore, id domain.UserID) int {
		t.Helper()
		n, err := q.QuotaUsed(ctx, id, day)
		require.NoError(t, err)
		return n
	}
	consume := func(t *testing.T, q ports.QuotaStore, id domain.UserID, n, limit int) {
		t.Helper()
		for range n {
			_, ok, err := q.ConsumeQuota(ctx, id, day, limit)
			require.NoError(t, err)
			require.True(t, ok)
		}
	}

	t.Run("counts reach the database when written", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		id := newUser(t, s, "wb@example.com")
		consume(t, s.Quota, id, 3, 10)
		assert.Equal(t, 0, used(t, s.DB, id), "not written on the request")
		assert.Equal(t, 3, used(t, s.Quota, id))
		s.Flush(t)
		assert.Equal(t, 3, used(t, s.DB, id))
		consume(t, s.Quota, id, 2, 10)
		s.Flush(t)
		assert.Equal(t, 5, used(t, s.DB, id), "a second batch adds to the first")
	})

	t.Run("counts start from the database", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		id := newUser(t, s, "seed@example.com")
		consume(t, s.DB, id, 4, 5)
		consume(t, s.Quota, id, 1, 5)
		_, ok, err := s.Quota.ConsumeQuota(ctx, id, day, 5)
		require.NoError(t, err)
		assert.False(t, ok, "the database's four and one more reach the limit")
		s.Flush(t)
		assert.Equal(t, 5, used(t, s.DB, id))
	})

	t.Run("refunds", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		id := newUser(t, s, "refund@example.com")
		consume(t, s.Quota, id, 2, 10)
		require.NoError(t, s.Quota.RefundQuota(ctx, id, day), "cancels a queued grant")
		assert.Equal(t, 1, used(t, s.Quota, id))
		s.Flush(t)
		assert.Equal(t, 1, used(t, s.DB, id))
		require.NoError(t, s.Quota.RefundQuota(ctx, id, day), "takes a written grant back in the database")
		assert.Equal(t, 0, used(t, s.Quota, id))
		assert.Equal(t, 0, used(t, s.DB, id))
		require.NoError(t, s.Quota.RefundQuota(ctx, id, day), "never below zero")
		s.Flush(t)
		assert.Equal(t, 0, used(t, s.Quota, id))
		assert.Equal(t, 0, used(t, s.DB, id))
	})

	t.Run("a crash loses at most the unwritten grants, in the user's favour", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		id := newUser(t, s, "crash@example.com")
		consume(t, s.Quota, id, 5, 10)
		s.Flush(t)
		consume(t, s.Quota, id, 3, 10)
		s.Crash(t)
		assert.Equal(t, 5, used(t, s.DB, id), "the written batch stays, the unwritten three are lost")
		again := s.Restart(t)
		n := used(t, again, id)
		assert.GreaterOrEqual(t, n, 5)
		assert.LessOrEqual(t, n, 8, "never more than was granted")
	})

	t.Run("a kill under load keeps the bound", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		id := newUser(t, s, "load@example.com")
		const limit = 100_000
		var granted atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					_, ok, err := s.Quota.ConsumeQuota(ctx, id, day, limit)
					if err != nil || !ok {
						t.Errorf("consume: %v %v", ok, err)
						return
					}
					granted.Add(1)
				}
			})
		}
		for granted.Load() < 50 {
			time.Sleep(time.Millisecond)
		}
		// Every grant counted here was queued before the batch was taken.
		written := granted.Load()
		s.Flush(t)
		for granted.Load() < written+50 {
			time.Sleep(time.Millisecond)
		}
		s.Crash(t)
		close(stop)
		wg.Wait()
		n := used(t, s.DB, id)
		assert.GreaterOrEqual(t, int64(n), written, "the written batch stays")
		assert.Less(t, int64(n), granted.Load(), "the grants after the last batch are lost")
	})
}
