package app_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
)

// The loose ends of issue 20: a JSON body with data after its value, an
// empty model, and the quota's Retry-After.

// TestTrailingDataIsRefused: a JSON body is one value and nothing after it
// but white space, on every JSON route; data after it is a 400 that reaches
// no provider and costs no quota.
func TestTrailingDataIsRefused(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, nil)
	const want = "Invalid JSON body: unexpected data after the JSON value"
	for _, tail := range []string{` {"x":1}`, `garbage`, `]`, "\n{}"} {
		res := c.do(http.MethodPost, "/api/v1/chat", `{"prompt":"hi","stream":false}`+tail, bearer(c.token))
		assertErrorAnswer(t, res, http.StatusBadRequest, "invalid_request", want)

		res = c.do(http.MethodPost, "/api/v1/auth/login", `{"email":"ada@example.com","password":"`+pw+`"}`+tail, nil)
		assertErrorAnswer(t, res, http.StatusBadRequest, "invalid_request", want)

		res = c.do(http.MethodPost, "/v1/chat/completions", `{"model":"fast","messages":[{"role":"user","content":"hi"}]}`+tail, bearer(c.token))
		require.Equal(t, http.StatusBadRequest, res.status, "%s", res.body)
		e := res.json(t)["error"].(map[string]any)
		assert.Equal(t, "invalid_request_error", e["type"])
		assert.Equal(t, "invalid_request", e["code"])
		assert.Equal(t, want, e["message"])
		assert.Nil(t, e["param"])
	}
	assert.Empty(t, c.up.groq.Requests(), "no refused body reaches a provider")

	// White space after the value is no data.
	res := c.do(http.MethodPost, "/api/v1/chat", "{\"prompt\":\"hi\",\"stream\":false} \r\n\t", bearer(c.token))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	assert.Equal(t, 1.0, c.quotaUsed(c.token), "only the accepted request counted")
}

// TestEmptyModel: on the native API "model": "" is the default tier, as
// the spec says (like leaving it out); the OpenAI dialect requires a model.
func TestEmptyModel(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, nil)
	res := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "hi", "model": "", "stream": false}, bearer(c.token))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	assert.Equal(t, "fast", res.json(t)["model"])

	res = c.do(http.MethodPost, "/v1/chat/completions", map[string]any{"model": "", "messages": []any{map[string]any{"role": "user", "content": "hi"}}}, bearer(c.token))
	require.Equal(t, http.StatusBadRequest, res.status, "%s", res.body)
	e := res.json(t)["error"].(map[string]any)
	assert.Equal(t, "model: is required (fast, balanced or smart)", e["message"])
	assert.Equal(t, "model", e["param"])
}

// TestQuotaRetryAfter: the quota's 429 says, in Retry-After, how many
// whole seconds remain until the quota resets at midnight UTC, on both
// APIs.
func TestQuotaRetryAfter(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, map[string]string{"USER_DAILY_QUOTA": "1"})
	now := c.clock.Now()
	want := strconv.Itoa(int((domain.NextQuotaReset(now).Sub(now) + time.Second - 1) / time.Second))

	res := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "hi", "stream": false}, bearer(c.token))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)

	res = c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "hi", "stream": false}, bearer(c.token))
	assertErrorAnswer(t, res, http.StatusTooManyRequests, "quota_exceeded", "Daily quota exceeded")
	assert.Equal(t, want, res.header.Get("Retry-After"))

	res = c.do(http.MethodPost, "/v1/chat/completions", map[string]any{"model": "fast", "messages": []any{map[string]any{"role": "user", "content": "hi"}}}, bearer(c.token))
	require.Equal(t, http.StatusTooManyRequests, res.status, "%s", res.body)
	assert.Equal(t, "insufficient_quota", res.json(t)["error"].(map[string]any)["type"])
	assert.Equal(t, want, res.header.Get("Retry-After"))
	assert.Equal(t, "false", res.header.Get("X-Should-Retry"))
}
