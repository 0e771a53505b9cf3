package httpapi

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/genzai/genzai/api"
)

// defaultReadyCacheTTL is how long a readiness answer is reused when
// Config.ReadyCacheTTL is unset.
const defaultReadyCacheTTL = time.Second

// readyCache holds the last readiness answer for ttl and runs at most one
// probe at a time: callers arriving while a probe runs wait for its answer
// instead of starting their own, so that however many /ready calls come in,
// the database sees at most one ping per ttl (plus the probe's own time).
// No goroutine is started per call.
type readyCache struct {
	ttl time.Duration

	mu    sync.Mutex
	body  api.Readiness
	ready bool
	at    time.Time // when body was probed; zero before the first probe
	// running is closed when the probe in progress ends; nil when none runs.
	running chan struct{}
}

// get returns a readiness answer no older than ttl, probing when there is
// none. It fails only when ctx ends while it waits for another caller's
// probe.
func (c *readyCache) get(ctx context.Context, probe func(context.Context) (api.Readiness, bool)) (api.Readiness, bool, error) {
	for {
		c.mu.Lock()
		if !c.at.IsZero() && time.Since(c.at) < c.ttl {
			body, ready := c.body, c.ready
			c.mu.Unlock()
			return body, ready, nil
		}
		if wait := c.running; wait != nil {
			c.mu.Unlock()
			select {
			case <-wait:
				continue // its answer is fresh now
			case <-ctx.Done():
				return api.Readiness{}, false, fmt.Errorf("wait for readiness probe: %w", ctx.Err())
			}
		}
		done := make(chan struct{})
		c.running = done
		c.mu.Unlock()

		// The probe serves every waiting caller: the first caller leaving
		// must not cut it short (each check has its own timeout).
		body, ready := probe(context.WithoutCancel(ctx))
		c.mu.Lock()
		c.body, c.ready, c.at, c.running = body, ready, time.Now(), nil
		c.mu.Unlock()
		close(done)
		return body, ready, nil
	}
}
