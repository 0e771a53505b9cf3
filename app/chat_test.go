package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
)

// upstreams are one fake server per provider, each with two keys.
type upstreams struct {
	groq, openrouter, huggingface *fakeupstream.Server
}

func newUpstreams(t *testing.T) upstreams {
	return upstreams{groq: fakeupstream.New(t), openrouter: fakeupstream.New(t), huggingface: fakeupstream.New(t)}
}

func (u upstreams) vars(extra map[string]string) map[string]string {
	v := map[string]string{
		"GROQ_BASE_URL":                        u.groq.URL(),
		"GROQ_API_KEYS":                        "gk-0,gk-1",
		"OPENROUTER_BASE_URL":                  u.openrouter.URL(),
		"OPENROUTER_API_KEYS":                  "ok-0,ok-1",
		"HUGGINGFACE_BASE_URL":                 u.huggingface.URL(),
		"HUGGINGFACE_API_KEY":                  "hk-0",
		"RENDER_EXTERNAL_URL":                  "https://genzai.example.com",
		"PROVIDER_FIRST_TOKEN_TIMEOUT_SECONDS": "2",
		"REQUEST_TIMEOUT_SECONDS":              "5",
		// Probes would take scripted answers meant for chat requests.
		"PROVIDER_CHECK_INTERVAL_SECONDS": "0",
	}
	for k, val := range extra {
		v[k] = val
	}
	return v
}

// chatEnv is a gateway wired to fake upstreams, with a logged-in user.
type chatEnv struct {
	*env
	up    upstreams
	token string
}

func newChatEnv(t *testing.T, extra map[string]string) chatEnv {
	t.Helper()
	up := newUpstreams(t)
	e := newEnv(t, up.vars(extra))
	e.register("ada@example.com", pw)
	return chatEnv{env: e, up: up, token: e.login("ada@example.com", pw)}
}

// sseEvent is one parsed Server-Sent Event.
type sseEvent struct {
	name, data string
	comment    bool
}

// openStream posts a chat request and returns the live response.
func (c chatEnv) openStream(ctx context.Context, body map[string]any) *http.Response {
	c.t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(c.t, err)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.srv.URL+"/api/v1/chat", strings.NewReader(string(raw)))
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := c.http.Do(req)
	require.NoError(c.t, err)
	return res
}

// readEvents parses a whole SSE body.
func readEvents(t *testing.T, r io.Reader) []sseEvent {
	t.Helper()
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur != (sseEvent{}) {
				out = append(out, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, ":"):
			out = append(out, sseEvent{comment: true, data: line})
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		default:
			t.Fatalf("unexpected SSE line %q", line)
		}
	}
	require.NoError(t, sc.Err())
	return out
}

func TestChatStreamExactBytes(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, nil)
	c.up.groq.Default(fakeupstream.OK("Hello", " world", ` "quoted"`).WithUsage(12, 3))

	res := c.openStream(context.Background(), map[string]any{"prompt": "Hi"})
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
	assert.Equal(t, "no-cache", res.Header.Get("Cache-Control"))
	assert.Equal(t, "no", res.Header.Get("X-Accel-Buffering"))
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)

	id := res.Header.Get("X-Request-ID")
	want := "event: meta\n" +
		`data: {"request_id":"` + id + `","model":"fast","provider":"groq","upstream_model":"llama-3.1-8b-instant","cached":false}` + "\n\n" +
		"data: \"Hello\"\n\n" +
		"data: \" world\"\n\n" +
		"data: \" \\\"quoted\\\"\"\n\n" +
		"event: done\n" +
		`data: {"finish_reason":"stop","usage":{"prompt_tokens":12,"completion_tokens":3}}` + "\n\n"
	assert.Equal(t, want, string(body))

	reqs := c.up.groq.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "llama-3.1-8b-instant", reqs[0].Model)
	assert.True(t, reqs[0].Stream)
	assert.Equal(t, []fakeupstream.Message{{Role: "user", Content: "Hi"}}, reqs[0].Messages)
}

