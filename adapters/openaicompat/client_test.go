package openaicompat_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat"
	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
	"github.com/genzai/genzai/domain"
)

const (
	keyA = "sk-key-a-0123456789"
	keyB = "sk-key-b-9876543210"
	// wait bounds every wait for an event; tests never sleep to synchronise.
	wait = 5 * time.Second
)

func newClient(srv *fakeupstream.Server, mutate ...func(*openaicompat.Config)) *openaicompat.Client {
	cfg := openaicompat.Config{Provider: "test", BaseURL: srv.URL() + "/v1", Keys: []string{keyA, keyB}, HTTPClient: srv.Client()}
	for _, m := range mutate {
		m(&cfg)
	}
	return openaicompat.New(cfg)
}

func request() domain.CompletionRequest {
	return domain.CompletionRequest{
		Model: "llama-test",
		Messages: []domain.Message{
			{Role: domain.RoleSystem, Content: "be brief"},
			{Role: domain.RoleUser, Content: "say hello world"},
		},
	}
}

// collect reads a stream to its end.
func collect(t *testing.T, s interface {
	Recv() (domain.ChatDelta, error)
}) ([]domain.ChatDelta, error) {
	t.Helper()
	var out []domain.ChatDelta
	for range 10000 {
		d, err := s.Recv()
		if err != nil {
			return out, err
		}
		out = append(out, d)
	}
	t.Fatal("stream never ended")
	return nil, nil
}

func providerError(t *testing.T, err error) *domain.ProviderError {
	t.Helper()
	var pe *domain.ProviderError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, domain.Provider("test"), pe.Provider)
	return pe
}

func ptr[T any](v T) *T { return &v }

func TestStreamChatAnswer(t *testing.T) {
	t.Parallel()
	tokens := []string{"Hello", ",", " world", "!"}
	tests := []struct {
		name      string
		behaviour fakeupstream.Behaviour
	}{
		{"plain", fakeupstream.OK(tokens...)},
		{"keep-alive comments", fakeupstream.OK(tokens...).WithKeepAlive()},
		{"CRLF", fakeupstream.OK(tokens...).WithCRLF().WithKeepAlive()},
		{"slow tokens", fakeupstream.OK(tokens...).WithInterval(5 * time.Millisecond)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeupstream.New(t)
			srv.Script(keyA, tt.behaviour)
			s, err := newClient(srv).StreamChat(t.Context(), 0, request())
			require.NoError(t, err)
			defer s.Close()
			got, err := collect(t, s)
			require.ErrorIs(t, err, io.EOF)
			want := []domain.ChatDelta{{Content: "Hello"}, {Content: ","}, {Content: " world"}, {Content: "!"},
				{FinishReason: "stop", Usage: &domain.Usage{PromptTokens: 5, CompletionTokens: 4}}}
			assert.Equal(t, want, got)
			assert.Equal(t, 0, srv.Cancelled())
		})
	}
}

func TestStreamChatRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		key         int
		wantKey     string
		temperature *float64
		maxTokens   *int
	}{
		{name: "key 0, no options", key: 0, wantKey: keyA},
		{name: "key 1, temperature", key: 1, wantKey: keyB, temperature: ptr(0.0)},
		{name: "max tokens", key: 0, wantKey: keyA, maxTokens: ptr(64)},
		{name: "both", key: 1, wantKey: keyB, temperature: ptr(0.7), maxTokens: ptr(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeupstream.New(t)
			c := newClient(srv, func(cfg *openaicompat.Config) {
				cfg.Headers = map[string]string{"X-Extra": "yes", "Authorization": "Bearer overridden"}
			})
			req := request()
			req.Temperature, req.MaxTokens = tt.temperature, tt.maxTokens
			s, err := c.StreamChat(t.Context(), tt.key, req)
			require.NoError(t, err)
			_, err = collect(t, s)
			require.ErrorIs(t, err, io.EOF)
			require.NoError(t, s.Close())

			reqs := srv.Requests()
			require.Len(t, reqs, 1)
			r := reqs[0]
			assert.Equal(t, http.MethodPost, r.Method)
			assert.Equal(t, "/v1/chat/completions", r.Path)
			assert.Equal(t, tt.wantKey, r.Key)
			assert.Equal(t, "Bearer "+tt.wantKey, r.Header.Get("Authorization"))
			assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
			assert.Equal(t, "text/event-stream", r.Header.Get("Accept"))
			assert.Equal(t, "yes", r.Header.Get("X-Extra"))
			assert.Equal(t, "llama-test", r.Model)
			assert.Equal(t, []fakeupstream.Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "say hello world"}}, r.Messages)
			assert.True(t, r.Stream)
			assert.True(t, r.IncludeUsage)
			assert.JSONEq(t, `{"include_usage":true}`, string(r.Fields["stream_options"]))
			assert.Equal(t, tt.temperature, r.Temperature)
			assert.Equal(t, tt.maxTokens, r.MaxTokens)
			_, hasTemp := r.Fields["temperature"]
			_, hasMax := r.Fields["max_tokens"]
			assert.Equal(t, tt.temperature != nil, hasTemp, "temperature sent only when set")
			assert.Equal(t, tt.maxTokens != nil, hasMax, "max_tokens sent only when set")
			assert.Equal(t, 1, srv.Count(tt.wantKey))
		})
	}
}

