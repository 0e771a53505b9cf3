package app_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  string
		hsts string
	}{{"development", ""}, {"production", "max-age=63072000; includeSubDomains"}} {
		t.Run(tc.env, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, map[string]string{"ENV": tc.env})
			for _, path := range []string{"/health", "/api/v1/quota", "/api/v1/nope"} {
				res := e.do(http.MethodGet, path, nil, nil)
				assert.Equal(t, "nosniff", res.header.Get("X-Content-Type-Options"), path)
				assert.Equal(t, "DENY", res.header.Get("X-Frame-Options"), path)
				assert.Equal(t, "no-referrer", res.header.Get("Referrer-Policy"), path)
				assert.Equal(t, "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'", res.header.Get("Content-Security-Policy"), path)
				assert.Equal(t, "accelerometer=(), camera=(), geolocation=(), gyroscope=(), microphone=(), payment=(), usb=()", res.header.Get("Permissions-Policy"), path)
				assert.Equal(t, tc.hsts, res.header.Get("Strict-Transport-Security"), path)
			}
		})
	}
}

func TestTrustedHost(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"ALLOWED_HOSTS": "api.example.com,*.genzai.dev,127.0.0.1"})
	for _, tc := range []struct {
		host   string
		path   string
		status int
	}{
		{"api.example.com", "/api/v1/status", 200},
		{"API.EXAMPLE.COM:443", "/api/v1/status", 200},
		{"eu.genzai.dev", "/api/v1/status", 200},
		{"genzai.dev", "/api/v1/status", 400},
		{"evil.com", "/api/v1/status", 400},
		{"api.example.com.evil.com", "/api/v1/status", 400},
		{"evil.com", "/health", 200}, // orchestrators probe pods by IP
		{"10.1.2.3:8000", "/ready", 200},
	} {
		res := e.do(http.MethodGet, tc.path, nil, map[string]string{"Host": tc.host})
		assert.Equal(t, tc.status, res.status, "%s %s", tc.host, tc.path)
		if tc.status == 400 {
			assert.Equal(t, "Invalid host header", res.json(t)["error"])
			assert.Equal(t, "invalid_request", res.json(t)["code"])
		}
	}
}

func TestDefaultHostsIncludeRenderURL(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"RENDER_EXTERNAL_URL": "https://genz-ai.onrender.com"})
	for host, want := range map[string]int{"genz-ai.onrender.com": 200, "localhost:8000": 200, "127.0.0.1": 200, "other.onrender.com": 400} {
		assert.Equal(t, want, e.do(http.MethodGet, "/api/v1/status", nil, map[string]string{"Host": host}).status, host)
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"ALLOWED_ORIGINS": "https://app.example.com"})
	preflight := func(origin, method, headers string) response {
		return e.do(http.MethodOptions, "/api/v1/chat", nil, map[string]string{
			"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers,
		})
	}
	res := preflight("https://app.example.com", "POST", "authorization,content-type")
	assert.Equal(t, http.StatusNoContent, res.status)
	assert.Equal(t, "https://app.example.com", res.header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", res.header.Get("Access-Control-Allow-Credentials"))
	assert.Contains(t, res.header.Get("Access-Control-Allow-Headers"), "Authorization")
	assert.Contains(t, res.header.Get("Access-Control-Allow-Headers"), "Cache-Control", "a browser may opt out of the response cache")
	assert.Contains(t, res.header.Get("Access-Control-Allow-Methods"), "POST")
	assert.Equal(t, "600", res.header.Get("Access-Control-Max-Age"))

	res = preflight("https://evil.example.com", "POST", "authorization")
	assert.Empty(t, res.header.Get("Access-Control-Allow-Origin"), "other origins get no CORS grant")

	res = e.do(http.MethodGet, "/health", nil, map[string]string{"Origin": "https://app.example.com"})
	assert.Equal(t, "https://app.example.com", res.header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, res.header.Get("Access-Control-Expose-Headers"), "X-Request-Id")
	assert.Contains(t, res.header.Get("Access-Control-Expose-Headers"), "X-Genzai-Provider", "browsers may read who answered")
	assert.Contains(t, res.header.Get("Access-Control-Expose-Headers"), "X-Genzai-Cache", "browsers may read how the cache answered")
	res = e.do(http.MethodGet, "/health", nil, map[string]string{"Origin": "https://evil.example.com"})
	assert.Empty(t, res.header.Get("Access-Control-Allow-Origin"))

	wild := newEnv(t, map[string]string{"ALLOWED_ORIGINS": "*"})
	res = wild.do(http.MethodOptions, "/api/v1/chat", nil, map[string]string{"Origin": "https://any.example", "Access-Control-Request-Method": "POST"})
	assert.Equal(t, "*", res.header.Get("Access-Control-Allow-Origin"))
	assert.Empty(t, res.header.Get("Access-Control-Allow-Credentials"), "never a wildcard with credentials")
}

