package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/sqlite"
	"github.com/genzai/genzai/domain"
)

// logEnv is a fresh database with a plain handle on its file for checks the
// adapter does not offer (row counts, locks).
type logEnv struct {
	db   *sqlite.DB
	path string
}

func newLogEnv(t *testing.T) logEnv {
	t.Helper()
	path := newPath(t)
	db := openAt(t, path, 4)
	migrate(t, db)
	return logEnv{db: db, path: path}
}

func (e logEnv) user(t *testing.T, email string) domain.UserID { return newUser(t, e.db, email) }

func (e logEnv) rows(t *testing.T) int {
	t.Helper()
	return count(t, rawConn(t, e.path), "SELECT count(*) FROM request_log")
}

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
			name: "sub-millisecond durations truncate, time to the microsecond, non-UTC time comes back in UTC",
			rec: domain.RequestRecord{
				Tier: domain.TierFast, Provider: domain.ProviderMock, UpstreamModel: "mock", KeyIndex: ptr(0),
				Outcome: domain.OutcomeCancelled, ErrorCode: "cancelled", Stream: true,
				Latency: 2500 * time.Microsecond, FirstToken: ptr(900 * time.Microsecond),
				CreatedAt: at.Add(3*time.Second + 999*time.Nanosecond).In(time.FixedZone("UTC+2", 2*3600)),
			},
			want: func(r *domain.RequestRecord) {
				r.Latency = 2 * time.Millisecond
				r.FirstToken = ptr(time.Duration(0))
				r.CreatedAt = at.Add(3 * time.Second)
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
			w := e.db.NewRequestLogWriter(nil, sqlite.RequestLogConfig{})
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
	w := e.db.NewRequestLogWriter(nil, sqlite.RequestLogConfig{})
	for i := range 5 {
		w.Record(domain.RequestRecord{UserID: alice, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, CreatedAt: at.Add(time.Duration(i) * time.Minute)})
	}
	// Two at one instant come newest recorded first.
	w.Record(domain.RequestRecord{UserID: bob, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, Usage: domain.Usage{PromptTokens: 1}, CreatedAt: at})
	w.Record(domain.RequestRecord{UserID: bob, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, Usage: domain.Usage{PromptTokens: 2}, CreatedAt: at})
	closeWriter(t, w)

	tests := []struct {
		name   string
		user   domain.UserID
		limit  int
		want   []time.Time // CreatedAt of the records, in order
		tokens []int       // PromptTokens of the records, in order; nil to skip
	}{
		{name: "limit below count", user: alice, limit: 3, want: []time.Time{at.Add(4 * time.Minute), at.Add(3 * time.Minute), at.Add(2 * time.Minute)}},
		{name: "limit above count, ties newest recorded first", user: bob, limit: 10, want: []time.Time{at, at}, tokens: []int{2, 1}},
		{name: "zero limit", user: alice, limit: 0},
		{name: "not a UUID", user: "nobody", limit: 10},
		{name: "unknown user", user: "00000000-0000-4000-8000-000000000000", limit: 10},
		{name: "upper-case id of a user", user: domain.UserID(strings.ToUpper(string(bob))), limit: 1, want: []time.Time{at}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := w.Records(ctx, tc.user, tc.limit)
			require.NoError(t, err)
			require.NotNil(t, got)
			times, tokens := []time.Time{}, []int{}
			for _, r := range got {
				assert.Equal(t, strings.ToLower(string(tc.user)), string(r.UserID))
				times = append(times, r.CreatedAt)
				tokens = append(tokens, r.Usage.PromptTokens)
			}
			assert.Equal(t, append([]time.Time{}, tc.want...), times)
			if tc.tokens != nil {
				assert.Equal(t, tc.tokens, tokens)
			}
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
	w := e.db.NewRequestLogWriter(nil, sqlite.RequestLogConfig{BatchSize: 64, FlushInterval: 10 * time.Millisecond})
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
		cfg  sqlite.RequestLogConfig
		n    int
	}{
		{name: "nothing queued", cfg: sqlite.RequestLogConfig{FlushInterval: time.Hour}, n: 0},
		{name: "one record", cfg: sqlite.RequestLogConfig{FlushInterval: time.Hour, BatchSize: 10000}, n: 1},
		{name: "less than a batch", cfg: sqlite.RequestLogConfig{FlushInterval: time.Hour, BatchSize: 10000}, n: 999},
		{name: "several batches and a partial one", cfg: sqlite.RequestLogConfig{FlushInterval: time.Hour, BatchSize: 200}, n: 1050},
		{name: "a full buffer", cfg: sqlite.RequestLogConfig{FlushInterval: time.Hour, BatchSize: 10000, Buffer: 500}, n: 500},
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
	w := e.db.NewRequestLogWriter(newTextLogger(logs), sqlite.RequestLogConfig{})
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

// TestRequestLogUnknownCache drops a record whose cache status the cache
// column does not allow, at once, and keeps the others.
func TestRequestLogUnknownCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newLogEnv(t)
	u := e.user(t, "cache@example.com")
	logs := &syncBuffer{}
	w := e.db.NewRequestLogWriter(newTextLogger(logs), sqlite.RequestLogConfig{})
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
	path := newPath(t)
	db := openAt(t, path, 2)
	m, err := db.NewMigrator(nil)
	require.NoError(t, err)
	defer m.Close()
	conn := rawConn(t, path)
	hasColumn := func() bool {
		return count(t, conn, "SELECT count(*) FROM pragma_table_info('request_log') WHERE name = 'api'") == 1
	}

	_, err = m.Up(ctx)
	require.NoError(t, err)
	require.True(t, hasColumn())
	// The user is made while the store's queries match the schema; the
	// later migrations roll back first.
	u := newUser(t, db, "before@example.com")
	for _, want := range []int64{14, 13, 12, 10, 9, 8, 7} {
		v, err := m.Down(ctx)
		require.NoError(t, err)
		require.Equal(t, want, v)
	}
	require.False(t, hasColumn())

	_, err = conn.ExecContext(ctx, `INSERT INTO request_log (user_id, tier, outcome, stream, latency_ms, created_at)
		VALUES (?, 'fast', 'success', 0, 5, ?)`, string(u), at.UnixMicro())
	require.NoError(t, err)

	applied, err := m.Up(ctx)
	require.NoError(t, err)
	assert.Equal(t, []int64{7, 8, 9, 10, 12, 13, 14}, applied)
	w := db.NewRequestLogWriter(nil, sqlite.RequestLogConfig{})
	w.Record(domain.RequestRecord{API: domain.APIOpenAI, UserID: u, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, CreatedAt: at.Add(time.Second)})
	closeWriter(t, w)
	got, err := w.Records(ctx, u, 10)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, domain.APIOpenAI, got[0].API)
	assert.Equal(t, domain.APINative, got[1].API, "a row logged before the column came through the native API")

	_, err = conn.ExecContext(ctx, `UPDATE request_log SET api = 'grpc'`)
	require.Error(t, err, "the column allows only the known APIs")

	for _, want := range []int64{14, 13, 12, 10, 9, 8, 7} { // with rows in the table
		v, err := m.Down(ctx)
		require.NoError(t, err)
		require.Equal(t, want, v)
	}
	assert.False(t, hasColumn())
	assert.Equal(t, 2, count(t, conn, "SELECT count(*) FROM request_log"), "rolling back keeps the rows")
	assert.Equal(t, []string{"request_log_created_at_idx", "request_log_outcome_created_at_idx", "request_log_provider_created_at_idx",
		"request_log_user_created_at_idx", "request_log_user_request_id_idx"}, indexes(t, conn), "rolling back keeps the indexes")
}

// indexes lists request_log's indexes.
func indexes(t *testing.T, conn *sql.DB) []string {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(),
		"SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'request_log' ORDER BY name")
	require.NoError(t, err)
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		out = append(out, name)
	}
	require.NoError(t, rows.Err())
	return out
}

