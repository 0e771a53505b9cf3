package metrics_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/metrics"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/accounts"
	"github.com/genzai/genzai/domain/routing"
)

// states is a fixed routing state.
type states []routing.ProviderStatus

func (s states) Providers() []routing.ProviderStatus { return s }

func TestBreakerCollector(t *testing.T) {
	t.Parallel()
	src := states{
		{Provider: domain.ProviderGroq, Breaker: routing.BreakerOpen, Keys: []routing.KeyStatus{
			{Index: 0, CoolingDown: true}, {Index: 1}, {Index: 2, Rejected: true},
		}},
		{Provider: domain.ProviderOpenRouter, Breaker: routing.BreakerHalfOpen, Keys: []routing.KeyStatus{{Index: 0}}},
	}
	c := metrics.NewBreakerCollector(src)
	want := `
# HELP genzai_provider_circuit_breaker_state Circuit breaker state of a provider: 1 for its current state (closed, open, half_open), 0 for the others.
# TYPE genzai_provider_circuit_breaker_state gauge
genzai_provider_circuit_breaker_state{provider="groq",state="closed"} 0
genzai_provider_circuit_breaker_state{provider="groq",state="half_open"} 0
genzai_provider_circuit_breaker_state{provider="groq",state="open"} 1
genzai_provider_circuit_breaker_state{provider="openrouter",state="closed"} 0
genzai_provider_circuit_breaker_state{provider="openrouter",state="half_open"} 1
genzai_provider_circuit_breaker_state{provider="openrouter",state="open"} 0
# HELP genzai_provider_key_cooling_down 1 while a provider key (by index) is cooling down after a 429, else 0.
# TYPE genzai_provider_key_cooling_down gauge
genzai_provider_key_cooling_down{key_index="0",provider="groq"} 1
genzai_provider_key_cooling_down{key_index="1",provider="groq"} 0
genzai_provider_key_cooling_down{key_index="2",provider="groq"} 0
genzai_provider_key_cooling_down{key_index="0",provider="openrouter"} 0
# HELP genzai_provider_key_rejected 1 when a provider key (by index) was rejected (401/403/402) and sits out its cool-off (PROVIDER_KEY_REJECT_COOLOFF_SECONDS), else 0.
# TYPE genzai_provider_key_rejected gauge
genzai_provider_key_rejected{key_index="0",provider="groq"} 0
genzai_provider_key_rejected{key_index="1",provider="groq"} 0
genzai_provider_key_rejected{key_index="2",provider="groq"} 1
genzai_provider_key_rejected{key_index="0",provider="openrouter"} 0
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want)))

	// A registry accepts it next to the gateway's families.
	m := metrics.New(nil)
	require.NoError(t, m.Register(c))
}

func TestBreakerCollectorReadsEachScrape(t *testing.T) {
	t.Parallel()
	live := &liveStates{}
	c := metrics.NewBreakerCollector(live)
	live.set(routing.BreakerClosed)
	assert.Equal(t, 0.0, gaugeOf(t, c, `provider="groq",state="open"`))
	live.set(routing.BreakerOpen)
	assert.Equal(t, 1.0, gaugeOf(t, c, `provider="groq",state="open"`))
}

type liveStates struct{ st routing.BreakerState }

func (l *liveStates) set(s routing.BreakerState) { l.st = s }
func (l *liveStates) Providers() []routing.ProviderStatus {
	return []routing.ProviderStatus{{Provider: domain.ProviderGroq, Breaker: l.st}}
}

// gaugeOf collects c and returns the value of the series whose labels
// render as labels.
func gaugeOf(t *testing.T, c prometheus.Collector, labels string) float64 {
	t.Helper()
	out, err := testutil.CollectAndFormat(c, expfmt.TypeTextPlain, "genzai_provider_circuit_breaker_state")
	require.NoError(t, err)
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "{"+labels+"}") {
			return map[bool]float64{true: 1, false: 0}[strings.HasSuffix(line, " 1")]
		}
	}
	t.Fatalf("no series {%s} in\n%s", labels, out)
	return 0
}

func TestSQLPoolCollector(t *testing.T) {
	t.Parallel()
	c := metrics.NewSQLPoolCollector(func() sql.DBStats {
		return sql.DBStats{MaxOpenConnections: 8, OpenConnections: 3, InUse: 1, Idle: 2, WaitCount: 4,
			WaitDuration: 1500 * time.Millisecond, MaxIdleClosed: 1, MaxIdleTimeClosed: 1, MaxLifetimeClosed: 5}
	})
	want := `
# HELP genzai_db_pool_connections Open connections by state (in_use, idle; constructing on PostgreSQL).
# TYPE genzai_db_pool_connections gauge
genzai_db_pool_connections{state="idle"} 2
genzai_db_pool_connections{state="in_use"} 1
# HELP genzai_db_pool_max_connections Most connections the pool may open.
# TYPE genzai_db_pool_max_connections gauge
genzai_db_pool_max_connections 8
# HELP genzai_db_pool_waits_total Connection acquisitions that had to wait for a free connection.
# TYPE genzai_db_pool_waits_total counter
genzai_db_pool_waits_total 4
# HELP genzai_db_pool_wait_seconds_total Time spent waiting for a free connection.
# TYPE genzai_db_pool_wait_seconds_total counter
genzai_db_pool_wait_seconds_total 1.5
# HELP genzai_db_pool_connections_closed_total Connections closed by the pool, by reason (max_lifetime, max_idle).
# TYPE genzai_db_pool_connections_closed_total counter
genzai_db_pool_connections_closed_total{reason="max_idle"} 2
genzai_db_pool_connections_closed_total{reason="max_lifetime"} 5
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want)))
}

