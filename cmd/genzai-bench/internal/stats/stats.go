// Package stats summarises measurements: percentiles of durations and the
// least-squares trend of a time series.
package stats

import (
	"math"
	"slices"
	"time"
)

// Summary is the distribution of a set of durations.
type Summary struct {
	Count int
	Min   time.Duration
	Mean  time.Duration
	P50   time.Duration
	P90   time.Duration
	P99   time.Duration
	Max   time.Duration
}

// Summarize returns the distribution of ds; ds is not modified. An empty
// set gives the zero Summary.
func Summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	var sum float64
	for _, d := range sorted {
		sum += float64(d)
	}
	return Summary{
		Count: len(sorted),
		Min:   sorted[0],
		Mean:  time.Duration(sum / float64(len(sorted))),
		P50:   Percentile(sorted, 50),
		P90:   Percentile(sorted, 90),
		P99:   Percentile(sorted, 99),
		Max:   sorted[len(sorted)-1],
	}
}

// Percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest value with at least p % of the values
// at or below it. It returns 0 for an empty slice.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// Trend is a straight line fitted to a time series by least squares.
type Trend struct {
	// Samples is the number of points fitted.
	Samples int
	// Window is the time between the first and the last point.
	Window time.Duration
	// First and Last are the fitted values at the ends of the window.
	First, Last float64
	// Mean is the mean of the values.
	Mean float64
	// SlopePerHour is the fitted change per hour, in the series' unit.
	SlopePerHour float64
	// StdErrPerHour is the standard error of SlopePerHour.
	StdErrPerHour float64
	// RisePercent is the fitted change over the window relative to the
	// mean, in percent.
	RisePercent float64
}

// Upward reports whether t shows growth that is both significant (the slope
// is more than three standard errors above zero) and material (the fitted
// rise over the window is more than minRisePercent of the mean). Noise such
// as a garbage collector's sawtooth fails the first test, a flat series
// with a tiny but steady drift the second.
func (t Trend) Upward(minRisePercent float64) bool {
	if t.Samples < 3 {
		return false
	}
	return t.SlopePerHour > 3*t.StdErrPerHour && t.RisePercent > minRisePercent
}

// FitTrend fits y = a + b*t to the points (at[i], ys[i]); at and ys must
// have the same length. With fewer than two distinct times the slope is 0.
func FitTrend(at []time.Time, ys []float64) Trend {
	n := min(len(at), len(ys))
	tr := Trend{Samples: n}
	if n == 0 {
		return tr
	}
	t0 := at[0]
	xs := make([]float64, n) // hours since the first point
	var mx, my float64
	for i := range n {
		xs[i] = at[i].Sub(t0).Hours()
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(n)
	my /= float64(n)
	tr.Mean = my
	tr.Window = at[n-1].Sub(t0)

	var sxx, sxy float64
	for i := range n {
		sxx += (xs[i] - mx) * (xs[i] - mx)
		sxy += (xs[i] - mx) * (ys[i] - my)
	}
	if sxx == 0 {
		tr.First, tr.Last = my, my
		return tr
	}
	b := sxy / sxx
	a := my - b*mx
	tr.SlopePerHour = b
	tr.First = a + b*xs[0]
	tr.Last = a + b*xs[n-1]
	if n > 2 {
		var sse float64
		for i := range n {
			r := ys[i] - (a + b*xs[i])
			sse += r * r
		}
		tr.StdErrPerHour = math.Sqrt(sse / float64(n-2) / sxx)
	}
	if my != 0 {
		tr.RisePercent = (tr.Last - tr.First) / math.Abs(my) * 100
	}
	return tr
}
