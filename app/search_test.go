package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
)

// fakeDuckDuckGo serves a testdata page of the scraper for every search.
func fakeDuckDuckGo(t *testing.T, status int, pageName string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	body, err := os.ReadFile("../adapters/duckduckgo/testdata/" + pageName)
	require.NoError(t, err)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestWebSearchEndpoint(t *testing.T) {
	t.Parallel()
	ddg, hits := fakeDuckDuckGo(t, http.StatusOK, "results.html")
	e := newEnv(t, map[string]string{"DUCKDUCKGO_BASE_URL": ddg.URL + "/html/", "DUCKDUCKGO_LITE_URL": ddg.URL + "/lite/", "WEB_SEARCH_MAX_RESULTS": "3"})
	e.register("ada@example.com", pw)
	token := e.login("ada@example.com", pw)

	res := e.do(http.MethodGet, "/api/v1/web-search?q=+machine++learning+", nil, bearer(token))
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	body := res.json(t)
	assert.Equal(t, "success", body["status"])
	assert.Equal(t, "scrape", body["source"])
	assert.Equal(t, "machine learning", body["query"])
	results := body["results"].([]any)
	require.Len(t, results, 3)
	assert.Equal(t, map[string]any{"title": "Machine learning - Wikipedia", "url": "https://en.wikipedia.org/wiki/Machine_learning",
		"snippet": "Machine learning (ML) is a field of study in artificial intelligence concerned with the development of statistical algorithms that can learn from data & generalize to unseen data."}, results[0])

	res = e.do(http.MethodGet, "/api/v1/web-search?q=Machine%20Learning", nil, bearer(token))
	assert.Equal(t, "cache", res.json(t)["source"])
	assert.Equal(t, int32(1), hits.Load())

	// Issue 19: a search is one request of the daily quota, a cached answer too.
	quota := e.do(http.MethodGet, "/api/v1/quota", nil, bearer(token)).json(t)
	assert.Equal(t, float64(2), quota["used"], "each search counts, the cached one too")

	for q, want := range map[string]int{"": 400, "%20%20": 400, strings.Repeat("a", 257): 400, strings.Repeat("a", 256): 200} {
		assert.Equal(t, want, e.do(http.MethodGet, "/api/v1/web-search?q="+q, nil, bearer(token)).status, "q=%q", q)
	}
	assert.Equal(t, http.StatusUnauthorized, e.do(http.MethodGet, "/api/v1/web-search?q=x", nil, nil).status)
}

func TestWebSearchFailures(t *testing.T) {
	t.Parallel()
	ddg, _ := fakeDuckDuckGo(t, http.StatusAccepted, "challenge.html")
	e := newEnv(t, map[string]string{"DUCKDUCKGO_BASE_URL": ddg.URL + "/html/", "DUCKDUCKGO_LITE_URL": ddg.URL + "/lite/"})
	e.register("ada@example.com", pw)
	token := e.login("ada@example.com", pw)
	res := e.do(http.MethodGet, "/api/v1/web-search?q=x", nil, bearer(token))
	require.Equal(t, http.StatusServiceUnavailable, res.status)
	assert.Equal(t, "search_unavailable", res.json(t)["code"])
	// Issue 21: the answer says why, the log says each cause once.
	assert.Equal(t, "blocked", res.json(t)["reason"])
	assert.Equal(t, "Web search temporarily unavailable: the search engine is refusing this server's requests", res.json(t)["error"])
	logs := e.logs.String()
	assert.Contains(t, logs, `web search unavailable (blocked): html endpoint: status 202: bot challenge page; lite endpoint: status 202: bot challenge page`)
	assert.NotContains(t, logs, "Web search temporarily unavailable:", "the log line does not repeat the message")

	off := newEnv(t, map[string]string{"ENABLE_WEB_SEARCH": "false"})
	off.register("ada@example.com", pw)
	token = off.login("ada@example.com", pw)
	res = off.do(http.MethodGet, "/api/v1/web-search?q=x", nil, bearer(token))
	require.Equal(t, http.StatusServiceUnavailable, res.status)
	assert.Equal(t, "feature_disabled", res.json(t)["code"])
	assert.Equal(t, "Web search is disabled", res.json(t)["error"])
}

func TestChatWithWebSearch(t *testing.T) {
	t.Parallel()
	ddg, _ := fakeDuckDuckGo(t, http.StatusOK, "results.html")
	c := newChatEnv(t, map[string]string{"DUCKDUCKGO_BASE_URL": ddg.URL + "/html/", "DUCKDUCKGO_LITE_URL": ddg.URL + "/lite/"})
	c.up.groq.Default(fakeupstream.OK("ML is learning from data [1]."))

	res := c.openStream(context.Background(), map[string]any{"prompt": "What is machine learning?", "web_search": true})
	defer res.Body.Close()
	events := readEvents(t, res.Body)
	require.Equal(t, "meta", events[0].name)
	var meta map[string]any
	require.NoError(t, json.Unmarshal([]byte(events[0].data), &meta))
	assert.Equal(t, "used", meta["web_search"])
	sources := meta["sources"].([]any)
	require.Len(t, sources, 5, "the top five results")
	assert.Equal(t, map[string]any{"title": "Machine learning - Wikipedia", "url": "https://en.wikipedia.org/wiki/Machine_learning"}, sources[0])

	sent := c.up.groq.Requests()[0].Messages
	require.Len(t, sent, 2)
	assert.Equal(t, "system", sent[0].Role)
	assert.Contains(t, sent[0].Content, "[1] Machine learning - Wikipedia\nhttps://en.wikipedia.org/wiki/Machine_learning\n")

	whole := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "What is machine learning?", "web_search": true, "stream": false}, bearer(c.token))
	require.Equal(t, http.StatusOK, whole.status, "body: %s", whole.body)
	assert.Equal(t, "used", whole.json(t)["web_search"])
	assert.Len(t, whole.json(t)["sources"], 5)
	quota := c.do(http.MethodGet, "/api/v1/quota", nil, bearer(c.token)).json(t)
	assert.Equal(t, float64(2), quota["used"], "a chat's search is part of the chat: one unit each")
}

