package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/adapters/redislimit/redistest"
)

// openChat starts a streamed chat on one of the two APIs with credential
// and returns the live response; the stream stays open until ctx ends.
func openChat(t *testing.T, e *env, ctx context.Context, openAI bool, credential string) *http.Response {
	t.Helper()
	path, body := "/api/v1/chat", map[string]any{"prompt": "Hi"}
	if openAI {
		path = "/v1/chat/completions"
		body = map[string]any{"model": "fast", "stream": true, "messages": []map[string]any{{"role": "user", "content": "Hi"}}}
	}
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.srv.URL+path, strings.NewReader(string(raw)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+credential)
	res, err := e.http.Do(req)
	require.NoError(t, err)
	return res
}

// TestAttackManyOpenStreams performs the attack of issue 19 (one user held
// 50 streams open): with the default MAX_CONCURRENT_REQUESTS_PER_USER of
// 10, the user's 11th request at once, on either API, is refused with 429
// and Retry-After 1 without touching the quota; once one stream ends, a new
// one is admitted. Another user is not affected.
func TestAttackManyOpenStreams(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, map[string]string{"PROVIDER_FIRST_TOKEN_TIMEOUT_SECONDS": "30", "REQUEST_TIMEOUT_SECONDS": "60"})
	c.up.groq.Default(fakeupstream.HangAfterTokens(1)) // every stream stays open after its first token
	res := c.do(http.MethodPost, "/api/v1/keys", map[string]any{"name": "sdk"}, bearer(c.token))
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	key := res.json(t)["key"].(string)

	cancels := make([]context.CancelFunc, 10)
	for i := range cancels {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		cancels[i] = cancel
		openAI := i%2 == 1
		credential := c.token
		if openAI {
			credential = key
		}
		res := openChat(t, c.env, ctx, openAI, credential)
		t.Cleanup(func() { res.Body.Close() })
		require.Equal(t, http.StatusOK, res.StatusCode, "stream %d", i)
	}

	for _, tc := range []struct {
		name, path, body, credential string
	}{
		{"native stream", "/api/v1/chat", `{"prompt":"Hi"}`, c.token},
		{"native whole answer", "/api/v1/chat", `{"prompt":"Hi","stream":false}`, c.token},
		{"OpenAI API", "/v1/chat/completions", `{"model":"fast","messages":[{"role":"user","content":"Hi"}]}`, key},
	} {
		res := c.do(http.MethodPost, tc.path, tc.body, map[string]string{"Authorization": "Bearer " + tc.credential, "Content-Type": "application/json"})
		require.Equal(t, http.StatusTooManyRequests, res.status, "%s: %s", tc.name, res.body)
		assert.Equal(t, "1", res.header.Get("Retry-After"), tc.name)
		body := res.json(t)
		if strings.HasPrefix(tc.path, "/v1/") {
			e := body["error"].(map[string]any)
			assert.Equal(t, "rate_limited", e["code"], tc.name)
			assert.Equal(t, "Too many concurrent requests (at most 10 at a time)", e["message"], tc.name)
		} else {
			assert.Equal(t, "rate_limited", body["code"], tc.name)
			assert.Equal(t, "Too many concurrent requests (at most 10 at a time)", body["error"], tc.name)
			assert.Equal(t, float64(1), body["retry_after"], tc.name)
		}
	}
	assert.Equal(t, 10, c.up.groq.Count("gk-0")+c.up.groq.Count("gk-1"), "refused requests reach no provider")
	quota := c.do(http.MethodGet, "/api/v1/quota", nil, bearer(c.token)).json(t)
	assert.Equal(t, float64(10), quota["used"], "refused requests count nothing")

	// Another user has their own slots.
	c.register("bob@example.com", pw)
	bob := c.login("bob@example.com", pw)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	bobStream := openChat(t, c.env, ctx, false, bob)
	t.Cleanup(func() { bobStream.Body.Close() })
	assert.Equal(t, http.StatusOK, bobStream.StatusCode, "another user is not limited")

	cancels[0]() // one of ada's streams ends: its slot comes back
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		res := openChat(t, c.env, ctx, false, c.token)
		t.Cleanup(func() { res.Body.Close() })
		assert.Equal(ct, http.StatusOK, res.StatusCode)
	}, 5*time.Second, 50*time.Millisecond, "a new stream is admitted once one ended")
}

// TestConcurrentRequestsAcrossInstances: two gateways sharing PostgreSQL
// and Redis hold one budget of concurrent requests per user.
func TestConcurrentRequestsAcrossInstances(t *testing.T) {
	t.Parallel()
	up := newUpstreams(t)
	up.groq.Default(fakeupstream.HangAfterTokens(1))
	vars := up.vars(map[string]string{
		"DATABASE_URL":                         pgtest.NewURL(t),
		"REDIS_URL":                            redistest.NewURL(t),
		"MAX_CONCURRENT_REQUESTS_PER_USER":     "4",
		"PROVIDER_FIRST_TOKEN_TIMEOUT_SECONDS": "30",
		"REQUEST_TIMEOUT_SECONDS":              "60",
	})
	one, two := newEnv(t, vars), newEnv(t, vars)
	one.register("ada@example.com", pw)
	token := one.login("ada@example.com", pw)

	cancels := make([]context.CancelFunc, 4)
	for i := range cancels {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		cancels[i] = cancel
		res := openChat(t, []*env{one, two}[i%2], ctx, false, token)
		t.Cleanup(func() { res.Body.Close() })
		require.Equal(t, http.StatusOK, res.StatusCode, "stream %d", i)
	}
	for _, e := range []*env{one, two} {
		res := e.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi"}, bearer(token))
		require.Equal(t, http.StatusTooManyRequests, res.status, "%s", res.body)
		assert.Equal(t, "Too many concurrent requests (at most 4 at a time)", res.json(t)["error"])
	}

	cancels[0]() // a stream on the first instance ends: the second sees the slot free
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		res := openChat(t, two, ctx, false, token)
		t.Cleanup(func() { res.Body.Close() })
		assert.Equal(ct, http.StatusOK, res.StatusCode)
	}, 5*time.Second, 50*time.Millisecond)
}
