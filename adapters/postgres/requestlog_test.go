package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/domain"
)

// logEnv is a fresh database with a pool on it and a plain connection for
// checks the adapter does not offer (row counts, locks).
type logEnv struct {
	db   *postgres.DB
	conn *pgx.Conn
}

func newLogEnv(t *testing.T) logEnv {
	t.Helper()
	ctx := context.Background()
	url := pgtest.NewURL(t)
	db, err := postgres.Open(ctx, url, postgres.PoolConfig{MaxConns: 4})
	require.NoError(t, err)
	t.Cleanup(db.Close)
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return logEnv{db: db, conn: conn}
}

func (e logEnv) user(t *testing.T, email string) domain.UserID {
	t.Helper()
	u, err := e.db.CreateUser(context.Background(), domain.NewUser{Email: email})
	require.NoError(t, err)
	return u.ID
}

func (e logEnv) rows(t *testing.T) int {
	t.Helper()
	var n int
	require.NoError(t, e.conn.QueryRow(context.Background(), "SELECT count(*) FROM request_log").Scan(&n))
	return n
}

func closeWriter(t *testing.T, w *postgres.RequestLogWriter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, w.Close(ctx))
}

func ptr[T any](v T) *T { return &v }

// at is a timestamp PostgreSQL stores exactly (microseconds, UTC).
var at = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)

