package redislimit_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/adapters/quotacount"
	"github.com/genzai/genzai/adapters/redislimit"
	"github.com/genzai/genzai/adapters/redislimit/redistest"
	"github.com/genzai/genzai/adapters/sqlite"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
	"github.com/genzai/genzai/ports/portstest"
)

// quotaDB is what the Redis counter runs over: a database's users, its
// own quota store (seeds, refunds, the outage's counting) and the sink
// its grants are written behind to.
type quotaDB interface {
	ports.UserStore
	ports.QuotaStore
	quotacount.Sink
}

// quotaEngines are the databases the Redis counter runs on: REDIS_URL
// may be set with either.
var quotaEngines = []struct {
	name string
	open func(t *testing.T) quotaDB
}{
	{"postgres", openPostgres},
	{"sqlite", func(t *testing.T) quotaDB {
		ctx := context.Background()
		db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "genzai.db"), sqlite.Config{})
		require.NoError(t, err)
		t.Cleanup(db.Close)
		m, err := db.NewMigrator(nil)
		require.NoError(t, err)
		defer m.Close()
		_, err = m.Up(ctx)
		require.NoError(t, err)
		return db
	}},
}

func openPostgres(t *testing.T) quotaDB {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.NewURL(t), postgres.PoolConfig{MaxConns: pgtest.MaxConns})
	require.NoError(t, err)
	t.Cleanup(db.Close)
	return db
}

// quotaEnv is one database and one Redis client for quota stores, each of
// which stands for an instance.
type quotaEnv struct {
	db     quotaDB
	client *redis.Client
}

// newQuotaEnv is a quotaEnv on PostgreSQL.
func newQuotaEnv(t *testing.T) quotaEnv { return newQuotaEnvOn(t, openPostgres) }

func newQuotaEnvOn(t *testing.T, open func(t *testing.T) quotaDB) quotaEnv {
	t.Helper()
	db := open(t)
	// The contract's 200 concurrent callers queue for the pool's
	// connections; on a loaded test machine (the race detector, packages
	// side by side) that wait can pass the production 250 ms, which would
	// test the machine rather than the counter.
	u, err := url.Parse(redistest.NewURL(t))
	require.NoError(t, err)
	q := u.Query()
	q.Set("pool_timeout", "5s")
	u.RawQuery = q.Encode()
	client, err := redislimit.Open(context.Background(), u.String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	return quotaEnv{db: db, client: client}
}

// instance is a quota store with its own queue, writing only when told
// (or closed when t ends).
func (e quotaEnv) instance(t *testing.T) (*redislimit.QuotaStore, *quotacount.WriteBehind) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	wb := quotacount.NewWriteBehind(e.db, logger, time.Hour)
	t.Cleanup(func() { require.NoError(t, wb.Close(context.Background())) })
	return redislimit.NewQuotaStore(e.client, e.db, wb, logger), wb
}

// alternating spreads calls over several instances in turn.
type alternating struct {
	stores []ports.QuotaStore
	next   atomic.Uint32
}

func (a *alternating) pick() ports.QuotaStore {
	return a.stores[int(a.next.Add(1))%len(a.stores)]
}

func (a *alternating) ConsumeQuota(ctx context.Context, id domain.UserID, day time.Time, limit, units int) (int, bool, error) {
	return a.pick().ConsumeQuota(ctx, id, day, limit, units)
}

func (a *alternating) RefundQuota(ctx context.Context, id domain.UserID, day time.Time, units int) error {
	return a.pick().RefundQuota(ctx, id, day, units)
}

func (a *alternating) QuotaUsed(ctx context.Context, id domain.UserID, day time.Time) (int, error) {
	return a.pick().QuotaUsed(ctx, id, day)
}

func TestQuotaStoreContract(t *testing.T) {
	for _, engine := range quotaEngines {
		t.Run(engine.name, func(t *testing.T) {
			t.Run("one instance", func(t *testing.T) {
				portstest.RunQuotaStore(t, func(t *testing.T) portstest.Stores {
					e := newQuotaEnvOn(t, engine.open)
					q, _ := e.instance(t)
					return portstest.Stores{Users: e.db, Quota: q}
				})
			})
			if engine.name == "sqlite" {
				return // one instance by nature
			}
			t.Run("two instances on one database and Redis", func(t *testing.T) {
				portstest.RunQuotaStore(t, func(t *testing.T) portstest.Stores {
					e := newQuotaEnvOn(t, engine.open)
					a, _ := e.instance(t)
					b, _ := e.instance(t)
					return portstest.Stores{Users: e.db, Quota: &alternating{stores: []ports.QuotaStore{a, b}}}
				})
			})
		})
	}
}

func TestQuotaStoreWritesBehind(t *testing.T) {
	for _, engine := range quotaEngines {
		t.Run(engine.name, func(t *testing.T) {
			portstest.RunQuotaWriteBehind(t, func(t *testing.T) portstest.WriteBehind {
				e := newQuotaEnvOn(t, engine.open)
				q, wb := e.instance(t)
				return portstest.WriteBehind{
					Users: e.db, Quota: q, DB: e.db,
					Flush: func(t *testing.T) { require.NoError(t, wb.Flush(context.Background())) },
					Crash: func(*testing.T) { wb.Abandon() },
					Restart: func(t *testing.T) ports.QuotaStore {
						again, _ := e.instance(t)
						return again
					},
				}
			})
		})
	}
}

