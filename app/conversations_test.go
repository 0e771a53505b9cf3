package app_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// createConversation starts a conversation for token's owner and returns
// its id; title nil leaves it untitled.
func (e *env) createConversation(token string, title *string) string {
	e.t.Helper()
	body := map[string]any{}
	if title != nil {
		body["title"] = *title
	}
	res := e.do(http.MethodPost, "/api/v1/conversations", body, bearer(token))
	require.Equal(e.t, http.StatusCreated, res.status, "%s", res.body)
	return res.json(e.t)["id"].(string)
}

func strPtr(s string) *string { return &s }

// errorOf is an error answer without its request id, to compare answers.
func errorOf(t *testing.T, res response) map[string]any {
	t.Helper()
	b := res.json(t)
	assert.NotEmpty(t, b["request_id"])
	delete(b, "request_id")
	return b
}

// TestConversations walks the conversation routes: create, list in order
// of activity, page and search, read, rename, delete; every answer is
// checked against the spec by the env's transport.
func TestConversations(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.register("ada@example.com", pw)
	ada := e.login("ada@example.com", pw)

	created := e.do(http.MethodPost, "/api/v1/conversations", map[string]any{"title": "  Trip to Lisbon "}, bearer(ada))
	require.Equal(t, http.StatusCreated, created.status, "%s", created.body)
	c := created.json(t)
	assert.Equal(t, "Trip to Lisbon", c["title"], "trimmed")
	assert.Equal(t, c["created_at"], c["updated_at"])
	lisbon := c["id"].(string)

	e.clock.Advance(time.Second)
	untitledRes := e.do(http.MethodPost, "/api/v1/conversations", map[string]any{}, bearer(ada))
	require.Equal(t, http.StatusCreated, untitledRes.status, "%s", untitledRes.body)
	assert.Nil(t, untitledRes.json(t)["title"], "null until named")
	untitled := untitledRes.json(t)["id"].(string)
	e.clock.Advance(time.Second)
	rome := e.createConversation(ada, strPtr("Rome in spring"))

	list := func(query string) ([]string, any) {
		t.Helper()
		res := e.do(http.MethodGet, "/api/v1/conversations"+query, nil, bearer(ada))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		b := res.json(t)
		var ids []string
		for _, c := range b["conversations"].([]any) {
			ids = append(ids, c.(map[string]any)["id"].(string))
		}
		return ids, b["next_cursor"]
	}

	t.Run("listed most recently active first", func(t *testing.T) {
		ids, next := list("")
		assert.Equal(t, []string{rome, untitled, lisbon}, ids)
		assert.Nil(t, next, "one page")
	})

	t.Run("paged with the cursor", func(t *testing.T) {
		var got []string
		cursor := ""
		for range 4 {
			ids, next := list("?limit=2" + cursor)
			got = append(got, ids...)
			if next == nil {
				break
			}
			cursor = "&cursor=" + url.QueryEscape(next.(string))
		}
		assert.Equal(t, []string{rome, untitled, lisbon}, got)
	})

	t.Run("searched by title", func(t *testing.T) {
		ids, _ := list("?q=" + url.QueryEscape("LISBON"))
		assert.Equal(t, []string{lisbon}, ids, "whole words, any case")
		ids, _ = list("?q=madrid")
		assert.Empty(t, ids)
	})

	t.Run("read, empty", func(t *testing.T) {
		res := e.do(http.MethodGet, "/api/v1/conversations/"+lisbon, nil, bearer(ada))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		b := res.json(t)
		assert.Equal(t, lisbon, b["id"])
		assert.Equal(t, "Trip to Lisbon", b["title"])
		assert.Empty(t, b["messages"])
		assert.Nil(t, b["next_cursor"])
	})

	t.Run("renamed without moving in the list", func(t *testing.T) {
		e.clock.Advance(time.Second)
		res := e.do(http.MethodPatch, "/api/v1/conversations/"+lisbon, map[string]any{"title": "Lisbon, December"}, bearer(ada))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		b := res.json(t)
		assert.Equal(t, "Lisbon, December", b["title"])
		assert.Equal(t, b["created_at"], b["updated_at"], "a rename is no activity")
		ids, _ := list("")
		assert.Equal(t, []string{rome, untitled, lisbon}, ids)
		ids, _ = list("?q=december")
		assert.Equal(t, []string{lisbon}, ids, "the new title is searched")
	})

	t.Run("deleted", func(t *testing.T) {
		res := e.do(http.MethodDelete, "/api/v1/conversations/"+rome, nil, bearer(ada))
		require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
		assert.Empty(t, res.body)
		assert.Equal(t, http.StatusNotFound, e.do(http.MethodGet, "/api/v1/conversations/"+rome, nil, bearer(ada)).status)
		assert.Equal(t, http.StatusNotFound, e.do(http.MethodDelete, "/api/v1/conversations/"+rome, nil, bearer(ada)).status, "once")
		ids, _ := list("")
		assert.Equal(t, []string{untitled, lisbon}, ids)
	})
}

