package routing

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// op is one step of a breaker scenario; allow and state steps check a result.
type op struct {
	kind  string // allow, fail, ok, release, state
	at    time.Duration
	allow bool
	state BreakerState
}

func allowAt(d time.Duration, want bool) op      { return op{kind: "allow", at: d, allow: want} }
func failAt(d time.Duration) op                  { return op{kind: "fail", at: d} }
func succeed() op                                { return op{kind: "ok"} }
func release() op                                { return op{kind: "release"} }
func stateAt(d time.Duration, s BreakerState) op { return op{kind: "state", at: d, state: s} }

func TestBreaker(t *testing.T) {
	t.Parallel()
	const coolOff = 30 * time.Second
	// opened is three failures at 0 with threshold 3.
	opened := []op{failAt(0), failAt(0), failAt(0)}
	tests := []struct {
		name      string
		threshold int
		ops       []op
	}{
		{
			name:      "closed below the threshold",
			threshold: 3,
			ops:       []op{failAt(0), failAt(0), stateAt(0, BreakerClosed), allowAt(0, true), allowAt(0, true)},
		},
		{
			name:      "opens at the threshold",
			threshold: 3,
			ops:       append(opened, stateAt(0, BreakerOpen), allowAt(0, false), allowAt(coolOff-time.Second, false), stateAt(coolOff-time.Second, BreakerOpen)),
		},
		{
			name:      "only consecutive failures count",
			threshold: 3,
			ops:       []op{failAt(0), failAt(0), succeed(), failAt(0), failAt(0), stateAt(0, BreakerClosed), failAt(0), stateAt(0, BreakerOpen)},
		},
		{
			name:      "half-open after the cool-off allows one trial at a time",
			threshold: 3,
			ops: append(opened,
				stateAt(coolOff, BreakerHalfOpen),
				allowAt(coolOff, true),
				allowAt(coolOff, false),
				allowAt(coolOff+time.Hour, false),
				stateAt(coolOff, BreakerHalfOpen)),
		},
		{
			name:      "trial success closes",
			threshold: 3,
			ops:       append(opened, allowAt(coolOff, true), succeed(), stateAt(coolOff, BreakerClosed), allowAt(coolOff, true), allowAt(coolOff, true)),
		},
		{
			name:      "closed again after a trial success: the count starts over",
			threshold: 3,
			ops:       append(opened, allowAt(coolOff, true), succeed(), failAt(coolOff), failAt(coolOff), stateAt(coolOff, BreakerClosed)),
		},
		{
			name:      "trial failure re-opens for another cool-off",
			threshold: 3,
			ops: append(opened, allowAt(coolOff, true), failAt(coolOff+5*time.Second),
				stateAt(coolOff+5*time.Second, BreakerOpen),
				allowAt(2*coolOff+4*time.Second, false),
				stateAt(2*coolOff+5*time.Second, BreakerHalfOpen),
				allowAt(2*coolOff+5*time.Second, true)),
		},
		{
			name:      "release ends a trial without a verdict",
			threshold: 3,
			ops:       append(opened, allowAt(coolOff, true), release(), stateAt(coolOff, BreakerHalfOpen), allowAt(coolOff, true), allowAt(coolOff, false)),
		},
		{
			name:      "threshold below 1 opens at the first failure",
			threshold: 0,
			ops:       []op{stateAt(0, BreakerClosed), failAt(0), stateAt(0, BreakerOpen), allowAt(0, false)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBreaker(tt.threshold, coolOff)
			for i, o := range tt.ops {
				at := base.Add(o.at)
				msg := fmt.Sprintf("op %d: %s at %s", i, o.kind, o.at)
				switch o.kind {
				case "allow":
					assert.Equal(t, o.allow, b.allow(at), msg)
				case "fail":
					b.failure(at)
				case "ok":
					b.success()
				case "release":
					b.release()
				case "state":
					assert.Equal(t, o.state, b.state(at), msg)
				default:
					t.Fatalf("unknown op %q", o.kind)
				}
			}
		})
	}
}

func TestBreakerHalfOpenConcurrentTrials(t *testing.T) {
	t.Parallel()
	b := newBreaker(1, time.Second)
	b.failure(base)
	now := base.Add(time.Second)
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if b.allow(now) {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), allowed.Load(), "one trial among concurrent callers")
}
