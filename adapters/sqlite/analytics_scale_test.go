package sqlite_test

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
)

// seedScale fills the request log as the PostgreSQL scale test does:
// @rows requests over the 30 days before @end (unix microseconds) from
// @users users (a few users make most requests), in time order; then quota
// counts that match, ratings of about 1% of the answers, and statistics.
const seedScale = `
INSERT INTO users (id, email, created_at)
WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n < @users - 1)
SELECT printf('00000000-0000-4000-8000-%012d', n), 'user' || n || '@example.com', @end - 90 * 86400000000 FROM i;

INSERT INTO request_log (request_id, user_id, tier, provider, upstream_model, key_index, outcome, error_code,
                         attempts, stream, latency_ms, ttft_ms, prompt_tokens, completion_tokens, created_at)
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < @rows),
s AS (
    SELECT n,
           printf('00000000-0000-4000-8000-%012d', CAST(@users * power((abs(random()) % 1000000) / 1e6, 2) AS INTEGER)) AS user_id,
           CASE abs(random()) % 3 WHEN 0 THEN 'fast' WHEN 1 THEN 'balanced' ELSE 'smart' END AS tier,
           CASE abs(random()) % 3 WHEN 0 THEN 'groq' WHEN 1 THEN 'openrouter' ELSE 'huggingface' END AS provider,
           (abs(random()) % 1000000) / 1e6 AS o, (abs(random()) % 1000000) / 1e6 AS r,
           @end - abs(random()) % (30 * 86400000000) AS created_at
    FROM g
),
t AS (
    SELECT *, CASE WHEN o < 0.90 THEN 'success' WHEN o < 0.93 THEN 'error' WHEN o < 0.95 THEN 'cancelled'
                   WHEN o < 0.97 THEN 'invalid' WHEN o < 0.99 THEN 'quota_exceeded' ELSE 'interrupted' END AS outcome
    FROM s
)
SELECT 'req-' || n, user_id, tier,
       CASE WHEN outcome IN ('invalid', 'quota_exceeded') THEN NULL ELSE provider END,
       CASE WHEN outcome IN ('invalid', 'quota_exceeded') THEN NULL ELSE provider || '-model' END,
       CASE WHEN outcome IN ('invalid', 'quota_exceeded') THEN NULL ELSE CAST(r * 3 AS INTEGER) END,
       outcome,
       CASE outcome WHEN 'error' THEN 'providers_unavailable' WHEN 'invalid' THEN 'invalid_request' END,
       CASE WHEN outcome = 'error' THEN '[{"provider": "groq", "reason": "server_error", "key_index": 0}]' ELSE '[]' END,
       1,
       CASE WHEN outcome IN ('invalid', 'quota_exceeded') THEN 1 ELSE 200 + CAST(r * r * 8000 AS INTEGER) END,
       CASE WHEN outcome IN ('success', 'interrupted', 'cancelled') THEN 50 + CAST(r * 900 AS INTEGER) END,
       CAST(r * 2000 AS INTEGER), CAST(r * 800 AS INTEGER),
       created_at
FROM t
ORDER BY created_at;

INSERT INTO quota_usage (user_id, day, used)
SELECT user_id, date(created_at / 1000000, 'unixepoch'), count(*) FROM request_log GROUP BY 1, 2;

INSERT INTO feedback (user_id, request_id, rating, comment, created_at, updated_at)
SELECT user_id, request_id, CASE WHEN abs(random()) % 10 < 8 THEN 'up' ELSE 'down' END,
       CASE WHEN abs(random()) % 10 < 3 THEN 'a comment' END, created_at + 60000000, created_at + 60000000
FROM request_log WHERE outcome = 'success' AND abs(random()) % 100 = 0;

ANALYZE;
`

// TestAnalyticsScale times Analytics over GENZAI_ANALYTICS_ROWS request log
// rows (e.g. 1000000) spread over 30 days and 10,000 users, for the last 7
// and 30 days. Run it with -v to see the figures; it is skipped without the
// variable.
func TestAnalyticsScale(t *testing.T) {
	rows, err := strconv.Atoi(os.Getenv("GENZAI_ANALYTICS_ROWS"))
	if err != nil || rows <= 0 {
		t.Skip("set GENZAI_ANALYTICS_ROWS (e.g. 1000000) to run the analytics scale test")
	}
	ctx := context.Background()
	db := open(t)
	conn := rawConn(t, db.Path())
	end := time.Now().UTC()

	start := time.Now()
	script := strings.NewReplacer("@end", strconv.FormatInt(end.UnixMicro(), 10),
		"@users", "10000", "@rows", strconv.Itoa(rows)).Replace(seedScale)
	_, err = conn.ExecContext(ctx, script)
	require.NoError(t, err)
	t.Logf("seeded %d requests from 10000 users in %s", rows, time.Since(start).Round(time.Millisecond))

	today := domain.QuotaDay(end)
	for _, days := range []int{7, 30} {
		q := domain.AnalyticsQuery{From: today.AddDate(0, 0, -(days - 1)), To: today.AddDate(0, 0, 1), TopUsers: 10}
		inPeriod := count(t, conn, "SELECT count(*) FROM request_log WHERE created_at >= ? AND created_at < ?",
			q.From.UnixMicro(), q.To.UnixMicro())
		var times []time.Duration
		for range 4 {
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
}
