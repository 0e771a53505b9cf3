package redislimit_test

import (
	"context"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/redislimit"
	"github.com/genzai/genzai/adapters/redislimit/redistest"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/internal/faultproxy"
	"github.com/genzai/genzai/ports"
	"github.com/genzai/genzai/ports/portstest"
)

func TestResponseCacheContract(t *testing.T) {
	url := redistest.NewURL(t)
	portstest.RunResponseCache(t, func(t *testing.T) (ports.ResponseCache, func(time.Duration)) {
		// Redis expires keys by its own clock: the suite waits for real.
		return redislimit.NewResponseCache(open(t, url)), time.Sleep
	})
}

func TestResponseCacheStoresJSONWithTTL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := open(t, redistest.NewURL(t))
	c := redislimit.NewResponseCache(client)
	k := redistest.UniqueKey("answer")
	a := domain.CachedAnswer{
		Provider: "groq", UpstreamModel: "m", Text: "hi", FinishReason: "tool_calls",
		ToolCalls: []domain.ToolCall{{ID: "c1", Name: "f", Arguments: `{"x":1}`}},
		Usage:     domain.Usage{PromptTokens: 5, CompletionTokens: 7},
		StoredAt:  time.Date(2026, 12, 7, 17, 0, 0, 5, time.UTC),
	}
	require.NoError(t, c.Put(ctx, k, a, 90*time.Second+500*time.Microsecond))

	raw, err := client.Get(ctx, redislimit.ResponseCacheKeyPrefix+k).Result()
	require.NoError(t, err, "stored under the prefixed key")
	assert.JSONEq(t, `{"v":1,"provider":"groq","model":"m","text":"hi",
		"tool_calls":[{"id":"c1","name":"f","arguments":"{\"x\":1}"}],
		"finish_reason":"tool_calls","prompt_tokens":5,"completion_tokens":7,
		"stored_at":"2026-12-07T17:00:00.000000005Z"}`, raw)
	ttl, err := client.PTTL(ctx, redislimit.ResponseCacheKeyPrefix+k).Result()
	require.NoError(t, err)
	assert.Positive(t, ttl)
	assert.LessOrEqual(t, ttl, 90*time.Second+time.Millisecond, "the ttl, rounded up to the millisecond")
}

// TestResponseCacheUnreadableValueIsAMiss stores values the cache cannot
// read under its keys, as another version or a stray writer might: each is
// a miss, not an error, and is deleted.
func TestResponseCacheUnreadableValueIsAMiss(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := open(t, redistest.NewURL(t))
	c := redislimit.NewResponseCache(client)
	for name, value := range map[string]string{
		"garbage":        "\x00\xffnot json",
		"another layout": `{"v":2,"text":"from the future"}`,
		"no version":     `{"text":"hi"}`,
		"a JSON string":  `"hi"`,
		"empty":          "",
		"wrong types":    `{"v":1,"text":42}`,
	} {
		k := redistest.UniqueKey("unreadable")
		rkey := redislimit.ResponseCacheKeyPrefix + k
		require.NoError(t, client.Set(ctx, rkey, value, time.Minute).Err())
		a, ok, err := c.Get(ctx, k)
		require.NoError(t, err, name)
		assert.False(t, ok, name)
		assert.Zero(t, a, name)
		assert.Zero(t, client.Exists(ctx, rkey).Val(), "%s: deleted", name)
	}
}

// TestResponseCacheUnavailable points the cache at servers that do not
// answer: one refusing connections, one accepting them and never replying.
// Each call returns CodeUnavailable within the client's timeouts, without
// the password.
func TestResponseCacheUnavailable(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-Pa55"
	for name, addr := range map[string]string{"refused": closedPort(t), "silent": silentServer(t)} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			client, err := redislimit.Open(context.Background(), "redis://:"+secret+"@"+addr+"/0")
			require.Error(t, err)
			t.Cleanup(func() { _ = client.Close() })
			c := redislimit.NewResponseCache(client)

			_, ok, err := c.Get(context.Background(), "k")
			assert.False(t, ok)
			assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err), "get: %v", err)
			assert.NotContains(t, err.Error(), secret)
			err = c.Put(context.Background(), "k", domain.CachedAnswer{Text: "hi"}, time.Minute)
			assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err), "put: %v", err)
			assert.NotContains(t, err.Error(), secret)
		})
	}
}

// TestResponseCacheRedisGoesAway takes Redis away from a cache that works,
// and brings it back: errors while it is gone, answers again after.
func TestResponseCacheRedisGoesAway(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	target, err := url.Parse(redistest.NewURL(t))
	require.NoError(t, err)
	proxy, err := faultproxy.Listen(target.Host)
	require.NoError(t, err)
	t.Cleanup(proxy.Close)
	via := *target
	via.Host = proxy.Addr()
	client := open(t, via.String())
	c := redislimit.NewResponseCache(client)
	k := redistest.UniqueKey("away")
	a := domain.CachedAnswer{Provider: "groq", Text: "kept", FinishReason: "stop"}
	require.NoError(t, c.Put(ctx, k, a, time.Minute))

	for _, down := range []func(){proxy.Down, proxy.DownClosing} {
		down()
		_, ok, err := c.Get(ctx, k)
		assert.False(t, ok)
		assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err), "get: %v", err)
		assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(c.Put(ctx, k, a, time.Minute)), "put")

		require.NoError(t, proxy.Up())
		got, ok, err := c.Get(ctx, k)
		require.NoError(t, err, "back")
		assert.True(t, ok)
		assert.Equal(t, "kept", got.Text)
	}
}

// closedPort returns an address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// silentServer returns the address of a server that accepts connections
// and reads from them, never replying, until the test ends.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			wg.Go(func() {
				buf := make([]byte, 512)
				for {
					if _, err := conn.Read(buf); err != nil {
						return
					}
				}
			})
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}
