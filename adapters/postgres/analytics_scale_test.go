package postgres_test

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/domain"
)

// scaleUsers is how many accounts the scale test spreads its requests over.
const scaleUsers = 10_000

// seedScale fills the request log with rows requests over the 30 days
// before end, from scaleUsers users (a few users make most requests, as in
// practice), in time order as the writer appends them; then quota counts
// that match, ratings of about 1% of the answers, and statistics.
const seedScale = `
SELECT setseed(0.42);

INSERT INTO users (id, email, created_at)
SELECT ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, 'user' || i || '@example.com',
       @end::timestamptz - interval '90 days'
FROM generate_series(0, @users::int - 1) AS i;

INSERT INTO request_log (request_id, user_id, tier, provider, upstream_model, key_index, outcome, error_code,
                         attempts, stream, latency_ms, ttft_ms, prompt_tokens, completion_tokens, created_at)
SELECT 'req-' || g, user_id, tier,
       CASE WHEN outcome IN ('invalid', 'quota_exceeded') THEN NULL ELSE provider END,
       CASE WHEN outcome IN ('invalid', 'quota_exceeded') THEN NULL ELSE provider || '-model' END,
       CASE WHEN outcome IN ('invalid', 'quota_exceeded') THEN NULL ELSE floor(r * 3)::int END,
       outcome,
       CASE outcome WHEN 'error' THEN 'providers_unavailable' WHEN 'invalid' THEN 'invalid_request' END,
       CASE WHEN outcome = 'error' THEN '[{"provider": "groq", "reason": "server_error", "key_index": 0}]'::jsonb
            ELSE '[]'::jsonb END,
       true,
       CASE WHEN outcome IN ('invalid', 'quota_exceeded') THEN 1 ELSE 200 + floor(r * r * 8000)::int END,
       CASE WHEN outcome IN ('success', 'interrupted', 'cancelled') THEN 50 + floor(r * 900)::int END,
       floor(r * 2000)::int, floor(r * 800)::int,
       created_at
FROM (
    SELECT g, user_id, tier, provider, r, created_at,
           CASE WHEN o < 0.90 THEN 'success' WHEN o < 0.93 THEN 'error' WHEN o < 0.95 THEN 'cancelled'
                WHEN o < 0.97 THEN 'invalid' WHEN o < 0.99 THEN 'quota_exceeded' ELSE 'interrupted' END AS outcome
    FROM (
        SELECT g,
               ('00000000-0000-4000-8000-' || lpad(floor(@users::int * power(random(), 2))::int::text, 12, '0'))::uuid AS user_id,
               (ARRAY['fast', 'balanced', 'smart'])[1 + floor(random() * 3)::int] AS tier,
               (ARRAY['groq', 'openrouter', 'huggingface'])[1 + floor(random() * 3)::int] AS provider,
               random() AS o, random() AS r,
               @end::timestamptz - random() * interval '30 days' AS created_at
        FROM generate_series(1, @rows::int) AS g
    ) s
) s
ORDER BY created_at;

INSERT INTO quota_usage (user_id, day, used)
SELECT user_id, (created_at AT TIME ZONE 'UTC')::date, count(*)
FROM request_log GROUP BY 1, 2;

INSERT INTO feedback (user_id, request_id, rating, comment, created_at, updated_at)
SELECT user_id, request_id, CASE WHEN random() < 0.8 THEN 'up' ELSE 'down' END,
       CASE WHEN random() < 0.3 THEN 'a comment' END,
       created_at + interval '1 minute', created_at + interval '1 minute'
FROM request_log WHERE outcome = 'success' AND random() < 0.01;
`