func TestRequestLogRoundTrip(t *testing.T) {
	t.Parallel()
	e := newLogEnv(t)
	tests := []struct {
		name string
		rec  domain.RequestRecord
		// want adjusts rec to what reading it back must give; nil: rec itself.
		want func(*domain.RequestRecord)
	}{
		{
			name: "answered after fallback, streamed",
			rec: domain.RequestRecord{
				Tier: domain.TierSmart, Provider: domain.ProviderGroq, UpstreamModel: "llama-3.3-70b-versatile",
				KeyIndex: ptr(1), Outcome: domain.OutcomeSuccess,
				Attempts: []domain.Attempt{
					{Provider: domain.ProviderOpenRouter, Reason: "rate_limited", KeyIndex: ptr(0)},
					{Provider: domain.ProviderOpenRouter, Reason: "server_error", KeyIndex: ptr(2)},
				},
				Stream: true, Latency: 1234 * time.Millisecond, FirstToken: ptr(150 * time.Millisecond),
				Usage: domain.Usage{PromptTokens: 12, CompletionTokens: 34}, CreatedAt: at,
			},
		},
		{
			name: "through the OpenAI API",
			rec: domain.RequestRecord{
				RequestID: "req-openai", API: domain.APIOpenAI, Tier: domain.TierFast, Provider: domain.ProviderGroq,
				UpstreamModel: "llama-3.1-8b-instant", KeyIndex: ptr(0), Outcome: domain.OutcomeSuccess,
				Latency: 80 * time.Millisecond, CreatedAt: at.Add(6 * time.Second),
			},
		},
		{
			name: "through the native API, named",
			rec: domain.RequestRecord{
				API: domain.APINative, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, CreatedAt: at.Add(7 * time.Second),
			},
		},
		{
			name: "no API is the native API",
			rec: domain.RequestRecord{
				API: "", Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, CreatedAt: at.Add(8 * time.Second),
			},
			want: func(r *domain.RequestRecord) { r.API = domain.APINative },
		},
		{
			name: "nothing answered: no provider, key, first token or usage",
			rec: domain.RequestRecord{
				Tier: domain.TierBalanced, Outcome: domain.OutcomeError, ErrorCode: "providers_unavailable",
				Attempts: []domain.Attempt{
					{Provider: domain.ProviderGroq, Reason: "server_error", KeyIndex: ptr(0)},
					{Provider: domain.ProviderHuggingFace, Reason: "key_rejected"},
				},
				Latency: 30 * time.Second, CreatedAt: at.Add(time.Second),
			},
		},
		{
			name: "invalid request: no attempts, odd tier",
			rec: domain.RequestRecord{
				Tier: "gpt-5", Outcome: domain.OutcomeInvalid, ErrorCode: domain.CodeInvalid,
				CreatedAt: at.Add(2 * time.Second),
			},
		},
		{
			name: "sub-millisecond durations truncate, non-UTC time comes back in UTC",
			rec: domain.RequestRecord{
				Tier: domain.TierFast, Provider: domain.ProviderMock, UpstreamModel: "mock", KeyIndex: ptr(0),
				Outcome: domain.OutcomeCancelled, ErrorCode: "cancelled", Stream: true,
				Latency: 2500 * time.Microsecond, FirstToken: ptr(900 * time.Microsecond),
				CreatedAt: at.Add(3 * time.Second).In(time.FixedZone("UTC+2", 2*3600)),
			},
			want: func(r *domain.RequestRecord) {
				r.Latency = 2 * time.Millisecond
				r.FirstToken = ptr(time.Duration(0))
				r.CreatedAt = r.CreatedAt.UTC()
			},
		},
		{
			name: "client-supplied tier is made storable and bounded",
			rec: domain.RequestRecord{
				Tier: domain.Tier("a\x00b\xff" + strings.Repeat("x", 300)), Outcome: domain.OutcomeInvalid,
				ErrorCode: domain.CodeInvalid, CreatedAt: at.Add(4 * time.Second),
			},
			want: func(r *domain.RequestRecord) {
				r.Tier = domain.Tier("a\uFFFDb\uFFFD" + strings.Repeat("x", 124))
			},
		},
		{
			name: "a cache hit: no provider called, the stored answer's usage",
			rec: domain.RequestRecord{
				RequestID: "req-hit", Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, Cache: domain.CacheHit,
				Latency: 3 * time.Millisecond, FirstToken: ptr(time.Millisecond),
				Usage: domain.Usage{PromptTokens: 12, CompletionTokens: 34}, CreatedAt: at.Add(9 * time.Second),
			},
		},
		{
			name: "a cache miss answered by a provider",
			rec: domain.RequestRecord{
				API: domain.APIOpenAI, Tier: domain.TierFast, Provider: domain.ProviderGroq, UpstreamModel: "llama-3.1-8b-instant",
				KeyIndex: ptr(0), Outcome: domain.OutcomeSuccess, Cache: domain.CacheMiss, CreatedAt: at.Add(10 * time.Second),
			},
		},
		{
			name: "an image, delivered by the second provider",
			rec: domain.RequestRecord{
				Kind: domain.RequestKindImage, Provider: domain.ProviderOpenRouter, UpstreamModel: "img/model", KeyIndex: ptr(1),
				Outcome: domain.OutcomeSuccess, Attempts: []domain.Attempt{{Provider: domain.ProviderHuggingFace, Reason: "bad_response", KeyIndex: ptr(0)}},
				CreatedAt: at.Add(12 * time.Second),
			},
		},
		{
			name: "the cache bypassed",
			rec: domain.RequestRecord{
				Tier: domain.TierSmart, Outcome: domain.OutcomeError, ErrorCode: "providers_unavailable", Cache: domain.CacheBypass,
				CreatedAt: at.Add(11 * time.Second),
			},
		},
		{
			name: "negative values are clamped to zero",
			rec: domain.RequestRecord{
				Tier: domain.TierFast, Provider: domain.ProviderGroq, KeyIndex: ptr(-1), Outcome: domain.OutcomeSuccess,
				Attempts: []domain.Attempt{{Provider: domain.ProviderGroq, Reason: "rate_limited", KeyIndex: ptr(-3)}},
				Latency:  -time.Second, FirstToken: ptr(-time.Second),
				Usage: domain.Usage{PromptTokens: -1, CompletionTokens: -2}, CreatedAt: at.Add(5 * time.Second),
			},
			want: func(r *domain.RequestRecord) {
				r.KeyIndex = ptr(0)
				r.Attempts[0].KeyIndex = ptr(0)
				r.Latency = 0
				r.FirstToken = ptr(time.Duration(0))
				r.Usage = domain.Usage{}
			},
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := e.db.NewRequestLogWriter(nil, postgres.RequestLogConfig{})
			tc.rec.UserID = e.user(t, fmt.Sprintf("roundtrip%d@example.com", i))
			w.Record(tc.rec)
			closeWriter(t, w)
			assert.Zero(t, w.Dropped())

			got, err := w.Records(ctx, tc.rec.UserID, 10)
			require.NoError(t, err)
			want := tc.rec
			want.Attempts = append([]domain.Attempt(nil), tc.rec.Attempts...)
			if want.API == "" {
				want.API = domain.APINative // records without one came through the native API
			}
			if want.Kind == "" {
				want.Kind = domain.RequestKindChat // records without one are chats
			}
			if tc.want != nil {
				tc.want(&want)
			}
			require.Len(t, got, 1)
			assert.Equal(t, want, got[0])
		})
	}
}

func TestRequestLogRecordsNewestFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newLogEnv(t)
	alice, bob := e.user(t, "alice@example.com"), e.user(t, "bob@example.com")
	w := e.db.NewRequestLogWriter(nil, postgres.RequestLogConfig{})
	for i := range 5 {
		w.Record(domain.RequestRecord{UserID: alice, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, CreatedAt: at.Add(time.Duration(i) * time.Minute)})
	}
	w.Record(domain.RequestRecord{UserID: bob, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, CreatedAt: at})
	closeWriter(t, w)

	tests := []struct {
		name  string
		user  domain.UserID
		limit int
		want  []time.Time // CreatedAt of the records, in order
	}{
		{name: "limit below count", user: alice, limit: 3, want: []time.Time{at.Add(4 * time.Minute), at.Add(3 * time.Minute), at.Add(2 * time.Minute)}},
		{name: "limit above count", user: bob, limit: 10, want: []time.Time{at}},
		{name: "zero limit", user: alice, limit: 0},
		{name: "not a UUID", user: "nobody", limit: 10},
		{name: "unknown user", user: "00000000-0000-4000-8000-000000000000", limit: 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := w.Records(ctx, tc.user, tc.limit)
			require.NoError(t, err)
			times := make([]time.Time, 0, len(got))
			for _, r := range got {
				assert.Equal(t, tc.user, r.UserID)
				times = append(times, r.CreatedAt)
			}
			assert.Equal(t, append([]time.Time{}, tc.want...), times)
		})
	}
}

// TestRequestLogConcurrentRecords records from many goroutines at once, in
// several batches: every record reaches the table exactly once.
func TestRequestLogConcurrentRecords(t *testing.T) {
	t.Parallel()
	e := newLogEnv(t)
	const goroutines, each = 20, 50
	users := make([]domain.UserID, goroutines)
	for g := range users {
		users[g] = e.user(t, fmt.Sprintf("load%d@example.com", g))
	}
	w := e.db.NewRequestLogWriter(nil, postgres.RequestLogConfig{BatchSize: 64, FlushInterval: 10 * time.Millisecond})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				w.Record(domain.RequestRecord{
					UserID: users[g], Tier: domain.TierFast, Outcome: domain.OutcomeSuccess,
					Usage: domain.Usage{PromptTokens: i}, CreatedAt: at.Add(time.Duration(i) * time.Second),
				})
			}
		})
	}
	wg.Wait()
	closeWriter(t, w)

	assert.Zero(t, w.Dropped())
	assert.Equal(t, goroutines*each, e.rows(t))
	for _, u := range users {
		got, err := w.Records(context.Background(), u, 2*each)
		require.NoError(t, err)
		require.Len(t, got, each)
		for i, r := range got {
			assert.Equal(t, each-1-i, r.Usage.PromptTokens, "newest first")
		}
	}
}

// TestRequestLogCloseFlushes is the graceful-shutdown guarantee: whatever
// was recorded before Close is in the table when Close returns, even when
// neither the batch size nor the flush interval would have written it yet.
func TestRequestLogCloseFlushes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  postgres.RequestLogConfig
		n    int
	}{
		{name: "nothing queued", cfg: postgres.RequestLogConfig{FlushInterval: time.Hour}, n: 0},
		{name: "one record", cfg: postgres.RequestLogConfig{FlushInterval: time.Hour, BatchSize: 10000}, n: 1},
		{name: "less than a batch", cfg: postgres.RequestLogConfig{FlushInterval: time.Hour, BatchSize: 10000}, n: 999},
		{name: "several batches and a partial one", cfg: postgres.RequestLogConfig{FlushInterval: time.Hour, BatchSize: 200}, n: 1050},
		{name: "a full buffer", cfg: postgres.RequestLogConfig{FlushInterval: time.Hour, BatchSize: 10000, Buffer: 500}, n: 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newLogEnv(t)
			u := e.user(t, "flush@example.com")
			w := e.db.NewRequestLogWriter(nil, tc.cfg)
			for range tc.n {
				w.Record(domain.RequestRecord{UserID: u, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, CreatedAt: at})
			}
			if tc.cfg.BatchSize > tc.n {
				assert.Zero(t, e.rows(t), "nothing is written before a batch fills or the interval passes")
			}
			closeWriter(t, w)
			assert.Equal(t, tc.n, e.rows(t))
			assert.Zero(t, w.Dropped())
		})
	}
}

