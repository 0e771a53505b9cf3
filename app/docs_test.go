package app_test

import (
	"context"
	"net/http"
	"os"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const strictPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// TestDocs serves the documentation through the whole stack; every answer
// is checked against the spec by the validating transport.
func TestDocs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"ENV": "production"})
	tests := []struct {
		path        string
		contentType string
		docsPolicy  bool
		cached      bool
	}{
		{"/docs", "text/html; charset=utf-8", true, false},
		{"/docs/", "text/html; charset=utf-8", true, false}, // redirected to /docs
		{"/docs/docs.js", "text/javascript; charset=utf-8", true, true},
		{"/docs/docs.css", "text/css; charset=utf-8", true, true},
		{"/docs/swagger-ui-bundle.js", "text/javascript; charset=utf-8", true, true},
		{"/docs/swagger-ui.css", "text/css; charset=utf-8", true, true},
		{"/docs/LICENSE", "text/plain; charset=utf-8", true, true},
		{"/docs/NOTICE", "text/plain; charset=utf-8", true, true},
		{"/docs/swagger-ui-bundle.js.LICENSE.txt", "text/plain; charset=utf-8", true, true},
		{"/openapi.json", "application/json", false, false},
		{"/openapi.yaml", "application/yaml", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res := e.do(http.MethodGet, tt.path, nil, nil)
			require.Equal(t, http.StatusOK, res.status)
			assert.Equal(t, tt.contentType, res.header.Get("Content-Type"))
			csp := res.header.Get("Content-Security-Policy")
			if tt.docsPolicy {
				assert.Contains(t, csp, "script-src 'self'")
				assert.Contains(t, csp, "connect-src 'self'")
				assert.NotContains(t, csp, "unsafe-inline")
				assert.NotContains(t, csp, "unsafe-eval")
			} else {
				assert.Equal(t, strictPolicy, csp)
			}
			if tt.cached {
				assert.Equal(t, "public, max-age=3600", res.header.Get("Cache-Control"))
			} else {
				assert.Equal(t, "no-store", res.header.Get("Cache-Control"))
			}
			assert.Equal(t, "DENY", res.header.Get("X-Frame-Options"))
			assert.Equal(t, "max-age=63072000; includeSubDomains", res.header.Get("Strict-Transport-Security"))
		})
	}

	res := e.do(http.MethodGet, "/docs/nope.js", nil, nil)
	assert.Equal(t, http.StatusBadRequest, res.status)
	assert.Equal(t, "invalid_request", res.json(t)["code"])
	for _, path := range []string{"/health", "/api/v1/status", "/api/v1/quota", "/api/v1/nope"} {
		assert.Equal(t, strictPolicy, e.do(http.MethodGet, path, nil, nil).header.Get("Content-Security-Policy"), path)
	}
}

// TestServedSpecIsTheContract checks that the JSON and YAML documents are
// one contract, the one the server implements.
func TestServedSpecIsTheContract(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	yamlDoc := e.do(http.MethodGet, "/openapi.yaml", nil, nil)
	require.Equal(t, http.StatusOK, yamlDoc.status)
	want, err := os.ReadFile("../api/openapi.yaml")
	require.NoError(t, err)
	assert.Equal(t, want, yamlDoc.body)

	jsonDoc := e.do(http.MethodGet, "/openapi.json", nil, nil)
	require.Equal(t, http.StatusOK, jsonDoc.status)
	fromJSON, err := openapi3.NewLoader().LoadFromData(jsonDoc.body)
	require.NoError(t, err)
	require.NoError(t, fromJSON.Validate(context.Background()))
	fromYAML, err := openapi3.NewLoader().LoadFromData(yamlDoc.body)
	require.NoError(t, err)
	a, err := fromJSON.MarshalJSON()
	require.NoError(t, err)
	b, err := fromYAML.MarshalJSON()
	require.NoError(t, err)
	assert.JSONEq(t, string(b), string(a))
	assert.Equal(t, "/", fromJSON.Servers[0].URL, "Try it out calls the server being browsed")
}

// TestDocsEdge checks that the documentation is behind the
// same host check and rate limits as the API.
func TestDocsEdge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"ALLOWED_HOSTS": "api.example.com", "RATE_LIMIT_PER_MINUTE": "2"})
	res := e.do(http.MethodGet, "/docs", nil, map[string]string{"Host": "evil.example.com"})
	assert.Equal(t, http.StatusBadRequest, res.status)
	assert.Equal(t, "Invalid host header", res.json(t)["error"])

	host := map[string]string{"Host": "api.example.com"}
	assert.Equal(t, http.StatusOK, e.do(http.MethodGet, "/docs", nil, host).status)
	assert.Equal(t, http.StatusOK, e.do(http.MethodGet, "/openapi.json", nil, host).status)
	res = e.do(http.MethodGet, "/docs/docs.js", nil, host)
	assert.Equal(t, http.StatusTooManyRequests, res.status)
	assert.Equal(t, "rate_limited", res.json(t)["code"])
}
