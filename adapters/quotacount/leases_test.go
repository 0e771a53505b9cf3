package quotacount_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/adapters/quotacount"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
	"github.com/genzai/genzai/ports/portstest"
)

// leaseDB is a PostgreSQL database for lease tests, with a connection of
// the test's own to look at the tables.
type leaseDB struct {
	*postgres.DB
	conn *pgx.Conn
}

func openLeaseDB(t *testing.T) leaseDB {
	t.Helper()
	url := pgtest.NewURL(t)
	db, err := postgres.Open(context.Background(), url, postgres.PoolConfig{MaxConns: pgtest.MaxConns - 1})
	require.NoError(t, err)
	t.Cleanup(db.Close)
	conn, err := pgx.Connect(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return leaseDB{DB: db, conn: conn}
}

// leases is an instance over db that writes only when told (or closed
// when t ends); Idle is long unless cfg says otherwise.
func leases(t *testing.T, db quotacount.LeaseStore, cfg quotacount.LeaseConfig) *quotacount.Leases {
	t.Helper()
	cfg.Interval = time.Hour
	if cfg.Idle == 0 {
		cfg.Idle = time.Hour
	}
	if cfg.RefusalHold == 0 {
		cfg.RefusalHold = -1
	}
	l := quotacount.NewLeases(db, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	t.Cleanup(func() { require.NoError(t, l.Close(context.Background())) })
	return l
}

func TestLeasesQuotaStoreContract(t *testing.T) {
	portstest.RunQuotaStore(t, func(t *testing.T) portstest.Stores {
		db := openLeaseDB(t)
		return portstest.Stores{Users: db, Quota: leases(t, db, quotacount.LeaseConfig{})}
	})
}

func TestLeasesWriteBehind(t *testing.T) {
	portstest.RunQuotaWriteBehind(t, func(t *testing.T) portstest.WriteBehind {
		db := openLeaseDB(t)
		l := leases(t, db, quotacount.LeaseConfig{})
		return portstest.WriteBehind{
			Users: db, Quota: l, DB: db,
			Flush:   func(t *testing.T) { require.NoError(t, l.Flush(context.Background())) },
			Crash:   func(*testing.T) { l.Abandon() },
			Restart: func(t *testing.T) ports.QuotaStore { return leases(t, db, quotacount.LeaseConfig{}) },
		}
	})
}

func TestLeasesAcrossInstances(t *testing.T) {
	portstest.RunSharedQuota(t, func(t *testing.T) portstest.SharedQuota {
		db := openLeaseDB(t)
		return portstest.SharedQuota{
			Users:       db,
			HoldsBlocks: true,
			Instance:    func(t *testing.T) ports.QuotaStore { return leases(t, db, quotacount.LeaseConfig{}) },
		}
	})
}

var leaseDay = time.Date(2025, 12, 25, 0, 0, 0, 0, time.UTC)

func newLeaseUser(t *testing.T, db leaseDB, email string) domain.UserID {
	t.Helper()
	u, err := db.CreateUser(context.Background(), domain.NewUser{Email: email})
	require.NoError(t, err)
	return u.ID
}

// grants counts how many of n requests q grants.
func grants(t *testing.T, q ports.QuotaStore, id domain.UserID, n, limit int) int {
	t.Helper()
	granted := 0
	for range n {
		_, ok, err := q.ConsumeQuota(context.Background(), id, leaseDay, limit, 1)
		require.NoError(t, err)
		if ok {
			granted++
		}
	}
	return granted
}

// leased sums the units of the user's leases in the database.
func leased(t *testing.T, db leaseDB, id domain.UserID) (units, rows int) {
	t.Helper()
	require.NoError(t, db.conn.QueryRow(context.Background(),
		`SELECT COALESCE(sum(units), 0)::int, count(*)::int FROM quota_leases WHERE user_id = $1 AND day = $2`,
		string(id), leaseDay).Scan(&units, &rows))
	return units, rows
}

// TestLeaseBlocks: a busy instance takes growing blocks, so that most
// requests cost no statement, and the database holds its unwritten grants
// and free units in its lease until it writes them.
func TestLeaseBlocks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openLeaseDB(t)
	counter := &countingStore{LeaseStore: db}
	l := leases(t, counter, quotacount.LeaseConfig{})
	id := newLeaseUser(t, db, "blocks@example.com")

	require.Equal(t, 100, grants(t, l, id, 100, 10_000))
	assert.Less(t, int(counter.takes.Load()), 10, "blocks double while they go quickly")
	units, rows := leased(t, db, id)
	assert.Equal(t, 1, rows)
	assert.GreaterOrEqual(t, units, 100, "the lease holds the unwritten grants and the free units")

	require.NoError(t, l.Flush(ctx))
	written, err := db.QuotaUsed(ctx, id, leaseDay)
	require.NoError(t, err)
	assert.Equal(t, 100, written)
	after, _ := leased(t, db, id)
	assert.Equal(t, units-100, after, "written grants leave the lease")
}

// TestLeaseFirstBlock: a user's first block is sized from the distance
// to the limit: firstBlock units far from it, at most a quarter of what
// is free beyond the request waiting near it.
func TestLeaseFirstBlock(t *testing.T) {
	t.Parallel()
	db := openLeaseDB(t)
	l := leases(t, db, quotacount.LeaseConfig{})
	tests := []struct {
		limit, units int
	}{
		{limit: 10_000, units: 16},
		{limit: 40, units: 10}, // 1 + (40-1)/4
		{limit: 10, units: 3},  // 1 + (10-1)/4
		{limit: 4, units: 1},
		{limit: 1, units: 1},
	}
	for i, tt := range tests {
		id := newLeaseUser(t, db, fmt.Sprintf("first%d@example.com", i))
		require.Equal(t, 1, grants(t, l, id, 1, tt.limit))
		units, _ := leased(t, db, id)
		assert.Equal(t, tt.units, units, "limit %d", tt.limit)
	}
}

// TestLeaseSettlesOnlyWhatChanged: a write touches only the leases with
// grants to write or units to return, and those due for renewal (half a
// TTL after the last), in transactions of at most 100 leases in key
// order.
func TestLeaseSettlesOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openLeaseDB(t)
	store := &countingStore{LeaseStore: db}
	const ttl = 2 * time.Second
	l := leases(t, store, quotacount.LeaseConfig{TTL: ttl})
	ids := make([]domain.UserID, 150)
	for i := range ids {
		ids[i] = newLeaseUser(t, db, fmt.Sprintf("settle%d@example.com", i))
		require.Equal(t, 1, grants(t, l, ids[i], 1, 1000))
	}

	require.NoError(t, l.Flush(ctx))
	batches := store.settled()
	require.Len(t, batches, 2, "150 leases with grants: two transactions")
	assert.Len(t, batches[0], 100)
	assert.Len(t, batches[1], 50)
	all := slices.Concat(batches...)
	assert.True(t, slices.IsSortedFunc(all, func(a, b quotacount.Settlement) int {
		return strings.Compare(string(a.UserID), string(b.UserID))
	}), "in key order, across transactions")
	for _, s := range all {
		assert.Equal(t, 1, s.Written)
	}

	require.Equal(t, 1, grants(t, l, ids[7], 1, 1000))
	require.NoError(t, l.Flush(ctx))
	batches = store.settled()
	require.Len(t, batches, 1)
	assert.Equal(t, []quotacount.Settlement{{UserID: ids[7], Day: leaseDay, Written: 1}}, batches[0], "only the lease with a grant")
	require.NoError(t, l.Flush(ctx))
	assert.Empty(t, store.settled(), "nothing to write and nothing due: no statement")

	require.Eventually(t, func() bool {
		assert.NoError(t, l.Flush(ctx))
		renewed := slices.Concat(store.settled()...)
		for _, s := range renewed {
			assert.Zero(t, s.Written+s.Returned, "a renewal writes nothing")
		}
		return len(renewed) >= len(ids)-1
	}, 5*time.Second, 50*time.Millisecond, "the leases are renewed once due")
	written, err := db.QuotaUsed(ctx, ids[7], leaseDay)
	require.NoError(t, err)
	assert.Equal(t, 2, written)
}