func TestRequestLogRecordAfterClose(t *testing.T) {
	t.Parallel()
	e := newLogEnv(t)
	u := e.user(t, "late@example.com")
	logs := &syncBuffer{}
	w := e.db.NewRequestLogWriter(newTextLogger(logs), sqlite.RequestLogConfig{})
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

// TestRequestLogCloseDeadline checks that Close gives up when its context
// ends while the writer is stuck (another connection holds the write lock),
// and counts what it abandoned.
func TestRequestLogCloseDeadline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newLogEnv(t)
	u := e.user(t, "deadline@example.com")
	blocker, err := rawConn(t, e.path).Conn(ctx)
	require.NoError(t, err)
	defer blocker.Close()
	_, err = blocker.ExecContext(ctx, "BEGIN IMMEDIATE")
	require.NoError(t, err)

	w := e.db.NewRequestLogWriter(nil, sqlite.RequestLogConfig{BatchSize: 1})
	rec := domain.RequestRecord{UserID: u, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, CreatedAt: at}
	w.Record(rec)
	w.Record(rec)

	closeCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	err = w.Close(closeCtx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	// The abandoned write is cancelled, so both records are lost.
	assert.Eventually(t, func() bool { return w.Dropped() == 2 }, 15*time.Second, 10*time.Millisecond)
	_, err = blocker.ExecContext(ctx, "ROLLBACK")
	require.NoError(t, err)
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
		w := e.db.NewRequestLogWriter(nil, sqlite.RequestLogConfig{FlushInterval: time.Hour})
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
		w := e.db.NewRequestLogWriter(newTextLogger(logs), sqlite.RequestLogConfig{FlushInterval: time.Hour})
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
		assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err), "err: %v", err)
	})
}

func newTextLogger(w *syncBuffer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

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
// deleted is written with no user, and the rest of its batch is kept.
func TestRequestLogDeletedUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newLogEnv(t)
	alice, bob := e.user(t, "alice@example.com"), e.user(t, "bob@example.com")
	require.NoError(t, e.db.DeleteUser(ctx, bob))
	w := e.db.NewRequestLogWriter(nil, sqlite.RequestLogConfig{})
	w.Record(domain.RequestRecord{UserID: alice, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, CreatedAt: at})
	w.Record(domain.RequestRecord{UserID: bob, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, Cache: domain.CacheHit, CreatedAt: at.Add(time.Minute)})
	closeWriter(t, w)
	assert.Zero(t, w.Dropped())

	rows, err := rawConn(t, e.path).QueryContext(ctx, "SELECT user_id FROM request_log ORDER BY created_at")
	require.NoError(t, err)
	defer rows.Close()
	var users []sql.NullString
	for rows.Next() {
		var u sql.NullString
		require.NoError(t, rows.Scan(&u))
		users = append(users, u)
	}
	require.NoError(t, rows.Err())
	require.Len(t, users, 2)
	assert.Equal(t, sql.NullString{String: string(alice), Valid: true}, users[0])
	assert.False(t, users[1].Valid, "the deleted user's row is anonymised")
	var cache sql.NullString
	require.NoError(t, rawConn(t, e.path).QueryRowContext(ctx, "SELECT cache FROM request_log WHERE user_id IS NULL").Scan(&cache))
	assert.Equal(t, sql.NullString{String: "hit", Valid: true}, cache, "the cache status is kept")
}
