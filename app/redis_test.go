package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/adapters/redislimit"
	"github.com/genzai/genzai/adapters/redislimit/redistest"
	"github.com/genzai/genzai/domain"
)

// randomClientIP gives each test its own limiter keys in the shared Redis:
// requests come "through" the trusted local proxy from this address.
func randomClientIP() string {
	return fmt.Sprintf("198.18.%d.%d", rand.IntN(256), rand.IntN(254)+1)
}

// TestRateLimitSharedAcrossInstances runs three gateways on one database and
// one Redis: together they admit exactly the limit under parallel load.
func TestRateLimitSharedAcrossInstances(t *testing.T) {
	t.Parallel()
	vars := map[string]string{
		"DATABASE_URL":          pgtest.NewURL(t),
		"REDIS_URL":             redistest.NewURL(t),
		"RATE_LIMIT_PER_MINUTE": "30",
		"TRUSTED_PROXIES":       "127.0.0.1/32",
	}
	instances := []*env{newEnv(t, vars), newEnv(t, vars), newEnv(t, vars)}
	ip := randomClientIP()
	var ok, limited atomic.Int32
	var wg sync.WaitGroup
	for i := range 90 {
		wg.Go(func() {
			res := instances[i%3].do(http.MethodGet, "/api/v1/status", nil, map[string]string{"X-Forwarded-For": ip})
			switch res.status {
			case http.StatusOK:
				ok.Add(1)
			case http.StatusTooManyRequests:
				limited.Add(1)
			default:
				t.Errorf("status %d: %s", res.status, res.body)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(30), ok.Load(), "exactly the limit in total")
	assert.Equal(t, int32(60), limited.Load())

	ready := instances[0].do(http.MethodGet, "/ready", nil, nil).json(t)
	assert.Equal(t, "ok", ready["checks"].(map[string]any)["redis"])
}

// TestRedisUnreachableFailsOpen starts a gateway whose Redis does not
// answer: it keeps serving with per-instance limits and stays ready.
func TestRedisUnreachableFailsOpen(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there now

	for _, tc := range []struct {
		failOpen string
		status   int
	}{{"true", http.StatusOK}, {"false", http.StatusServiceUnavailable}} {
		t.Run("fail open "+tc.failOpen, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, map[string]string{"REDIS_URL": "redis://:hunter2@" + addr + "/0", "RATE_LIMIT_PER_MINUTE": "3", "RATE_LIMIT_FAIL_OPEN": tc.failOpen})
			for range 3 {
				assert.Equal(t, tc.status, e.do(http.MethodGet, "/api/v1/status", nil, nil).status)
			}
			if tc.failOpen == "true" {
				assert.Equal(t, http.StatusTooManyRequests, e.do(http.MethodGet, "/api/v1/status", nil, nil).status, "the in-process limiter still limits")
			}
			res := e.do(http.MethodGet, "/ready", nil, nil)
			assert.Equal(t, http.StatusOK, res.status, "Redis is not fatal")
			assert.Contains(t, res.json(t)["checks"].(map[string]any)["redis"], "limits fall back to this instance")
			assert.NotContains(t, e.logs.String(), "hunter2")
		})
	}
}

// TestProviderKeyBudgetAcrossInstances runs three gateways sharing Redis in
// front of one fake Groq: together they send each key no more than its
// per-minute budget, and all respect a cooldown one of them met.
func TestProviderKeyBudgetAcrossInstances(t *testing.T) {
	t.Parallel()
	up := newUpstreams(t)
	// Keys unique to this test: budgets in the shared Redis are per key.
	k0, k1 := "gk-"+randomClientIP(), "gk-"+randomClientIP()
	vars := up.vars(map[string]string{
		"DATABASE_URL":     pgtest.NewURL(t),
		"REDIS_URL":        redistest.NewURL(t),
		"GROQ_API_KEYS":    k0 + "," + k1,
		"GROQ_RPM_PER_KEY": "3",
	})
	instances := []*env{newEnv(t, vars), newEnv(t, vars), newEnv(t, vars)}
	tokens := make([]string, 3)
	instances[0].register("ada@example.com", pw)
	for i, e := range instances {
		tokens[i] = e.login("ada@example.com", pw)
	}

	up.groq.Script(k0, fakeupstream.RateLimited(30*time.Second), fakeupstream.OK("ok"))
	var codes []int
	for i := range 8 {
		res := instances[i%3].do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "stream": false}, bearer(tokens[i%3]))
		codes = append(codes, res.status)
	}
	// k0 answered 429 once and cools down for every instance; k1 has 3 per minute.
	assert.Equal(t, 1, up.groq.Count(k0), "no instance uses a key another saw cooling down")
	assert.Equal(t, 3, up.groq.Count(k1), "the key's budget holds across instances")
	ok := 0
	for _, c := range codes {
		if c == http.StatusOK {
			ok++
		} else {
			assert.Equal(t, http.StatusTooManyRequests, c)
		}
	}
	assert.Equal(t, 3, ok)
}