func TestQueryTracer(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil)
	tr := m.QueryTracer()
	run := func(sql string, err error) {
		ctx := tr.TraceQueryStart(context.Background(), nil, pgx.TraceQueryStartData{SQL: sql})
		tr.TraceQueryEnd(ctx, nil, pgx.TraceQueryEndData{Err: err})
	}
	run("-- name: ConsumeQuota :one\nINSERT INTO quota_usage ...", nil)
	run("-- name: ConsumeQuota :one\nINSERT INTO quota_usage ...", pgx.ErrNoRows)
	run("begin", nil)
	run("SELECT secret FROM users WHERE email = 'ada@example.com'", errors.New("boom"))
	copier := tr.(pgx.CopyFromTracer)
	ctx := copier.TraceCopyFromStart(context.Background(), nil, pgx.TraceCopyFromStartData{TableName: pgx.Identifier{"request_log"}})
	copier.TraceCopyFromEnd(ctx, nil, pgx.TraceCopyFromEndData{})
	// An end without its start (another tracer's context) is ignored.
	tr.TraceQueryEnd(context.Background(), nil, pgx.TraceQueryEndData{})

	g := m.Gatherer()
	for query, want := range map[string]float64{"ConsumeQuota": 2, "begin": 1, "other": 1, "copy_from request_log": 1} {
		assert.Equal(t, want, find(t, g, "genzai_db_query_duration_seconds", map[string]string{"query": query}).count, query)
	}
	out, err := testutil.GatherAndFormat(g, expfmt.TypeTextPlain, "genzai_db_query_duration_seconds")
	require.NoError(t, err)
	require.Contains(t, string(out), `query="ConsumeQuota"`)
	assert.NotContains(t, string(out), "ada@example.com", "SQL text never becomes a label")
}

// cache is a fixed account cache state.
type cache struct {
	stats accounts.Stats
	live  bool
}

func (c cache) Stats() accounts.Stats { return c.stats }
func (c cache) Live() bool            { return c.live }

func TestAccountCacheCollector(t *testing.T) {
	t.Parallel()
	c := metrics.NewAccountCacheCollector(cache{stats: accounts.Stats{Hits: 90, Misses: 10}, live: true})
	want := `
# HELP genzai_account_cache_lookups_total Account and API key lookups made to authenticate requests, by result: hit (served from memory) or miss (read from the database).
# TYPE genzai_account_cache_lookups_total counter
genzai_account_cache_lookups_total{result="hit"} 90
genzai_account_cache_lookups_total{result="miss"} 10
# HELP genzai_account_notices_live 1 while this instance hears every change to accounts at once (PostgreSQL listener connected), else 0: cached accounts then live 1 s.
# TYPE genzai_account_notices_live gauge
genzai_account_notices_live 1
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want)))
}

// responseCache is a fixed response cache size.
type responseCache struct {
	entries int
	bytes   int64
}

func (c responseCache) Stats() (int, int64) { return c.entries, c.bytes }

func TestResponseCacheCollector(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		entries int
		bytes   int64
	}{
		{"empty", 0, 0},
		{"holding answers", 42, 67_108_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := metrics.NewResponseCacheCollector(responseCache{entries: tc.entries, bytes: tc.bytes})
			want := fmt.Sprintf(`
# HELP genzai_cache_bytes Approximate size of the answers held by the in-process response cache, bounded by CACHE_MAX_BYTES.
# TYPE genzai_cache_bytes gauge
genzai_cache_bytes %d
# HELP genzai_cache_entries Answers held by the in-process response cache.
# TYPE genzai_cache_entries gauge
genzai_cache_entries %d
`, tc.bytes, tc.entries)
			require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want)))
		})
	}
}
