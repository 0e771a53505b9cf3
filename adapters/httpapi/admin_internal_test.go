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
