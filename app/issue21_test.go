package app_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The HTTP points of issue 21: the front page, HEAD, white-space prompts,
// web search failures that say why, and JSON errors in words.

// noRedirects is the env's validating client, answering redirects as they
// come instead of following them.
func (e *env) noRedirects() *http.Client {
	c := *e.http
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// send sends a bodiless request through client with the given headers.
func (e *env) send(client *http.Client, method, path string, header map[string]string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	require.NoError(e.t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := client.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return response{status: res.StatusCode, header: res.Header, body: raw}
}

// TestFrontPage: / is the web app; with WEB_UI_ENABLED=false it sends
// browsers to the documentation, and with the documentation off too it
// does not exist.
func TestFrontPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	res := e.send(e.noRedirects(), http.MethodGet, "/", map[string]string{"Accept-Encoding": "identity"})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	assert.Equal(t, "text/html; charset=utf-8", res.header.Get("Content-Type"))
	assert.Equal(t, "no-cache", res.header.Get("Cache-Control"))
	assert.Contains(t, res.header.Get("Content-Security-Policy"), "default-src 'self'")
	assert.Equal(t, "nosniff", res.header.Get("X-Content-Type-Options"))
	assert.Contains(t, string(res.body), `<div id="app">`)
	page := e.send(e.noRedirects(), http.MethodGet, "/chat", map[string]string{"Accept-Encoding": "identity"})
	assert.Equal(t, res.body, page.body, "the app routes in the browser: its paths get the page")

	noApp := newEnv(t, map[string]string{"WEB_UI_ENABLED": "false"})
	res = noApp.send(noApp.noRedirects(), http.MethodGet, "/", nil)
	require.Equal(t, http.StatusFound, res.status, "temporary: the web app may come back; body: %s", res.body)
	assert.Equal(t, "/docs", res.header.Get("Location"))
	followed := noApp.do(http.MethodGet, "/", nil, nil)
	assert.Equal(t, http.StatusOK, followed.status)
	assert.Contains(t, string(followed.body), "<html")
	assertErrorAnswer(t, noApp.do(http.MethodGet, "/chat", nil, nil), http.StatusNotFound, "not_found", "")

	off := newEnv(t, map[string]string{"DOCS_ENABLED": "false", "WEB_UI_ENABLED": "false"})
	res = off.send(off.noRedirects(), http.MethodGet, "/", nil)
	assertErrorAnswer(t, res, http.StatusNotFound, "not_found", "")
}

// TestHead: the routes probes ask answer HEAD as they answer GET, status
// and headers (security headers, Content-Length, compression) included,
// without the body; routes with effects keep refusing it.
func TestHead(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"ENV": "production"})
	client := e.noRedirects()
	// The spec check cannot read compressed bodies: gzip goes around it.
	plain := &http.Client{CheckRedirect: client.CheckRedirect}
	// Headers that differ between any two answers.
	perAnswer := []string{"Date", "X-Request-Id", "Ratelimit-Remaining", "Ratelimit-Reset"}
	for _, path := range []string{"/", "/health", "/ready", "/docs", "/docs/", "/docs/docs.js", "/openapi.yaml", "/openapi.json"} {
		for _, encoding := range []string{"identity", "gzip"} {
			t.Run(path+" "+encoding, func(t *testing.T) {
				hdr := map[string]string{"Accept-Encoding": encoding}
				c := client
				if encoding == "gzip" {
					c = plain
				}
				get := e.send(c, http.MethodGet, path, hdr)
				head := e.send(c, http.MethodHead, path, hdr)
				require.Less(t, get.status, 400, "GET %s: %s", path, get.body)
				assert.Equal(t, get.status, head.status)
				assert.Empty(t, head.body)
				for _, h := range perAnswer {
					get.header.Del(h)
					head.header.Del(h)
				}
				assert.Equal(t, get.header, head.header)
				assert.Equal(t, "max-age=63072000; includeSubDomains", head.header.Get("Strict-Transport-Security"))
			})
		}
	}

	// A search costs quota, a verification link is spent: GET only.
	for _, path := range []string{"/api/v1/web-search?q=x", "/api/v1/auth/verify?token=x"} {
		res := e.send(client, http.MethodHead, path, nil)
		assert.Equal(t, http.StatusMethodNotAllowed, res.status, path)
		assert.Empty(t, res.body)
	}
}

