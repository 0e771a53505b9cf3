package openrouter

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
	"github.com/genzai/genzai/domain"
)

// recorder is a transport that answers every request with an empty model
// list and remembers the URLs asked for.
type recorder struct{ urls []string }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.urls = append(r.urls, req.URL.String())
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"data":[]}`)), Request: req}, nil
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	rt := &recorder{}
	c := New(Config{Keys: []string{"k"}, HTTPClient: &http.Client{Transport: rt}})
	assert.Equal(t, domain.ProviderOpenRouter, c.Name())
	_, err := c.ListModels(t.Context(), 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"https://openrouter.ai/api/v1/models"}, rt.urls)
	assert.Equal(t, "https://openrouter.ai/api/v1", DefaultBaseURL)
}

func TestAttributionHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		referer string
	}{
		{"with referer", "https://genzai.onrender.com"},
		{"without referer", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeupstream.New(t)
			c := New(Config{BaseURL: srv.URL(), Keys: []string{"sk-or-v1-test"}, HTTPClient: srv.Client(), Referer: tt.referer})
			s, err := c.StreamChat(t.Context(), 0, domain.CompletionRequest{Model: "meta-llama/llama-3.3-70b-instruct:free"})
			require.NoError(t, err)
			require.NoError(t, s.Close())
			_, err = c.ListModels(t.Context(), 0)
			require.NoError(t, err)
			reqs := srv.Requests()
			require.Len(t, reqs, 2)
			for _, r := range reqs {
				assert.Equal(t, "GenZ AI", r.Header.Get("X-Title"), r.Path)
				assert.Equal(t, "Bearer sk-or-v1-test", r.Header.Get("Authorization"), r.Path)
				if tt.referer == "" {
					assert.NotContains(t, r.Header, "Http-Referer", r.Path)
				} else {
					assert.Equal(t, tt.referer, r.Header.Get("HTTP-Referer"), r.Path)
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	const key = "sk-or-v1-secret"
	tests := []struct {
		name       string
		behaviour  fakeupstream.Behaviour
		wantTokens int
		wantClass  domain.FailureClass
		wantReason string
		wantStatus int
		wantMsg    string
	}{
		{
			name:      "429 with metadata",
			behaviour: fakeupstream.Status(429, `{"error":{"code":429,"message":"Rate limit exceeded","metadata":{"provider_name":"DeepInfra","raw":"upstream said no"}}}`),
			wantClass: domain.FailureRateLimited, wantReason: "rate_limited", wantStatus: 429,
			wantMsg: "Rate limit exceeded (provider DeepInfra)",
		},
		{
			name:      "error.code beats the HTTP status",
			behaviour: fakeupstream.Status(400, `{"error":{"code":502,"message":"Provider returned error","metadata":{"provider_name":"Chutes"}}}`),
			wantClass: domain.FailureRetryable, wantReason: "server_error", wantStatus: 502,
			wantMsg: "Provider returned error (provider Chutes)",
		},
		{
			name:      "a code that is not a status leaves the HTTP status",
			behaviour: fakeupstream.Status(400, `{"error":{"code":"invalid_model","message":"x-ai/nope is not a valid model ID"}}`),
			wantClass: domain.FailureCaller, wantReason: "caller_error", wantStatus: 400,
			wantMsg: "x-ai/nope is not a valid model ID",
		},
		{
			name:      "401",
			behaviour: fakeupstream.Status(401, `{"error":{"code":401,"message":"No auth credentials found"}}`),
			wantClass: domain.FailureKeyRejected, wantReason: "key_rejected", wantStatus: 401,
			wantMsg: "No auth credentials found",
		},
		{
			name:      "402 out of credits",
			behaviour: fakeupstream.Status(402, `{"error":{"code":402,"message":"Insufficient credits"}}`),
			wantClass: domain.FailureKeyRejected, wantReason: "key_rejected", wantStatus: 402,
		},
		{
			name:      "not JSON",
			behaviour: fakeupstream.Status(502, "Bad Gateway"),
			wantClass: domain.FailureRetryable, wantReason: "server_error", wantStatus: 502, wantMsg: "Bad Gateway",
		},
		{
			name:      "200 with a JSON error",
			behaviour: fakeupstream.Status(200, `{"error":{"code":429,"message":"Rate limit exceeded: free-models-per-min","metadata":{"provider_name":"Venice"}}}`),
			wantClass: domain.FailureRateLimited, wantReason: "rate_limited", wantStatus: 429,
			wantMsg: "Rate limit exceeded: free-models-per-min (provider Venice)",
		},
		{
			name:       "200 then an error event",
			behaviour:  fakeupstream.MidStreamErrorJSON(2, `{"error":{"code":429,"message":"Rate limit exceeded","metadata":{"provider_name":"Together"}}}`),
			wantTokens: 2,
			wantClass:  domain.FailureRateLimited, wantReason: "rate_limited", wantStatus: 429,
			wantMsg: "Rate limit exceeded (provider Together)",
		},
		{
			name: "200 then a chunk with an error and finish_reason error",
			behaviour: fakeupstream.MidStreamErrorJSON(1, `{"id":"gen-1","object":"chat.completion.chunk","provider":"OpenAI",`+
				`"error":{"code":"server_error","message":"Provider disconnected unexpectedly"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}`),
			wantTokens: 1,
			wantClass:  domain.FailureRetryable, wantReason: "server_error", wantStatus: 200,
			wantMsg: "Provider disconnected unexpectedly",
		},
		{
			name:      "the key echoed back is scrubbed",
			behaviour: fakeupstream.Status(401, `{"error":{"code":401,"message":"bad key `+key+`","metadata":{"provider_name":"`+key+`"}}}`),
			wantClass: domain.FailureKeyRejected, wantReason: "key_rejected", wantStatus: 401,
			wantMsg: "bad key [redacted] (provider [redacted])",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeupstream.New(t)
			srv.Default(tt.behaviour)
			c := New(Config{BaseURL: srv.URL(), Keys: []string{key}, HTTPClient: srv.Client()})
			s, err := c.StreamChat(t.Context(), 0, domain.CompletionRequest{Model: "m"})
			tokens := 0
			if err == nil {
				defer s.Close()
				for {
					var d domain.ChatDelta
					if d, err = s.Recv(); err != nil {
						break
					}
					if d.Content != "" {
						tokens++
					}
				}
			}
			assert.Equal(t, tt.wantTokens, tokens)
			var pe *domain.ProviderError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, domain.ProviderOpenRouter, pe.Provider)
			assert.Equal(t, tt.wantClass, pe.Class)
			assert.Equal(t, tt.wantReason, string(pe.Reason))
			assert.Equal(t, tt.wantStatus, pe.Status)
			if tt.wantMsg != "" {
				assert.Equal(t, tt.wantMsg, pe.Message)
			}
			assert.NotContains(t, pe.Error(), key)
		})
	}
}

func TestProcessingComments(t *testing.T) {
	t.Parallel()
	srv := fakeupstream.New(t)
	srv.Default(fakeupstream.Status(200, ": OPENROUTER PROCESSING\n\n: OPENROUTER PROCESSING\n\n"+
		`data: {"choices":[{"delta":{"content":"hi"},"finish_reason":null}]}`+"\n\n"+
		`data: {"choices":[{"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}`+"\n\n"+
		"data: [DONE]\n\n").WithHeader("Content-Type", "text/event-stream"))
	c := New(Config{BaseURL: srv.URL(), Keys: []string{"k"}, HTTPClient: srv.Client()})
	s, err := c.StreamChat(t.Context(), 0, domain.CompletionRequest{Model: "m"})
	require.NoError(t, err)
	defer s.Close()
	var got []domain.ChatDelta
	for {
		d, err := s.Recv()
		if err != nil {
			require.ErrorIs(t, err, io.EOF)
			break
		}
		got = append(got, d)
	}
	assert.Equal(t, []domain.ChatDelta{{Content: "hi"}, {FinishReason: "stop", Usage: &domain.Usage{PromptTokens: 3, CompletionTokens: 1}}}, got)
}