func TestRateLimitPerIP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"RATE_LIMIT_PER_MINUTE": "5", "AUTH_RATE_LIMIT_PER_MINUTE": "2"})
	for i := range 5 {
		res := e.do(http.MethodGet, "/api/v1/status", nil, nil)
		require.Equal(t, http.StatusOK, res.status, "request %d", i+1)
		assert.Equal(t, "5", res.header.Get("RateLimit-Limit"))
		assert.Equal(t, strconv.Itoa(4-i), res.header.Get("RateLimit-Remaining"))
		assert.NotEmpty(t, res.header.Get("RateLimit-Reset"))
	}
	res := e.do(http.MethodGet, "/api/v1/quota", nil, nil)
	require.Equal(t, http.StatusTooManyRequests, res.status, "the 6th request, even without a token: limits run before auth")
	body := res.json(t)
	assert.Equal(t, "Rate limit exceeded", body["error"])
	assert.Equal(t, "rate_limited", body["code"])
	retry := int(body["retry_after"].(float64))
	assert.InDelta(t, 12, retry, 1, "one slot frees every 60s/5")
	assert.Equal(t, strconv.Itoa(retry), res.header.Get("Retry-After"))
	assert.Equal(t, "0", res.header.Get("RateLimit-Remaining"))

	for range 3 {
		assert.Equal(t, http.StatusOK, e.do(http.MethodGet, "/health", nil, nil).status, "health is exempt")
		assert.Equal(t, http.StatusOK, e.do(http.MethodGet, "/ready", nil, nil).status, "ready is exempt")
	}

	// Auth routes have their own, stricter budget.
	for i := range 2 {
		res := e.do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": "x@example.com", "password": "wrong password"}, nil)
		assert.Equal(t, http.StatusUnauthorized, res.status, "login %d", i+1)
		assert.Equal(t, "2", res.header.Get("RateLimit-Limit"))
	}
	res = e.do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": "x@example.com", "password": "wrong password"}, nil)
	assert.Equal(t, http.StatusTooManyRequests, res.status)
}

func TestClientIPBehindTrustedProxies(t *testing.T) {
	t.Parallel()
	// The test client connects from 127.0.0.1: trusted here.
	e := newEnv(t, map[string]string{"RATE_LIMIT_PER_MINUTE": "2", "TRUSTED_PROXIES": "127.0.0.1/32,10.0.0.0/8"})
	from := func(xff string) int {
		return e.do(http.MethodGet, "/api/v1/status", nil, map[string]string{"X-Forwarded-For": xff}).status
	}
	// Two clients behind the proxy have separate budgets.
	for range 2 {
		assert.Equal(t, 200, from("203.0.113.7"))
		assert.Equal(t, 200, from("198.51.100.9, 10.0.0.3")) // read right to left, skipping trusted hops
	}
	assert.Equal(t, 429, from("203.0.113.7"))
	assert.Equal(t, 429, from("198.51.100.9"))
	// A client cannot escape by prepending a fake address.
	assert.Equal(t, 429, from("1.2.3.4, 203.0.113.7"))

	// Without trusted proxies the header is ignored: one budget for the socket.
	direct := newEnv(t, map[string]string{"RATE_LIMIT_PER_MINUTE": "2"})
	codes := []int{}
	for _, xff := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
		codes = append(codes, direct.do(http.MethodGet, "/api/v1/status", nil, map[string]string{"X-Forwarded-For": xff}).status)
	}
	assert.Equal(t, []int{200, 200, 429}, codes, "a spoofed header from an untrusted peer changes nothing")
}

func TestStackOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"RATE_LIMIT_PER_MINUTE": "1", "ALLOWED_HOSTS": "127.0.0.1", "MAX_REQUEST_SIZE_BYTES": "1024"})
	big := `{"prompt":"` + strings.Repeat("x", 2000) + `"}`
	// Validation runs before the host check; the host check before the limiter.
	res := e.do(http.MethodPost, "/api/v1/chat", big, map[string]string{"Host": "evil.com"})
	assert.Equal(t, http.StatusRequestEntityTooLarge, res.status)
	res = e.do(http.MethodPost, "/api/v1/chat", "a=b", map[string]string{"Host": "evil.com", "Content-Type": "application/x-www-form-urlencoded"})
	assert.Equal(t, http.StatusUnsupportedMediaType, res.status)
	for range 3 {
		assert.Equal(t, http.StatusBadRequest, e.do(http.MethodGet, "/api/v1/status", nil, map[string]string{"Host": "evil.com"}).status)
	}
	// None of those reached the limiter: the one allowed request is still there.
	assert.Equal(t, http.StatusOK, e.do(http.MethodGet, "/api/v1/status", nil, nil).status)
	// The limiter runs before auth: no token, yet 429, not 401.
	assert.Equal(t, http.StatusTooManyRequests, e.do(http.MethodGet, "/api/v1/quota", nil, nil).status)
}
