package fakeupstream_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
)

// post sends a chat request with key and returns the status and raw body.
func post(t *testing.T, srv *fakeupstream.Server, key, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL()+"/chat/completions", strings.NewReader(body))
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

const streamBody = `{"model":"m","messages":[{"role":"user","content":"one two three"}],"stream":true,"stream_options":{"include_usage":true}}`

func TestScriptQueuesPerKey(t *testing.T) {
	t.Parallel()
	srv := fakeupstream.New(t)
	srv.Script("a", fakeupstream.RateLimited(2*time.Second), fakeupstream.Unauthorized(), fakeupstream.Status(503, "x"))
	srv.Default(fakeupstream.Status(418, "teapot"))

	var got []int
	for range 4 {
		status, _, _ := post(t, srv, "a", streamBody)
		got = append(got, status)
	}
	assert.Equal(t, []int{429, 401, 503, 503}, got, "the last behaviour repeats")

	status, _, body := post(t, srv, "b", streamBody)
	assert.Equal(t, 418, status, "unscripted keys get the default")
	assert.Equal(t, "teapot", body)

	status, _, _ = post(t, srv, "", streamBody)
	assert.Equal(t, 401, status, "no key, no answer")

	srv.Script("a")
	status, _, _ = post(t, srv, "a", streamBody)
	assert.Equal(t, 418, status, "an empty script falls back to the default")

	assert.Equal(t, 5, srv.Count("a"))
	assert.Equal(t, 1, srv.Count("b"))
	assert.Len(t, srv.Requests(), 7)
}

func TestWireFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		behaviour fakeupstream.Behaviour
		body      string
		want      string
	}{
		{
			name:      "stream with usage",
			behaviour: fakeupstream.OK("a", "b"),
			body:      streamBody,
			want: `data: {"choices":[{"delta":{"content":"","role":"assistant"},"finish_reason":null,"index":0}],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk"}` + "\n\n" +
				`data: {"choices":[{"delta":{"content":"a"},"finish_reason":null,"index":0}],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk"}` + "\n\n" +
				`data: {"choices":[{"delta":{"content":"b"},"finish_reason":null,"index":0}],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk"}` + "\n\n" +
				`data: {"choices":[{"delta":{},"finish_reason":"stop","index":0}],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk"}` + "\n\n" +
				`data: {"choices":[],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk","usage":{"completion_tokens":2,"prompt_tokens":3,"total_tokens":5}}` + "\n\n" +
				"data: [DONE]\n\n",
		},
		{
			name:      "no usage unless asked for",
			behaviour: fakeupstream.OK("a").WithKeepAlive().WithCRLF(),
			body:      `{"model":"m","messages":[],"stream":true}`,
			want: `data: {"choices":[{"delta":{"content":"","role":"assistant"},"finish_reason":null,"index":0}],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk"}` + "\r\n\r\n" +
				": keep-alive\r\n\r\n" +
				`data: {"choices":[{"delta":{"content":"a"},"finish_reason":null,"index":0}],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk"}` + "\r\n\r\n" +
				`data: {"choices":[{"delta":{},"finish_reason":"stop","index":0}],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk"}` + "\r\n\r\n" +
				"data: [DONE]\r\n\r\n",
		},
		{
			name:      "mid-stream error",
			behaviour: fakeupstream.MidStreamError(0, 429, "slow down"),
			body:      streamBody,
			want: `data: {"choices":[{"delta":{"content":"","role":"assistant"},"finish_reason":null,"index":0}],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk"}` + "\n\n" +
				`data: {"error":{"code":429,"message":"slow down"}}` + "\n\n",
		},
		{
			name:      "not streamed",
			behaviour: fakeupstream.OK("a", "b").WithUsage(10, 20),
			body:      `{"model":"m","messages":[],"stream":false}`,
			want:      `{"choices":[{"finish_reason":"stop","index":0,"message":{"content":"ab","role":"assistant"}}],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion","usage":{"completion_tokens":20,"prompt_tokens":10,"total_tokens":30}}`,
		},
		{
			name:      "tool call streamed, arguments split on a rune boundary",
			behaviour: fakeupstream.ToolCalls(fakeupstream.ToolCall{ID: "call_1", Name: "search", Arguments: `{"q":"東京"}`}),
			body:      streamBody,
			want: `data: {"choices":[{"delta":{"content":null,"role":"assistant"},"finish_reason":null,"index":0}],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk"}` + "\n\n" +
				`data: {"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"","name":"search"},"id":"call_1","index":0,"type":"function"}]},"finish_reason":null,"index":0}],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk"}` + "\n\n" +
				`data: {"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"{\"q\":\""},"index":0}]},"finish_reason":null,"index":0}],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk"}` + "\n\n" +
				`data: {"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"東京\"}"},"index":0}]},"finish_reason":null,"index":0}],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk"}` + "\n\n" +
				`data: {"choices":[{"delta":{},"finish_reason":"tool_calls","index":0}],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk"}` + "\n\n" +
				`data: {"choices":[],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk","usage":{"completion_tokens":1,"prompt_tokens":3,"total_tokens":4}}` + "\n\n" +
				"data: [DONE]\n\n",
		},
		{
			name: "content, then two tool calls, streamed",
			behaviour: fakeupstream.ToolCalls(fakeupstream.ToolCall{ID: "a", Name: "f", Arguments: "{}"}, fakeupstream.ToolCall{ID: "b", Name: "g"}).
				WithTokens("Checking."),
			body: `{"model":"m","messages":[],"stream":true}`,
			want: `data: {"choices":[{"delta":{"content":"","role":"assistant"},"finish_reason":null,"index":0}],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk"}` + "\n\n" +
				`data: {"choices":[{"delta":{"content":"Checking."},"finish_reason":null,"index":0}],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk"}` + "\n\n" +
				`data: {"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"","name":"f"},"id":"a","index":0,"type":"function"}]},"finish_reason":null,"index":0}],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk"}` + "\n\n" +
				`data: {"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"{"},"index":0}]},"finish_reason":null,"index":0}],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk"}` + "\n\n" +
				`data: {"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"}"},"index":0}]},"finish_reason":null,"index":0}],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk"}` + "\n\n" +
				`data: {"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"","name":"g"},"id":"b","index":1,"type":"function"}]},"finish_reason":null,"index":0}],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk"}` + "\n\n" +
				`data: {"choices":[{"delta":{"tool_calls":[{"function":{"arguments":""},"index":1}]},"finish_reason":null,"index":0}],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk"}` + "\n\n" +
				`data: {"choices":[{"delta":{"tool_calls":[{"function":{"arguments":""},"index":1}]},"finish_reason":null,"index":0}],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk"}` + "\n\n" +
				`data: {"choices":[{"delta":{},"finish_reason":"tool_calls","index":0}],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk"}` + "\n\n" +
				"data: [DONE]\n\n",
		},
		{
			name:      "tool calls not streamed",
			behaviour: fakeupstream.ToolCalls(fakeupstream.ToolCall{ID: "call_1", Name: "search", Arguments: `{"q":"x"}`}, fakeupstream.ToolCall{ID: "call_2", Name: "now", Arguments: "{}"}),
			body:      `{"model":"m","messages":[{"role":"user","content":"one two"}],"stream":false}`,
			want: `{"choices":[{"finish_reason":"tool_calls","index":0,"message":{"content":null,"role":"assistant","tool_calls":[` +
				`{"function":{"arguments":"{\"q\":\"x\"}","name":"search"},"id":"call_1","type":"function"},` +
				`{"function":{"arguments":"{}","name":"now"},"id":"call_2","type":"function"}]}}],` +
				`"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion","usage":{"completion_tokens":2,"prompt_tokens":2,"total_tokens":4}}`,
		},
		{
			name:      "Hugging Face loading",
			behaviour: fakeupstream.HFLoading(20500 * time.Millisecond),
			body:      streamBody,
			want:      `{"error":"Model m is currently loading","estimated_time":20.5}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeupstream.New(t)
			srv.Default(tt.behaviour)
			_, _, body := post(t, srv, "k", tt.body)
			assert.Equal(t, tt.want, body)
		})
	}
}

func TestRecordsToolMembers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want fakeupstream.Request
	}{
		{
			name: "plain request",
			body: `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":false}`,
			want: fakeupstream.Request{Model: "m", Messages: []fakeupstream.Message{{Role: "user", Content: "hi"}}},
		},
		{
			name: "tools, tool choice, sampling and a tool round",
			body: `{"model":"m","stream":true,"top_p":0.5,"stop":["END","##"],
				"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object"},"strict":true}},
					{"type":"function","function":{"name":"now"}}],
				"tool_choice":{"type":"function","function":{"name":"get_weather"}},
				"messages":[{"role":"user","content":"weather?"},
					{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
					{"role":"tool","tool_call_id":"call_1","content":"sunny"}]}`,
			want: fakeupstream.Request{
				Model: "m", Stream: true, TopP: ptr(0.5), Stop: []string{"END", "##"},
				Tools: []fakeupstream.Tool{
					{Type: "function", Name: "get_weather", Description: "Weather", Parameters: json.RawMessage(`{"type":"object"}`), Strict: ptr(true)},
					{Type: "function", Name: "now"},
				},
				ToolChoice: json.RawMessage(`{"type":"function","function":{"name":"get_weather"}}`),
				Messages: []fakeupstream.Message{
					{Role: "user", Content: "weather?"},
					{Role: "assistant", ToolCalls: []fakeupstream.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
					{Role: "tool", Content: "sunny", ToolCallID: "call_1"},
				},
			},
		},
		{
			name: "tool choice as a string",
			body: `{"model":"m","messages":[],"tool_choice":"required"}`,
			want: fakeupstream.Request{Model: "m", Messages: []fakeupstream.Message{}, ToolChoice: json.RawMessage(`"required"`)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeupstream.New(t)
			post(t, srv, "k", tt.body)
			got := srv.Requests()[0]
			assert.Equal(t, tt.want.Model, got.Model)
			assert.Equal(t, tt.want.Stream, got.Stream)
			assert.Equal(t, tt.want.TopP, got.TopP)
			assert.Equal(t, tt.want.Stop, got.Stop)
			assert.Equal(t, tt.want.Tools, got.Tools)
			assert.Equal(t, tt.want.ToolChoice, got.ToolChoice)
			assert.Equal(t, tt.want.Messages, got.Messages)
		})
	}
}