// TestConversationMessagesPaged reads a long thread page by page, oldest
// first, with the answers' provenance. Messages are arranged in SQL: chat
// stores them through the same store.
func TestConversationMessagesPaged(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.requirePostgres()
	e.register("ada@example.com", pw)
	ada := e.login("ada@example.com", pw)
	id := e.createConversation(ada, strPtr("Trams"))
	e.sql(`INSERT INTO messages (conversation_id, role, content, status, created_at) VALUES
		($1, 'user', 'Which tram goes to Belém?', 'complete', now()),
		($1, 'user', 'And back?', 'complete', now())`, id)
	e.sql(`INSERT INTO messages (conversation_id, role, content, status, tier, provider, upstream_model, request_id,
		prompt_tokens, completion_tokens, sources, created_at) VALUES
		($1, 'assistant', 'Tram 15E.', 'complete', 'fast', 'groq', 'llama-3.1-8b-instant', 'req-1', 31, 14,
		 '[{"title":"Carris","url":"https://www.carris.pt/","snippet":"Tram 15E"}]', now()),
		($1, 'assistant', 'The 15E, the other wa', 'interrupted', 'fast', 'groq', 'llama-3.1-8b-instant', 'req-2', 40, 6, '[]', now())`, id)

	var got []map[string]any
	cursor := ""
	pages := 0
	for range 5 {
		res := e.do(http.MethodGet, "/api/v1/conversations/"+id+"?limit=3"+cursor, nil, bearer(ada))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		pages++
		b := res.json(t)
		for _, m := range b["messages"].([]any) {
			got = append(got, m.(map[string]any))
		}
		if b["next_cursor"] == nil {
			break
		}
		cursor = "&cursor=" + url.QueryEscape(b["next_cursor"].(string))
	}
	assert.Equal(t, 2, pages)
	require.Len(t, got, 4)
	var contents []string
	for _, m := range got {
		contents = append(contents, m["content"].(string))
	}
	assert.Equal(t, []string{"Which tram goes to Belém?", "And back?", "Tram 15E.", "The 15E, the other wa"}, contents)
	assert.Equal(t, "user", got[0]["role"])
	assert.Nil(t, got[0]["provider"], "a user message has no provenance")
	answer := got[2]
	assert.Equal(t, "assistant", answer["role"])
	assert.Equal(t, "fast", answer["model"])
	assert.Equal(t, "groq", answer["provider"])
	assert.Equal(t, "llama-3.1-8b-instant", answer["upstream_model"])
	assert.Equal(t, "req-1", answer["request_id"])
	assert.Equal(t, map[string]any{"prompt_tokens": float64(31), "completion_tokens": float64(14)}, answer["usage"])
	assert.Equal(t, []any{map[string]any{"title": "Carris", "url": "https://www.carris.pt/"}}, answer["sources"])
	assert.Equal(t, "interrupted", got[3]["status"])

	// From the end (latest=true): the latest messages, then the earlier.
	var pagesFromEnd [][]string
	cursor = ""
	for range 5 {
		res := e.do(http.MethodGet, "/api/v1/conversations/"+id+"?limit=3&latest=true"+cursor, nil, bearer(ada))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		b := res.json(t)
		var page []string
		for _, m := range b["messages"].([]any) {
			page = append(page, m.(map[string]any)["content"].(string))
		}
		pagesFromEnd = append(pagesFromEnd, page)
		if b["next_cursor"] == nil {
			break
		}
		cursor = "&cursor=" + url.QueryEscape(b["next_cursor"].(string))
	}
	assert.Equal(t, [][]string{{"And back?", "Tram 15E.", "The 15E, the other wa"}, {"Which tram goes to Belém?"}}, pagesFromEnd)

	res := e.do(http.MethodGet, "/api/v1/conversations?q=belém", nil, bearer(ada))
	require.Equal(t, http.StatusOK, res.status)
	assert.Len(t, res.json(t)["conversations"], 1, "message text is searched")
}

