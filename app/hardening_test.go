package app_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAttackSharedRequestID performs the attack of issue 19: two users send
// the same X-Request-ID. Each request is stored under the server's own id,
// and a rating of the shared value reaches nobody's row.
func TestAttackSharedRequestID(t *testing.T) {
	t.Parallel()
	a := newAdminEnv(t, nil)
	const shared = "shared-request-id-0001"
	grace := "grace@example.com"
	graceID := a.register(grace, pw)
	graceToken := a.login(grace, pw)

	chat := func(token string) (string, response) {
		t.Helper()
		res := a.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "stream": false},
			map[string]string{"Authorization": "Bearer " + token, "X-Request-ID": shared})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		id := res.header.Get("X-Request-ID")
		assert.NotEqual(t, shared, id, "the server makes its own id")
		assert.Equal(t, id, res.json(t)["id"], "the answer names the server's id")
		assert.Equal(t, shared, res.header.Get("X-Correlation-ID"), "the client's id comes back as the correlation id")
		return id, res
	}
	adaReq, _ := chat(a.token)
	graceReq, _ := chat(graceToken)
	require.NotEqual(t, adaReq, graceReq, "two requests, two ids")

	rate := func(token, id, rating string) response {
		t.Helper()
		return a.do(http.MethodPost, "/api/v1/feedback", map[string]any{"request_id": id, "rating": rating}, bearer(token))
	}
	assert.Equal(t, http.StatusOK, rate(a.token, adaReq, "up").status, "ada rates her own answer")
	for _, tc := range []struct{ name, id string }{
		{"the shared value", shared},
		{"ada's request", adaReq},
	} {
		res := rate(graceToken, tc.id, "down")
		assert.Equal(t, http.StatusNotFound, res.status, "grace rating %s: %s", tc.name, res.body)
	}

	// The request log holds each request once, under the server's id.
	for _, u := range []struct{ id, request string }{{a.adaID, adaReq}, {graceID, graceReq}} {
		res := a.do(http.MethodGet, "/api/v1/admin/requests?user_id="+u.id, nil, bearer(a.boss))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		rows := res.json(t)["requests"].([]any)
		require.Len(t, rows, 1)
		assert.Equal(t, u.request, rows[0].(map[string]any)["request_id"])
	}
	res := a.do(http.MethodGet, "/api/v1/admin/analytics?days=1", nil, bearer(a.boss))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	assert.Equal(t, map[string]any{"up": 1.0, "down": 0.0, "with_comment": 0.0}, res.json(t)["feedback"], "ada's rating stands, untouched")
	assert.Contains(t, a.logs.String(), `"correlation_id":"`+shared+`"`, "the access log carries the client's id")
}

// TestAttackFeedbackRequestID sends request ids PostgreSQL cannot store
// (a NUL was a 500) or that are no id at all: 400, on every store.
func TestAttackFeedbackRequestID(t *testing.T) {
	t.Parallel()
	for _, st := range stores {
		t.Run(st.engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, map[string]string{"DATABASE_URL": st.url(t)})
			e.register("ada@example.com", pw)
			token := e.login("ada@example.com", pw)
			for _, id := range []string{"abc\x00def", "\x00", "a b", "x' OR '1'='1", "<script>", "é", string(make([]byte, 129))} {
				res := e.do(http.MethodPost, "/api/v1/feedback", map[string]any{"request_id": id, "rating": "up"}, bearer(token))
				require.Equal(t, http.StatusBadRequest, res.status, "%q: %s", id, res.body)
				assert.Equal(t, "invalid_request", res.json(t)["code"])
				assert.Contains(t, res.json(t)["error"], "request_id")
			}
			// A well-formed id nobody was answered under: 404.
			res := e.do(http.MethodPost, "/api/v1/feedback", map[string]any{"request_id": "018f3c1e-7b2a-7c4d-8e7f-9a0b1c2d3e4f", "rating": "up"}, bearer(token))
			assert.Equal(t, http.StatusNotFound, res.status, "%s", res.body)
		})
	}
}