// TestRequestLogUnknownAPI drops a record whose API the api column does not
// allow, at once, and keeps the others.
func TestRequestLogUnknownAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newLogEnv(t)
	u := e.user(t, "api@example.com")
	logs := &syncBuffer{}
	w := e.db.NewRequestLogWriter(slog.New(slog.NewTextHandler(logs, nil)), postgres.RequestLogConfig{})
	w.Record(domain.RequestRecord{API: "grpc", UserID: u, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, CreatedAt: at})
	w.Record(domain.RequestRecord{API: domain.APIOpenAI, UserID: u, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, CreatedAt: at})
	closeWriter(t, w)

	assert.Equal(t, int64(1), w.Dropped())
	assert.Contains(t, logs.String(), `unknown API \"grpc\"`)
	got, err := w.Records(ctx, u, 10)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, domain.APIOpenAI, got[0].API)
}

func TestRequestLogRecordAfterClose(t *testing.T) {
	t.Parallel()
	e := newLogEnv(t)
	u := e.user(t, "late@example.com")
	logs := &syncBuffer{}
	w := e.db.NewRequestLogWriter(slog.New(slog.NewTextHandler(logs, nil)), postgres.RequestLogConfig{})
	w.Record(domain.RequestRecord{UserID: u, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, CreatedAt: at})
	closeWriter(t, w)
	closeWriter(t, w) // idempotent

	assert.NotPanics(t, func() {
		w.Record(domain.RequestRecord{UserID: u, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, CreatedAt: at})
	})
	assert.Equal(t, int64(1), w.Dropped())
	assert.Equal(t, 1, e.rows(t))
	assert.Contains(t, logs.String(), "level=WARN msg=\"request log closed, record dropped\" user_id="+string(u))
}

// TestRequestLogFullBuffer stalls the writer deterministically: another
// session holds an exclusive lock on request_log, so the writer's COPY waits.
// With the writer stuck on record 1 and record 2 filling the one-slot buffer,
// record 3 waits EnqueueTimeout and is dropped.
func TestRequestLogFullBuffer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newLogEnv(t)
	u := e.user(t, "full@example.com")
	const wait = 200 * time.Millisecond
	logs := &syncBuffer{}
	w := e.db.NewRequestLogWriter(slog.New(slog.NewTextHandler(logs, nil)),
		postgres.RequestLogConfig{BatchSize: 1, Buffer: 1, EnqueueTimeout: wait})
	rec := domain.RequestRecord{UserID: u, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, CreatedAt: at}

	tx, err := e.conn.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "LOCK TABLE request_log IN ACCESS EXCLUSIVE MODE")
	require.NoError(t, err)
	w.Record(rec)
	waitForLockWaiter(t, tx)

	w.Record(rec) // fills the buffer
	assert.Zero(t, w.Dropped())
	start := time.Now()
	w.Record(rec) // finds it full
	assert.GreaterOrEqual(t, time.Since(start), wait)
	assert.Equal(t, int64(1), w.Dropped())

	require.NoError(t, tx.Rollback(ctx))
	closeWriter(t, w)
	assert.Equal(t, 2, e.rows(t))
	assert.Equal(t, int64(1), w.Dropped())
	assert.Contains(t, logs.String(), "level=ERROR msg=\"request log buffer full, record dropped\" user_id="+string(u)+" dropped_total=1")
}

// TestRequestLogCloseDeadline checks that Close gives up when its context
// ends while the writer is stuck, and counts what it abandoned.
func TestRequestLogCloseDeadline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newLogEnv(t)
	u := e.user(t, "deadline@example.com")
	w := e.db.NewRequestLogWriter(nil, postgres.RequestLogConfig{BatchSize: 1})
	rec := domain.RequestRecord{UserID: u, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, CreatedAt: at}

	tx, err := e.conn.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "LOCK TABLE request_log IN ACCESS EXCLUSIVE MODE")
	require.NoError(t, err)
	w.Record(rec)
	waitForLockWaiter(t, tx)
	w.Record(rec) // queued behind the stuck one

	closeCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	err = w.Close(closeCtx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	// The abandoned COPY is cancelled, so both records are lost.
	assert.Eventually(t, func() bool { return w.Dropped() == 2 }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, tx.Rollback(ctx))
	assert.Equal(t, 0, e.rows(t))
}

