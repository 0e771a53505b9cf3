package redislimit_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/redislimit"
	"github.com/genzai/genzai/adapters/redislimit/redistest"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
	"github.com/genzai/genzai/ports/portstest"
)

// open connects to the test Redis and closes the client when t ends.
func open(t *testing.T, url string) *redis.Client {
	t.Helper()
	client, err := redislimit.Open(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func TestRateLimiterContract(t *testing.T) {
	url := redistest.NewURL(t)
	portstest.RunRateLimiter(t, func(t *testing.T) (ports.RateLimiter, func(time.Duration)) {
		// Redis keeps the time: the suite waits for real.
		return redislimit.New(open(t, url)), time.Sleep
	})
}

func TestInstancesShareTheBudget(t *testing.T) {
	t.Parallel()
	url := redistest.NewURL(t)
	ctx := context.Background()
	// Three gateway instances, each with its own connection pool.
	var limiters []*redislimit.Limiter
	for range 3 {
		limiters = append(limiters, redislimit.New(open(t, url)))
	}
	for _, tc := range []struct {
		rate     domain.Rate
		requests int
	}{
		{domain.Rate{Limit: 1, Period: time.Hour}, 30},
		{domain.Rate{Limit: 50, Period: time.Hour}, 300},
		{domain.Rate{Limit: 200, Period: 24 * time.Hour}, 600},
	} {
		key := redistest.UniqueKey("shared")
		var admitted, refused atomic.Int32
		var wg sync.WaitGroup
		for i := range tc.requests {
			l := limiters[i%len(limiters)]
			wg.Go(func() {
				d, err := l.Allow(ctx, key, tc.rate)
				if !assert.NoError(t, err) {
					return
				}
				if d.Allowed {
					admitted.Add(1)
				} else {
					refused.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(tc.rate.Limit), admitted.Load(), "%d per %s", tc.rate.Limit, tc.rate.Period)
		assert.Equal(t, int32(tc.requests-tc.rate.Limit), refused.Load())
	}
}

func TestKeysArePrefixedAndExpire(t *testing.T) {
	t.Parallel()
	url := redistest.NewURL(t)
	ctx := context.Background()
	client := open(t, url)
	l := redislimit.New(client)
	key := redistest.UniqueKey("ip:192.0.2.1")

	_, err := l.Allow(ctx, key, domain.Rate{Limit: 10, Period: time.Minute})
	require.NoError(t, err)
	ttl, err := client.TTL(ctx, "rate:genzai:rl:"+key).Result()
	require.NoError(t, err)
	// One request of ten per minute: the budget is whole again in 6 s.
	assert.Greater(t, ttl, time.Duration(0))
	assert.LessOrEqual(t, ttl, 6*time.Second)
	n, err := client.Exists(ctx, key, "rate:"+key, "genzai:rl:"+key).Result()
	require.NoError(t, err)
	assert.Zero(t, n, "no key outside the prefix")
}

func TestOpenAppliesShortTimeouts(t *testing.T) {
	t.Parallel()
	url := redistest.NewURL(t)
	for _, tc := range []struct {
		name       string
		query      string
		dial, read time.Duration
		retries    int
	}{
		{"defaults", "", redislimit.DialTimeout, redislimit.ReadTimeout, 0},
		{"the URL's own", "dial_timeout=3s&read_timeout=1s&max_retries=2", 3 * time.Second, time.Second, 2},
	} {
		u := url
		if tc.query != "" {
			u += map[bool]string{true: "&", false: "?"}[strings.Contains(url, "?")] + tc.query
		}
		client := open(t, u)
		o := client.Options()
		assert.Equal(t, tc.dial, o.DialTimeout, tc.name)
		assert.Equal(t, tc.read, o.ReadTimeout, tc.name)
		assert.Equal(t, tc.retries, o.MaxRetries, tc.name+": MaxRetries (0 = none)")
		assert.Equal(t, 1, o.DialerRetries, tc.name)
		assert.LessOrEqual(t, o.PoolTimeout, time.Second, tc.name)
		assert.True(t, o.ContextTimeoutEnabled, tc.name)
		require.NoError(t, redislimit.New(client).Ping(context.Background()), tc.name)
	}
}

func TestOpenFailsFastOnASilentServer(t *testing.T) {
	t.Parallel()
	// A server that accepts connections and never answers, like a hung
	// Redis or a black-holed network.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})

	start := time.Now()
	client, err := redislimit.Open(context.Background(), "redis://"+ln.Addr().String())
	elapsed := time.Since(start)
	require.Error(t, err)
	require.NotNil(t, client, "the client comes back with the error, to reconnect later")
	t.Cleanup(func() { _ = client.Close() })
	assert.Less(t, elapsed, 900*time.Millisecond, "a read timeout, not the one-second ping budget nor go-redis's 5 s")

	start = time.Now()
	_, err = redislimit.New(client).Allow(context.Background(), "k", domain.Rate{Limit: 1, Period: time.Second})
	assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err), "err: %v", err)
	assert.Less(t, time.Since(start), 900*time.Millisecond)
}

func TestErrorsNeverContainThePassword(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-Pa55"
	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	require.NoError(t, ln.Close())
	live := strings.TrimPrefix(redistest.NewURL(t), "redis://")
	live = live[strings.LastIndex(live, "@")+1:]
	live, _, _ = strings.Cut(live, "/")

	for _, tc := range []struct {
		name, url string
		client    bool // a client comes back with the error
	}{
		{"bad port", "redis://:" + secret + "@127.0.0.1:port/0", false},
		{"bad userinfo", "redis://user:" + secret + "%zz@127.0.0.1:6379/0", false},
		{"bad scheme", "http://user:" + secret + "@127.0.0.1:6379/0", false},
		{"unix socket", "unix://user:" + secret + "@/tmp/redis.sock", false},
		{"no host", "redis://user:" + secret + "@/0", false},
		{"bad database", "redis://user:" + secret + "@127.0.0.1:6379/zero", false},
		{"unknown option", "redis://user:" + secret + "@127.0.0.1:6379/0?password=" + secret, false},
		{"nothing listening", "redis://:" + secret + "@" + closed + "/0", true},
		// The test server's default user takes any password (nopass): an
		// unknown user is what it refuses.
		{"unknown user", "redis://nobody:" + secret + "@" + live + "/0", true},
	} {
		client, err := redislimit.Open(context.Background(), tc.url)
		require.Error(t, err, tc.name)
		assert.NotContains(t, err.Error(), secret, tc.name)
		assert.NotContains(t, err.Error(), "s3cr3t", tc.name)
		assert.NotContains(t, err.Error(), "%zz", tc.name)
		assert.Equal(t, tc.client, client != nil, tc.name)
		if client != nil {
			_, err := redislimit.New(client).Allow(context.Background(), "k", domain.Rate{Limit: 1, Period: time.Second})
			if assert.Error(t, err, tc.name) {
				assert.NotContains(t, err.Error(), "s3cr3t", tc.name)
			}
			assert.NoError(t, client.Close())
		}
	}
}
