package app_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// searchEnv is a gateway whose DuckDuckGo is ddg, with a logged-in user.
func searchEnv(t *testing.T, ddg *httptest.Server, extra map[string]string) (*env, string) {
	t.Helper()
	vars := map[string]string{"DUCKDUCKGO_BASE_URL": ddg.URL + "/html/", "DUCKDUCKGO_LITE_URL": ddg.URL + "/lite/"}
	for k, v := range extra {
		vars[k] = v
	}
	e := newEnv(t, vars)
	e.register("ada@example.com", pw)
	return e, e.login("ada@example.com", pw)
}

func (e *env) quotaUsed(token string) float64 {
	e.t.Helper()
	return e.do(http.MethodGet, "/api/v1/quota", nil, bearer(token)).json(e.t)["used"].(float64)
}

// TestAttackWebSearchWithoutQuota performs the attack of issue 19: web
// search used no quota, so a user could make the gateway scrape without
// limit. Each search now counts; a spent quota answers 429 before the
// engine is asked.
func TestAttackWebSearchWithoutQuota(t *testing.T) {
	t.Parallel()
	ddg, hits := fakeDuckDuckGo(t, http.StatusOK, "results.html")
	e, token := searchEnv(t, ddg, map[string]string{"USER_DAILY_QUOTA": "3"})
	for _, q := range []string{"one", "two", "one"} { // the third is a cache hit
		require.Equal(t, http.StatusOK, e.do(http.MethodGet, "/api/v1/web-search?q="+q, nil, bearer(token)).status)
	}
	before := hits.Load()
	res := e.do(http.MethodGet, "/api/v1/web-search?q=three", nil, bearer(token))
	require.Equal(t, http.StatusTooManyRequests, res.status, "%s", res.body)
	assert.Equal(t, "quota_exceeded", res.json(t)["code"])
	assert.Equal(t, before, hits.Load(), "the engine is not asked over quota")
	assert.Equal(t, float64(3), e.quotaUsed(token))
	res = e.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "stream": false}, bearer(token))
	assert.Equal(t, http.StatusTooManyRequests, res.status, "searches and chats share the one daily quota")
}

// TestAttackWebSearchStorm performs the attack of issue 19: with no
// negative cache, a storm of one failing (or empty) query reached the
// engine every time. Now the engine is asked once per
// WEB_SEARCH_NEGATIVE_TTL_SECONDS; failures are refunded, empty answers
// count.
func TestAttackWebSearchStorm(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		status   int
		page     string
		want     int
		wantUsed float64
	}{
		{"engine failing", http.StatusAccepted, "challenge.html", http.StatusServiceUnavailable, 0},
		{"no results", http.StatusOK, "no_results.html", http.StatusOK, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ddg, hits := fakeDuckDuckGo(t, tc.status, tc.page)
			e, token := searchEnv(t, ddg, nil)
			require.Equal(t, tc.want, e.do(http.MethodGet, "/api/v1/web-search?q=storm", nil, bearer(token)).status)
			first := hits.Load()
			require.Positive(t, first)

			var wg sync.WaitGroup
			for range 29 {
				wg.Go(func() {
					assert.Equal(t, tc.want, e.do(http.MethodGet, "/api/v1/web-search?q=storm", nil, bearer(token)).status)
				})
			}
			wg.Wait()
			assert.Equal(t, first, hits.Load(), "the storm is answered from the negative cache")
			assert.Equal(t, tc.wantUsed, e.quotaUsed(token))

			e.clock.Advance(61 * time.Second) // past the default WEB_SEARCH_NEGATIVE_TTL_SECONDS
			e.do(http.MethodGet, "/api/v1/web-search?q=storm", nil, bearer(token))
			assert.Greater(t, hits.Load(), first, "asked again once the short TTL passed")
		})
	}
}

// TestAttackWebSearchOutlivesClient performs the attack of issue 19: a
// search kept running after its client left. The engine's request is now
// cancelled with the client's, on the search endpoint and in a chat.
func TestAttackWebSearchOutlivesClient(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, method, path, body string
	}{
		{"search endpoint", http.MethodGet, "/api/v1/web-search?q=slow", ""},
		{"chat with web search", http.MethodPost, "/api/v1/chat", `{"prompt":"slow","web_search":true,"stream":false}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var started, cancelled atomic.Int32
			ddg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				started.Add(1)
				// The server notices a client hanging up once the body is read.
				_, _ = io.Copy(io.Discard, r.Body)
				select {
				case <-r.Context().Done():
					cancelled.Add(1)
				case <-time.After(30 * time.Second):
				}
			}))
			t.Cleanup(ddg.Close)
			e, token := searchEnv(t, ddg, nil)

			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, err := http.NewRequestWithContext(ctx, tc.method, e.srv.URL+tc.path, body)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			_, err = http.DefaultClient.Do(req)
			require.Error(t, err, "the client gave up")
			require.Eventually(t, func() bool { return cancelled.Load() == 1 }, 2*time.Second, 10*time.Millisecond,
				"the engine's request ends with the client, long before the engine's own 5 s timeout")
			assert.Equal(t, int32(1), started.Load())
		})
	}
}
