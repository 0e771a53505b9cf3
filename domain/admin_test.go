package domain_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/genzai/genzai/domain"
)

func TestDayActivityCache(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		day       domain.DayActivity
		wantRatio float64
		wantOK    bool
		wantSaved int
	}{
		{name: "cache never asked", day: domain.DayActivity{Requests: 7}},
		{name: "only misses", day: domain.DayActivity{Requests: 3, CacheMisses: 3}, wantOK: true},
		{name: "only hits", day: domain.DayActivity{Requests: 2, CacheHits: 2}, wantRatio: 1, wantOK: true, wantSaved: 2},
		{name: "a quarter hit", day: domain.DayActivity{Requests: 9, CacheHits: 1, CacheMisses: 3}, wantRatio: 0.25, wantOK: true, wantSaved: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ratio, ok := tc.day.CacheHitRatio()
			assert.Equal(t, tc.wantOK, ok)
			assert.InDelta(t, tc.wantRatio, ratio, 1e-12)
			assert.Equal(t, tc.wantSaved, tc.day.ProviderCallsSaved())
		})
	}
}