func TestPickAnswersToolResultsWithText(t *testing.T) {
	t.Parallel()
	srv := fakeupstream.New(t)
	// A conversation: the model calls a tool, and answers once given the result.
	srv.Default(fakeupstream.Pick(func(r fakeupstream.Request) fakeupstream.Behaviour {
		if last := r.Messages[len(r.Messages)-1]; last.Role == "tool" {
			return fakeupstream.OK("It is ", last.Content, ".")
		}
		return fakeupstream.ToolCalls(fakeupstream.ToolCall{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`})
	}))
	_, _, out := post(t, srv, "k", `{"model":"m","messages":[{"role":"user","content":"weather?"}],"stream":false}`)
	assert.Contains(t, out, `"finish_reason":"tool_calls"`)
	assert.Contains(t, out, `"id":"call_1"`)
	_, _, out = post(t, srv, "k", `{"model":"m","stream":false,"messages":[{"role":"user","content":"weather?"},
		{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},
		{"role":"tool","tool_call_id":"call_1","content":"sunny"}]}`)
	assert.Contains(t, out, `"content":"It is sunny."`)
	assert.Contains(t, out, `"finish_reason":"stop"`)
}

func ptr[T any](v T) *T { return &v }

func TestHeaders(t *testing.T) {
	t.Parallel()
	srv := fakeupstream.New(t)
	srv.Script("k", fakeupstream.GroqReset("2m59.56s", ""), fakeupstream.RateLimited(1500*time.Millisecond), fakeupstream.OK("x"))
	status, h, _ := post(t, srv, "k", streamBody)
	assert.Equal(t, 429, status)
	assert.Equal(t, "2m59.56s", h.Get("X-Ratelimit-Reset-Requests"))
	assert.NotContains(t, h, "X-Ratelimit-Reset-Tokens")
	assert.Empty(t, h.Get("Retry-After"))

	_, h, _ = post(t, srv, "k", streamBody)
	assert.Equal(t, "1.5", h.Get("Retry-After"))

	_, h, _ = post(t, srv, "k", streamBody)
	assert.Equal(t, "text/event-stream", h.Get("Content-Type"))
}

func TestEventsAreFlushedOneByOne(t *testing.T) {
	t.Parallel()
	srv := fakeupstream.New(t)
	srv.Default(fakeupstream.HangAfterTokens(2))
	// If events were buffered, reading would block: the deadline fails the test instead.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL()+"/v1/chat/completions", strings.NewReader(streamBody))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer k")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	// The server stalls after two tokens: they can only be read if each
	// event was flushed as it was written.
	r := bufio.NewReader(resp.Body)
	var data []string
	for len(data) < 3 {
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		if strings.HasPrefix(line, "data: ") {
			data = append(data, line)
		}
	}
	assert.Contains(t, data[2], `"content":"tok2 "`)
	assert.Equal(t, 0, srv.Cancelled())
	require.NoError(t, resp.Body.Close())
	srv.WaitCancelled(t, 1, 5*time.Second)
	assert.True(t, srv.Requests()[0].Cancelled)
}

func TestModels(t *testing.T) {
	t.Parallel()
	srv := fakeupstream.New(t)
	srv.Script("k", fakeupstream.Models("a", "b"))
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL()+"/models", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer k")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.JSONEq(t, `{"object":"list","data":[
		{"id":"a","object":"model","created":0,"owned_by":"fakeupstream"},
		{"id":"b","object":"model","created":0,"owned_by":"fakeupstream"}]}`, string(b))
}