// TestBlankPrompt: a prompt or a message of white space is refused as an
// empty one is, on both APIs: 400, no quota used, no provider asked.
func TestBlankPrompt(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, nil)
	for _, text := range []string{"", "   ", " \t\r\n\u00a0\u3000"} {
		res := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": text, "stream": false}, bearer(c.token))
		assertErrorAnswer(t, res, http.StatusBadRequest, "invalid_request", "prompt: is required")

		res = c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "hi", "stream": false,
			"messages": []any{map[string]any{"role": "user", "content": text}}}, bearer(c.token))
		assertErrorAnswer(t, res, http.StatusBadRequest, "invalid_request", "")
		assert.Contains(t, res.json(t)["error"], "messages[0].content: ", "%q", text)

		for _, content := range []any{text, []any{map[string]any{"type": "text", "text": text}}} {
			res = c.do(http.MethodPost, "/v1/chat/completions", map[string]any{"model": "fast",
				"messages": []any{map[string]any{"role": "user", "content": content}}}, bearer(c.token))
			require.Equal(t, http.StatusBadRequest, res.status, "%s", res.body)
			e := res.json(t)["error"].(map[string]any)
			assert.Equal(t, "invalid_request", e["code"])
			assert.Equal(t, "messages[0].content", e["param"])
		}
	}
	assert.Zero(t, c.quotaUsed(c.token), "no refused prompt costs quota")
	assert.Empty(t, c.up.groq.Requests(), "no refused prompt reaches a provider")

	// Text with white space around it is a prompt, sent as written.
	res := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "  hi  ", "stream": false}, bearer(c.token))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	sent := c.up.groq.Requests()
	require.Len(t, sent, 1)
	assert.Equal(t, "  hi  ", sent[0].Messages[len(sent[0].Messages)-1].Content)
}

// TestJSONErrorsInWords: a body that does not decode says what is wrong
// in words, on both APIs: the member, with its array indexes, and the type
// it must have (OpenAI's param names the member), or where the syntax
// breaks. Nothing is charged, nothing reaches a provider.
func TestJSONErrorsInWords(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, nil)
	native := []struct{ body, message string }{
		{`{"prompt":1}`, "prompt: must be a string"},
		{`{"prompt":"hi","messages":[{"role":"user","content":"a"},{"role":"assistant","content":false}]}`, "messages[1].content: must be a string"},
		{`{"prompt":"hi","max_tokens":2.5}`, "max_tokens: must be a whole number"},
		{`{"prompt":"hi",}`, "Invalid JSON at line 1, column 16: invalid character '}' looking for beginning of object key string"},
		{"{\n  \"prompt\": \"hi\"\n  \"stream\": false\n}", "Invalid JSON at line 3, column 3: invalid character '\"' after object key:value pair"},
	}
	for _, tt := range native {
		res := c.do(http.MethodPost, "/api/v1/chat", tt.body, bearer(c.token))
		assertErrorAnswer(t, res, http.StatusBadRequest, "invalid_request", tt.message)
	}

	openAI := []struct{ body, message, param string }{
		{`{"model":"fast","messages":[{"role":"user","content":"a"},{"role":7,"content":"b"}]}`, "messages[1].role: must be a string", "messages[1].role"},
		{`{"model":"fast","messages":[{"role":"user","content":"a"}],"temperature":"warm"}`, "temperature: must be a number", "temperature"},
		{`{"model":"fast","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":{}}}]}]}`,
			"messages[0].tool_calls[0].function.arguments: must be a string", "messages[0].tool_calls[0].function.arguments"},
		{`{"model":"fast" "messages":[]}`, "Invalid JSON at line 1, column 17: invalid character '\"' after object key:value pair", ""},
	}
	for _, tt := range openAI {
		res := c.do(http.MethodPost, "/v1/chat/completions", tt.body, bearer(c.token))
		require.Equal(t, http.StatusBadRequest, res.status, "%s", res.body)
		e := res.json(t)["error"].(map[string]any)
		assert.Equal(t, "invalid_request_error", e["type"])
		assert.Equal(t, tt.message, e["message"])
		if tt.param == "" {
			assert.Nil(t, e["param"])
		} else {
			assert.Equal(t, tt.param, e["param"])
		}
	}
	assert.Zero(t, c.quotaUsed(c.token))
	assert.Empty(t, c.up.groq.Requests())
}
