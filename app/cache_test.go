package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/adapters/redislimit/redistest"
	"github.com/genzai/genzai/domain/chat"
	"github.com/genzai/genzai/internal/faultproxy"
)

// cacheEnv is a chat env with the response cache on (in process unless
// extra sets REDIS_URL).
func cacheEnv(t *testing.T, extra map[string]string) chatEnv {
	t.Helper()
	vars := map[string]string{"CACHE_ENABLED": "true"}
	for k, v := range extra {
		vars[k] = v
	}
	return newChatEnv(t, vars)
}

// providerCalls counts the chat requests every fake upstream received.
func (c chatEnv) providerCalls() int {
	return len(c.up.groq.Requests()) + len(c.up.openrouter.Requests()) + len(c.up.huggingface.Requests())
}

// post sends a chat request of the user with token to path, with extra
// headers given as name, value pairs.
func (c chatEnv) post(path, token string, body map[string]any, header ...string) response {
	c.t.Helper()
	h := bearer(token)
	for i := 0; i+1 < len(header); i += 2 {
		h[header[i]] = header[i+1]
	}
	return c.do(http.MethodPost, path, body, h)
}

// numbered answers every request with "answer <n>", n counting from 1.
func numbered() fakeupstream.Behaviour {
	var n atomic.Int64
	return fakeupstream.Pick(func(fakeupstream.Request) fakeupstream.Behaviour {
		return fakeupstream.OK(fmt.Sprintf("answer %d", n.Add(1)))
	})
}

func TestCacheHitReplaysTheAnswer(t *testing.T) {
	t.Parallel()
	c := cacheEnv(t, nil)
	c.up.groq.Default(fakeupstream.OK("Hello", " world").WithUsage(12, 3).WithFinishReason("length"))
	body := map[string]any{"prompt": "Hi", "stream": false}

	first := c.post("/api/v1/chat", c.token, body)
	require.Equal(t, http.StatusOK, first.status, "body: %s", first.body)
	assert.Equal(t, "miss", first.header.Get("X-Genzai-Cache"))
	assert.Equal(t, false, first.json(t)["cached"])

	second := c.post("/api/v1/chat", c.token, body)
	require.Equal(t, http.StatusOK, second.status)
	assert.Equal(t, "hit", second.header.Get("X-Genzai-Cache"))
	got := second.json(t)
	assert.Equal(t, true, got["cached"])
	assert.Equal(t, "Hello world", got["content"])
	assert.Equal(t, "length", got["finish_reason"])
	assert.Equal(t, map[string]any{"prompt_tokens": float64(12), "completion_tokens": float64(3)}, got["usage"])
	assert.Equal(t, "groq", got["provider"])
	assert.Equal(t, "llama-3.1-8b-instant", got["upstream_model"])
	assert.Equal(t, second.header.Get("X-Request-ID"), got["id"])
	assert.Equal(t, 1, c.providerCalls(), "the hit calls no provider")

	// Streamed, the same answer replays meta, the text and done at once.
	res := c.openStream(context.Background(), map[string]any{"prompt": "Hi"})
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "hit", res.Header.Get("X-Genzai-Cache"))
	events := readEvents(t, res.Body)
	require.Len(t, events, 3)
	assert.Equal(t, "meta", events[0].name)
	var meta map[string]any
	require.NoError(t, json.Unmarshal([]byte(events[0].data), &meta))
	assert.Equal(t, true, meta["cached"])
	assert.Equal(t, "groq", meta["provider"])
	assert.Equal(t, `"Hello world"`, events[1].data)
	assert.Equal(t, sseEvent{name: "done", data: `{"finish_reason":"length","usage":{"prompt_tokens":12,"completion_tokens":3}}`}, events[2])
	assert.Equal(t, 1, c.providerCalls())

	quota := c.do(http.MethodGet, "/api/v1/quota", nil, bearer(c.token)).json(t)
	assert.Equal(t, float64(3), quota["used"], "every hit counts one unit of the quota")

	refused := c.post("/api/v1/chat", "not-a-token", body)
	assert.Equal(t, http.StatusUnauthorized, refused.status)
	assert.Equal(t, "bypass", refused.header.Get("X-Genzai-Cache"), "refused before the look-up")
}

