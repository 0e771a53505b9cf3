package groq

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
	c := New(Config{Keys: []string{"k"}, HTTPClient: &http.Client{Transport: rt}})
	assert.Equal(t, domain.ProviderGroq, c.Name())
	assert.Equal(t, 1, c.KeyCount())
	_, err := c.ListModels(t.Context(), 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"https://api.groq.com/openai/v1/models"}, rt.urls)
	assert.Equal(t, "https://api.groq.com/openai/v1", DefaultBaseURL)
}

func TestParseReset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"2m59.56s", 2*time.Minute + 59560*time.Millisecond, true},
		{"7.66s", 7660 * time.Millisecond, true},
		{"1h2m", time.Hour + 2*time.Minute, true},
		{"500ms", 500 * time.Millisecond, true},
		{" 3s ", 3 * time.Second, true},
		{"", 0, false},
		{"0s", 0, false},
		{"-1s", 0, false},
		{"+1s", 0, false},
		{"s", 0, false},
		{"12", 0, false},
		{"soon", 0, false},
		{"1.5.3s", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, ok := parseReset(tt.in)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestRateLimitWait(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		behaviour fakeupstream.Behaviour
		want      time.Duration
	}{
		{"the larger of the two resets", fakeupstream.GroqReset("2m59.56s", "7.66s"), 2*time.Minute + 59560*time.Millisecond},
		{"tokens reset larger", fakeupstream.GroqReset("1.2s", "1m"), time.Minute},
		{"only the tokens reset", fakeupstream.GroqReset("", "7.66s"), 7660 * time.Millisecond},
		{"an unparsable reset is ignored", fakeupstream.GroqReset("soon", "500ms"), 500 * time.Millisecond},
		{"no usable reset", fakeupstream.GroqReset("soon", ""), 0},
		{"Retry-After wins", fakeupstream.GroqReset("2m", "1m").WithHeader("Retry-After", "3"), 3 * time.Second},
		{"an absurd reset is capped", fakeupstream.GroqReset("1000h", ""), openaicompat.MaxRetryAfter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeupstream.New(t)
			srv.Default(tt.behaviour)
			c := New(Config{BaseURL: srv.URL(), Keys: []string{"gsk_test"}, HTTPClient: srv.Client()})
			_, err := c.StreamChat(t.Context(), 0, domain.CompletionRequest{Model: "llama-3.1-8b-instant"})
			var pe *domain.ProviderError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, domain.ProviderGroq, pe.Provider)
			assert.Equal(t, domain.FailureRateLimited, pe.Class)
			assert.Equal(t, "rate_limited", string(pe.Reason))
			assert.Equal(t, tt.want, pe.RetryAfter)
		})
	}
}

func TestResetHeadersOnlyMatterFor429(t *testing.T) {
	t.Parallel()
	srv := fakeupstream.New(t)
	// Groq sends its rate-limit headers on every answer.
	srv.Default(fakeupstream.Status(503, `{"error":{"message":"over capacity"}}`).WithHeader("X-Ratelimit-Reset-Requests", "5s"))
	c := New(Config{BaseURL: srv.URL(), Keys: []string{"gsk_test"}, HTTPClient: srv.Client()})
	_, err := c.StreamChat(t.Context(), 0, domain.CompletionRequest{Model: "m"})
	var pe *domain.ProviderError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "server_error", string(pe.Reason))
	assert.Zero(t, pe.RetryAfter)
}
