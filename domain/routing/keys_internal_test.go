package routing

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var base = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return base.Add(d) }

// forever is a rejection that outlasts every test.
var forever = base.Add(100 * 365 * 24 * time.Hour)

func TestKeyPoolLeastUsedSpreadsEvenly(t *testing.T) {
	t.Parallel()
	p := newKeyPool(3, 0)
	counts := make([]int, 3)
	for range 300 {
		k, ok := p.acquire(base)
		require.True(t, ok)
		counts[k]++
	}
	assert.Equal(t, []int{100, 100, 100}, counts)
}

func TestKeyPoolLeastUsedConcurrent(t *testing.T) {
	t.Parallel()
	p := newKeyPool(3, 0)
	var mu sync.Mutex
	counts := make([]int, 3)
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() {
			for range 10 {
				k, ok := p.acquire(base)
				if !ok {
					t.Error("no key")
					return
				}
				mu.Lock()
				counts[k]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, []int{100, 100, 100}, counts)
}

func TestKeyPoolOrder(t *testing.T) {
	t.Parallel()
	type step struct {
		at   time.Duration
		want int // -1: no key
	}
	tests := []struct {
		name  string
		keys  int
		rpm   int
		prep  func(p *keyPool)
		steps []step
	}{
		{
			name:  "round robin at equal use",
			keys:  3,
			steps: []step{{0, 0}, {0, 1}, {0, 2}, {0, 0}, {0, 1}, {0, 2}},
		},
		{
			// Key 0 cools down while 1 and 2 are used, then all have one
			// request: the least recently used (1) goes first, not index 0.
			name:  "ties go to the least recently used key",
			keys:  3,
			prep:  func(p *keyPool) { p.cooldown(0, at(10*time.Second)) },
			steps: []step{{0, 1}, {time.Second, 2}, {10 * time.Second, 0}, {11 * time.Second, 1}, {12 * time.Second, 2}, {13 * time.Second, 0}},
		},
		{
			// Key 0 has more requests in total (4 to 3), but at 61s only
			// one of them is in the last minute.
			name:  "least used in the last minute",
			keys:  2,
			prep:  func(p *keyPool) { p.cooldown(1, at(5*time.Second)) },
			steps: []step{{0, 0}, {0, 0}, {0, 0}, {5 * time.Second, 1}, {6 * time.Second, 1}, {7 * time.Second, 1}, {8 * time.Second, 0}, {61 * time.Second, 0}, {66 * time.Second, 1}},
		},
		{
			name:  "per-minute limit",
			keys:  1,
			rpm:   2,
			steps: []step{{0, 0}, {10 * time.Second, 0}, {20 * time.Second, -1}, {59 * time.Second, -1}, {60 * time.Second, 0}, {65 * time.Second, -1}, {70 * time.Second, 0}},
		},
		{
			name:  "per-minute limit moves load to the other key",
			keys:  2,
			rpm:   1,
			steps: []step{{0, 0}, {0, 1}, {30 * time.Second, -1}, {60 * time.Second, 0}, {60 * time.Second, 1}},
		},
		{
			name:  "rejected key is never used",
			keys:  2,
			prep:  func(p *keyPool) { p.reject(0, forever) },
			steps: []step{{0, 1}, {0, 1}, {time.Hour, 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newKeyPool(tt.keys, tt.rpm)
			if tt.prep != nil {
				tt.prep(p)
			}
			for i, s := range tt.steps {
				k, ok := p.acquire(at(s.at))
				if s.want < 0 {
					assert.False(t, ok, "step %d at %s: no key", i, s.at)
					continue
				}
				require.True(t, ok, "step %d at %s", i, s.at)
				assert.Equal(t, s.want, k, "step %d at %s", i, s.at)
			}
		})
	}
}

func TestKeyPoolCooldown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		cooldowns []time.Duration // successive cooldown(0, base+d) calls
		check     time.Duration
		usable    bool
	}{
		{name: "skipped 1s before the end", cooldowns: []time.Duration{30 * time.Second}, check: 29 * time.Second, usable: false},
		{name: "usable at the end", cooldowns: []time.Duration{30 * time.Second}, check: 30 * time.Second, usable: true},
		{name: "a later 429 extends", cooldowns: []time.Duration{10 * time.Second, 30 * time.Second}, check: 29 * time.Second, usable: false},
		{name: "extended cooldown ends", cooldowns: []time.Duration{10 * time.Second, 30 * time.Second}, check: 30 * time.Second, usable: true},
		{name: "a shorter 429 never shortens", cooldowns: []time.Duration{30 * time.Second, 10 * time.Second}, check: 29 * time.Second, usable: false},
		{name: "a cooldown in the past changes nothing", cooldowns: []time.Duration{30 * time.Second, -time.Hour}, check: 20 * time.Second, usable: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newKeyPool(1, 0)
			for _, d := range tt.cooldowns {
				p.cooldown(0, at(d))
			}
			assert.Equal(t, tt.usable, p.usable(at(tt.check)))
			_, ok := p.acquire(at(tt.check))
			assert.Equal(t, tt.usable, ok)
			assert.Equal(t, !tt.usable, p.status(at(tt.check))[0].CoolingDown)
		})
	}
}