// TestLeaseIdleHandedBack: a lease without grants for Idle is handed back
// at the next write, and another instance can then grant its units.
func TestLeaseIdleHandedBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openLeaseDB(t)
	id := newLeaseUser(t, db, "idle@example.com")
	const idle = 2 * time.Second // longer than b's ten requests below
	a := leases(t, db, quotacount.LeaseConfig{Idle: idle})
	b := leases(t, db, quotacount.LeaseConfig{})

	require.Equal(t, 2, grants(t, a, id, 2, 10), "the first block is 3 units: the request and a quarter of the 9 left")
	units, _ := leased(t, db, id)
	require.Greater(t, units, 2, "a holds free units")
	free := units - 2
	assert.Equal(t, 8-free, grants(t, b, id, 10, 10), "b grants all but what a holds")

	// A write before the lease is idle keeps it (and renews it).
	require.NoError(t, a.Flush(ctx))
	_, rows := leased(t, db, id)
	require.Equal(t, 2, rows)
	require.Eventually(t, func() bool {
		require.NoError(t, a.Flush(ctx))
		_, rows := leased(t, db, id)
		return rows == 1
	}, 10*time.Second, 100*time.Millisecond, "a hands its lease back once idle")
	assert.Equal(t, free, grants(t, b, id, 10, 10), "b grants what a gave back, and no more")
}