// TestProviderKeyRejectionAcrossInstances runs two gateways sharing Redis in
// front of one fake Groq: a key one of them saw refused (401) is skipped by
// the other too, and after PROVIDER_KEY_REJECT_COOLOFF_SECONDS it is tried
// again rather than never.
func TestProviderKeyRejectionAcrossInstances(t *testing.T) {
	t.Parallel()
	up := newUpstreams(t)
	// Keys unique to this test: rejections in the shared Redis are per key.
	k0, k1 := "gk-"+randomClientIP(), "gk-"+randomClientIP()
	vars := up.vars(map[string]string{
		"DATABASE_URL":                        pgtest.NewURL(t),
		"REDIS_URL":                           redistest.NewURL(t),
		"GROQ_API_KEYS":                       k0 + "," + k1,
		"PROVIDER_KEY_REJECT_COOLOFF_SECONDS": "60",
	})
	instances := []*env{newEnv(t, vars), newEnv(t, vars)}
	tokens := make([]string, 2)
	instances[0].register("ada@example.com", pw)
	for i, e := range instances {
		tokens[i] = e.login("ada@example.com", pw)
	}
	chat := func(i int) {
		t.Helper()
		res := instances[i].do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "stream": false, "tier": "fast"}, bearer(tokens[i]))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	}

	up.groq.Script(k0, fakeupstream.Unauthorized())
	chat(0)
	require.Equal(t, 1, up.groq.Count(k0), "instance 0 met the 401 on the first key")
	for range 3 {
		chat(1)
	}
	assert.Equal(t, 1, up.groq.Count(k0), "instance 1 never uses the key instance 0 saw rejected")
	assert.Equal(t, 4, up.groq.Count(k1))

	// The cool-off is over (by the clock of instance 1; Redis, by the wall
	// clock, still holds the rejection, as another instance may read it).
	instances[1].clock.Advance(61 * time.Second)
	chat(1)
	assert.Equal(t, 2, up.groq.Count(k0), "after its cool-off the key is tried again (the least used)")
}

// TestQuotaCountedInRedisAcrossInstances runs three gateways on one
// database and one Redis: together they grant exactly the quota, count it
// in Redis rather than in the database on the request, and write it to the
// database when they close.
func TestQuotaCountedInRedisAcrossInstances(t *testing.T) {
	t.Parallel()
	up := newUpstreams(t)
	vars := up.vars(map[string]string{
		"DATABASE_URL":     pgtest.NewURL(t),
		"REDIS_URL":        redistest.NewURL(t),
		"USER_DAILY_QUOTA": "10",
		// Only the quota refuses here.
		"MAX_CONCURRENT_REQUESTS_PER_USER": "0",
	})
	instances := []*env{newEnv(t, vars), newEnv(t, vars), newEnv(t, vars)}
	instances[0].register("ada@example.com", pw)
	tokens := make([]string, len(instances))
	for i, e := range instances {
		tokens[i] = e.login("ada@example.com", pw)
	}

	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			res := instances[i%3].do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "stream": false}, bearer(tokens[i%3]))
			switch res.status {
			case http.StatusOK:
				ok.Add(1)
			case http.StatusTooManyRequests:
				refused.Add(1)
			default:
				t.Errorf("status %d: %s", res.status, res.body)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(10), ok.Load(), "exactly the quota in total")
	assert.Equal(t, int32(20), refused.Load())
	assert.Equal(t, float64(10), instances[1].do(http.MethodGet, "/api/v1/quota", nil, bearer(tokens[1])).json(t)["used"])

	var id string
	instances[0].queryRow(`SELECT id::text FROM users WHERE email = 'ada@example.com'`, &id)
	client, err := redislimit.Open(context.Background(), vars["REDIS_URL"])
	require.NoError(t, err)
	defer client.Close()
	key := redislimit.QuotaKeyPrefix + domain.QuotaDay(instances[0].clock.Now()).Format(time.DateOnly) + ":" + id
	n, err := client.Get(context.Background(), key).Int()
	require.NoError(t, err, "counted in redis")
	assert.Equal(t, 10, n)

	for _, e := range instances {
		e.srv.Close()
		e.app.Close()
	}
	var used int
	instances[0].queryRow(`SELECT used FROM quota_usage`, &used)
	assert.Equal(t, 10, used, "written behind to the database by the time the instances closed")
}

// TestChatRedisRoundTrips counts the Redis commands one chat request sends
// in the steady state (the account cached, the scripts loaded), through a
// proxy that notes them: the per-address limit, the user's request slot,
// the quota and the provider key's shared budget (a script each), and the
// slot given back. The key cooldowns other instances share (ZMSCORE) are
// read at most once a second per provider, not on every request.
func TestChatRedisRoundTrips(t *testing.T) {
	t.Parallel()
	up := newUpstreams(t)
	proxy := redistest.NewCountingProxy(t, redistest.NewURL(t))
	e := newEnv(t, up.vars(map[string]string{"DATABASE_URL": pgtest.NewURL(t), "REDIS_URL": proxy.URL()}))
	e.register("ada@example.com", pw)
	token := e.login("ada@example.com", pw)
	chat := func() {
		t.Helper()
		res := e.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "stream": false}, bearer(token))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	}
	chat() // the first: cooldowns read, account loaded
	proxy.Reset()
	const n = 3
	for range n {
		chat()
	}
	all, trips := proxy.Commands(), proxy.RoundTrips()
	t.Logf("%d chat requests: %d round trips, commands %v", n, trips, all)
	// The account notices' subscription may check its connection with a
	// PING at any time: not the requests'.
	commands := slices.DeleteFunc(all, func(c string) bool { return c == "PING" })
	pings := len(all) - len(commands)
	assert.NotContains(t, commands, "ZMSCORE", "no cooldown read within the second")
	assert.Len(t, commands, n*5, "limit, slot, quota, key budget, slot back")
	assert.Equal(t, n*5, trips-pings)
}