// TestRequestLogWriteFailures covers records the database cannot take: a
// batch with a row that breaks a constraint is written row by row, and a
// batch the database never accepts is retried and then counted as lost.
func TestRequestLogWriteFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a bad row costs only itself; an unknown user's row is kept anonymised", func(t *testing.T) {
		t.Parallel()
		e := newLogEnv(t)
		u := e.user(t, "fk@example.com")
		w := e.db.NewRequestLogWriter(nil, postgres.RequestLogConfig{FlushInterval: time.Hour})
		ok := domain.RequestRecord{UserID: u, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, CreatedAt: at}
		gone := ok
		// No such user (deleted since): the batch fails its foreign key and
		// is written row by row, this one with no user.
		gone.UserID = "00000000-0000-4000-8000-000000000000"
		notUUID := ok
		notUUID.UserID = "not-a-uuid" // refused by Record
		for _, r := range []domain.RequestRecord{ok, gone, ok, notUUID, ok} {
			w.Record(r)
		}
		closeWriter(t, w)
		assert.Equal(t, 4, e.rows(t))
		assert.Equal(t, int64(1), w.Dropped())
	})

	t.Run("database gone", func(t *testing.T) {
		t.Parallel()
		e := newLogEnv(t)
		u := e.user(t, "gone@example.com")
		logs := &syncBuffer{}
		w := e.db.NewRequestLogWriter(slog.New(slog.NewTextHandler(logs, nil)), postgres.RequestLogConfig{FlushInterval: time.Hour})
		e.db.Close()
		for range 3 {
			w.Record(domain.RequestRecord{UserID: u, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, CreatedAt: at})
		}
		closeWriter(t, w)
		assert.Equal(t, int64(3), w.Dropped())
		out := logs.String()
		assert.Equal(t, 3, strings.Count(out, "request log write failed, retrying"), out)
		assert.Contains(t, out, "level=ERROR msg=\"request log batch lost\" records=3")
		_, err := w.Records(ctx, u, 1)
		assert.Error(t, err)
	})
}

// TestRequestLogMigration applies the request_log migration, rolls it back
// and applies it again.
func TestRequestLogMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewEmptyURL(t)
	db, err := postgres.Open(ctx, url, postgres.PoolConfig{MaxConns: 2})
	require.NoError(t, err)
	defer db.Close()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	m, err := db.NewMigrator(nil)
	require.NoError(t, err)
	defer m.Close()
	exists := func() bool {
		var ok bool
		require.NoError(t, conn.QueryRow(ctx, "SELECT to_regclass('request_log') IS NOT NULL").Scan(&ok))
		return ok
	}

	applied, err := m.Up(ctx)
	require.NoError(t, err)
	assert.Contains(t, applied, int64(3))
	require.True(t, exists())

	for _, want := range []int64{14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3} {
		v, err := m.Down(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, v)
	}
	assert.False(t, exists())
	st, err := m.Status(ctx)
	require.NoError(t, err)
	for _, s := range st {
		assert.Equal(t, s.Version <= 2, s.Applied, "migration %d", s.Version)
	}

	applied, err = m.Up(ctx)
	require.NoError(t, err)
	assert.Equal(t, []int64{3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}, applied)
	assert.True(t, exists())
}

// TestRequestLogUnknownCache drops a record whose cache status the cache
// column does not allow, at once, and keeps the others.
func TestRequestLogUnknownCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newLogEnv(t)
	u := e.user(t, "cache@example.com")
	logs := &syncBuffer{}
	w := e.db.NewRequestLogWriter(slog.New(slog.NewTextHandler(logs, nil)), postgres.RequestLogConfig{})
	w.Record(domain.RequestRecord{UserID: u, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, Cache: "stale", CreatedAt: at})
	w.Record(domain.RequestRecord{UserID: u, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, Cache: domain.CacheHit, CreatedAt: at})
	closeWriter(t, w)

	assert.Equal(t, int64(1), w.Dropped())
	assert.Contains(t, logs.String(), `unknown cache status \"stale\"`)
	got, err := w.Records(ctx, u, 10)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, domain.CacheHit, got[0].Cache)
}

