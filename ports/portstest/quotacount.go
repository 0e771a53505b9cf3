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
			_, ok, err := q.ConsumeQuota(ctx, id, day, limit, 1)
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
		_, ok, err := s.Quota.ConsumeQuota(ctx, id, day, 5, 1)
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
		require.NoError(t, s.Quota.RefundQuota(ctx, id, day, 1), "cancels a queued grant")
		assert.Equal(t, 1, used(t, s.Quota, id))
		s.Flush(t)
		assert.Equal(t, 1, used(t, s.DB, id))
		require.NoError(t, s.Quota.RefundQuota(ctx, id, day, 1), "takes a written grant back in the database")
		assert.Equal(t, 0, used(t, s.Quota, id))
		assert.Equal(t, 0, used(t, s.DB, id))
		require.NoError(t, s.Quota.RefundQuota(ctx, id, day, 1), "never below zero")
		s.Flush(t)
		assert.Equal(t, 0, used(t, s.Quota, id))
		assert.Equal(t, 0, used(t, s.DB, id))
	})

	t.Run("units are written and refunded together", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		id := newUser(t, s, "wbunits@example.com")
		_, ok, err := s.Quota.ConsumeQuota(ctx, id, day, 10, 3)
		require.NoError(t, err)
		require.True(t, ok)
		s.Flush(t)
		assert.Equal(t, 3, used(t, s.DB, id))
		_, ok, err = s.Quota.ConsumeQuota(ctx, id, day, 10, 4)
		require.NoError(t, err)
		require.True(t, ok)
		// Five back: the four queued are cancelled, one written is taken
		// back in the database.
		require.NoError(t, s.Quota.RefundQuota(ctx, id, day, 5))
		assert.Equal(t, 2, used(t, s.Quota, id))
		assert.Equal(t, 2, used(t, s.DB, id))
		s.Flush(t)
		assert.Equal(t, 2, used(t, s.DB, id))
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
					_, ok, err := s.Quota.ConsumeQuota(ctx, id, day, limit, 1)
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

// SharedQuota is what RunSharedQuota needs: counters that share one count,
// as separate instances of the gateway do (over one Redis, or leases of
// one PostgreSQL database).
type SharedQuota struct {
	Users ports.UserStore
	// HoldsBlocks says the counters hold blocks of a user's quota (leases):
	// a request of several units may then be refused while another instance
	// holds some of the units it needed, until that instance hands its
	// block back. The bound holds all the same, and no unit is lost.
	HoldsBlocks bool
	// Instance returns another counter over the shared store, as another
	// instance would build; it is closed when t ends.
	Instance func(t *testing.T) ports.QuotaStore
}

// RunSharedQuota checks that counters on several instances keep one quota:
// exactly the limit is granted under parallel load spread over them, a
// lowered limit stops them all at once, and a refund gives back one unit.
func RunSharedQuota(t *testing.T, newShared func(t *testing.T) SharedQuota) {
	ctx := context.Background()
	day := time.Date(2025, 12, 25, 0, 0, 0, 0, time.UTC)
	setup := func(t *testing.T, email string, instances int) (domain.UserID, []ports.QuotaStore) {
		t.Helper()
		s := newShared(t)
		u, err := s.Users.CreateUser(ctx, domain.NewUser{Email: email})
		require.NoError(t, err)
		qs := make([]ports.QuotaStore, instances)
		for i := range qs {
			qs[i] = s.Instance(t)
		}
		return u.ID, qs
	}
	grant := func(t *testing.T, q ports.QuotaStore, id domain.UserID, limit int) bool {
		t.Helper()
		_, ok, err := q.ConsumeQuota(ctx, id, day, limit, 1)
		require.NoError(t, err)
		return ok
	}

	t.Run("exactly the limit across instances under parallel load", func(t *testing.T) {
		t.Parallel()
		id, qs := setup(t, "shared@example.com", 3)
		const limit, perInstance = 60, 100
		var granted, refused atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range len(qs) * perInstance {
			q := qs[i%len(qs)]
			wg.Go(func() {
				<-start
				_, ok, err := q.ConsumeQuota(ctx, id, day, limit, 1)
				switch {
				case err != nil:
					t.Errorf("consume: %v", err)
				case ok:
					granted.Add(1)
				default:
					refused.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		assert.Equal(t, int32(limit), granted.Load())
		assert.Equal(t, int32(len(qs)*perInstance-limit), refused.Load())
		for i, q := range qs {
			assert.False(t, grant(t, q, id, limit), "instance %d after the burst", i)
		}
	})

	t.Run("units across instances are all or nothing", func(t *testing.T) {
		t.Parallel()
		s := newShared(t)
		u, err := s.Users.CreateUser(ctx, domain.NewUser{Email: "sharedunits@example.com"})
		require.NoError(t, err)
		qs := []ports.QuotaStore{s.Instance(t), s.Instance(t), s.Instance(t)}
		const limit, callers, units = 10, 30, 3
		var granted atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range callers {
			q := qs[i%len(qs)]
			wg.Go(func() {
				<-start
				_, ok, err := q.ConsumeQuota(ctx, u.ID, day, limit, units)
				if err != nil {
					t.Errorf("consume: %v", err)
				} else if ok {
					granted.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		n := int(granted.Load())
		assert.LessOrEqual(t, n*units, limit)
		if !s.HoldsBlocks {
			assert.Equal(t, limit/units, n)
		}
		// Every unit not granted whole is still free, on one instance or
		// another: single units take exactly the rest.
		rest := 0
		for _, q := range qs {
			for grant(t, q, u.ID, limit) {
				rest++
			}
		}
		assert.Equal(t, limit-n*units, rest)
	})

	t.Run("a refund of several units gives them all back", func(t *testing.T) {
		t.Parallel()
		id, qs := setup(t, "sharedrefund@example.com", 2)
		_, ok, err := qs[0].ConsumeQuota(ctx, id, day, 10, 6)
		require.NoError(t, err)
		require.True(t, ok)
		_, ok, err = qs[1].ConsumeQuota(ctx, id, day, 10, 3)
		require.NoError(t, err)
		require.True(t, ok)
		require.NoError(t, qs[0].RefundQuota(ctx, id, day, 6))
		_, ok, err = qs[0].ConsumeQuota(ctx, id, day, 10, 6)
		require.NoError(t, err)
		assert.True(t, ok, "the refunded units")
		// One unit is left, on one instance or another.
		rest := 0
		for _, q := range qs {
			for grant(t, q, id, 10) {
				rest++
			}
		}
		assert.Equal(t, 1, rest)
	})

	t.Run("a lowered limit stops every instance at once", func(t *testing.T) {
		t.Parallel()
		id, qs := setup(t, "lowered@example.com", 2)
		for range 5 {
			require.True(t, grant(t, qs[0], id, 10))
		}
		require.True(t, grant(t, qs[1], id, 10))
		for i, q := range qs {
			assert.False(t, grant(t, q, id, 4), "instance %d under the lowered limit", i)
		}
		// Raised again, the instances grant up to it, together.
		n := 0
		for i := range 10 {
			if grant(t, qs[i%2], id, 8) {
				n++
			}
		}
		assert.Equal(t, 2, n, "six counted, two more under a limit of eight")
	})

	t.Run("a refund gives back one unit", func(t *testing.T) {
		t.Parallel()
		id, qs := setup(t, "refunded@example.com", 2)
		require.True(t, grant(t, qs[0], id, 3))
		require.True(t, grant(t, qs[0], id, 3))
		require.True(t, grant(t, qs[1], id, 3))
		require.False(t, grant(t, qs[1], id, 3))
		require.NoError(t, qs[0].RefundQuota(ctx, id, day, 1))
		assert.True(t, grant(t, qs[0], id, 3), "the refunded unit")
		for i, q := range qs {
			assert.False(t, grant(t, q, id, 3), "instance %d: nothing more", i)
		}
	})
}
