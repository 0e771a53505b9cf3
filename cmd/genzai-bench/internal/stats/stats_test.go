package stats_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/genzai/genzai/cmd/genzai-bench/internal/stats"
)

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value is every percentile", ms(7), 99, 7 * time.Millisecond},
		{"p50 of 1..100 is 50", hundred, 50, 50 * time.Millisecond},
		{"p90 of 1..100 is 90", hundred, 90, 90 * time.Millisecond},
		{"p99 of 1..100 is 99", hundred, 99, 99 * time.Millisecond},
		{"p100 is the max", hundred, 100, 100 * time.Millisecond},
		{"nearest rank rounds up", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p51 of four takes the third", ms(1, 2, 3, 4), 51, 3 * time.Millisecond},
		{"tiny p is the min", ms(1, 2, 3, 4), 0.1, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, stats.Percentile(tt.sorted, tt.p))
		})
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []time.Duration
		want stats.Summary
	}{
		{"empty", nil, stats.Summary{}},
		{"unsorted input", ms(30, 10, 20, 40), stats.Summary{Count: 4, Min: 10 * time.Millisecond, Mean: 25 * time.Millisecond,
			P50: 20 * time.Millisecond, P90: 40 * time.Millisecond, P99: 40 * time.Millisecond, Max: 40 * time.Millisecond}},
		{"one", ms(5), stats.Summary{Count: 1, Min: 5 * time.Millisecond, Mean: 5 * time.Millisecond,
			P50: 5 * time.Millisecond, P90: 5 * time.Millisecond, P99: 5 * time.Millisecond, Max: 5 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := append([]time.Duration(nil), tt.in...)
			assert.Equal(t, tt.want, stats.Summarize(tt.in))
			assert.Equal(t, in, tt.in, "the input is left as it was")
		})
	}
}

// series returns n points a minute apart with values f(i).
func series(n int, f func(i int) float64) ([]time.Time, []float64) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at, ys := make([]time.Time, n), make([]float64, n)
	for i := range n {
		at[i], ys[i] = t0.Add(time.Duration(i)*time.Minute), f(i)
	}
	return at, ys
}

func TestFitTrend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		n         int
		f         func(int) float64
		slope     float64 // per hour
		rise      float64 // percent
		upward    bool
		tolerance float64
	}{
		{"flat", 60, func(int) float64 { return 100 }, 0, 0, false, 1e-9},
		{"steady growth of 1 per minute", 61, func(i int) float64 { return 100 + float64(i) }, 60, 46.15, true, 0.01},
		{"falling", 61, func(i int) float64 { return 200 - float64(i) }, -60, -35.29, false, 0.01},
		// A sawtooth (a garbage collector's heap) has no trend worth the name.
		{"sawtooth", 120, func(i int) float64 { return 100 + float64(i%10)*10 }, 0, 0, false, 8},
		// Growth that is real but tiny next to the level stays below the 5 % bar.
		{"slight drift", 61, func(i int) float64 { return 1000 + float64(i)*0.5 }, 30, 2.96, false, 0.01},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			at, ys := series(tt.n, tt.f)
			tr := stats.FitTrend(at, ys)
			assert.Equal(t, tt.n, tr.Samples)
			assert.InDelta(t, tt.slope, tr.SlopePerHour, tt.tolerance)
			assert.InDelta(t, tt.rise, tr.RisePercent, math.Max(tt.tolerance, 0.01))
			assert.Equal(t, tt.upward, tr.Upward(5))
		})
	}
}

func TestFitTrendDegenerate(t *testing.T) {
	t.Parallel()
	assert.Equal(t, stats.Trend{}, stats.FitTrend(nil, nil))
	now := time.Now()
	tr := stats.FitTrend([]time.Time{now, now}, []float64{1, 3})
	assert.Equal(t, 0.0, tr.SlopePerHour, "no time passes: no slope")
	assert.Equal(t, 2.0, tr.Mean)
	assert.False(t, tr.Upward(5))
	at, ys := series(2, func(i int) float64 { return float64(i) * 100 })
	assert.False(t, stats.FitTrend(at, ys).Upward(5), "two points are not a trend")
}