func TestKeyPoolNextAvailable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		keys   int
		rpm    int
		prep   func(p *keyPool)
		want   time.Duration
		wantOK bool
	}{
		{name: "a free key: now", keys: 2, prep: func(p *keyPool) { p.cooldown(0, at(time.Minute)) }, want: 0, wantOK: true},
		{
			name: "the earliest cooldown end",
			keys: 3,
			prep: func(p *keyPool) {
				p.cooldown(0, at(40*time.Second))
				p.cooldown(1, at(15*time.Second))
				p.cooldown(2, at(25*time.Second))
			},
			want: 15 * time.Second, wantOK: true,
		},
		{
			name: "rejected keys never come back",
			keys: 2,
			prep: func(p *keyPool) {
				p.reject(0, forever)
				p.cooldown(1, at(20*time.Second))
			},
			want: 20 * time.Second, wantOK: true,
		},
		{
			name: "all rejected",
			keys: 2,
			prep: func(p *keyPool) {
				p.reject(0, forever)
				p.reject(1, forever)
			},
			wantOK: false,
		},
		{
			name: "per-minute limit: when the oldest counted request leaves the window",
			keys: 1,
			rpm:  2,
			prep: func(p *keyPool) {
				p.acquire(at(-50 * time.Second))
				p.acquire(at(-20 * time.Second))
				p.acquire(at(-10 * time.Second)) // refused: at the limit
			},
			want: 10 * time.Second, wantOK: true,
		},
		{
			name: "cooldown outlasting the per-minute limit",
			keys: 1,
			rpm:  1,
			prep: func(p *keyPool) {
				p.acquire(at(-50 * time.Second))
				p.cooldown(0, at(30*time.Second))
			},
			want: 30 * time.Second, wantOK: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newKeyPool(tt.keys, tt.rpm)
			tt.prep(p)
			next, ok := p.nextAvailable(base)
			assert.Equal(t, tt.wantOK, ok)
			if tt.wantOK {
				assert.Equal(t, at(tt.want), next)
			}
		})
	}
}

func TestKeyPoolStatus(t *testing.T) {
	t.Parallel()
	p := newKeyPool(3, 0)
	p.acquire(base) // key 0
	p.acquire(base) // key 1
	p.reject(1, forever)
	p.cooldown(2, at(time.Minute))
	k, ok := p.acquire(at(30 * time.Second))
	require.True(t, ok)
	require.Equal(t, 0, k, "the only usable key")
	assert.Equal(t, []KeyStatus{
		{Index: 0, RequestsLastMin: 2},
		{Index: 1, RequestsLastMin: 1, Rejected: true, RejectedUntil: forever},
		{Index: 2, CoolingDown: true, CoolingDownUntil: at(time.Minute)},
	}, p.status(at(45*time.Second)))
	assert.Equal(t, []KeyStatus{
		{Index: 0, RequestsLastMin: 1},
		{Index: 1, Rejected: true, RejectedUntil: forever},
		{Index: 2},
	}, p.status(at(time.Minute)), "a minute on, only the request at 30s counts")
}
