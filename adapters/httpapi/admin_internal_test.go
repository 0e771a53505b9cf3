package httpapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/admin"
)

// TestAnalyticsCacheFigures checks the response cache's daily figures on
// the wire: the hit ratio over lookups (null when there were none) and the
// provider calls saved.
func TestAnalyticsCacheFigures(t *testing.T) {
	t.Parallel()
	day := time.Date(2025, 12, 24, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		day  domain.DayActivity
		want string
	}{
		{name: "cache off", day: domain.DayActivity{Requests: 4},
			want: `{"cache_hit_ratio":null,"provider_calls_saved":0}`},
		{name: "misses only", day: domain.DayActivity{Requests: 4, CacheMisses: 3},
			want: `{"cache_hit_ratio":0,"provider_calls_saved":0}`},
		{name: "hits and misses", day: domain.DayActivity{Requests: 9, CacheHits: 3, CacheMisses: 1},
			want: `{"cache_hit_ratio":0.75,"provider_calls_saved":3}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.day.Day = day
			r := admin.Report{Analytics: domain.Analytics{Days: []domain.DayActivity{tc.day}}, Days: 1, From: day, To: day}
			b, err := json.Marshal(toAnalytics(r).Daily[0])
			require.NoError(t, err)
			var got map[string]any
			require.NoError(t, json.Unmarshal(b, &got))
			var want map[string]any
			require.NoError(t, json.Unmarshal([]byte(tc.want), &want))
			for k, v := range want {
				require.Contains(t, got, k)
				assert.Equal(t, v, got[k], k)
			}
		})
	}
}

// TestAnalyticsDayOutcomesAndLatency checks a day's requests by outcome on
// the wire (every outcome named, zero where there were none) and its
// latency percentiles (null without successes).
func TestAnalyticsDayOutcomesAndLatency(t *testing.T) {
	t.Parallel()
	day := time.Date(2025, 12, 24, 0, 0, 0, 0, time.UTC)
	p50, p95, p99 := 100.0, 200.0, 300.0
	r := admin.Report{Analytics: domain.Analytics{Days: []domain.DayActivity{
		{Day: day, Requests: 4, Outcomes: map[domain.Outcome]int{domain.OutcomeSuccess: 2, domain.OutcomeQuota: 1, domain.OutcomeInterrupted: 1},
			Latency: domain.Percentiles{P50: &p50, P95: &p95, P99: &p99}},
		{Day: day.AddDate(0, 0, 1)},
	}}, Days: 2, From: day, To: day.AddDate(0, 0, 1)}
	b, err := json.Marshal(toAnalytics(r).Daily)
	require.NoError(t, err)
	var got []map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	require.Len(t, got, 2)
	assert.Equal(t, map[string]any{"success": 2.0, "error": 0.0, "cancelled": 0.0, "invalid": 0.0, "quota_exceeded": 1.0, "interrupted": 1.0},
		got[0]["outcomes"])
	assert.Equal(t, map[string]any{"p50": 100.0, "p95": 200.0, "p99": 300.0}, got[0]["latency_ms"])
	assert.Equal(t, map[string]any{"success": 0.0, "error": 0.0, "cancelled": 0.0, "invalid": 0.0, "quota_exceeded": 0.0, "interrupted": 0.0},
		got[1]["outcomes"])
	assert.Equal(t, map[string]any{"p50": nil, "p95": nil, "p99": nil}, got[1]["latency_ms"])
}