func TestChatWhole(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, nil)
	c.up.groq.Default(fakeupstream.OK("Bonjour", " !").WithUsage(20, 2))
	res := c.do(http.MethodPost, "/api/v1/chat", map[string]any{
		"prompt": "And in French?", "model": "balanced", "stream": false, "system": "Be brief.",
		"messages":    []map[string]string{{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi!"}},
		"temperature": 0.7, "max_tokens": 64,
	}, bearer(c.token))
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	assert.Equal(t, "bypass", res.header.Get("X-Genzai-Cache"), "the cache is off")
	assert.Equal(t, map[string]any{
		"id": res.header.Get("X-Request-ID"), "model": "balanced", "provider": "groq", "upstream_model": "llama-3.3-70b-versatile",
		"content": "Bonjour !", "finish_reason": "stop", "usage": map[string]any{"prompt_tokens": float64(20), "completion_tokens": float64(2)},
		"cached": false,
	}, res.json(t))

	req := c.up.groq.Requests()[0]
	assert.Equal(t, []fakeupstream.Message{
		{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hello"},
		{Role: "assistant", Content: "Hi!"}, {Role: "user", Content: "And in French?"},
	}, req.Messages)
	require.NotNil(t, req.Temperature)
	assert.Equal(t, 0.7, *req.Temperature)
	require.NotNil(t, req.MaxTokens)
	assert.Equal(t, 64, *req.MaxTokens)
}

func TestChatFallsBackAlongTheChain(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, nil)
	c.up.groq.Default(fakeupstream.Status(http.StatusInternalServerError, `{"error":{"message":"boom"}}`))
	c.up.openrouter.Default(fakeupstream.OK("from", " openrouter"))

	res := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "model": "balanced", "stream": false}, bearer(c.token))
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	assert.Equal(t, "openrouter", res.json(t)["provider"])
	assert.Equal(t, "meta-llama/llama-3.3-70b-instruct", res.json(t)["upstream_model"])
	assert.Equal(t, 1, c.up.groq.Count("gk-0")+c.up.groq.Count("gk-1"), "a failing provider is left after one attempt")

	or := c.up.openrouter.Requests()[0]
	assert.Equal(t, "https://genzai.example.com", or.Header.Get("HTTP-Referer"))
	assert.Equal(t, "GenZ AI", or.Header.Get("X-Title"))
}

func TestChatRateLimitedKeyMovesToTheNextKey(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, nil)
	c.up.groq.Script("gk-0", fakeupstream.RateLimited(20*time.Second))
	c.up.groq.Script("gk-1", fakeupstream.RateLimited(20*time.Second))
	c.up.groq.Default(fakeupstream.OK("ok"))

	// Both keys of groq 429 once; the fast tier has no other provider.
	res := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "stream": false}, bearer(c.token))
	require.Equal(t, http.StatusTooManyRequests, res.status, "body: %s", res.body)
	body := res.json(t)
	assert.Equal(t, "provider_rate_limited", body["code"])
	assert.Equal(t, "AI provider rate limited", body["error"])
	assert.InDelta(t, 20, body["retry_after"], 1)
	assert.Equal(t, fmt.Sprint(body["retry_after"]), res.header.Get("Retry-After"))

	// Both keys are cooling down: no request reaches groq now.
	before := len(c.up.groq.Requests())
	res = c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "stream": false}, bearer(c.token))
	assert.Equal(t, http.StatusTooManyRequests, res.status)
	assert.Equal(t, before, len(c.up.groq.Requests()))

	quota := c.do(http.MethodGet, "/api/v1/quota", nil, bearer(c.token)).json(t)
	assert.Equal(t, float64(0), quota["used"], "unanswered requests are refunded")
}

