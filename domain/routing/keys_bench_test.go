package routing

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// benchKeyCounts are pool sizes to measure: one key, a typical free-tier
// spread, and many.
var benchKeyCounts = []int{1, 4, 16}

// benchRPM is the per-key limit of the benchmarks (Groq's default is 49).
const benchRPM = 50

// benchStep is how far the clock moves per acquire so that each key holds
// about 40 requests in its last-minute window, under benchRPM: the pool
// stays in its steady state (trim drops as many as acquire adds) instead of
// filling up, as it would with a frozen clock.
func benchStep(keys int) time.Duration { return rpmWindow / time.Duration(40*keys) }

// BenchmarkKeyPoolAcquire picks a key for one attempt: the least-used scan
// under the pool's mutex, trimming each key's window. A key is released by
// its request leaving the window, so the clock advances with every call.
func BenchmarkKeyPoolAcquire(b *testing.B) {
	start := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	for _, n := range benchKeyCounts {
		step := benchStep(n)
		b.Run("keys="+strconv.Itoa(n)+"/sequential", func(b *testing.B) {
			p := newKeyPool(n, benchRPM)
			now := start
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(step)
				if _, ok := p.acquire(now); !ok {
					b.Fatal("no key")
				}
			}
		})
		b.Run("keys="+strconv.Itoa(n)+"/parallel", func(b *testing.B) {
			p := newKeyPool(n, benchRPM)
			var tick atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					// Goroutines may reach the lock out of clock order; the
					// margin under benchRPM absorbs it.
					now := start.Add(time.Duration(tick.Add(1)) * step)
					if _, ok := p.acquire(now); !ok {
						b.Error("no key")
						return
					}
				}
			})
		})
	}
}

// BenchmarkKeyPoolUsable is the availability check routing makes for each
// candidate provider of a tier before it acquires.
func BenchmarkKeyPoolUsable(b *testing.B) {
	start := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	for _, n := range benchKeyCounts {
		b.Run("keys="+strconv.Itoa(n), func(b *testing.B) {
			p := newKeyPool(n, benchRPM)
			step := benchStep(n)
			now := start
			// Fill the windows to their steady state first.
			for range 40 * n {
				now = now.Add(step)
				p.acquire(now)
			}
			b.ReportAllocs()
			for b.Loop() {
				if !p.usable(now) {
					b.Fatal("no usable key")
				}
			}
		})
	}
}