func TestChatRequestBody(t *testing.T) {
	t.Parallel()
	const plainMessages = `"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"say hello world"}]`
	withTools := func(req *domain.CompletionRequest) {
		req.TopP = ptr(0.9)
		req.Stop = []string{"END"}
		req.Tools = []domain.Tool{
			{Name: "get_weather", Description: "Current weather", Parameters: json.RawMessage(`{"type": "object", "properties": {"city": {"type": "string"}}}`), Strict: ptr(true)},
			{Name: "now"},
		}
		req.Messages = append(req.Messages,
			domain.Message{Role: domain.RoleAssistant, ToolCalls: []domain.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}, {ID: "call_2", Name: "now", Arguments: "{}"}}},
			domain.Message{Role: domain.RoleTool, ToolCallID: "call_1", Content: "sunny"},
			domain.Message{Role: domain.RoleTool, ToolCallID: "call_2", Content: ""},
			domain.Message{Role: domain.RoleAssistant, Content: "Let me check.", ToolCalls: []domain.ToolCall{{ID: "call_3", Name: "now", Arguments: "{}"}}},
		)
	}
	const toolMessages = `"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"say hello world"},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},` +
		`{"id":"call_2","type":"function","function":{"name":"now","arguments":"{}"}}]},` +
		`{"role":"tool","content":"sunny","tool_call_id":"call_1"},` +
		`{"role":"tool","content":"","tool_call_id":"call_2"},` +
		`{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"call_3","type":"function","function":{"name":"now","arguments":"{}"}}]}]`
	const toolOptions = `"top_p":0.9,"stop":["END"],"tools":[` +
		`{"type":"function","function":{"name":"get_weather","description":"Current weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true}},` +
		`{"type":"function","function":{"name":"now"}}]`
	tests := []struct {
		name   string
		stream bool
		mutate func(*domain.CompletionRequest)
		want   string
	}{
		{
			name: "plain, streamed", stream: true, mutate: func(*domain.CompletionRequest) {},
			want: `{"model":"llama-test",` + plainMessages + `,"stream":true,"stream_options":{"include_usage":true}}`,
		},
		{
			name: "plain, not streamed", mutate: func(*domain.CompletionRequest) {},
			want: `{"model":"llama-test",` + plainMessages + `,"stream":false}`,
		},
		{
			name: "temperature and max tokens", mutate: func(r *domain.CompletionRequest) { r.Temperature, r.MaxTokens = ptr(0.0), ptr(64) },
			want: `{"model":"llama-test",` + plainMessages + `,"stream":false,"temperature":0,"max_tokens":64}`,
		},
		{
			name: "empty stop and tools are left out", mutate: func(r *domain.CompletionRequest) { r.Stop, r.Tools = []string{}, []domain.Tool{} },
			want: `{"model":"llama-test",` + plainMessages + `,"stream":false}`,
		},
		{
			name: "tools and a tool round, streamed", stream: true, mutate: withTools,
			want: `{"model":"llama-test",` + toolMessages + `,"stream":true,"stream_options":{"include_usage":true},` + toolOptions + `}`,
		},
		{
			name: "tool choice none", mutate: func(r *domain.CompletionRequest) { r.ToolChoice = &domain.ToolChoice{Mode: domain.ToolChoiceNone} },
			want: `{"model":"llama-test",` + plainMessages + `,"stream":false,"tool_choice":"none"}`,
		},
		{
			name: "tool choice required", mutate: func(r *domain.CompletionRequest) { r.ToolChoice = &domain.ToolChoice{Mode: domain.ToolChoiceRequired} },
			want: `{"model":"llama-test",` + plainMessages + `,"stream":false,"tool_choice":"required"}`,
		},
		{
			name: "tool choice auto", mutate: func(r *domain.CompletionRequest) { r.ToolChoice = &domain.ToolChoice{Mode: domain.ToolChoiceAuto} },
			want: `{"model":"llama-test",` + plainMessages + `,"stream":false,"tool_choice":"auto"}`,
		},
		{
			name: "tool choice of a function",
			mutate: func(r *domain.CompletionRequest) {
				r.ToolChoice = &domain.ToolChoice{Mode: domain.ToolChoiceFunction, Function: "get_weather"}
			},
			want: `{"model":"llama-test",` + plainMessages + `,"stream":false,"tool_choice":{"type":"function","function":{"name":"get_weather"}}}`,
		},
		{
			name: "penalties, seed and JSON mode",
			mutate: func(r *domain.CompletionRequest) {
				r.PresencePenalty, r.FrequencyPenalty, r.Seed = ptr(0.5), ptr(-1.0), ptr(int64(42))
				r.ResponseFormat = &domain.ResponseFormat{Type: domain.ResponseFormatJSONObject}
			},
			want: `{"model":"llama-test",` + plainMessages + `,"stream":false,"presence_penalty":0.5,"frequency_penalty":-1,"seed":42,"response_format":{"type":"json_object"}}`,
		},
		{
			name: "a JSON schema",
			mutate: func(r *domain.CompletionRequest) {
				r.ResponseFormat = &domain.ResponseFormat{Type: domain.ResponseFormatJSONSchema, JSONSchema: json.RawMessage(`{"name":"city","schema":{"type":"object"},"strict":true}`)}
			},
			want: `{"model":"llama-test",` + plainMessages + `,"stream":false,"response_format":{"type":"json_schema","json_schema":{"name":"city","schema":{"type":"object"},"strict":true}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeupstream.New(t)
			c := newClient(srv)
			req := request()
			tt.mutate(&req)
			if tt.stream {
				s, err := c.StreamChat(t.Context(), 0, req)
				require.NoError(t, err)
				require.NoError(t, s.Close())
			} else {
				_, err := c.Complete(t.Context(), 0, req)
				require.NoError(t, err)
			}
			assert.Equal(t, tt.want, string(srv.Requests()[0].Body))
		})
	}
}

func TestChatRequestWithInvalidParameters(t *testing.T) {
	t.Parallel()
	srv := fakeupstream.New(t)
	req := request()
	req.Tools = []domain.Tool{{Name: "f", Parameters: json.RawMessage(`{"type":`)}}
	_, err := newClient(srv).StreamChat(t.Context(), 0, req)
	pe := providerError(t, err)
	assert.Equal(t, domain.FailureCaller, pe.Class)
	assert.Empty(t, srv.Requests(), "nothing is sent")
}

func TestToolCalls(t *testing.T) {
	t.Parallel()
	weather := fakeupstream.ToolCall{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Zürich"}`}
	now := fakeupstream.ToolCall{ID: "call_2", Name: "now", Arguments: "{}"}
	tests := []struct {
		name       string
		behaviour  fakeupstream.Behaviour
		wantStream []domain.ChatDelta
		wantWhole  domain.ChatDelta
	}{
		{
			name:      "one call",
			behaviour: fakeupstream.ToolCalls(weather).WithUsage(10, 5),
			wantStream: []domain.ChatDelta{
				{ToolCalls: []domain.ToolCallDelta{{Index: 0, ID: "call_1", Name: "get_weather"}}},
				{ToolCalls: []domain.ToolCallDelta{{Index: 0, Arguments: `{"city":"`}}},
				{ToolCalls: []domain.ToolCallDelta{{Index: 0, Arguments: `Zürich"}`}}},
				{FinishReason: "tool_calls", Usage: &domain.Usage{PromptTokens: 10, CompletionTokens: 5}},
			},
			wantWhole: domain.ChatDelta{
				ToolCalls:    []domain.ToolCallDelta{{Index: 0, ID: "call_1", Name: "get_weather", Arguments: `{"city":"Zürich"}`}},
				FinishReason: "tool_calls", Usage: &domain.Usage{PromptTokens: 10, CompletionTokens: 5},
			},
		},
		{
			name:      "content and two calls",
			behaviour: fakeupstream.ToolCalls(weather, now).WithTokens("Checking.").WithoutUsage(),
			wantStream: []domain.ChatDelta{
				{Content: "Checking."},
				{ToolCalls: []domain.ToolCallDelta{{Index: 0, ID: "call_1", Name: "get_weather"}}},
				{ToolCalls: []domain.ToolCallDelta{{Index: 0, Arguments: `{"city":"`}}},
				{ToolCalls: []domain.ToolCallDelta{{Index: 0, Arguments: `Zürich"}`}}},
				{ToolCalls: []domain.ToolCallDelta{{Index: 1, ID: "call_2", Name: "now"}}},
				{ToolCalls: []domain.ToolCallDelta{{Index: 1, Arguments: "{"}}},
				{ToolCalls: []domain.ToolCallDelta{{Index: 1, Arguments: "}"}}},
				{FinishReason: "tool_calls"},
			},
			wantWhole: domain.ChatDelta{
				Content: "Checking.",
				ToolCalls: []domain.ToolCallDelta{
					{Index: 0, ID: "call_1", Name: "get_weather", Arguments: `{"city":"Zürich"}`},
					{Index: 1, ID: "call_2", Name: "now", Arguments: "{}"},
				},
				FinishReason: "tool_calls",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeupstream.New(t)
			srv.Default(tt.behaviour)
			c := newClient(srv)
			s, err := c.StreamChat(t.Context(), 0, request())
			require.NoError(t, err)
			defer s.Close()
			got, err := collect(t, s)
			require.ErrorIs(t, err, io.EOF)
			assert.Equal(t, tt.wantStream, got)

			whole, err := c.Complete(t.Context(), 0, request())
			require.NoError(t, err)
			assert.Equal(t, tt.wantWhole, whole)
		})
	}
}

func TestToolCallRoundTrip(t *testing.T) {
	t.Parallel()
	srv := fakeupstream.New(t)
	// The model calls a tool, then answers once it has the result.
	srv.Default(fakeupstream.Pick(func(r fakeupstream.Request) fakeupstream.Behaviour {
		if last := r.Messages[len(r.Messages)-1]; last.Role == domain.RoleTool {
			return fakeupstream.OK("It is ", last.Content, ".")
		}
		return fakeupstream.ToolCalls(fakeupstream.ToolCall{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`})
	}))
	c := newClient(srv)
	req := request()
	req.Tools = []domain.Tool{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object"}`)}}
	first, err := c.Complete(t.Context(), 0, req)
	require.NoError(t, err)
	require.Len(t, first.ToolCalls, 1)
	tc := first.ToolCalls[0]

	req.Messages = append(req.Messages,
		domain.Message{Role: domain.RoleAssistant, ToolCalls: []domain.ToolCall{{ID: tc.ID, Name: tc.Name, Arguments: tc.Arguments}}},
		domain.Message{Role: domain.RoleTool, ToolCallID: tc.ID, Content: "sunny"})
	s, err := c.StreamChat(t.Context(), 0, req)
	require.NoError(t, err)
	defer s.Close()
	got, err := collect(t, s)
	require.ErrorIs(t, err, io.EOF)
	require.NotEmpty(t, got)
	var text strings.Builder
	for _, d := range got {
		text.WriteString(d.Content)
	}
	assert.Equal(t, "It is sunny.", text.String())

	r := srv.Requests()[1]
	assert.Equal(t, []fakeupstream.Message{
		{Role: "system", Content: "be brief"},
		{Role: "user", Content: "say hello world"},
		{Role: "assistant", ToolCalls: []fakeupstream.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
		{Role: "tool", Content: "sunny", ToolCallID: "call_1"},
	}, r.Messages)
	assert.Equal(t, []fakeupstream.Tool{{Type: "function", Name: "get_weather", Parameters: json.RawMessage(`{"type":"object"}`)}}, r.Tools)
}

func TestErrorClassification(t *testing.T) {
	t.Parallel()
	httpDate := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	tests := []struct {
		name       string
		behaviour  fakeupstream.Behaviour
		wantClass  domain.FailureClass
		wantReason string
		wantStatus int
		wantMsg    string
		// RetryAfter must lie in [minRetry, maxRetry].
		minRetry, maxRetry time.Duration
	}{
		{
			name: "429 with Retry-After seconds", behaviour: fakeupstream.RateLimited(7 * time.Second),
			wantClass: domain.FailureRateLimited, wantReason: "rate_limited", wantStatus: 429,
			wantMsg: "Rate limit reached for model, please try again later", minRetry: 7 * time.Second, maxRetry: 7 * time.Second,
		},
		{
			name: "429 with fractional Retry-After", behaviour: fakeupstream.RateLimited(1500 * time.Millisecond),
			wantClass: domain.FailureRateLimited, wantReason: "rate_limited", wantStatus: 429,
			minRetry: 1500 * time.Millisecond, maxRetry: 1500 * time.Millisecond,
		},
		{
			name: "429 with an HTTP-date Retry-After", behaviour: fakeupstream.RateLimited(0).WithHeader("Retry-After", httpDate),
			wantClass: domain.FailureRateLimited, wantReason: "rate_limited", wantStatus: 429,
			minRetry: 58 * time.Minute, maxRetry: time.Hour,
		},
		{
			name: "429 with a huge Retry-After is capped", behaviour: fakeupstream.RateLimited(0).WithHeader("Retry-After", "99999999999"),
			wantClass: domain.FailureRateLimited, wantReason: "rate_limited", wantStatus: 429,
			minRetry: openaicompat.MaxRetryAfter, maxRetry: openaicompat.MaxRetryAfter,
		},
		{
			name: "429 with a garbage Retry-After", behaviour: fakeupstream.RateLimited(0).WithHeader("Retry-After", "-5"),
			wantClass: domain.FailureRateLimited, wantReason: "rate_limited", wantStatus: 429,
		},
		{
			name: "429 without Retry-After", behaviour: fakeupstream.RateLimited(0),
			wantClass: domain.FailureRateLimited, wantReason: "rate_limited", wantStatus: 429,
		},
		{
			name: "401", behaviour: fakeupstream.Unauthorized(),
			wantClass: domain.FailureKeyRejected, wantReason: "key_rejected", wantStatus: 401, wantMsg: "Invalid API Key",
		},
		{
			name: "403", behaviour: fakeupstream.Status(403, `{"error":{"message":"Forbidden for this org"}}`),
			wantClass: domain.FailureKeyRejected, wantReason: "key_rejected", wantStatus: 403, wantMsg: "Forbidden for this org",
		},
		{
			name: "402 out of credits", behaviour: fakeupstream.Status(402, `{"error":{"message":"Insufficient credits","code":402}}`),
			wantClass: domain.FailureKeyRejected, wantReason: "key_rejected", wantStatus: 402, wantMsg: "Insufficient credits",
		},
		{
			name:      "400 with an error object",
			behaviour: fakeupstream.Status(400, `{"error":{"message":"This model's maximum context length is 8192 tokens","type":"invalid_request_error","code":"context_length_exceeded"}}`),
			wantClass: domain.FailureCaller, wantReason: "caller_error", wantStatus: 400, wantMsg: "This model's maximum context length is 8192 tokens",
		},
		{
			name: "400 with an error string", behaviour: fakeupstream.Status(400, `{"error":"Input validation error: inputs must be non-empty"}`),
			wantClass: domain.FailureCaller, wantReason: "caller_error", wantStatus: 400, wantMsg: "Input validation error: inputs must be non-empty",
		},
		{
			name: "404 with a text body", behaviour: fakeupstream.Status(404, "  model   not\nfound  "),
			wantClass: domain.FailureCaller, wantReason: "caller_error", wantStatus: 404, wantMsg: "model not found",
		},
		{
			name: "409", behaviour: fakeupstream.Status(409, `{"error":{"message":"conflict"}}`),
			wantClass: domain.FailureCaller, wantReason: "caller_error", wantStatus: 409, wantMsg: "conflict",
		},
		{
			name: "413", behaviour: fakeupstream.Status(413, `{"error":{"message":"Request Entity Too Large"}}`),
			wantClass: domain.FailureCaller, wantReason: "caller_error", wantStatus: 413, wantMsg: "Request Entity Too Large",
		},
		{
			name: "422 with a message field", behaviour: fakeupstream.Status(422, `{"message":"messages: field required"}`),
			wantClass: domain.FailureCaller, wantReason: "caller_error", wantStatus: 422, wantMsg: "messages: field required",
		},
		{
			name: "408", behaviour: fakeupstream.Status(408, ""),
			wantClass: domain.FailureRetryable, wantReason: "server_error", wantStatus: 408,
		},
		{
			name: "500", behaviour: fakeupstream.Status(500, `{"error":{"message":"Internal server error"}}`),
			wantClass: domain.FailureRetryable, wantReason: "server_error", wantStatus: 500, wantMsg: "Internal server error",
		},
		{
			name: "502 with an HTML page", behaviour: fakeupstream.Status(502, "<html><body>Bad Gateway</body></html>"),
			wantClass: domain.FailureRetryable, wantReason: "server_error", wantStatus: 502, wantMsg: "<html><body>Bad Gateway</body></html>",
		},
		{
			name: "503", behaviour: fakeupstream.Status(503, `{"error":{"message":"Service Unavailable"}}`),
			wantClass: domain.FailureRetryable, wantReason: "server_error", wantStatus: 503, wantMsg: "Service Unavailable",
		},
		{
			name: "a loading model without the Hugging Face hook is a server error", behaviour: fakeupstream.HFLoading(20 * time.Second),
			wantClass: domain.FailureRetryable, wantReason: "server_error", wantStatus: 503, wantMsg: "Model llama-test is currently loading",
		},
		{
			name: "405 is not understood", behaviour: fakeupstream.Status(405, ""),
			wantClass: domain.FailureRetryable, wantReason: "bad_response", wantStatus: 405,
		},
		{
			name: "200 with a JSON error instead of a stream", behaviour: fakeupstream.Status(200, `{"error":{"message":"Rate limit exceeded","code":429}}`),
			wantClass: domain.FailureRateLimited, wantReason: "rate_limited", wantStatus: 429, wantMsg: "Rate limit exceeded",
		},
		{
			name: "200 with JSON that is not an error", behaviour: fakeupstream.Status(200, `{"choices":[]}`),
			wantClass: domain.FailureRetryable, wantReason: "bad_response", wantStatus: 200,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeupstream.New(t)
			srv.Script(keyA, tt.behaviour)
			c := newClient(srv)
			for _, call := range []struct {
				name string
				do   func() error
			}{
				{"stream", func() error { _, err := c.StreamChat(t.Context(), 0, request()); return err }},
				{"complete", func() error { _, err := c.Complete(t.Context(), 0, request()); return err }},
				{"whole", func() error { return wholeError(t, c) }},
			} {
				err := call.do()
				if tt.wantStatus == 200 && call.name == "complete" && tt.wantReason == "bad_response" {
					continue // {"choices":[]} is a (bad) completion: covered in TestComplete
				}
				pe := providerError(t, err)
				assert.Equal(t, tt.wantClass, pe.Class, call.name)
				assert.Equal(t, tt.wantReason, string(pe.Reason), call.name)
				assert.Equal(t, tt.wantStatus, pe.Status, call.name)
				if tt.wantMsg != "" {
					assert.Equal(t, tt.wantMsg, pe.Message, call.name)
				}
				assert.GreaterOrEqual(t, pe.RetryAfter, tt.minRetry, call.name)
				assert.LessOrEqual(t, pe.RetryAfter, tt.maxRetry, call.name)
			}
		})
	}
}

func TestLongErrorBodyIsBounded(t *testing.T) {
	t.Parallel()
	srv := fakeupstream.New(t)
	srv.Script(keyA, fakeupstream.Status(500, "x"+strings.Repeat("é", 200<<10)))
	_, err := newClient(srv).StreamChat(t.Context(), 0, request())
	pe := providerError(t, err)
	assert.Equal(t, "server_error", string(pe.Reason))
	assert.LessOrEqual(t, len(pe.Message), 310)
	assert.True(t, strings.HasSuffix(pe.Message, "é…"), "cut on a rune boundary")
}

func TestKeysNeverLeak(t *testing.T) {
	t.Parallel()
	// An upstream that echoes the Authorization header in its errors.
	echo := func(status int) fakeupstream.Behaviour {
		return fakeupstream.Handler(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			b, _ := json.Marshal(map[string]any{"error": map[string]any{
				"message": "Invalid API key provided: " + r.Header.Get("Authorization") + " (also tried " + keyB + ")",
			}})
			_, _ = w.Write(b)
		})
	}
	tests := []struct {
		name      string
		behaviour fakeupstream.Behaviour
	}{
		{"401 echo", echo(401)},
		{"400 echo", echo(400)},
		{"500 text echo", fakeupstream.Handler(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			_, _ = io.WriteString(w, "oops "+r.Header.Get("Authorization"))
		})},
		{"mid-stream echo", fakeupstream.MidStreamError(1, 401, "bad key "+keyA)},
		// The message is cut at 300 bytes in the middle of the key.
		{"key cut by the length bound", fakeupstream.Status(400, `{"error":{"message":"`+strings.Repeat("x", 300-len("bad key ")-len(keyA)/2)+" bad key "+keyA+`"}}`)},
		// A redirect to a URL carrying the key, where nothing listens: the
		// transport error the client wraps quotes that URL, key and all.
		{"redirect to a URL with the key", fakeupstream.Handler(func(w http.ResponseWriter, r *http.Request) {
			key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			http.Redirect(w, r, "http://127.0.0.1:1/v1/chat/completions?api_key="+key+"&also="+keyB, http.StatusTemporaryRedirect)
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeupstream.New(t)
			srv.Script(keyA, tt.behaviour)
			s, err := newClient(srv).StreamChat(t.Context(), 0, request())
			if err == nil {
				defer s.Close()
				_, err = collect(t, s)
			}
			pe := providerError(t, err)
			// Every text the error can show: its message, its Error, and
			// each error it wraps, down the chain.
			texts := []string{pe.Message, pe.Error(), fmt.Sprintf("%+v", err)}
			for e := pe.Err; e != nil; e = errors.Unwrap(e) {
				texts = append(texts, e.Error())
			}
			assert.Contains(t, strings.Join(texts, "\n"), "[redacted]")
			for _, k := range []string{keyA, keyB} {
				for _, text := range texts {
					assert.NotContains(t, text, k)
				}
				assert.NotContains(t, pe.Message, k[:len(k)/2-2], "not even the part of a key before a cut")
			}
		})
	}
}

func TestKeyIndexOutOfRange(t *testing.T) {
	t.Parallel()
	srv := fakeupstream.New(t)
	c := newClient(srv)
	for _, key := range []int{-1, 2} {
		_, err := c.StreamChat(t.Context(), key, request())
		pe := providerError(t, err)
		assert.Equal(t, domain.FailureKeyRejected, pe.Class)
		assert.Equal(t, "key_rejected", string(pe.Reason))
		_, err = c.Complete(t.Context(), key, request())
		assert.Equal(t, "key_rejected", string(providerError(t, err).Reason))
		_, err = c.ListModels(t.Context(), key)
		assert.Equal(t, "key_rejected", string(providerError(t, err).Reason))
	}
	assert.Empty(t, srv.Requests(), "nothing is sent")
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	srv := fakeupstream.New(t)
	c := newClient(srv)
	srv.Close()
	_, err := c.StreamChat(t.Context(), 0, request())
	pe := providerError(t, err)
	assert.Equal(t, domain.FailureRetryable, pe.Class)
	assert.Equal(t, "connection_error", string(pe.Reason))
	assert.Equal(t, 0, pe.Status)
	assert.Error(t, pe.Err)
}

func TestStreamFailures(t *testing.T) {
	t.Parallel()
	tokens := []domain.ChatDelta{{Content: "tok1 "}, {Content: "tok2 "}}
	tests := []struct {
		name      string
		behaviour fakeupstream.Behaviour
		timeout   time.Duration // 0: no deadline
		// cancelAfter cancels the context after this many deltas (-1: never).
		cancelAfter   int
		wantStartErr  string // reason when StreamChat itself fails
		wantDeltas    []domain.ChatDelta
		wantReason    string
		wantClass     domain.FailureClass
		wantIs        error
		wantCancelled bool
	}{
		{
			name: "hang before answering, deadline", behaviour: fakeupstream.Hang(), timeout: 250 * time.Millisecond, cancelAfter: -1,
			wantStartErr: "timeout", wantClass: domain.FailureRetryable, wantIs: context.DeadlineExceeded, wantCancelled: true,
		},
		{
			name: "hang after tokens, deadline", behaviour: fakeupstream.HangAfterTokens(2), timeout: 300 * time.Millisecond, cancelAfter: -1,
			wantDeltas: tokens, wantReason: "timeout", wantClass: domain.FailureRetryable, wantIs: context.DeadlineExceeded, wantCancelled: true,
		},
		{
			name: "client cancels mid-stream", behaviour: fakeupstream.HangAfterTokens(2), cancelAfter: 2,
			wantDeltas: tokens, wantReason: "connection_error", wantClass: domain.FailureRetryable, wantIs: context.Canceled, wantCancelled: true,
		},
		{
			name: "client cancels while tokens are still coming", behaviour: fakeupstream.OK(fakeupstream.Tokens(1000)...).WithInterval(10 * time.Millisecond), cancelAfter: 2,
			wantDeltas: tokens, wantReason: "connection_error", wantClass: domain.FailureRetryable, wantIs: context.Canceled, wantCancelled: true,
		},
		{
			name: "connection dropped mid-stream", behaviour: fakeupstream.DropAfterTokens(2), cancelAfter: -1,
			wantDeltas: tokens, wantReason: "cut_off", wantClass: domain.FailureRetryable,
		},
		{
			name: "rate limited mid-stream", behaviour: fakeupstream.MidStreamError(2, 429, "Rate limit exceeded"), cancelAfter: -1,
			wantDeltas: tokens, wantReason: "rate_limited", wantClass: domain.FailureRateLimited,
		},
		{
			name: "server error mid-stream", behaviour: fakeupstream.MidStreamError(2, 0, "upstream overloaded"), cancelAfter: -1,
			wantDeltas: tokens, wantReason: "server_error", wantClass: domain.FailureRetryable,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeupstream.New(t)
			srv.Script(keyA, tt.behaviour)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.timeout > 0 {
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			s, err := newClient(srv).StreamChat(ctx, 0, request())
			if tt.wantStartErr != "" {
				pe := providerError(t, err)
				assert.Equal(t, tt.wantStartErr, string(pe.Reason))
				assert.Equal(t, tt.wantClass, pe.Class)
				assert.ErrorIs(t, err, tt.wantIs)
			} else {
				require.NoError(t, err)
				defer s.Close()
				var got []domain.ChatDelta
				for {
					if len(got) == tt.cancelAfter {
						cancel()
					}
					d, rerr := s.Recv()
					if rerr != nil {
						err = rerr
						break
					}
					got = append(got, d)
				}
				if tt.cancelAfter >= 0 {
					// Tokens already in flight when the context ended may still arrive.
					require.GreaterOrEqual(t, len(got), tt.cancelAfter)
					got = got[:tt.cancelAfter]
				}
				assert.Equal(t, tt.wantDeltas, got)
				pe := providerError(t, err)
				assert.Equal(t, tt.wantReason, string(pe.Reason))
				assert.Equal(t, tt.wantClass, pe.Class)
				if tt.wantIs != nil {
					assert.ErrorIs(t, err, tt.wantIs)
				}
			}
			if tt.wantCancelled {
				srv.WaitCancelled(t, 1, wait)
				reqs := srv.Requests()
				require.Len(t, reqs, 1)
				assert.True(t, reqs[0].Cancelled)
			} else {
				assert.Equal(t, 0, srv.Cancelled())
			}
		})
	}
}

func TestCancelWithCause(t *testing.T) {
	t.Parallel()
	srv := fakeupstream.New(t)
	srv.Script(keyA, fakeupstream.Hang())
	cause := errors.New("no first token in time")
	ctx, cancel := context.WithCancelCause(t.Context())
	// Whether this fires before or after the request reaches the server,
	// the error must carry both the cancellation and its cause.
	timer := time.AfterFunc(50*time.Millisecond, func() { cancel(cause) })
	defer timer.Stop()
	_, err := newClient(srv).StreamChat(ctx, 0, request())
	pe := providerError(t, err)
	assert.Equal(t, domain.FailureRetryable, pe.Class)
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, err, cause)
}

func TestCloseAbortsTheUpstream(t *testing.T) {
	t.Parallel()
	srv := fakeupstream.New(t)
	srv.Script(keyA, fakeupstream.HangAfterTokens(1))
	s, err := newClient(srv).StreamChat(t.Context(), 0, request())
	require.NoError(t, err)
	d, err := s.Recv()
	require.NoError(t, err)
	assert.Equal(t, "tok1 ", d.Content)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close is idempotent")
	srv.WaitCancelled(t, 1, wait)
}

func TestComplete(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		behaviour  fakeupstream.Behaviour
		want       domain.ChatDelta
		wantReason string
	}{
		{
			name:      "answer with usage",
			behaviour: fakeupstream.OK("Hello", " world"),
			want:      domain.ChatDelta{Content: "Hello world", FinishReason: "stop", Usage: &domain.Usage{PromptTokens: 5, CompletionTokens: 2}},
		},
		{
			name:      "answer without usage",
			behaviour: fakeupstream.OK("Hi").WithoutUsage().WithFinishReason("length"),
			want:      domain.ChatDelta{Content: "Hi", FinishReason: "length"},
		},
		{
			name: "tool call arguments as an object (Hugging Face TGI)",
			behaviour: fakeupstream.Status(200, `{"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant",`+
				`"tool_calls":[{"id":"0","type":"function","function":{"description":null,"name":"get_weather","arguments":{"city": "Paris", "days": 2}}}]},`+
				`"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":9,"total_tokens":29}}`),
			want: domain.ChatDelta{
				ToolCalls:    []domain.ToolCallDelta{{Index: 0, ID: "0", Name: "get_weather", Arguments: `{"city":"Paris","days":2}`}},
				FinishReason: "stop", Usage: &domain.Usage{PromptTokens: 20, CompletionTokens: 9},
			},
		},
		{name: "200 with an error object", behaviour: fakeupstream.MidStreamError(0, 503, "no capacity"), wantReason: "server_error"},
		{name: "no choices", behaviour: fakeupstream.Status(200, `{"choices":[]}`), wantReason: "bad_response"},
		{name: "not JSON", behaviour: fakeupstream.Status(200, `<html>`), wantReason: "bad_response"},
		{name: "dropped connection", behaviour: fakeupstream.DropAfterTokens(0), wantReason: "connection_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeupstream.New(t)
			srv.Script(keyB, tt.behaviour)
			got, err := newClient(srv).Complete(t.Context(), 1, request())
			if tt.wantReason != "" {
				assert.Equal(t, tt.wantReason, string(providerError(t, err).Reason))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			r := srv.Requests()[0]
			assert.Equal(t, keyB, r.Key)
			assert.False(t, r.Stream)
			assert.JSONEq(t, "false", string(r.Fields["stream"]))
			assert.NotContains(t, r.Fields, "stream_options")
			assert.Equal(t, "application/json", r.Header.Get("Accept"))
		})
	}
}