// TestAttackMetricsTokenGuessing guesses METRICS_TOKEN: past the auth rate
// of wrong tokens, the address gets 429, even with the right token, while
// another address still scrapes.
func TestAttackMetricsTokenGuessing(t *testing.T) {
	t.Parallel()
	const token = "scrape-token-0123456789"
	e := newEnv(t, map[string]string{
		"METRICS_TOKEN": token, "AUTH_RATE_LIMIT_PER_MINUTE": "3", "TRUSTED_PROXIES": "127.0.0.1/32",
	})
	from := func(ip string, auth map[string]string) response {
		h := map[string]string{"X-Forwarded-For": ip}
		for k, v := range auth {
			h[k] = v
		}
		return e.do(http.MethodGet, "/metrics", nil, h)
	}
	const attacker, scraper = "198.51.100.7", "198.51.100.8"
	for i := range 3 {
		res := from(attacker, bearer("guess-"+strconv.Itoa(i)))
		require.Equal(t, http.StatusUnauthorized, res.status, "guess %d: %s", i, res.body)
	}
	for _, tc := range []struct {
		name string
		auth map[string]string
	}{
		{"a fourth guess", bearer("guess-3")},
		{"no token", nil},
		{"the right token, from the blocked address", bearer(token)},
	} {
		res := from(attacker, tc.auth)
		require.Equal(t, http.StatusTooManyRequests, res.status, "%s: %s", tc.name, res.body)
		body := res.json(t)
		assert.Equal(t, "rate_limited", body["code"], tc.name)
		retry, err := strconv.Atoi(res.header.Get("Retry-After"))
		require.NoError(t, err, tc.name)
		assert.Positive(t, retry, tc.name)
		assert.LessOrEqual(t, retry, 60, tc.name)
		assert.InDelta(t, float64(retry), body["retry_after"], 1, tc.name)
	}
	assert.Equal(t, http.StatusOK, from(scraper, bearer(token)).status, "another address scrapes")
	families := e.scrape(bearer(token))
	assert.Positive(t, total(t, families, "genzai_rate_limit_rejections_total", map[string]string{"scope": "metrics"}))
}

// TestMetricsAddr moves /metrics to a listener of its own: production then
// needs no token, and the API port answers 404.
func TestMetricsAddr(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"ENV": "production", "METRICS_ADDR": "127.0.0.1:0", "METRICS_TOKEN": "", "ALLOWED_HOSTS": "127.0.0.1"})
	res := e.do(http.MethodGet, "/metrics", nil, nil)
	assert.Equal(t, http.StatusNotFound, res.status, "%s", res.body)

	side := httptest.NewServer(e.app.MetricsHandler)
	t.Cleanup(side.Close)
	for path, want := range map[string]int{"/metrics": http.StatusOK, "/api/v1/quota": http.StatusNotFound, "/docs": http.StatusNotFound} {
		r, err := http.Get(side.URL + path)
		require.NoError(t, err)
		r.Body.Close()
		assert.Equal(t, want, r.StatusCode, path)
	}

	t.Run("with a token the side listener checks it", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, map[string]string{"METRICS_ADDR": "127.0.0.1:0", "METRICS_TOKEN": "side-token-0123456789"})
		side := httptest.NewServer(e.app.MetricsHandler)
		t.Cleanup(side.Close)
		for auth, want := range map[string]int{"": http.StatusUnauthorized, "Bearer nope": http.StatusUnauthorized, "Bearer side-token-0123456789": http.StatusOK} {
			req, err := http.NewRequest(http.MethodGet, side.URL+"/metrics", nil)
			require.NoError(t, err)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			r, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			r.Body.Close()
			assert.Equal(t, want, r.StatusCode, auth)
		}
	})
}

// TestDocsDisabled turns the API reference off: the page, its files, its
// /docs/ alias and the spec answer 404 like routes that do not exist.
func TestDocsDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"DOCS_ENABLED": "false"})
	for _, path := range []string{"/docs", "/docs/", "/docs/swagger-ui.css", "/docs/docs.js", "/openapi.json", "/openapi.yaml"} {
		res := e.do(http.MethodGet, path, nil, nil)
		assert.Equal(t, http.StatusNotFound, res.status, "%s: %s", path, res.body)
		assert.Equal(t, "not_found", res.json(t)["code"], path)
		assert.NotContains(t, string(res.body), "swagger", path)
	}
	assert.Equal(t, http.StatusOK, e.do(http.MethodGet, "/health", nil, nil).status)
}
