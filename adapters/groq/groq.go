// Package groq reaches Groq's OpenAI-compatible API. Its quirk: a 429
// without Retry-After still says when the limits reset, in
// x-ratelimit-reset-requests and x-ratelimit-reset-tokens.
package groq

import (
	"net/http"
	"strings"
	"time"

	"github.com/genzai/genzai/adapters/openaicompat"
	"github.com/genzai/genzai/domain"
)

// DefaultBaseURL is Groq's API root.
const DefaultBaseURL = "https://api.groq.com/openai/v1"

// Config configures the Groq client.
type Config struct {
	// BaseURL is the API root; empty means DefaultBaseURL.
	BaseURL string
	// Keys are the API keys, addressed by index.
	Keys []string
	// HTTPClient makes the requests; nil means the openaicompat default.
	HTTPClient *http.Client
}

// New returns a client for Groq.
func New(cfg Config) *openaicompat.Client {
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	return openaicompat.New(openaicompat.Config{
		Provider:   domain.ProviderGroq,
		BaseURL:    base,
		Keys:       cfg.Keys,
		HTTPClient: cfg.HTTPClient,
		ParseError: parseError,
	})
}

// parseError classifies the OpenAI way, then fills a missing Retry-After
// from Groq's reset headers.
func parseError(status int, header http.Header, body []byte) *domain.ProviderError {
	pe := openaicompat.DefaultParseError(status, header, body)
	if pe.Class == domain.FailureRateLimited && pe.RetryAfter == 0 {
		pe.RetryAfter = resetAfter(header)
	}
	return pe
}

// resetAfter is the later of Groq's two reset times (0 when neither parses).
func resetAfter(header http.Header) time.Duration {
	var d time.Duration
	for _, name := range []string{"X-Ratelimit-Reset-Requests", "X-Ratelimit-Reset-Tokens"} {
		if v, ok := parseReset(header.Get(name)); ok {
			d = max(d, v)
		}
	}
	return openaicompat.ClampRetryAfter(d)
}

// parseReset reads a Groq reset duration such as "2m59.56s", "7.66s",
// "1h2m" or "500ms": a Go duration without sign, positive.
func parseReset(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" || v[0] < '0' || v[0] > '9' {
		return 0, false // no sign, no bare unit, nothing empty
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, false
	}
	return d, true
}