func TestChatWithWebSearchUnavailable(t *testing.T) {
	t.Parallel()
	ddg, _ := fakeDuckDuckGo(t, http.StatusInternalServerError, "no_results.html")
	c := newChatEnv(t, map[string]string{"DUCKDUCKGO_BASE_URL": ddg.URL + "/html/", "DUCKDUCKGO_LITE_URL": ddg.URL + "/lite/"})
	res := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "web_search": true, "stream": false}, bearer(c.token))
	require.Equal(t, http.StatusOK, res.status, "the chat still answers: %s", res.body)
	assert.Equal(t, "unavailable", res.json(t)["web_search"])
	assert.Equal(t, "bad_response", res.json(t)["web_search_reason"], "an error status of the engine")
	assert.Nil(t, res.json(t)["sources"])

	stream := c.openStream(context.Background(), map[string]any{"prompt": "Hi again", "web_search": true})
	defer stream.Body.Close()
	events := readEvents(t, stream.Body)
	require.Equal(t, "meta", events[0].name)
	var meta map[string]any
	require.NoError(t, json.Unmarshal([]byte(events[0].data), &meta))
	assert.Equal(t, "unavailable", meta["web_search"])
	assert.Equal(t, "bad_response", meta["web_search_reason"])
}

// TestWebSearchUnreachable: an engine nobody answers for is unreachable,
// on the search route and in a chat. (Timeouts and blocks have their
// tests in adapters/duckduckgo and above.)
func TestWebSearchUnreachable(t *testing.T) {
	t.Parallel()
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close() // nothing listens there any more
	c := newChatEnv(t, map[string]string{"DUCKDUCKGO_BASE_URL": gone.URL + "/html/", "DUCKDUCKGO_LITE_URL": gone.URL + "/lite/"})
	res := c.do(http.MethodGet, "/api/v1/web-search?q=x", nil, bearer(c.token))
	assertErrorAnswer(t, res, http.StatusServiceUnavailable, "search_unavailable", "Web search temporarily unavailable: the search engine cannot be reached")
	assert.Equal(t, "unreachable", res.json(t)["reason"])

	res = c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "web_search": true, "stream": false}, bearer(c.token))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	assert.Equal(t, "unavailable", res.json(t)["web_search"])
	assert.Equal(t, "unreachable", res.json(t)["web_search_reason"])
}
