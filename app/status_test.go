package app_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
)

func TestStatusEndpoint(t *testing.T) {
	t.Parallel()
	up := newUpstreams(t)
	up.openrouter.Default(fakeupstream.Status(http.StatusInternalServerError, `{"error":{"message":"down"}}`))
	e := newEnv(t, up.vars(map[string]string{
		"PROVIDER_CHECK_INTERVAL_SECONDS": "60", // the first probe runs at start
		"HUGGINGFACE_API_KEY":             "",
		"STATUS_CACHE_SECONDS":            "0",
	}))

	var body []any
	require.Eventually(t, func() bool {
		res := e.do(http.MethodGet, "/api/v1/status", nil, nil)
		require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
		require.Equal(t, "public, max-age=0", res.header.Get("Cache-Control"))
		var doc []any
		require.NoError(t, json.Unmarshal(res.body, &doc))
		body = doc
		return doc[0].(map[string]any)["status"] == "up" && doc[1].(map[string]any)["status"] == "down"
	}, 10*time.Second, 50*time.Millisecond, "the monitor's first probes show up")

	groq := body[0].(map[string]any)
	assert.Equal(t, "groq", groq["provider"])
	assert.Equal(t, 100.0, groq["uptime"])
	assert.Equal(t, "24h", groq["window"])
	assert.NotNil(t, groq["last_checked"])
	assert.NotNil(t, groq["latency_ms"])
	assert.Equal(t, 0.0, body[1].(map[string]any)["uptime"])
	assert.Equal(t, map[string]any{"provider": "huggingface", "status": "unconfigured", "uptime": nil, "last_checked": nil, "latency_ms": nil, "window": "24h", "error_rate": 0.0,
		"serves": []any{}}, body[2])
	assert.Equal(t, []any{"chat"}, groq["serves"], "images are off")

	// The models list agrees: smart (openrouter first) is served by groq.
	e.register("ada@example.com", pw)
	token := e.login("ada@example.com", pw)
	models := e.do(http.MethodGet, "/api/v1/models", nil, bearer(token)).json(t)["models"].([]any)
	assert.Equal(t, "groq", models[2].(map[string]any)["provider"])

	res := e.do(http.MethodGet, "/api/v1/status?window=7d", nil, nil)
	require.Equal(t, http.StatusOK, res.status)
	res = e.do(http.MethodGet, "/api/v1/status?window=2h", nil, nil)
	require.Equal(t, http.StatusBadRequest, res.status)
	assert.Equal(t, "window: must be 1h, 24h, 7d or 30d", res.json(t)["error"])
}

func TestStatusIsCached(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"PROVIDER_CHECK_INTERVAL_SECONDS": "0"})
	res := e.do(http.MethodGet, "/api/v1/status", nil, nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.Regexp(t, `^public, max-age=(29|30)$`, res.header.Get("Cache-Control"))
}
