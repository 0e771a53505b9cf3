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
)

// thread reads a conversation's messages (one page) as the API gives them.
func (c chatEnv) thread(id string) (map[string]any, []map[string]any) {
	c.t.Helper()
	res := c.do(http.MethodGet, "/api/v1/conversations/"+id+"?limit=200", nil, bearer(c.token))
	require.Equal(c.t, http.StatusOK, res.status, "%s", res.body)
	b := res.json(c.t)
	var ms []map[string]any
	for _, m := range b["messages"].([]any) {
		ms = append(ms, m.(map[string]any))
	}
	return b, ms
}

func (c chatEnv) usedQuota() float64 {
	c.t.Helper()
	return c.do(http.MethodGet, "/api/v1/quota", nil, bearer(c.token)).json(c.t)["used"].(float64)
}

// TestChatContinuesAConversation starts a conversation with "new", then
// continues it streamed: the provider gets the stored history in order,
// and both turns are stored with the answers' provenance.
func TestChatContinuesAConversation(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, nil)
	c.up.groq.Default(fakeupstream.OK("Tram", " 15E.").WithUsage(31, 14))

	first := c.do(http.MethodPost, "/api/v1/chat", map[string]any{
		"prompt": "Which tram goes to Belém? I land at noon.", "stream": false, "conversation_id": "new",
	}, bearer(c.token))
	require.Equal(t, http.StatusOK, first.status, "%s", first.body)
	id, _ := first.json(t)["conversation_id"].(string)
	require.NotEmpty(t, id, "the JSON answer names the conversation")
	assert.Equal(t, []fakeupstream.Message{{Role: "user", Content: "Which tram goes to Belém? I land at noon."}}, c.up.groq.Requests()[0].Messages)

	c.up.groq.Default(fakeupstream.OK("The", " same.").WithUsage(50, 2))
	res := c.openStream(context.Background(), map[string]any{"prompt": "And back?", "system": "Be brief.", "conversation_id": strings.ToUpper(id)})
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	events := readEvents(t, res.Body)
	require.NotEmpty(t, events)
	require.Equal(t, "meta", events[0].name)
	var meta map[string]any
	require.NoError(t, json.Unmarshal([]byte(events[0].data), &meta))
	assert.Equal(t, id, meta["conversation_id"], "the meta event names the conversation")
	assert.Equal(t, "done", events[len(events)-1].name)

	assert.Equal(t, []fakeupstream.Message{
		{Role: "system", Content: "Be brief."},
		{Role: "user", Content: "Which tram goes to Belém? I land at noon."},
		{Role: "assistant", Content: "Tram 15E."},
		{Role: "user", Content: "And back?"},
	}, c.up.groq.Requests()[1].Messages, "the history reached the provider in order")

	conv, ms := c.thread(id)
	assert.Equal(t, "Which tram goes to Belém?", conv["title"], "titled by the first prompt, to a sentence")
	require.Len(t, ms, 4)
	var turns []string
	for _, m := range ms {
		turns = append(turns, m["role"].(string)+": "+m["content"].(string))
		assert.Equal(t, "complete", m["status"])
	}
	assert.Equal(t, []string{"user: Which tram goes to Belém? I land at noon.", "assistant: Tram 15E.", "user: And back?", "assistant: The same."}, turns)
	answer := ms[1]
	assert.Equal(t, first.header.Get("X-Request-ID"), answer["request_id"])
	assert.Equal(t, "fast", answer["model"])
	assert.Equal(t, "groq", answer["provider"])
	assert.Equal(t, "llama-3.1-8b-instant", answer["upstream_model"])
	assert.Equal(t, map[string]any{"prompt_tokens": float64(31), "completion_tokens": float64(14)}, answer["usage"])
	assert.Equal(t, res.Header.Get("X-Request-ID"), ms[3]["request_id"])

	plain := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "stream": false}, bearer(c.token))
	require.Equal(t, http.StatusOK, plain.status)
	assert.NotContains(t, plain.json(t), "conversation_id", "without conversation_id nothing is stored")
	_, ms = c.thread(id)
	assert.Len(t, ms, 4)
	list := c.do(http.MethodGet, "/api/v1/conversations", nil, bearer(c.token))
	assert.Len(t, list.json(t)["conversations"], 1)
}