// TestConversationErrors covers every error the conversation routes
// document; another user's conversation answers exactly as a missing one.
func TestConversationErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"MAX_CONVERSATIONS_PER_USER": "2", "MAX_REQUEST_SIZE_BYTES": "2000"})
	e.register("ada@example.com", pw)
	ada := e.login("ada@example.com", pw)
	e.register("bob@example.com", pw)
	bob := e.login("bob@example.com", pw)
	adas := e.createConversation(ada, strPtr("Ada's"))
	const missing = "0b6e1f3a-52c4-4d8e-9f1a-2b3c4d5e6f70"
	item := "/api/v1/conversations/"

	t.Run("another user's conversation is a missing one", func(t *testing.T) {
		for _, r := range []struct {
			method string
			body   any
		}{
			{http.MethodGet, nil},
			{http.MethodPatch, map[string]any{"title": "Mine now"}},
			{http.MethodDelete, nil},
		} {
			theirs := e.do(r.method, item+adas, r.body, bearer(bob))
			gone := e.do(r.method, item+missing, r.body, bearer(bob))
			require.Equal(t, http.StatusNotFound, theirs.status, "%s %s", r.method, theirs.body)
			require.Equal(t, http.StatusNotFound, gone.status, "%s %s", r.method, gone.body)
			assert.Equal(t, errorOf(t, gone), errorOf(t, theirs), r.method)
			assert.Equal(t, "not_found", errorOf(t, theirs)["code"])
		}
		res := e.do(http.MethodGet, item+adas, nil, bearer(ada))
		require.Equal(t, http.StatusOK, res.status)
		assert.Equal(t, "Ada's", res.json(t)["title"], "untouched")
		list := e.do(http.MethodGet, "/api/v1/conversations", nil, bearer(bob))
		require.Equal(t, http.StatusOK, list.status)
		assert.Empty(t, list.json(t)["conversations"], "only the caller's")
	})

	tests := []struct {
		name, method, path string
		body               any
		ctype              string
		status             int
		code, message      string
	}{
		{name: "title too long", method: http.MethodPost, path: "/api/v1/conversations", body: map[string]any{"title": strings.Repeat("t", 201)},
			status: 400, code: "invalid_request", message: "title: must be at most 200 characters"},
		{name: "blank title", method: http.MethodPost, path: "/api/v1/conversations", body: map[string]any{"title": "   "},
			status: 400, code: "invalid_request"},
		{name: "title not a string", method: http.MethodPost, path: "/api/v1/conversations", body: `{"title":1}`,
			status: 400, code: "invalid_request"},
		{name: "not JSON", method: http.MethodPost, path: "/api/v1/conversations", body: `{"title":}`,
			status: 400, code: "invalid_request"},
		{name: "not JSON media type", method: http.MethodPost, path: "/api/v1/conversations", body: `title=x`, ctype: "text/plain",
			status: 415, code: "unsupported_media_type"},
		{name: "too large", method: http.MethodPost, path: "/api/v1/conversations", body: `{"title":"` + strings.Repeat("x", 3000) + `"}`,
			status: 413, code: "payload_too_large"},
		{name: "list limit 0", method: http.MethodGet, path: "/api/v1/conversations?limit=0", status: 400, code: "invalid_request",
			message: "limit: must be between 1 and 100"},
		{name: "list limit over", method: http.MethodGet, path: "/api/v1/conversations?limit=101", status: 400, code: "invalid_request"},
		{name: "list limit not a number", method: http.MethodGet, path: "/api/v1/conversations?limit=x", status: 400, code: "invalid_request"},
		{name: "list cursor forged", method: http.MethodGet, path: "/api/v1/conversations?cursor=abc", status: 400, code: "invalid_request",
			message: "cursor: is not a cursor this server gave"},
		// Decodes as a list cursor, but its id is no UUID: still ours to refuse
		// (PostgreSQL would have answered 500).
		{name: "list cursor with a non-UUID id", method: http.MethodGet,
			path:   "/api/v1/conversations?cursor=" + base64.RawURLEncoding.EncodeToString([]byte("c:1700000000000000.nope")),
			status: 400, code: "invalid_request", message: "cursor: is not a cursor this server gave"},
		{name: "query too long", method: http.MethodGet, path: "/api/v1/conversations?q=" + strings.Repeat("q", 201), status: 400, code: "invalid_request"},
		{name: "thread limit over", method: http.MethodGet, path: item + adas + "?limit=201", status: 400, code: "invalid_request",
			message: "limit: must be between 1 and 200"},
		{name: "thread cursor forged", method: http.MethodGet, path: item + adas + "?cursor=abc", status: 400, code: "invalid_request"},
		{name: "id not a UUID", method: http.MethodGet, path: item + "nope", status: 400, code: "invalid_request"},
		{name: "rename id not a UUID", method: http.MethodPatch, path: item + "nope", body: map[string]any{"title": "x"}, status: 400, code: "invalid_request"},
		{name: "delete id not a UUID", method: http.MethodDelete, path: item + "nope", status: 400, code: "invalid_request"},
		{name: "rename without title", method: http.MethodPatch, path: item + adas, body: map[string]any{}, status: 400, code: "invalid_request"},
		{name: "rename blank", method: http.MethodPatch, path: item + adas, body: map[string]any{"title": ""}, status: 400, code: "invalid_request"},
		{name: "rename not JSON media type", method: http.MethodPatch, path: item + adas, body: `title=x`, ctype: "text/plain",
			status: 415, code: "unsupported_media_type"},
		{name: "rename too large", method: http.MethodPatch, path: item + adas, body: `{"title":"` + strings.Repeat("x", 3000) + `"}`,
			status: 413, code: "payload_too_large"},
		{name: "missing on read", method: http.MethodGet, path: item + missing, status: 404, code: "not_found", message: "Conversation not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := bearer(ada)
			if tt.ctype != "" {
				h["Content-Type"] = tt.ctype
			}
			res := e.do(tt.method, tt.path, tt.body, h)
			require.Equal(t, tt.status, res.status, "%s", res.body)
			b := res.json(t)
			assert.Equal(t, tt.code, b["code"])
			if tt.message != "" {
				assert.Equal(t, tt.message, b["error"])
			}
		})
	}

	t.Run("unauthenticated", func(t *testing.T) {
		for _, r := range []struct{ method, path string }{
			{http.MethodPost, "/api/v1/conversations"}, {http.MethodGet, "/api/v1/conversations"},
			{http.MethodGet, item + adas}, {http.MethodPatch, item + adas}, {http.MethodDelete, item + adas},
		} {
			var body any
			if r.method == http.MethodPost || r.method == http.MethodPatch {
				body = map[string]any{"title": "x"}
			}
			res := e.do(r.method, r.path, body, nil)
			assert.Equal(t, http.StatusUnauthorized, res.status, "%s %s", r.method, r.path)
			assert.Equal(t, "unauthorized", res.json(t)["code"])
		}
	})

	t.Run("at most MAX_CONVERSATIONS_PER_USER", func(t *testing.T) {
		e.createConversation(ada, nil)
		res := e.do(http.MethodPost, "/api/v1/conversations", map[string]any{}, bearer(ada))
		require.Equal(t, http.StatusConflict, res.status, "%s", res.body)
		assert.Equal(t, "conflict", res.json(t)["code"])
		assert.Contains(t, res.json(t)["error"], "2 conversations")
		e.createConversation(bob, nil) // per user
	})
}

// TestConversationsRateLimited: the routes spend the client's request
// budget like every API route.
func TestConversationsRateLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"RATE_LIMIT_PER_MINUTE": "2"})
	e.register("ada@example.com", pw)
	ada := e.login("ada@example.com", pw)
	var last response
	for range 4 {
		last = e.do(http.MethodGet, "/api/v1/conversations", nil, bearer(ada))
	}
	require.Equal(t, http.StatusTooManyRequests, last.status, "%s", last.body)
	assert.Equal(t, "rate_limited", last.json(t)["code"])
	assert.NotEmpty(t, last.header.Get("Retry-After"))
}
