// Package huggingface reaches the Hugging Face inference router's
// OpenAI-compatible API. Its quirk: a cold model answers 503 with
// {"error":"Model X is currently loading","estimated_time":20.0}.
package huggingface

import (
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/genzai/genzai/adapters/openaicompat"
	"github.com/genzai/genzai/domain"
)

// DefaultBaseURL is the Hugging Face router's API root.
const DefaultBaseURL = "https://router.huggingface.co/v1"

// Config configures the Hugging Face client.
type Config struct {
	// BaseURL is the API root; empty means DefaultBaseURL.
	BaseURL string
	// Keys are the access tokens, addressed by index.
	Keys []string
	// HTTPClient makes the requests; nil means the openaicompat default.
	HTTPClient *http.Client
}

// New returns a client for the Hugging Face router.
func New(cfg Config) *openaicompat.Client {
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	return openaicompat.New(openaicompat.Config{
		Provider:   domain.ProviderHuggingFace,
		BaseURL:    base,
		Keys:       cfg.Keys,
		HTTPClient: cfg.HTTPClient,
		ParseError: parseError,
	})
}

// parseError recognises a loading model; anything else is the OpenAI default.
func parseError(status int, header http.Header, body []byte) *domain.ProviderError {
	if status != http.StatusServiceUnavailable {
		return nil
	}
	var eb struct {
		Error         json.RawMessage `json:"error"`
		EstimatedTime *float64        `json:"estimated_time"`
	}
	if json.Unmarshal(body, &eb) != nil {
		return nil
	}
	var msg string
	_ = json.Unmarshal(eb.Error, &msg) // a string error; anything else leaves msg empty
	if eb.EstimatedTime == nil && !strings.Contains(msg, "currently loading") {
		return nil
	}
	pe := openaicompat.DefaultParseError(status, header, body)
	pe.Class, pe.Reason = domain.FailureRetryable, domain.ReasonModelLoading
	if eb.EstimatedTime != nil && *eb.EstimatedTime > 0 && !math.IsInf(*eb.EstimatedTime, 0) {
		secs := math.Min(*eb.EstimatedTime, openaicompat.MaxRetryAfter.Seconds())
		pe.RetryAfter = openaicompat.ClampRetryAfter(time.Duration(secs * float64(time.Second)))
	}
	return pe
}