// TestCacheKeyComponents: each component of the key, changed alone, is a
// miss, on a request whose unchanged repeat is a hit.
func TestCacheKeyComponents(t *testing.T) {
	t.Parallel()
	c := cacheEnv(t, nil)
	c.up.groq.Default(fakeupstream.OK("fine"))
	native := func(prompt string, more map[string]any) map[string]any {
		b := map[string]any{"prompt": prompt, "stream": false}
		for k, v := range more {
			b[k] = v
		}
		return b
	}
	openAI := func(prompt string, more map[string]any) map[string]any {
		b := map[string]any{"model": "fast", "messages": []map[string]any{{"role": "user", "content": prompt}}}
		for k, v := range more {
			b[k] = v
		}
		return b
	}
	tools := []map[string]any{{"type": "function", "function": map[string]any{"name": "get_weather", "parameters": map[string]any{"type": "object"}}}}
	tests := []struct {
		name          string
		path          string
		build         func(prompt string, more map[string]any) map[string]any
		base, variant map[string]any
	}{
		{name: "tier", path: "/api/v1/chat", build: native, variant: map[string]any{"model": "balanced"}},
		{name: "system prompt", path: "/api/v1/chat", build: native, base: map[string]any{"system": "Be brief."}, variant: map[string]any{"system": "Be long."}},
		{name: "history", path: "/api/v1/chat", build: native, variant: map[string]any{"messages": []map[string]any{
			{"role": "user", "content": "Before"}, {"role": "assistant", "content": "Yes"},
		}}},
		{name: "temperature", path: "/api/v1/chat", build: native, base: map[string]any{"temperature": 0.2}, variant: map[string]any{"temperature": 0.3}},
		{name: "max_tokens", path: "/api/v1/chat", build: native, base: map[string]any{"max_tokens": 10}, variant: map[string]any{"max_tokens": 11}},
		{name: "stop", path: "/v1/chat/completions", build: openAI, variant: map[string]any{"stop": "END"}},
		{name: "response_format", path: "/v1/chat/completions", build: openAI, variant: map[string]any{"response_format": map[string]any{"type": "json_object"}}},
		{name: "tools", path: "/v1/chat/completions", build: openAI, variant: map[string]any{"tools": tools}},
		{name: "tool_choice", path: "/v1/chat/completions", build: openAI, base: map[string]any{"tools": tools},
			variant: map[string]any{"tools": tools, "tool_choice": "none"}},
		{name: "top_p", path: "/v1/chat/completions", build: openAI, variant: map[string]any{"top_p": 0.5}},
		{name: "seed", path: "/v1/chat/completions", build: openAI, variant: map[string]any{"seed": 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prompt := "Key component: " + tt.name
			for i, want := range []string{"miss", "hit"} {
				res := c.post(tt.path, c.token, tt.build(prompt, tt.base))
				require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
				assert.Equal(t, want, res.header.Get("X-Genzai-Cache"), "base request #%d", i+1)
			}
			res := c.post(tt.path, c.token, tt.build(prompt, tt.variant))
			require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
			assert.Equal(t, "miss", res.header.Get("X-Genzai-Cache"), "the variant")
		})
	}

	t.Run("conversation history", func(t *testing.T) {
		body := map[string]any{"prompt": "Tell me a fact.", "stream": false, "conversation_id": "new"}
		first := c.post("/api/v1/chat", c.token, body)
		require.Equal(t, http.StatusOK, first.status, "body: %s", first.body)
		assert.Equal(t, "miss", first.header.Get("X-Genzai-Cache"))
		id := first.json(t)["conversation_id"].(string)

		// A new conversation sends the same messages upstream: a hit, and
		// its turn is stored as any other.
		fresh := c.post("/api/v1/chat", c.token, body)
		require.Equal(t, http.StatusOK, fresh.status)
		assert.Equal(t, "hit", fresh.header.Get("X-Genzai-Cache"))
		_, ms := c.thread(fresh.json(t)["conversation_id"].(string))
		require.Len(t, ms, 2)
		assert.Equal(t, "fine", ms[1]["content"])

		// The same prompt in the first conversation carries its history.
		body["conversation_id"] = id
		again := c.post("/api/v1/chat", c.token, body)
		require.Equal(t, http.StatusOK, again.status)
		assert.Equal(t, "miss", again.header.Get("X-Genzai-Cache"))
	})
}