// TestLeaseShutdownHandsBack: Close writes the grants and drops every
// lease of the instance.
func TestLeaseShutdownHandsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openLeaseDB(t)
	id := newLeaseUser(t, db, "close@example.com")
	a := quotacount.NewLeases(db, slog.New(slog.NewTextHandler(io.Discard, nil)), quotacount.LeaseConfig{Interval: time.Hour, Idle: time.Hour})
	require.Equal(t, 2, grants(t, a, id, 2, 10))
	units, _ := leased(t, db, id)
	require.Greater(t, units, 2, "a holds free units")

	require.NoError(t, a.Close(ctx))
	written, err := db.QuotaUsed(ctx, id, leaseDay)
	require.NoError(t, err)
	assert.Equal(t, 2, written)
	_, rows := leased(t, db, id)
	assert.Zero(t, rows)
	b := leases(t, db, quotacount.LeaseConfig{})
	assert.Equal(t, 8, grants(t, b, id, 10, 10))
}

// TestLeaseOfDeadInstanceExpires: a killed instance's lease blocks its
// units only until it expires; its unwritten grants are lost, in the
// user's favour.
func TestLeaseOfDeadInstanceExpires(t *testing.T) {
	t.Parallel()
	db := openLeaseDB(t)
	id := newLeaseUser(t, db, "dead@example.com")
	a := leases(t, db, quotacount.LeaseConfig{TTL: 500 * time.Millisecond})
	require.Equal(t, 2, grants(t, a, id, 2, 10))
	units, _ := leased(t, db, id)
	require.Greater(t, units, 2)
	a.Abandon()

	b := leases(t, db, quotacount.LeaseConfig{})
	assert.Equal(t, 10-units, grants(t, b, id, 10, 10), "the dead lease still counts")
	require.Eventually(t, func() bool {
		return grants(t, b, id, 1, 10) == 1
	}, 5*time.Second, 50*time.Millisecond, "the dead lease expires")
	assert.Equal(t, units-1, grants(t, b, id, 10, 10), "its units come back, its two unwritten grants with them")
}

