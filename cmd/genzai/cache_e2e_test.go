package main

import (
	"fmt"
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

// TestScaleOutSharedResponseCache runs two real instances with the response
// cache on, sharing one PostgreSQL and one Redis: an answer one instance
// got from the provider is a hit on the other, which calls no provider, in
// either API and whether the client streams or not. Other prompts and
// other users (CACHE_SCOPE=user) still reach the provider.
func TestScaleOutSharedResponseCache(t *testing.T) {
	t.Parallel()
	groq := fakeupstream.New(t)
	groq.Default(fakeupstream.OK(fakeupstream.Tokens(3)...))
	// A key unique to the run: budgets and cooldowns in Redis are per key.
	key := fmt.Sprintf("gsk-cache-%d", time.Now().UnixNano())
	v := serverVars(pgtest.NewURL(t)).with(vars{
		"REDIS_URL":                       redistest.NewURL(t),
		"CACHE_ENABLED":                   "true",
		"USER_DAILY_QUOTA":                "100",
		"GROQ_BASE_URL":                   groq.URL(),
		"GROQ_API_KEYS":                   key,
		"GROQ_RPM_PER_KEY":                "0",
		"PROVIDER_CHECK_INTERVAL_SECONDS": "0",
	})
	s := startInstances(t, 2, v)
	a, b := s[0], s[1]
	a.register(t, "ada@example.com", "correct horse")
	a.register(t, "bob@example.com", "correct horse")
	adaA := a.login(t, "ada@example.com", "correct horse").AccessToken
	adaB := b.login(t, "ada@example.com", "correct horse").AccessToken
	bobB := b.login(t, "bob@example.com", "correct horse").AccessToken

	chat := func(s *server, token, body string, header ...string) response {
		t.Helper()
		r := s.do(t, http.MethodPost, "/api/v1/chat", body, append(bearer(token), header...)...)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		return r
	}
	const question = `{"prompt":"What is the capital of France?","model":"fast","stream":false}`

	// Instance A: a miss, answered by the provider.
	r := chat(a, adaA, question)
	assert.Equal(t, "miss", r.header.Get("X-Genzai-Cache"))
	assert.NotEqual(t, true, decode[map[string]any](t, r)["cached"])
	require.Equal(t, 1, chats(groq, key), "the provider answered the first request")
	missAnswer := decode[map[string]any](t, r)["content"]

	// Instance B: the same request is a hit, without a provider call.
	r = chat(b, adaB, question)
	assert.Equal(t, "hit", r.header.Get("X-Genzai-Cache"), "the answer instance A stored in Redis serves instance B")
	hit := decode[map[string]any](t, r)
	assert.Equal(t, true, hit["cached"])
	assert.Equal(t, missAnswer, hit["content"], "the same answer")
	assert.Equal(t, 1, chats(groq, key), "no provider call for a hit")

	// Streamed, on B: the stored answer replayed as events, still a hit.
	r = chat(b, adaB, strings.Replace(question, `"stream":false`, `"stream":true`, 1))
	assert.Equal(t, "hit", r.header.Get("X-Genzai-Cache"))
	assert.Contains(t, r.header.Get("Content-Type"), "text/event-stream")
	assert.Contains(t, string(r.body), "event: done")
	assert.Equal(t, 1, chats(groq, key), "no provider call for a streamed hit")

	// Another question, and the same one from another user, are misses.
	r = chat(b, adaB, strings.Replace(question, "France", "Italy", 1))
	assert.Equal(t, "miss", r.header.Get("X-Genzai-Cache"))
	assert.Equal(t, 2, chats(groq, key))
	r = chat(b, bobB, question)
	assert.Equal(t, "miss", r.header.Get("X-Genzai-Cache"), "CACHE_SCOPE=user: one user's answers are not another's")
	assert.Equal(t, 3, chats(groq, key))

	// Opting out on A: no look-up, the provider answers.
	r = chat(a, adaA, question, "Cache-Control", "no-cache")
	assert.Equal(t, "bypass", r.header.Get("X-Genzai-Cache"))
	assert.Equal(t, 4, chats(groq, key))

	// Every hit still counted one request of the quota.
	q := decode[quotaBody](t, a.do(t, http.MethodGet, "/api/v1/quota", "", bearer(adaA)...))
	assert.Equal(t, 5, q.Used, "two hits, three provider answers")
}
