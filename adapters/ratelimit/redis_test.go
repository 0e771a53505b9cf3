package ratelimit_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/adapters/ratelimit"
	"github.com/genzai/genzai/adapters/redislimit"
	"github.com/genzai/genzai/adapters/redislimit/redistest"
	"github.com/genzai/genzai/domain"
)

// proxyMode is what the proxy does with connections.
type proxyMode int

const (
	forward proxyMode = iota // pass bytes to and from Redis
	refuse                   // reset every connection at once, like a dead host
	hang                     // accept and never answer, like a hung server or a black hole
)

// proxy is a TCP proxy in front of the test Redis that a test can cut and
// restore, without touching the Redis server itself.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	mode   proxyMode
	conns  map[net.Conn]struct{}
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.closeAll()
	})
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		mode := p.mode
		if mode != refuse {
			p.conns[c] = struct{}{}
		}
		p.mu.Unlock()
		switch mode {
		case refuse:
			_ = c.(*net.TCPConn).SetLinger(0)
			c.Close()
		case hang:
			go io.Copy(io.Discard, c) //nolint:errcheck // until closed
		case forward:
			go p.pipe(c)
		}
	}
}

func (p *proxy) pipe(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[up] = struct{}{}
	p.mu.Unlock()
	go func() {
		_, _ = io.Copy(up, c)
		up.Close()
	}()
	_, _ = io.Copy(c, up)
	c.Close()
}

// set switches the mode; established connections are cut either way.
func (p *proxy) set(mode proxyMode) {
	p.mu.Lock()
	p.mode = mode
	p.mu.Unlock()
	p.closeAll()
}

func (p *proxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// TestFallbackOverRedis runs the Fallback against a real Redis behind a
// proxy that goes down and comes back.
func TestFallbackOverRedis(t *testing.T) {
	t.Parallel()
	target, err := url.Parse(redistest.NewURL(t))
	require.NoError(t, err)
	for _, tc := range []struct {
		name     string
		failOpen bool
		outage   proxyMode
	}{
		{"refused, fail open", true, refuse},
		{"hung, fail open", true, hang},
		{"refused, fail closed", false, refuse},
		{"hung, fail closed", false, hang},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			p := startProxy(t, target.Host)
			via := *target
			via.Host = p.ln.Addr().String()
			client, err := redislimit.Open(ctx, via.String())
			require.NoError(t, err)
			t.Cleanup(func() { _ = client.Close() })

			clock := memory.NewClock(start)
			primary := &counting{RateLimiter: redislimit.New(client)}
			secondary := &counting{RateLimiter: memory.NewRateLimiter(clock)}
			logs := &logRecorder{}
			f := ratelimit.NewFallback(primary, secondary, tc.failOpen, slog.New(logs), clock)
			key := redistest.UniqueKey("ip:192.0.2.1")
			// ask says who answered and returns Redis's Remaining.
			ask := func(t *testing.T) (string, int) {
				t.Helper()
				s := secondary.calls.Load()
				d, err := f.Allow(ctx, key, hourly)
				switch {
				case err != nil:
					var de *domain.Error
					require.True(t, errors.As(err, &de), "err: %v", err)
					assert.Equal(t, domain.CodeUnavailable, de.Code)
					return "error", 0
				case secondary.calls.Load() > s:
					return "secondary", 0
				}
				return "redis", d.Remaining
			}
			outage := map[bool]string{true: "secondary", false: "error"}[tc.failOpen]
			downMsg := map[bool]string{true: msgDown, false: msgDownShut}[tc.failOpen]

			for i := range 3 {
				who, remaining := ask(t)
				require.Equal(t, "redis", who)
				assert.Equal(t, hourly.Limit-1-i, remaining)
			}

			p.set(tc.outage)
			began := time.Now()
			who, _ := ask(t)
			assert.Equal(t, outage, who, "the request that finds Redis gone")
			assert.Less(t, time.Since(began), 900*time.Millisecond, "within the client's short timeouts")
			asked := primary.calls.Load()
			began = time.Now()
			for range 50 {
				who, _ := ask(t)
				assert.Equal(t, outage, who)
			}
			assert.Less(t, time.Since(began), redislimit.ReadTimeout, "no request waits for Redis during the back-off")
			assert.Equal(t, asked, primary.calls.Load())
			assert.False(t, f.Healthy())
			assert.Error(t, redislimit.New(client).Ping(ctx))

			p.set(forward)
			// Redis answers again; the first request after the back-off
			// finds it. The client may need a moment to reconnect, so
			// retry for a bounded time.
			deadline := time.Now().Add(10 * time.Second)
			for who != "redis" && time.Now().Before(deadline) {
				clock.Advance(ratelimit.Backoff)
				var remaining int
				who, remaining = ask(t)
				if who == "redis" {
					assert.Equal(t, hourly.Limit-4, remaining, "Redis kept the key's state through the outage")
				} else {
					time.Sleep(20 * time.Millisecond)
				}
			}
			require.Equal(t, "redis", who, "Redis answers again")
			for i := range 3 {
				who, remaining := ask(t)
				require.Equal(t, "redis", who)
				assert.Equal(t, hourly.Limit-5-i, remaining)
			}
			assert.True(t, f.Healthy())
			lines := logs.lines()
			require.Len(t, lines, 2, "%q", lines)
			assert.Contains(t, lines[0], "WARN "+downMsg)
			assert.Equal(t, "INFO "+msgBack, lines[1])
		})
	}
}