func TestCompleteTimeout(t *testing.T) {
	t.Parallel()
	srv := fakeupstream.New(t)
	srv.Script(keyA, fakeupstream.Hang())
	ctx, cancel := context.WithTimeout(t.Context(), 250*time.Millisecond)
	defer cancel()
	_, err := newClient(srv).Complete(ctx, 0, request())
	assert.Equal(t, "timeout", string(providerError(t, err).Reason))
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	srv.WaitCancelled(t, 1, wait)
}

func TestListModels(t *testing.T) {
	t.Parallel()
	srv := fakeupstream.New(t)
	srv.Script(keyA, fakeupstream.Models("llama-3.1-8b-instant", "openai/gpt-oss-20b"))
	srv.Script(keyB, fakeupstream.Unauthorized())
	c := newClient(srv)

	ids, err := c.ListModels(t.Context(), 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"llama-3.1-8b-instant", "openai/gpt-oss-20b"}, ids)
	r := srv.Requests()[0]
	assert.Equal(t, http.MethodGet, r.Method)
	assert.Equal(t, "/v1/models", r.Path)
	assert.Equal(t, "Bearer "+keyA, r.Header.Get("Authorization"))

	_, err = c.ListModels(t.Context(), 1)
	assert.Equal(t, "key_rejected", string(providerError(t, err).Reason))
}

func TestClientBasics(t *testing.T) {
	t.Parallel()
	srv := fakeupstream.New(t)
	c := newClient(srv, func(cfg *openaicompat.Config) {
		cfg.Provider = domain.ProviderGroq
		cfg.BaseURL = srv.URL() + "/v1/" // a trailing slash is tolerated
		cfg.HTTPClient = nil             // the default client works too
	})
	assert.Equal(t, domain.ProviderGroq, c.Name())
	assert.Equal(t, 2, c.KeyCount())
	ids, err := c.ListModels(t.Context(), 0)
	require.NoError(t, err)
	assert.Equal(t, []string{fakeupstream.DefaultModel}, ids)
	assert.Equal(t, "/v1/models", srv.Requests()[0].Path)
}

// wholeError asks c for a whole answer with key 0 and returns the error of
// the call or, when the upstream took the request, of reading the answer.
func wholeError(t *testing.T, c *openaicompat.Client) error {
	t.Helper()
	s, err := c.StreamChat(t.Context(), 0, wholeRequest())
	if err != nil {
		return err
	}
	defer s.Close()
	_, err = s.Recv()
	return err
}