func TestCacheScope(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ scope, other string }{{"user", "miss"}, {"global", "hit"}} {
		t.Run(tt.scope, func(t *testing.T) {
			t.Parallel()
			c := cacheEnv(t, map[string]string{"CACHE_SCOPE": tt.scope})
			c.up.groq.Default(fakeupstream.OK("fine"))
			c.register("bob@example.com", pw)
			bob := c.login("bob@example.com", pw)
			body := map[string]any{"prompt": "Hi", "stream": false}
			assert.Equal(t, "miss", c.post("/api/v1/chat", c.token, body).header.Get("X-Genzai-Cache"))
			assert.Equal(t, tt.other, c.post("/api/v1/chat", bob, body).header.Get("X-Genzai-Cache"), "another user")
			assert.Equal(t, "hit", c.post("/api/v1/chat", c.token, body).header.Get("X-Genzai-Cache"), "the same user")
		})
	}
}

// TestCacheOptOut: each opt-out is a bypass; no-cache stores the fresh
// answer, "cache": false and no-store leave the stored one alone.
func TestCacheOptOut(t *testing.T) {
	t.Parallel()
	c := cacheEnv(t, nil)
	tests := []struct {
		name   string
		path   string
		body   map[string]any
		header []string
		// after is what the next plain request gets: the answer stored first
		// ("answer 1") or the opt-out's fresh one ("answer 2").
		after string
	}{
		{name: "cache false", path: "/api/v1/chat", body: map[string]any{"cache": false}, after: "answer 1"},
		{name: "no-store", path: "/api/v1/chat", header: []string{"Cache-Control", "no-store"}, after: "answer 1"},
		{name: "no-cache", path: "/api/v1/chat", header: []string{"Cache-Control", "max-age=0, No-Cache"}, after: "answer 2"},
		{name: "no-cache on /v1", path: "/v1/chat/completions", header: []string{"Cache-Control", "no-cache"}, after: "answer 2"},
		{name: "no-store on /v1", path: "/v1/chat/completions", header: []string{"Cache-Control", "no-store"}, after: "answer 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.up.groq.Default(numbered())
			build := func(extra map[string]any) map[string]any {
				b := map[string]any{"prompt": "Opt out: " + tt.name, "stream": false}
				if tt.path != "/api/v1/chat" {
					b = map[string]any{"model": "fast", "messages": []map[string]any{{"role": "user", "content": "Opt out: " + tt.name}}}
				}
				for k, v := range extra {
					b[k] = v
				}
				return b
			}
			text := func(r response) string {
				if tt.path == "/api/v1/chat" {
					return r.json(t)["content"].(string)
				}
				return r.json(t)["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"].(string)
			}
			first := c.post(tt.path, c.token, build(nil))
			require.Equal(t, http.StatusOK, first.status, "body: %s", first.body)
			assert.Equal(t, "answer 1", text(first))
			out := c.post(tt.path, c.token, build(tt.body), tt.header...)
			require.Equal(t, http.StatusOK, out.status, "body: %s", out.body)
			assert.Equal(t, "bypass", out.header.Get("X-Genzai-Cache"))
			assert.Equal(t, "answer 2", text(out), "the providers answered")
			next := c.post(tt.path, c.token, build(nil))
			assert.Equal(t, "hit", next.header.Get("X-Genzai-Cache"))
			assert.Equal(t, tt.after, text(next))
		})
	}
}