// TestRequestLogAPIMigration rolls back the api column of request_log and
// applies it again over a row logged without it: that row came through the
// native API.
func TestRequestLogAPIMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewEmptyURL(t)
	db, err := postgres.Open(ctx, url, postgres.PoolConfig{MaxConns: 2})
	require.NoError(t, err)
	defer db.Close()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	m, err := db.NewMigrator(nil)
	require.NoError(t, err)
	defer m.Close()
	hasColumn := func() bool {
		var ok bool
		require.NoError(t, conn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = 'request_log' AND column_name = 'api')`).Scan(&ok))
		return ok
	}

	_, err = m.Up(ctx)
	require.NoError(t, err)
	require.True(t, hasColumn())
	// The user is made while the store's queries match the schema; the
	// later migrations roll back first.
	u, err := db.CreateUser(ctx, domain.NewUser{Email: "before@example.com"})
	require.NoError(t, err)
	for _, want := range []int64{14, 13, 12, 11, 10, 9, 8, 7} {
		v, err := m.Down(ctx)
		require.NoError(t, err)
		require.Equal(t, want, v)
	}
	require.False(t, hasColumn())

	_, err = conn.Exec(ctx, `INSERT INTO request_log (user_id, tier, outcome, stream, latency_ms, created_at)
		VALUES ($1, 'fast', 'success', false, 5, $2)`, u.ID, at)
	require.NoError(t, err)

	applied, err := m.Up(ctx)
	require.NoError(t, err)
	assert.Equal(t, []int64{7, 8, 9, 10, 11, 12, 13, 14}, applied)
	w := db.NewRequestLogWriter(nil, postgres.RequestLogConfig{})
	w.Record(domain.RequestRecord{API: domain.APIOpenAI, UserID: u.ID, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, CreatedAt: at.Add(time.Second)})
	closeWriter(t, w)
	got, err := w.Records(ctx, u.ID, 10)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, domain.APIOpenAI, got[0].API)
	assert.Equal(t, domain.APINative, got[1].API, "a row logged before the column came through the native API")

	_, err = conn.Exec(ctx, `UPDATE request_log SET api = 'grpc'`)
	require.Error(t, err, "the column allows only the known APIs")

	for _, want := range []int64{14, 13, 12, 11, 10, 9, 8, 7} { // with rows in the table
		v, err := m.Down(ctx)
		require.NoError(t, err)
		require.Equal(t, want, v)
	}
	assert.False(t, hasColumn())
	var n int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM request_log").Scan(&n))
	assert.Equal(t, 2, n, "rolling back keeps the rows")
}

// waitForLockWaiter waits until another session is blocked on a lock of
// request_log, which tx holds: the writer's COPY.
func waitForLockWaiter(t *testing.T, tx pgx.Tx) {
	t.Helper()
	require.Eventually(t, func() bool {
		var n int
		err := tx.QueryRow(context.Background(),
			"SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'request_log'::regclass").Scan(&n)
		require.NoError(t, err)
		return n > 0
	}, 10*time.Second, 5*time.Millisecond, "the writer never blocked on the lock")
}

// syncBuffer is a bytes.Buffer safe for the writer's and the test's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRequestLogDeletedUser: a record queued before its account was
// deleted is written with no user (the COPY fails on the foreign key, the
// row-by-row fallback anonymises it) and the rest of its batch is kept.
func TestRequestLogDeletedUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newLogEnv(t)
	alice, bob := e.user(t, "alice@example.com"), e.user(t, "bob@example.com")
	require.NoError(t, e.db.DeleteUser(ctx, bob))
	w := e.db.NewRequestLogWriter(nil, postgres.RequestLogConfig{})
	w.Record(domain.RequestRecord{UserID: alice, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, CreatedAt: at})
	w.Record(domain.RequestRecord{UserID: bob, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, Cache: domain.CacheHit, CreatedAt: at.Add(time.Minute)})
	closeWriter(t, w)
	assert.Zero(t, w.Dropped())

	var users []*string
	rows, err := e.conn.Query(ctx, "SELECT user_id::text FROM request_log ORDER BY created_at")
	require.NoError(t, err)
	users, err = pgx.CollectRows(rows, pgx.RowTo[*string])
	require.NoError(t, err)
	require.Len(t, users, 2)
	require.NotNil(t, users[0])
	assert.Equal(t, string(alice), *users[0])
	assert.Nil(t, users[1], "the deleted user's row is anonymised")
	var cache *string
	require.NoError(t, e.conn.QueryRow(ctx, "SELECT cache FROM request_log WHERE user_id IS NULL").Scan(&cache))
	assert.Equal(t, ptr("hit"), cache, "the row-by-row fallback keeps the cache status")
}
