package mock_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat"
	"github.com/genzai/genzai/cmd/genzai-bench/internal/mock"
	"github.com/genzai/genzai/domain"
)

func start(t *testing.T, m *mock.Server, useTLS bool) *mock.HTTPServer {
	t.Helper()
	srv, err := mock.Start(m, "127.0.0.1:0", useTLS)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

var request = domain.CompletionRequest{Model: "bench", Messages: []domain.Message{{Role: "user", Content: "hi"}}}

// The gateway's own client reads the mock: what the mock speaks is what the
// gateway expects from a provider.
func TestGatewayClientReadsTheMock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		profile mock.Profile
	}{
		{"tokens apart", mock.Profile{TTFT: 5 * time.Millisecond, Tokens: 5, Interval: 2 * time.Millisecond}},
		{"tokens at once", mock.Profile{TTFT: 5 * time.Millisecond, Tokens: 7}},
		{"no wait", mock.Profile{Tokens: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := start(t, mock.New(tt.profile), false)
			c := openaicompat.New(openaicompat.Config{Provider: "groq", BaseURL: srv.URL + "/v1", Keys: []string{"k"}})
			ctx := context.Background()

			begin := time.Now()
			s, err := c.StreamChat(ctx, 0, request)
			require.NoError(t, err)
			defer s.Close()
			var tokens int
			var content strings.Builder
			var last domain.ChatDelta
			for {
				d, err := s.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err)
				if d.Content != "" {
					if tokens == 0 {
						assert.GreaterOrEqual(t, time.Since(begin), tt.profile.TTFT, "first token after TTFT")
					}
					tokens++
					content.WriteString(d.Content)
				}
				last = d
			}
			assert.Equal(t, tt.profile.Tokens, tokens, "one delta per token")
			assert.GreaterOrEqual(t, time.Since(begin), tt.profile.Latency())
			assert.Equal(t, "stop", last.FinishReason)
			require.NotNil(t, last.Usage)
			assert.Equal(t, tt.profile.Tokens, last.Usage.CompletionTokens)

			begin = time.Now()
			d, err := c.Complete(ctx, 0, request)
			require.NoError(t, err)
			assert.GreaterOrEqual(t, time.Since(begin), tt.profile.Latency(), "a plain answer comes when the last token would have")
			assert.Equal(t, content.String(), d.Content)
			assert.Equal(t, "stop", d.FinishReason)

			models, err := c.ListModels(ctx, 0)
			require.NoError(t, err)
			assert.Equal(t, []string{"bench"}, models)
		})
	}
}

func TestProfileChangesAndStats(t *testing.T) {
	t.Parallel()
	m := mock.New(mock.Profile{Tokens: 1})
	srv := start(t, m, false)
	c := openaicompat.New(openaicompat.Config{Provider: "groq", BaseURL: srv.URL + "/v1", Keys: []string{"k"}})
	d, err := c.Complete(context.Background(), 0, request)
	require.NoError(t, err)
	assert.Equal(t, "tok ", d.Content)

	m.SetProfile(mock.Profile{Tokens: 3})
	assert.Equal(t, mock.Profile{Tokens: 3}, m.Profile())
	d, err = c.Complete(context.Background(), 0, request)
	require.NoError(t, err)
	assert.Equal(t, "tok tok tok ", d.Content)
	assert.Equal(t, int64(2), m.Stats().Requests)
	assert.Equal(t, int64(1), m.Stats().PeakOpen)

	// A client that leaves early is counted.
	m.SetProfile(mock.Profile{TTFT: time.Hour, Tokens: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = c.Complete(ctx, 0, request)
	require.Error(t, err)
	assert.Eventually(t, func() bool { return m.Stats().Unfinished == 1 }, time.Second, 5*time.Millisecond)
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	srv := start(t, mock.New(mock.Profile{Tokens: 1}), false)
	for _, tt := range []struct {
		method, path, body string
		want               int
	}{
		{http.MethodPost, "/v1/chat/completions", "{not json", http.StatusBadRequest},
		{http.MethodGet, "/v1/chat/completions", "", http.StatusNotFound},
		{http.MethodPost, "/v1/embeddings", "{}", http.StatusNotFound},
	} {
		req, err := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
		require.NoError(t, err)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = res.Body.Close()
		assert.Equal(t, tt.want, res.StatusCode, "%s %s", tt.method, tt.path)
	}
}

func TestTLSServesHTTP2(t *testing.T) {
	t.Parallel()
	srv := start(t, mock.New(mock.Profile{Tokens: 2}), true)
	require.True(t, strings.HasPrefix(srv.URL, "https://127.0.0.1:"))
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(srv.CertPEM))
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	res, err := hc.Get(srv.URL + "/v1/models")
	require.NoError(t, err)
	defer res.Body.Close()
	assert.Equal(t, 2, res.ProtoMajor, "HTTP/2 over TLS, as real providers")

	c := openaicompat.New(openaicompat.Config{Provider: "openrouter", BaseURL: srv.URL + "/v1", Keys: []string{"k"}, HTTPClient: hc})
	d, err := c.Complete(context.Background(), 0, request)
	require.NoError(t, err)
	assert.Equal(t, "tok tok ", d.Content)
}

func TestProfileText(t *testing.T) {
	t.Parallel()
	p := mock.Profile{TTFT: 20 * time.Millisecond, Tokens: 50, Interval: 20 * time.Millisecond}
	assert.Equal(t, 1000*time.Millisecond, p.Latency())
	assert.Equal(t, "50 tokens, the first after 20ms, then every 20ms", p.String())
	assert.Equal(t, "10 tokens after 0s, at once", mock.Profile{Tokens: 10}.String())
	b, err := p.MarshalJSON()
	require.NoError(t, err)
	assert.JSONEq(t, `{"ttft_ms":20,"tokens":50,"interval_ms":20}`, string(b))
}