// TestCacheNeverStoresIncompleteAnswers: errors, interrupted and
// cancelled answers are not stored: the same request again is a miss.
func TestCacheNeverStoresIncompleteAnswers(t *testing.T) {
	t.Parallel()
	// Failures must not open Groq's breaker for the rows after them.
	c := cacheEnv(t, map[string]string{"CIRCUIT_BREAKER_FAILURES": "1000"})
	tests := []struct {
		name      string
		behaviour fakeupstream.Behaviour
		stream    bool
		cancel    bool // the client leaves after the first token
		status    int
	}{
		{name: "provider error", behaviour: fakeupstream.Status(http.StatusInternalServerError, `{"error":{"message":"boom"}}`), status: http.StatusServiceUnavailable},
		{name: "interrupted stream", behaviour: fakeupstream.MidStreamError(1, 500, "boom"), stream: true, status: http.StatusOK},
		{name: "dropped whole answer", behaviour: fakeupstream.DropAfterTokens(1), status: http.StatusServiceUnavailable},
		{name: "client left", behaviour: fakeupstream.HangAfterTokens(1), stream: true, cancel: true, status: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.up.groq.Default(tt.behaviour)
			body := map[string]any{"prompt": "Incomplete: " + tt.name, "stream": tt.stream}
			if tt.stream {
				ctx, cancel := context.WithCancel(context.Background())
				res := c.openStream(ctx, body)
				assert.Equal(t, tt.status, res.StatusCode)
				assert.Equal(t, "miss", res.Header.Get("X-Genzai-Cache"))
				if tt.cancel {
					cancelled := c.up.groq.Cancelled()
					buf := make([]byte, 1)
					_, err := res.Body.Read(buf) // the stream began
					require.NoError(t, err)
					cancel()
					c.up.groq.WaitCancelled(t, cancelled+1, 10*time.Second)
				} else {
					raw, err := io.ReadAll(res.Body)
					require.NoError(t, err)
					assert.Contains(t, string(raw), "event: error")
				}
				_ = res.Body.Close()
				cancel()
			} else {
				res := c.post("/api/v1/chat", c.token, body)
				assert.Equal(t, tt.status, res.status, "body: %s", res.body)
				assert.Equal(t, "miss", res.header.Get("X-Genzai-Cache"), "an error after the look-up says so")
			}
			c.up.groq.Default(fakeupstream.OK("fine"))
			body["stream"] = false
			// The request that failed may still be finishing in the gateway
			// (the client left): it stores nothing however long it takes.
			again := c.post("/api/v1/chat", c.token, body)
			require.Equal(t, http.StatusOK, again.status, "body: %s", again.body)
			assert.Equal(t, "miss", again.header.Get("X-Genzai-Cache"))
			assert.Equal(t, "fine", again.json(t)["content"])
		})
	}
}

func TestCacheTTLOnTheServiceClock(t *testing.T) {
	t.Parallel()
	c := cacheEnv(t, map[string]string{"CACHE_TTL_SECONDS": "60"})
	c.up.groq.Default(numbered())
	body := map[string]any{"prompt": "Hi", "stream": false}
	assert.Equal(t, "answer 1", c.post("/api/v1/chat", c.token, body).json(t)["content"])
	c.clock.Advance(59 * time.Second)
	hit := c.post("/api/v1/chat", c.token, body)
	assert.Equal(t, "hit", hit.header.Get("X-Genzai-Cache"))
	assert.Equal(t, "answer 1", hit.json(t)["content"])
	c.clock.Advance(time.Second)
	expired := c.post("/api/v1/chat", c.token, body)
	assert.Equal(t, "miss", expired.header.Get("X-Genzai-Cache"))
	assert.Equal(t, "answer 2", expired.json(t)["content"])
}