func TestChatAllProvidersFail(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, nil)
	c.up.groq.Default(fakeupstream.Status(http.StatusBadGateway, `{"error":{"message":"upstream down"}}`))
	c.up.openrouter.Default(fakeupstream.Unauthorized())
	c.up.huggingface.Default(fakeupstream.HFLoading(20 * time.Second))

	res := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "model": "balanced"}, bearer(c.token))
	require.Equal(t, http.StatusServiceUnavailable, res.status, "body: %s", res.body)
	body := res.json(t)
	assert.Equal(t, "providers_unavailable", body["code"])
	assert.Equal(t, "All AI providers are unavailable", body["error"])
	assert.Equal(t, []any{
		map[string]any{"provider": "groq", "reason": "server_error"},
		map[string]any{"provider": "openrouter", "reason": "key_rejected"},
		map[string]any{"provider": "openrouter", "reason": "key_rejected"},
		map[string]any{"provider": "openrouter", "reason": "no_usable_key"},
		map[string]any{"provider": "huggingface", "reason": "model_loading"},
	}, body["attempts"])
	assert.Equal(t, "application/json", res.header.Get("Content-Type"), "a stream that never began is an ordinary JSON error")

	logs := c.logs.String()
	assert.NotContains(t, logs, "ok-0")
	assert.NotContains(t, logs, "ok-1")
	assert.Contains(t, logs, `"key_index":1`, "rejected keys are logged by index")
}

func TestChatUpstreamRejectsTheRequest(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, nil)
	c.up.groq.Default(fakeupstream.Status(http.StatusBadRequest, `{"error":{"message":"max_tokens is too large"}}`))
	res := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "model": "balanced", "stream": false}, bearer(c.token))
	require.Equal(t, http.StatusBadGateway, res.status, "body: %s", res.body)
	assert.Equal(t, "upstream_error", res.json(t)["code"])
	assert.Equal(t, "groq rejected the request: max_tokens is too large", res.json(t)["error"])
	assert.Empty(t, c.up.openrouter.Requests(), "no fallback for a request the upstream refused")
}

func TestChatNoFallbackAfterTheFirstToken(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, nil)
	c.up.groq.Default(fakeupstream.DropAfterTokens(2).WithTokens("one", " two"))

	res := c.openStream(context.Background(), map[string]any{"prompt": "Hi", "model": "balanced"})
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	events := readEvents(t, res.Body)
	require.Len(t, events, 4, "%+v", events)
	assert.Equal(t, "meta", events[0].name)
	assert.Equal(t, `"one"`, events[1].data)
	assert.Equal(t, `" two"`, events[2].data)
	assert.Equal(t, "error", events[3].name)
	assert.JSONEq(t, `{"error":"The AI provider failed in the middle of the answer","code":"stream_interrupted"}`, events[3].data)
	assert.Empty(t, c.up.openrouter.Requests())

	quota := c.do(http.MethodGet, "/api/v1/quota", nil, bearer(c.token)).json(t)
	assert.Equal(t, float64(1), quota["used"], "a partly delivered answer is not refunded")
}

func TestChatClientDisconnectCancelsUpstream(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		behaviour fakeupstream.Behaviour
		readFirst bool
	}{
		{"before the first token", fakeupstream.Hang(), false},
		{"in the middle of the answer", fakeupstream.HangAfterTokens(1).WithTokens("first"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newChatEnv(t, map[string]string{"PROVIDER_FIRST_TOKEN_TIMEOUT_SECONDS": "30", "REQUEST_TIMEOUT_SECONDS": "60"})
			c.up.groq.Default(tc.behaviour)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan *http.Response, 1)
			go func() {
				raw := `{"prompt":"Hi"}`
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.srv.URL+"/api/v1/chat", strings.NewReader(raw))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+c.token)
				res, err := http.DefaultClient.Do(req)
				if err == nil {
					done <- res
				} else {
					done <- nil
				}
			}()
			c.up.groq.WaitRequests(t, 1, 5*time.Second)
			if tc.readFirst {
				res := <-done
				require.NotNil(t, res)
				defer res.Body.Close()
				r := bufio.NewReader(res.Body)
				for { // read until the first token arrives
					line, err := r.ReadString('\n')
					require.NoError(t, err)
					if line == "data: \"first\"\n" {
						break
					}
				}
			}
			cancel()
			c.up.groq.WaitCancelled(t, 1, 5*time.Second)
		})
	}
}