// TestQuotaStoreFallsBackToTheDatabase counts in the database while Redis
// cannot answer, exactly.
func TestQuotaStoreFallsBackToTheDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newQuotaEnv(t)
	u, err := e.db.CreateUser(ctx, domain.NewUser{Email: "down@example.com"})
	require.NoError(t, err)
	down, err := redislimit.Open(ctx, "redis://127.0.0.1:1/0")
	require.Error(t, err, "nothing listens there")
	t.Cleanup(func() { _ = down.Close() })
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	wb := quotacount.NewWriteBehind(e.db, logger, time.Hour)
	t.Cleanup(func() { require.NoError(t, wb.Close(ctx)) })
	q := redislimit.NewQuotaStore(down, e.db, wb, logger)
	day := time.Date(2025, 12, 25, 0, 0, 0, 0, time.UTC)
	for want := 1; want <= 2; want++ {
		used, ok, err := q.ConsumeQuota(ctx, u.ID, day, 2, 1)
		require.NoError(t, err)
		assert.True(t, ok)
		assert.Equal(t, want, used)
	}
	used, ok, err := q.ConsumeQuota(ctx, u.ID, day, 2, 1)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Equal(t, 2, used)
	require.NoError(t, q.RefundQuota(ctx, u.ID, day, 1))
	n, err := q.QuotaUsed(ctx, u.ID, day)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	n, err = e.db.QuotaUsed(ctx, u.ID, day)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "counted in the database itself")
}

// logCount counts the records of each message.
type logCount struct {
	mu   sync.Mutex
	msgs map[string]int
}

func (l *logCount) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCount) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs[r.Message]++
	return nil
}
func (l *logCount) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCount) WithGroup(string) slog.Handler      { return l }
func (l *logCount) count(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for m, c := range l.msgs {
		if strings.HasPrefix(m, prefix) {
			n += c
		}
	}
	return n
}

// An outage costs one warning and no dial per request: the store counts in
// the database until a retry finds Redis again, then counts in Redis.
func TestQuotaStoreBacksOffWhileRedisIsDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newQuotaEnv(t)
	u, err := e.db.CreateUser(ctx, domain.NewUser{Email: "outage@example.com"})
	require.NoError(t, err)
	opts, err := redis.ParseURL(redistest.NewURL(t))
	require.NoError(t, err)
	var up atomic.Bool
	var dials atomic.Int64
	opts.MaxRetries, opts.DialerRetries = -1, 1
	opts.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		if !up.Load() {
			return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { _ = client.Close() })
	logs := &logCount{msgs: map[string]int{}}
	wb := quotacount.NewWriteBehind(e.db, slog.New(logs), time.Hour)
	t.Cleanup(func() { require.NoError(t, wb.Close(ctx)) })
	q := redislimit.NewQuotaStore(client, e.db, wb, slog.New(logs))
	day := time.Now().UTC().Truncate(24 * time.Hour)

	for want := 1; want <= 20; want++ {
		used, ok, err := q.ConsumeQuota(ctx, u.ID, day, 100, 1)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, want, used, "counted in the database, exactly")
	}
	assert.Equal(t, 1, logs.count("redis is unreachable"), "one warning for the outage")
	// One dial, and one more per retry (1 s, then 2 s, ...) should the
	// database be slow: far from a dial per request.
	assert.LessOrEqual(t, dials.Load(), int64(4), "Redis is not dialled for every request")

	// Redis held a count from before the outage, which misses the grants
	// counted in the database since: it must not be trusted again.
	key := redislimit.QuotaKeyPrefix + day.Format(time.DateOnly) + ":" + string(u.ID)
	require.NoError(t, e.client.Set(ctx, key, 1, time.Hour).Err())

	up.Store(true)
	require.Eventually(t, func() bool {
		_, ok, err := q.ConsumeQuota(ctx, u.ID, day, 100, 1)
		return err == nil && ok && logs.count("redis answers again") == 1
	}, 10*time.Second, 100*time.Millisecond, "a retry finds Redis again")
	n, err := client.Get(ctx, key).Int()
	require.NoError(t, err, "counting in Redis again")
	inDB, err := e.db.QuotaUsed(ctx, u.ID, day)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, inDB, 20)
	assert.Equal(t, inDB+1, n, "reseeded from the database (which holds the outage's grants), then one granted in Redis")
}

func TestQuotaStoreAcrossInstances(t *testing.T) {
	portstest.RunSharedQuota(t, func(t *testing.T) portstest.SharedQuota {
		e := newQuotaEnv(t)
		return portstest.SharedQuota{
			Users: e.db,
			Instance: func(t *testing.T) ports.QuotaStore {
				q, _ := e.instance(t)
				return q
			},
		}
	})
}