func TestCacheKeepsToolCalls(t *testing.T) {
	t.Parallel()
	c := cacheEnv(t, nil)
	c.up.groq.Default(fakeupstream.ToolCalls(fakeupstream.ToolCall{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}).WithUsage(5, 9))
	body := map[string]any{"model": "fast", "messages": []map[string]any{{"role": "user", "content": "Weather in Paris?"}},
		"tools": []map[string]any{{"type": "function", "function": map[string]any{"name": "get_weather", "parameters": map[string]any{"type": "object"}}}}}
	first := c.post("/v1/chat/completions", c.token, body)
	require.Equal(t, http.StatusOK, first.status, "body: %s", first.body)
	assert.Equal(t, "miss", first.header.Get("X-Genzai-Cache"))
	second := c.post("/v1/chat/completions", c.token, body)
	require.Equal(t, http.StatusOK, second.status)
	assert.Equal(t, "hit", second.header.Get("X-Genzai-Cache"))
	assert.Equal(t, "groq", second.header.Get("X-Genzai-Provider"))
	choice := func(r response) map[string]any { return r.json(t)["choices"].([]any)[0].(map[string]any) }
	assert.Equal(t, choice(first)["message"], choice(second)["message"], "the same tool calls")
	assert.Equal(t, "tool_calls", choice(second)["finish_reason"])
	assert.Equal(t, first.json(t)["usage"], second.json(t)["usage"])
	assert.NotContains(t, second.json(t), "cached", "the OpenAI body stays standard")

	body["stream"] = true
	streamed := c.post("/v1/chat/completions", c.token, body)
	require.Equal(t, http.StatusOK, streamed.status)
	assert.Equal(t, "hit", streamed.header.Get("X-Genzai-Cache"))
	assert.Contains(t, string(streamed.body), `"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]`)
	assert.Contains(t, string(streamed.body), `"finish_reason":"tool_calls"`)
	assert.True(t, strings.HasSuffix(string(streamed.body), "data: [DONE]\n\n"))
	assert.Equal(t, 1, c.providerCalls())
}

// TestCacheRedisGoesAway: the cache is in Redis behind a proxy that goes
// down under load: every request is still answered, as a bypass, with one
// log line; once Redis is back, hits come back.
func TestCacheRedisGoesAway(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(redistest.NewURL(t))
	require.NoError(t, err)
	proxy, err := faultproxy.Listen(u.Host)
	require.NoError(t, err)
	t.Cleanup(proxy.Close)
	u.Host = proxy.Addr()
	// Quotas are counted in the database: this test is about the cache.
	c := cacheEnv(t, map[string]string{"REDIS_URL": u.String(), "QUOTA_COUNTING": "database", "MAX_CONCURRENT_REQUESTS_PER_USER": "0"})
	c.up.groq.Default(fakeupstream.OK("fine"))
	body := map[string]any{"prompt": "Hi", "stream": false}
	assert.Equal(t, "miss", c.post("/api/v1/chat", c.token, body).header.Get("X-Genzai-Cache"))
	assert.Equal(t, "hit", c.post("/api/v1/chat", c.token, body).header.Get("X-Genzai-Cache"), "stored in Redis")

	proxy.Down()
	var wg sync.WaitGroup
	statuses := make([]string, 16)
	for i := range statuses {
		wg.Go(func() {
			b := map[string]any{"prompt": "Hi", "stream": false}
			if i%2 == 1 {
				b["prompt"] = fmt.Sprintf("Other %d", i)
			}
			res := c.post("/api/v1/chat", c.token, b)
			statuses[i] = fmt.Sprintf("%d %s", res.status, res.header.Get("X-Genzai-Cache"))
		})
	}
	wg.Wait()
	for i, s := range statuses {
		assert.Equal(t, "200 bypass", s, "request %d", i)
	}
	assert.Equal(t, 1, strings.Count(c.logs.String(), "response cache unavailable"), "one log line per minute")

	require.NoError(t, proxy.Up())
	require.Eventually(t, func() bool {
		// The cache leaves Redis alone for a backoff after each failure.
		c.clock.Advance(chat.CacheBackoff)
		return c.post("/api/v1/chat", c.token, body).header.Get("X-Genzai-Cache") == "hit"
	}, 10*time.Second, 50*time.Millisecond, "hits come back with Redis")
}

