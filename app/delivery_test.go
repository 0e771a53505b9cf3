package app_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
)

// TestChatAsksTheUpstreamAsTheClientAsked: a client that wants the whole
// answer in one JSON body gets it from a non-streamed upstream request;
// a client that streams gets a streamed one, in both dialects.
func TestChatAsksTheUpstreamAsTheClientAsked(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, nil)
	c.up.groq.Default(fakeupstream.OK("Hello", " world").WithUsage(7, 2))
	res := c.do(http.MethodPost, "/api/v1/keys", map[string]any{"name": "sdk"}, bearer(c.token))
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	key := res.json(t)["key"].(string)

	tests := []struct {
		name, path, body, credential string
		wantStream                   bool
		// wantWhole is the answer's content in a JSON body, read by path.
		wantWhole func(t *testing.T, body map[string]any)
	}{
		{name: "native, events", path: "/api/v1/chat", body: `{"prompt":"Hi"}`, credential: c.token, wantStream: true},
		{name: "native, one JSON answer", path: "/api/v1/chat", body: `{"prompt":"Hi","stream":false}`, credential: c.token,
			wantWhole: func(t *testing.T, body map[string]any) {
				assert.Equal(t, "Hello world", body["content"])
				assert.Equal(t, "stop", body["finish_reason"])
				assert.Equal(t, map[string]any{"prompt_tokens": float64(7), "completion_tokens": float64(2)}, body["usage"])
			}},
		{name: "OpenAI, streamed", path: "/v1/chat/completions", credential: key, wantStream: true,
			body: `{"model":"fast","stream":true,"messages":[{"role":"user","content":"Hi"}]}`},
		{name: "OpenAI, one JSON answer", path: "/v1/chat/completions", credential: key,
			body: `{"model":"fast","messages":[{"role":"user","content":"Hi"}]}`,
			wantWhole: func(t *testing.T, body map[string]any) {
				choice := body["choices"].([]any)[0].(map[string]any)
				assert.Equal(t, "Hello world", choice["message"].(map[string]any)["content"])
				assert.Equal(t, "stop", choice["finish_reason"])
				usage := body["usage"].(map[string]any)
				assert.Equal(t, float64(7), usage["prompt_tokens"])
				assert.Equal(t, float64(2), usage["completion_tokens"])
			}},
	}
	for i, tt := range tests {
		res := c.do(http.MethodPost, tt.path, tt.body, map[string]string{"Authorization": "Bearer " + tt.credential})
		require.Equal(t, http.StatusOK, res.status, "%s: %s", tt.name, res.body)
		reqs := c.up.groq.Requests()
		require.Len(t, reqs, i+1, tt.name)
		up := reqs[i]
		assert.Equal(t, tt.wantStream, up.Stream, tt.name)
		assert.Equal(t, tt.wantStream, up.IncludeUsage, "%s: stream_options only with a stream", tt.name)
		if tt.wantWhole != nil {
			assert.Equal(t, "application/json", up.Header.Get("Accept"), tt.name)
			tt.wantWhole(t, res.json(t))
			continue
		}
		assert.Equal(t, "text/event-stream", up.Header.Get("Accept"), tt.name)
		assert.True(t, bytes.Contains(res.body, []byte("Hello")) && bytes.Contains(res.body, []byte(" world")), "%s: %s", tt.name, res.body)
	}
	quota := c.do(http.MethodGet, "/api/v1/quota", nil, bearer(c.token)).json(t)
	assert.Equal(t, float64(len(tests)), quota["used"], "every answer counts, however delivered")
}

// TestChatWholeAnswerFallsBack: a non-streamed upstream request that is
// refused (a 429, a 5xx, or an error object in a 200 answer) falls back
// to the next key or provider, as a stream does before its first token;
// when none answers, the quota is refunded.
func TestChatWholeAnswerFallsBack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		groq fakeupstream.Behaviour
	}{
		{name: "429", groq: fakeupstream.RateLimited(0)},
		{name: "500", groq: fakeupstream.Status(http.StatusInternalServerError, `{"error":{"message":"boom"}}`)},
		{name: "an error object in a 200 answer", groq: fakeupstream.MidStreamError(0, 503, "no capacity")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newChatEnv(t, nil)
			c.up.groq.Default(tt.groq)
			c.up.openrouter.Default(fakeupstream.OK("from", " openrouter"))
			res := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "model": "balanced", "stream": false}, bearer(c.token))
			require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
			body := res.json(t)
			assert.Equal(t, "openrouter", body["provider"])
			assert.Equal(t, "from openrouter", body["content"])
			for _, r := range append(c.up.groq.Requests(), c.up.openrouter.Requests()...) {
				assert.False(t, r.Stream, "every attempt asks for the whole answer")
			}

			// Nobody answers: refunded, as for a stream refused before it opened.
			c.up.openrouter.Default(tt.groq)
			c.up.huggingface.Default(tt.groq)
			res = c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "model": "balanced", "stream": false}, bearer(c.token))
			assert.Contains(t, []int{http.StatusTooManyRequests, http.StatusServiceUnavailable}, res.status, "body: %s", res.body)
			quota := c.do(http.MethodGet, "/api/v1/quota", nil, bearer(c.token)).json(t)
			assert.Equal(t, float64(1), quota["used"], "only the answered request counts")
		})
	}
}