// TestAnalyticsScale times Analytics over GENZAI_ANALYTICS_ROWS request log
// rows (e.g. 1000000) spread over 30 days and 10,000 users, for the last 7
// and 30 days, and logs the plan of every statement (auto_explain). Run it
// with -v to see the figures; it is skipped without the variable.
func TestAnalyticsScale(t *testing.T) {
	rows, err := strconv.Atoi(os.Getenv("GENZAI_ANALYTICS_ROWS"))
	if err != nil || rows <= 0 {
		t.Skip("set GENZAI_ANALYTICS_ROWS (e.g. 1000000) to run the analytics scale test")
	}
	ctx := context.Background()
	url := pgtest.NewURL(t)
	end := time.Now().UTC()

	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	start := time.Now()
	// Simple protocol: the script is several statements.
	script := strings.NewReplacer("@end", "'"+end.Format(time.RFC3339Nano)+"'",
		"@users", strconv.Itoa(scaleUsers), "@rows", strconv.Itoa(rows)).Replace(seedScale)
	_, err = conn.Exec(ctx, script, pgx.QueryExecModeSimpleProtocol)
	require.NoError(t, err)
	seeded := time.Since(start)
	// What autovacuum does for an insert-only table after a while: sets the
	// visibility map (index-only scans) and the planner's statistics.
	_, err = conn.Exec(ctx, "VACUUM (ANALYZE) request_log, quota_usage, feedback, users")
	require.NoError(t, err)
	var tableSize, indexSize string
	require.NoError(t, conn.QueryRow(ctx, `SELECT pg_size_pretty(pg_table_size('request_log')),
		pg_size_pretty(pg_indexes_size('request_log'))`).Scan(&tableSize, &indexSize))
	t.Logf("seeded %d requests from %d users in %s (then vacuumed in %s); request_log %s, its indexes %s",
		rows, scaleUsers, seeded.Round(time.Millisecond), (time.Since(start) - seeded).Round(time.Millisecond), tableSize, indexSize)

	db, err := postgres.Open(ctx, url, postgres.PoolConfig{MaxConns: 2})
	require.NoError(t, err)
	defer db.Close()
	today := domain.QuotaDay(end)
	for _, days := range []int{7, 30} {
		q := domain.AnalyticsQuery{From: today.AddDate(0, 0, -(days - 1)), To: today.AddDate(0, 0, 1), TopUsers: 10}
		var inPeriod int
		require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM request_log WHERE created_at >= $1 AND created_at < $2",
			q.From, q.To).Scan(&inPeriod))

		var times []time.Duration
		for range 6 {
			start := time.Now()
			a, err := db.Analytics(ctx, q)
			require.NoError(t, err)
			times = append(times, time.Since(start))
			assert.Equal(t, inPeriod, a.Requests)
			assert.Len(t, a.Days, days)
			assert.Len(t, a.TopUsers, 10)
			assert.NotNil(t, a.Latency.P99)
		}
		times = times[1:] // the first warms the cache
		slices.Sort(times)
		t.Logf("Analytics, last %2d days (%d requests): min %s, median %s, max %s", days, inPeriod,
			times[0].Round(time.Millisecond), times[len(times)/2].Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond))
	}

	// The plans, from auto_explain on a pool of its own.
	for _, days := range []int{7, 30} {
		q := domain.AnalyticsQuery{From: today.AddDate(0, 0, -(days - 1)), To: today.AddDate(0, 0, 1), TopUsers: 10}
		for _, p := range explainAnalytics(t, url, q) {
			t.Logf("last %d days: %s", days, p)
		}
	}
}

// explainAnalytics runs Analytics once with auto_explain reporting every
// statement's plan (with actual times and buffers) as a notice, and returns
// them.
func explainAnalytics(t *testing.T, url string, q domain.AnalyticsQuery) []string {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(url)
	require.NoError(t, err)
	cfg.MaxConns = 1
	for k, v := range map[string]string{
		"session_preload_libraries":          "auto_explain",
		"auto_explain.log_min_duration":      "0",
		"auto_explain.log_analyze":           "on",
		"auto_explain.log_buffers":           "on",
		"auto_explain.log_level":             "notice",
		"auto_explain.log_nested_statements": "on",
	} {
		cfg.ConnConfig.RuntimeParams[k] = v
	}
	var mu sync.Mutex
	var plans []string
	cfg.ConnConfig.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		mu.Lock()
		defer mu.Unlock()
		plans = append(plans, n.Message)
	}
	db, err := postgres.OpenPoolConfig(ctx, cfg)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Analytics(ctx, q)
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	return slices.Clone(plans)
}
