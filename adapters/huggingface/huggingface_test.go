package huggingface

import (
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
	c := New(Config{Keys: []string{"hf_x"}, HTTPClient: &http.Client{Transport: rt}})
	assert.Equal(t, domain.ProviderHuggingFace, c.Name())
	_, err := c.ListModels(t.Context(), 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"https://router.huggingface.co/v1/models"}, rt.urls)
	assert.Equal(t, "https://router.huggingface.co/v1", DefaultBaseURL)
}

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		behaviour  fakeupstream.Behaviour
		wantClass  domain.FailureClass
		wantReason string
		wantRetry  time.Duration
		wantMsg    string
	}{
		{
			name: "loading with an estimate", behaviour: fakeupstream.HFLoading(20 * time.Second),
			wantClass: domain.FailureRetryable, wantReason: "model_loading", wantRetry: 20 * time.Second,
			wantMsg: "Model Qwen/Qwen2.5-7B-Instruct is currently loading",
		},
		{
			name: "fractional estimate", behaviour: fakeupstream.HFLoading(1500 * time.Millisecond),
			wantClass: domain.FailureRetryable, wantReason: "model_loading", wantRetry: 1500 * time.Millisecond,
		},
		{
			name: "an absurd estimate is capped", behaviour: fakeupstream.Status(503, `{"error":"Model m is currently loading","estimated_time":1e300}`),
			wantClass: domain.FailureRetryable, wantReason: "model_loading", wantRetry: openaicompat.MaxRetryAfter,
		},
		{
			name: "loading without an estimate", behaviour: fakeupstream.Status(503, `{"error":"Model m is currently loading"}`),
			wantClass: domain.FailureRetryable, wantReason: "model_loading", wantMsg: "Model m is currently loading",
		},
		{
			name: "other 503", behaviour: fakeupstream.Status(503, `{"error":"Service Unavailable"}`),
			wantClass: domain.FailureRetryable, wantReason: "server_error", wantMsg: "Service Unavailable",
		},
		{
			name: "503 not JSON", behaviour: fakeupstream.Status(503, "upstream connect error"),
			wantClass: domain.FailureRetryable, wantReason: "server_error", wantMsg: "upstream connect error",
		},
		{
			name: "429 is still a rate limit", behaviour: fakeupstream.RateLimited(4 * time.Second),
			wantClass: domain.FailureRateLimited, wantReason: "rate_limited", wantRetry: 4 * time.Second,
		},
		{
			name: "estimated_time outside a 503 means nothing", behaviour: fakeupstream.Status(500, `{"error":"boom","estimated_time":5}`),
			wantClass: domain.FailureRetryable, wantReason: "server_error", wantMsg: "boom",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeupstream.New(t)
			srv.Default(tt.behaviour)
			c := New(Config{BaseURL: srv.URL(), Keys: []string{"hf_test"}, HTTPClient: srv.Client()})
			_, err := c.StreamChat(t.Context(), 0, domain.CompletionRequest{Model: "Qwen/Qwen2.5-7B-Instruct"})
			var pe *domain.ProviderError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, domain.ProviderHuggingFace, pe.Provider)
			assert.Equal(t, tt.wantClass, pe.Class)
			assert.Equal(t, tt.wantReason, string(pe.Reason))
			assert.Equal(t, tt.wantRetry, pe.RetryAfter)
			if tt.wantMsg != "" {
				assert.Equal(t, tt.wantMsg, pe.Message)
			}
		})
	}
}