// TestLeaseServesThroughAnOutage: while the database cannot be reached, a
// user with a live block is served from it until the lease would expire;
// a user without one gets the store's error.
func TestLeaseServesThroughAnOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openLeaseDB(t)
	store := &countingStore{LeaseStore: db}
	const ttl = 900 * time.Millisecond
	l := leases(t, store, quotacount.LeaseConfig{TTL: ttl})
	held, fresh := newLeaseUser(t, db, "held@example.com"), newLeaseUser(t, db, "fresh@example.com")
	require.Equal(t, 20, grants(t, l, held, 20, 1000))
	units, _ := leased(t, db, held)
	free := units - 20
	require.Greater(t, free, 3, "blocks grow while they go quickly")

	store.down.Store(true)
	_, _, err := l.ConsumeQuota(ctx, fresh, leaseDay, 1000, 1)
	require.ErrorIs(t, err, errDown, "no block: the database must answer")
	_, ok, err := l.ConsumeQuota(ctx, held, leaseDay, 1000, 1)
	require.NoError(t, err)
	assert.True(t, ok, "served from the block")
	require.ErrorIs(t, l.Flush(ctx), errDown, "the write fails and is kept")
	during := 1
	require.Eventually(t, func() bool {
		_, ok, err := l.ConsumeQuota(ctx, held, leaseDay, 1000, 1)
		if ok {
			during++
		}
		return errors.Is(err, errDown)
	}, 5*time.Second, ttl/6, "grants stop once the lease may expire unrenewed")
	assert.Less(t, during, free, "stopped by the lease's end, not by the block's")

	store.down.Store(false)
	require.NoError(t, l.Flush(ctx))
	written, err := db.QuotaUsed(ctx, held, leaseDay)
	require.NoError(t, err)
	assert.Equal(t, 20+during, written, "the outage's grants are written once it ends")
	require.Equal(t, 1, grants(t, l, held, 1, 1000))
	used, err := l.QuotaUsed(ctx, held, leaseDay)
	require.NoError(t, err)
	assert.Equal(t, written+1, used)
}

var errDown = errors.New("database down")

// countingStore counts takes, keeps the settles' batches and fails every
// statement while down.
type countingStore struct {
	quotacount.LeaseStore
	takes atomic.Int32
	down  atomic.Bool

	mu      sync.Mutex
	settles [][]quotacount.Settlement
}

// settled returns the batches settled since the last call.
func (s *countingStore) settled() [][]quotacount.Settlement {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.settles
	s.settles = nil
	return out
}

func (s *countingStore) TakeQuotaLease(ctx context.Context, instance string, r quotacount.LeaseRequest) (quotacount.Lease, error) {
	if s.down.Load() {
		return quotacount.Lease{}, errDown
	}
	s.takes.Add(1)
	return s.LeaseStore.TakeQuotaLease(ctx, instance, r)
}

func (s *countingStore) SettleQuotaLeases(ctx context.Context, instance string, st []quotacount.Settlement, ttl time.Duration) error {
	if s.down.Load() {
		return errDown
	}
	s.mu.Lock()
	s.settles = append(s.settles, slices.Clone(st))
	s.mu.Unlock()
	return s.LeaseStore.SettleQuotaLeases(ctx, instance, st, ttl)
}

func (s *countingStore) QuotaUsed(ctx context.Context, id domain.UserID, day time.Time) (int, error) {
	if s.down.Load() {
		return 0, errDown
	}
	return s.LeaseStore.QuotaUsed(ctx, id, day)
}

// TestLeaseFlushUnderLoad: writes while many requests take and use blocks
// (several users, some near their limit) neither block the requests nor
// lose or double a grant.
func TestLeaseFlushUnderLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openLeaseDB(t)
	l := leases(t, db, quotacount.LeaseConfig{Idle: 20 * time.Millisecond})
	users := []domain.UserID{newLeaseUser(t, db, "l1@example.com"), newLeaseUser(t, db, "l2@example.com"), newLeaseUser(t, db, "l3@example.com")}
	const limit = 150
	var granted [3]atomic.Int32
	stop := make(chan struct{})
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				assert.NoError(t, l.Flush(ctx))
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range 12 {
		wg.Go(func() {
			for i := range 40 {
				u := (w + i) % len(users)
				_, ok, err := l.ConsumeQuota(ctx, users[u], leaseDay, limit, 1)
				if !assert.NoError(t, err) {
					return
				}
				if ok {
					granted[u].Add(1)
				}
				if i%7 == 0 && ok {
					assert.NoError(t, l.RefundQuota(ctx, users[u], leaseDay, 1))
					granted[u].Add(-1)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-flushed
	require.NoError(t, l.Flush(ctx))
	for u, id := range users {
		written, err := db.QuotaUsed(ctx, id, leaseDay)
		require.NoError(t, err)
		assert.Equal(t, int(granted[u].Load()), written, "user %d", u)
		assert.LessOrEqual(t, written, limit)
	}
}