func TestChatKeepAlive(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, map[string]string{"SSE_KEEPALIVE_SECONDS": "1"})
	c.up.groq.Default(fakeupstream.OK("a", "b").WithInterval(1600 * time.Millisecond))
	res := c.openStream(context.Background(), map[string]any{"prompt": "Hi"})
	defer res.Body.Close()
	events := readEvents(t, res.Body)
	var comments int
	for _, e := range events {
		if e.comment {
			comments++
			assert.Equal(t, ": keep-alive", e.data)
		}
	}
	assert.GreaterOrEqual(t, comments, 1, "%+v", events)
	assert.Equal(t, "done", events[len(events)-1].name)
}

func TestChatQuotaAndValidation(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, map[string]string{"USER_DAILY_QUOTA": "2", "MAX_PROMPT_CHARS": "10"})
	tests := []struct {
		name    string
		body    map[string]any
		status  int
		message string
	}{
		{"missing prompt", map[string]any{}, 400, "prompt: is required"},
		{"prompt too long", map[string]any{"prompt": "12345678901"}, 400, "prompt: must be at most 10 characters"},
		{"bad tier", map[string]any{"prompt": "Hi", "model": "turbo"}, 400, "model: must be fast, balanced or smart"},
		{"bad role", map[string]any{"prompt": "Hi", "messages": []map[string]string{{"role": "tool", "content": "x"}}}, 400, "messages[0].role: must be user, assistant or system"},
		{"bad temperature", map[string]any{"prompt": "Hi", "temperature": 3}, 400, "temperature: must be between 0 and 2"},
		{"bad max_tokens", map[string]any{"prompt": "Hi", "max_tokens": 0}, 400, "max_tokens: must be between 1 and 8192"},
		{"first", map[string]any{"prompt": "Hi", "stream": false}, 200, ""},
		{"second", map[string]any{"prompt": "Hi", "stream": false}, 200, ""},
		{"over quota", map[string]any{"prompt": "Hi", "stream": false}, 429, "Daily quota exceeded"},
	}
	for _, tt := range tests {
		res := c.do(http.MethodPost, "/api/v1/chat", tt.body, bearer(c.token))
		require.Equal(t, tt.status, res.status, "%s: %s", tt.name, res.body)
		if tt.message != "" {
			assert.Equal(t, tt.message, res.json(t)["error"], tt.name)
		}
		if tt.status == 429 {
			assert.Equal(t, map[string]any{"error": "Daily quota exceeded", "code": "quota_exceeded", "used": float64(2), "limit": float64(2), "request_id": res.header.Get("X-Request-ID")}, res.json(t))
		}
	}
	assert.Len(t, c.up.groq.Requests(), 2, "only valid requests within quota reach a provider")
	res := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi"}, nil)
	assert.Equal(t, http.StatusUnauthorized, res.status)
}

func TestModels(t *testing.T) {
	t.Parallel()
	up := newUpstreams(t)
	// Only openrouter is configured: fast (groq only) is unavailable.
	vars := up.vars(map[string]string{"GROQ_API_KEYS": "", "HUGGINGFACE_API_KEY": ""})
	e := newEnv(t, vars)
	e.register("ada@example.com", pw)
	token := e.login("ada@example.com", pw)
	res := e.do(http.MethodGet, "/api/v1/models", nil, bearer(token))
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	assert.Equal(t, map[string]any{"models": []any{
		map[string]any{"id": "fast", "name": "Fast ⚡", "provider": "groq", "description": "Quick responses, good for simple queries", "available": false},
		map[string]any{"id": "balanced", "name": "Balanced ⚖️", "provider": "openrouter", "description": "Good balance of speed and quality", "available": true},
		map[string]any{"id": "smart", "name": "Smart 🧠", "provider": "openrouter", "description": "Best quality for complex reasoning", "available": true},
	}, "images": map[string]any{"enabled": false, "quota_cost": float64(5), "providers": []any{}},
		"voice": map[string]any{"enabled": false, "quota_cost": float64(1), "providers": []any{}, "max_audio_bytes": float64(26214400),
			"max_speech_chars": float64(4096), "voices": []any{}},
	}, res.json(t), "image generation and voice are off unless ENABLE_IMAGE_GENERATION and ENABLE_VOICE")
	assert.Equal(t, http.StatusUnauthorized, e.do(http.MethodGet, "/api/v1/models", nil, nil).status)
}

func TestMockProviderWithoutKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"MOCK_PROVIDER_DELAY_MS": "0"})
	e.register("ada@example.com", pw)
	token := e.login("ada@example.com", pw)
	res := e.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hello AI!", "model": "smart", "stream": false}, bearer(token))
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	body := res.json(t)
	assert.Equal(t, "mock", body["provider"])
	assert.Equal(t, "mock-smart", body["upstream_model"])
	assert.Contains(t, body["content"], `You said: "Hello AI!"`)
	again := e.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hello AI!", "model": "smart", "stream": false}, bearer(token))
	assert.Equal(t, body["content"], again.json(t)["content"], "the mock answer is deterministic")
	assert.Contains(t, e.logs.String(), "mock provider answers every tier")

	models := e.do(http.MethodGet, "/api/v1/models", nil, bearer(token)).json(t)["models"].([]any)
	for _, m := range models {
		assert.Equal(t, "mock", m.(map[string]any)["provider"])
		assert.Equal(t, true, m.(map[string]any)["available"])
	}
}

func TestRequestLogRowsAfterClose(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, nil)
	c.up.groq.Default(fakeupstream.OK("a", "b").WithUsage(5, 2))
	c.up.openrouter.Default(fakeupstream.Status(http.StatusInternalServerError, "{}"))
	for _, body := range []map[string]any{
		{"prompt": "Hi", "stream": false},
		{"prompt": "Hi"},
		{"prompt": "Hi", "model": "smart", "stream": false}, // openrouter fails, groq answers
		{"prompt": ""},                                      // invalid
	} {
		res := c.openStream(context.Background(), body)
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	c.srv.Close()
	c.app.Close() // flushes the request log

	var rows, success, invalid, streamed int
	var smartProvider, attempts string
	c.queryRow(`SELECT count(*), count(*) FILTER (WHERE outcome = 'success'), count(*) FILTER (WHERE outcome = 'invalid'),
		count(*) FILTER (WHERE stream) FROM request_log`, &rows, &success, &invalid, &streamed)
	assert.Equal(t, 4, rows)
	assert.Equal(t, 3, success)
	assert.Equal(t, 1, invalid)
	assert.Equal(t, 2, streamed)
	c.queryRow(`SELECT provider, attempts::text FROM request_log WHERE tier = 'smart'`, &smartProvider, &attempts)
	assert.Equal(t, "groq", smartProvider)
	assert.Contains(t, attempts, `"provider": "openrouter"`)
	var ttft, tokens int
	c.queryRow(`SELECT count(*) FILTER (WHERE ttft_ms IS NOT NULL), sum(completion_tokens) FROM request_log WHERE outcome = 'success'`, &ttft, &tokens)
	assert.Equal(t, 3, ttft)
	assert.Equal(t, 6, tokens)
}

func TestNoMockProviderInProduction(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"ENV": "production"})
	e.register("ada@example.com", pw)
	token := e.login("ada@example.com", pw)
	res := e.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hello AI!"}, bearer(token))
	require.Equal(t, http.StatusServiceUnavailable, res.status, "body: %s", res.body)
	assert.Equal(t, "providers_unavailable", res.json(t)["code"])
	assert.NotContains(t, e.logs.String(), "mock provider answers")
	for _, m := range e.do(http.MethodGet, "/api/v1/models", nil, bearer(token)).json(t)["models"].([]any) {
		assert.Equal(t, false, m.(map[string]any)["available"])
		assert.NotEqual(t, "mock", m.(map[string]any)["provider"])
	}
	quota := e.do(http.MethodGet, "/api/v1/quota", nil, bearer(token)).json(t)
	assert.Equal(t, float64(0), quota["used"], "refunded")
}