// TestChatRegenerate: "regenerate": true answers the conversation's last
// prompt again in place of its answer: the provider gets the history
// before that turn, the thread holds the prompt once with the new answer,
// and the response cache, which holds the old answer, is not read.
func TestChatRegenerate(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, map[string]string{"CACHE_ENABLED": "true"})
	c.up.groq.Default(fakeupstream.OK("Tram 15E."))
	first := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Which tram?", "stream": false, "conversation_id": "new"}, bearer(c.token))
	require.Equal(t, http.StatusOK, first.status, "%s", first.body)
	id := first.json(t)["conversation_id"].(string)
	c.up.groq.Default(fakeupstream.OK("Bus 728."))
	second := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "And back?", "stream": false, "conversation_id": id}, bearer(c.token))
	require.Equal(t, http.StatusOK, second.status, "%s", second.body)

	c.up.groq.Default(fakeupstream.OK("Tram 15E as well."))
	res := c.openStream(context.Background(), map[string]any{"prompt": "And back?", "conversation_id": id, "regenerate": true})
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	events := readEvents(t, res.Body)
	require.Equal(t, "done", events[len(events)-1].name)
	assert.Equal(t, "bypass", res.Header.Get("X-Genzai-Cache"), "not read from the cache")
	reqs := c.up.groq.Requests()
	require.Len(t, reqs, 3)
	assert.Equal(t, reqs[1].Messages, reqs[2].Messages, "the history before the replaced turn, and the prompt")

	_, ms := c.thread(id)
	var turns []string
	for _, m := range ms {
		turns = append(turns, m["role"].(string)+": "+m["content"].(string))
	}
	assert.Equal(t, []string{"user: Which tram?", "assistant: Tram 15E.", "user: And back?", "assistant: Tram 15E as well."}, turns)
	assert.Equal(t, res.Header.Get("X-Request-ID"), ms[3]["request_id"])

	// A stale tab regenerating the first answer would replace the second
	// turn: refused.
	stale := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Which tram?", "stream": false, "conversation_id": id, "regenerate": true}, bearer(c.token))
	assert.Equal(t, http.StatusConflict, stale.status, "%s", stale.body)
	assert.Equal(t, "conflict", stale.json(t)["code"])
	_, after := c.thread(id)
	assert.Equal(t, ms, after, "the thread as it was")

	for _, body := range []map[string]any{
		{"prompt": "Hi", "regenerate": true},
		{"prompt": "Hi", "conversation_id": "new", "regenerate": true},
		{"prompt": "Hi", "conversation_id": c.createConversation(c.token, nil), "regenerate": true},
	} {
		res := c.do(http.MethodPost, "/api/v1/chat", body, bearer(c.token))
		assert.Equal(t, http.StatusBadRequest, res.status, "%v: %s", body, res.body)
		assert.Contains(t, res.json(t)["error"], "regenerate", "%v", body)
	}
}

// TestChatHistoryWithinTheLimit: the provider gets the latest whole
// messages that fit CHAT_HISTORY_MAX_CHARS beside the prompt.
func TestChatHistoryWithinTheLimit(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, map[string]string{"CHAT_HISTORY_MAX_CHARS": "1000"})
	q1, a1, q2, a2 := strings.Repeat("a", 400), strings.Repeat("b", 300), strings.Repeat("c", 400), strings.Repeat("d", 300)
	c.up.groq.Default(fakeupstream.OK(a1))
	res := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": q1, "stream": false, "conversation_id": "new"}, bearer(c.token))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	id := res.json(t)["conversation_id"].(string)
	c.up.groq.Default(fakeupstream.OK(a2))
	res = c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": q2, "stream": false, "conversation_id": id}, bearer(c.token))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	c.up.groq.Default(fakeupstream.OK("ok"))
	res = c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Which?", "stream": false, "conversation_id": id}, bearer(c.token))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)

	// 1000 - 6 leaves room for a2 and q2 (700), not for a1 as well.
	assert.Equal(t, []fakeupstream.Message{{Role: "user", Content: q2}, {Role: "assistant", Content: a2}, {Role: "user", Content: "Which?"}},
		c.up.groq.Requests()[2].Messages)
}

// TestChatConversationInterrupted: an answer the provider dropped is
// stored with what arrived, as interrupted.
func TestChatConversationInterrupted(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, nil)
	c.up.groq.Default(fakeupstream.DropAfterTokens(2).WithTokens("one", " two"))
	res := c.openStream(context.Background(), map[string]any{"prompt": "Count", "conversation_id": "new"})
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	events := readEvents(t, res.Body)
	require.Equal(t, "error", events[len(events)-1].name)
	var meta map[string]any
	require.NoError(t, json.Unmarshal([]byte(events[0].data), &meta))
	id := meta["conversation_id"].(string)

	_, ms := c.thread(id)
	require.Len(t, ms, 2)
	assert.Equal(t, "Count", ms[0]["content"])
	assert.Equal(t, "complete", ms[0]["status"])
	assert.Equal(t, "one two", ms[1]["content"])
	assert.Equal(t, "interrupted", ms[1]["status"])
}

// TestChatConversationNothingProduced: a request no provider answered
// stores nothing, keeps no conversation it started, and is refunded.
func TestChatConversationNothingProduced(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, nil)
	c.up.groq.Default(fakeupstream.Status(http.StatusBadGateway, `{"error":{"message":"upstream down"}}`))
	res := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "stream": false, "conversation_id": "new"}, bearer(c.token))
	require.Equal(t, http.StatusServiceUnavailable, res.status, "%s", res.body)
	list := c.do(http.MethodGet, "/api/v1/conversations", nil, bearer(c.token))
	assert.Empty(t, list.json(t)["conversations"], "the conversation started for it is not kept")

	id := c.createConversation(c.token, nil)
	res = c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "stream": false, "conversation_id": id}, bearer(c.token))
	require.Equal(t, http.StatusServiceUnavailable, res.status, "%s", res.body)
	conv, ms := c.thread(id)
	assert.Empty(t, ms)
	assert.Nil(t, conv["title"], "not titled by a prompt that was not stored")
	assert.Equal(t, float64(0), c.usedQuota(), "refunded")
}

