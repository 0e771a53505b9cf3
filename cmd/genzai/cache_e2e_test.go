package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/adapters/redislimit/redistest"
)

// TestCacheSharedAcrossInstances runs two real instances on one database
// and one Redis with the response cache on: an answer one instance stored
// is served by the other as a hit, streamed or whole, without a provider
// call, and another user's identical request is a miss (CACHE_SCOPE=user).
func TestCacheSharedAcrossInstances(t *testing.T) {
	t.Parallel()
	groq := fakeupstream.New(t)
	groq.Default(fakeupstream.OK("shared answer"))
	s := startInstances(t, 2, serverVars(pgtest.NewURL(t)).with(vars{
		"REDIS_URL":                       redistest.NewURL(t),
		"CACHE_ENABLED":                   "true",
		"GROQ_BASE_URL":                   groq.URL(),
		"GROQ_API_KEYS":                   "gsk-cache",
		"PROVIDER_CHECK_INTERVAL_SECONDS": "0",
	}))
	s[0].register(t, "ada@example.com", "correct horse")
	s[1].register(t, "bob@example.com", "battery staple")
	ada := s[0].login(t, "ada@example.com", "correct horse").AccessToken
	bob := s[1].login(t, "bob@example.com", "battery staple").AccessToken
	chat := func(i int, token string, stream bool) response {
		t.Helper()
		r := s[i].do(t, http.MethodPost, "/api/v1/chat", jsonBody(t, map[string]any{"prompt": "Hello?", "stream": stream}), bearer(token)...)
		require.Equal(t, http.StatusOK, r.status, "instance %d: %s", i, r.body)
		return r
	}

	first := chat(0, ada, false)
	assert.Equal(t, "miss", first.header.Get("X-Genzai-Cache"))
	hit := chat(1, ada, false)
	assert.Equal(t, "hit", hit.header.Get("X-Genzai-Cache"), "stored by the other instance")
	assert.Equal(t, true, decode[map[string]any](t, hit)["cached"])
	assert.Equal(t, "shared answer", decode[map[string]any](t, hit)["content"])
	streamed := chat(1, ada, true)
	assert.Equal(t, "hit", streamed.header.Get("X-Genzai-Cache"))
	assert.Contains(t, string(streamed.body), `"cached":true`)
	assert.Contains(t, string(streamed.body), "event: done")
	assert.Equal(t, 1, chats(groq, "gsk-cache"), "one provider call for three answers")

	other := chat(0, bob, false)
	assert.Equal(t, "miss", other.header.Get("X-Genzai-Cache"), "another user's identical request")
	assert.Equal(t, 2, chats(groq, "gsk-cache"))
	assert.False(t, strings.Contains(string(other.body), `"cached":true`))
}