// TestCacheSharedThroughRedis: two instances on one database and one Redis
// share answers: what one stored, the other serves without a provider call.
func TestCacheSharedThroughRedis(t *testing.T) {
	t.Parallel()
	up := newUpstreams(t)
	vars := up.vars(map[string]string{
		"DATABASE_URL": pgtest.NewURL(t), "REDIS_URL": redistest.NewURL(t), "CACHE_ENABLED": "true",
	})
	a, b := newEnv(t, vars), newEnv(t, vars)
	a.register("ada@example.com", pw)
	up.groq.Default(fakeupstream.OK("shared"))
	body := map[string]any{"prompt": "Hi", "stream": false}
	first := a.do(http.MethodPost, "/api/v1/chat", body, bearer(a.login("ada@example.com", pw)))
	require.Equal(t, http.StatusOK, first.status, "body: %s", first.body)
	assert.Equal(t, "miss", first.header.Get("X-Genzai-Cache"))
	second := b.do(http.MethodPost, "/api/v1/chat", body, bearer(b.login("ada@example.com", pw)))
	require.Equal(t, http.StatusOK, second.status)
	assert.Equal(t, "hit", second.header.Get("X-Genzai-Cache"))
	assert.Equal(t, "shared", second.json(t)["content"])
	assert.Len(t, up.groq.Requests(), 1)
}

// TestCacheHeaderOnErrors: every error answer of both chat routes, JSON
// or streamed, says how the request met the cache: bypass when it was
// refused before the look-up, miss when the providers failed after it.
func TestCacheHeaderOnErrors(t *testing.T) {
	t.Parallel()
	c := cacheEnv(t, map[string]string{"CIRCUIT_BREAKER_FAILURES": "1000"})
	c.up.groq.Default(fakeupstream.Status(http.StatusInternalServerError, `{"error":{"message":"boom"}}`))
	native := func(prompt string, stream bool) map[string]any {
		return map[string]any{"prompt": prompt, "stream": stream}
	}
	openAI := func(prompt string, stream bool) map[string]any {
		return map[string]any{"model": "fast", "stream": stream, "messages": []map[string]any{{"role": "user", "content": prompt}}}
	}
	for path, build := range map[string]func(string, bool) map[string]any{"/api/v1/chat": native, "/v1/chat/completions": openAI} {
		for _, stream := range []bool{false, true} {
			name := fmt.Sprintf("%s stream=%v", path, stream)
			t.Run(name, func(t *testing.T) {
				body := build("Failing "+name, stream)
				refused := c.post(path, "not-a-token", body)
				assert.Equal(t, http.StatusUnauthorized, refused.status)
				assert.Equal(t, "bypass", refused.header.Get("X-Genzai-Cache"), "refused before the look-up")

				bad := build("", stream)
				bad["temperature"] = 9
				invalid := c.post(path, c.token, bad)
				assert.Equal(t, http.StatusBadRequest, invalid.status, "body: %s", invalid.body)
				assert.Equal(t, "bypass", invalid.header.Get("X-Genzai-Cache"), "invalid")

				failed := c.post(path, c.token, body)
				assert.Equal(t, http.StatusServiceUnavailable, failed.status, "body: %s", failed.body)
				assert.Equal(t, "miss", failed.header.Get("X-Genzai-Cache"), "the providers failed after the look-up")
			})
		}
	}
}