// TestChatConversationErrors: another user's conversation answers 404
// exactly as a missing one; a second chat on a busy conversation gets 409
// conversation_busy and its quota unit back.
func TestChatConversationErrors(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, map[string]string{"PROVIDER_FIRST_TOKEN_TIMEOUT_SECONDS": "30", "REQUEST_TIMEOUT_SECONDS": "60",
		"MAX_CONVERSATIONS_PER_USER": "3"})
	c.register("bob@example.com", pw)
	bob := c.login("bob@example.com", pw)
	bobs := c.createConversation(bob, strPtr("Bob's"))
	adas := c.createConversation(c.token, strPtr("Ada's"))

	for _, stream := range []bool{false, true} {
		theirs := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "stream": stream, "conversation_id": bobs}, bearer(c.token))
		gone := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "stream": stream,
			"conversation_id": "0b6e1f3a-52c4-4d8e-9f1a-2b3c4d5e6f70"}, bearer(c.token))
		require.Equal(t, http.StatusNotFound, theirs.status, "stream %v: %s", stream, theirs.body)
		require.Equal(t, http.StatusNotFound, gone.status, "stream %v: %s", stream, gone.body)
		assert.Equal(t, errorOf(t, gone), errorOf(t, theirs), "stream %v", stream)
		assert.Equal(t, gone.header.Get("Content-Type"), theirs.header.Get("Content-Type"), "stream %v", stream)
	}
	assert.Empty(t, c.up.groq.Requests(), "nothing reached a provider")
	assert.Equal(t, float64(0), c.usedQuota())

	for _, body := range []map[string]any{
		{"prompt": "Hi", "conversation_id": "nope"},
		{"prompt": "Hi", "conversation_id": ""},
		{"prompt": "Hi", "conversation_id": adas, "messages": []map[string]string{{"role": "user", "content": "Earlier"}}},
	} {
		res := c.do(http.MethodPost, "/api/v1/chat", body, bearer(c.token))
		assert.Equal(t, http.StatusBadRequest, res.status, "%v: %s", body, res.body)
		assert.Equal(t, "invalid_request", res.json(t)["code"])
	}

	c.up.groq.Default(fakeupstream.HangAfterTokens(1).WithTokens("first"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	firstChat := c.openStream(ctx, map[string]any{"prompt": "Long answer", "conversation_id": adas})
	defer firstChat.Body.Close()
	require.Equal(t, http.StatusOK, firstChat.StatusCode)
	c.up.groq.WaitRequests(t, 1, 5*time.Second)

	busy := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Meanwhile", "stream": false, "conversation_id": adas}, bearer(c.token))
	require.Equal(t, http.StatusConflict, busy.status, "%s", busy.body)
	assert.Equal(t, "conversation_busy", busy.json(t)["code"])
	assert.Equal(t, float64(1), c.usedQuota(), "the busy request is refunded")
	assert.Len(t, c.up.groq.Requests(), 1)

	other := c.createConversation(c.token, nil)
	c.up.groq.Default(fakeupstream.OK("fine"))
	res := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Elsewhere", "stream": false, "conversation_id": other}, bearer(c.token))
	assert.Equal(t, http.StatusOK, res.status, "another conversation is free: %s", res.body)

	cancel() // the client leaves the first chat: its turn ends, what arrived is kept
	require.Eventually(t, func() bool {
		res := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Now?", "stream": false, "conversation_id": adas}, bearer(c.token))
		return res.status == http.StatusOK
	}, 5*time.Second, 20*time.Millisecond)
	_, ms := c.thread(adas)
	require.Len(t, ms, 4, "%v", ms)
	assert.Equal(t, "first", ms[1]["content"])
	assert.Equal(t, "interrupted", ms[1]["status"])
	assert.Equal(t, "Now?", ms[2]["content"])

	c.createConversation(c.token, nil) // the third, the most allowed
	used := c.usedQuota()
	full := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "stream": false, "conversation_id": "new"}, bearer(c.token))
	require.Equal(t, http.StatusConflict, full.status, "%s", full.body)
	assert.Equal(t, "conflict", full.json(t)["code"])
	assert.Equal(t, used, c.usedQuota(), "refunded")
}

// TestAnalyticsCountConversations: the admin analytics count the
// conversations started and the messages stored per day.
func TestAnalyticsCountConversations(t *testing.T) {
	t.Parallel()
	a := newAdminEnv(t, nil)
	res := a.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "stream": false, "conversation_id": "new"}, bearer(a.token))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	a.createConversation(a.token, nil)

	res = a.do(http.MethodGet, "/api/v1/admin/analytics?days=1", nil, bearer(a.boss))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	assert.Equal(t, []any{map[string]any{
		"date": a.clock.Now().UTC().Format(time.DateOnly), "conversations": float64(2), "messages": float64(2),
	}}, res.json(t)["conversations"])
}
