// Package openrouter reaches OpenRouter's OpenAI-compatible API. Its
// quirks: attribution headers on every request, and error objects whose
// code holds the real HTTP status (even inside a 200 stream) and whose
// metadata names the provider behind the failure.
package openrouter

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/genzai/genzai/adapters/openaicompat"
	"github.com/genzai/genzai/domain"
)

// DefaultBaseURL is OpenRouter's API root.
const DefaultBaseURL = "https://openrouter.ai/api/v1"

// Title is the app name sent as X-Title for OpenRouter's rankings.
const Title = "GenZ AI"

// Config configures the OpenRouter client.
type Config struct {
	// BaseURL is the API root; empty means DefaultBaseURL.
	BaseURL string
	// Keys are the API keys, addressed by index.
	Keys []string
	// HTTPClient makes the requests; nil means the openaicompat default.
	HTTPClient *http.Client
	// Referer is the site URL sent as HTTP-Referer; empty sends none.
	Referer string
}

// New returns a client for OpenRouter.
func New(cfg Config) *openaicompat.Client {
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	headers := map[string]string{"X-Title": Title}
	if cfg.Referer != "" {
		headers["HTTP-Referer"] = cfg.Referer
	}
	return openaicompat.New(openaicompat.Config{
		Provider:   domain.ProviderOpenRouter,
		BaseURL:    base,
		Keys:       cfg.Keys,
		HTTPClient: cfg.HTTPClient,
		Headers:    headers,
		ParseError: parseError,
	})
}

// errorBody is OpenRouter's error object.
type errorBody struct {
	Error struct {
		Code     json.RawMessage `json:"code"`
		Metadata struct {
			ProviderName string `json:"provider_name"`
		} `json:"metadata"`
	} `json:"error"`
}

// parseError classifies by error.code when it is an HTTP error status
// (OpenRouter's real status), else as the OpenAI default does, and names
// the provider behind the failure in the message.
func parseError(status int, header http.Header, body []byte) *domain.ProviderError {
	var eb errorBody
	_ = json.Unmarshal(body, &eb) // not JSON: classify by status alone
	if code := httpStatus(eb.Error.Code); code != 0 {
		status = code
	}
	pe := openaicompat.DefaultParseError(status, header, body)
	if name := eb.Error.Metadata.ProviderName; name != "" {
		if pe.Message == "" {
			pe.Message = "provider " + name
		} else {
			pe.Message += " (provider " + name + ")"
		}
	}
	return pe
}

// httpStatus returns code when it is a number (or numeric string) in
// 400..599, else 0.
func httpStatus(raw json.RawMessage) int {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(s)
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < 400 || n > 599 {
		return 0
	}
	return n
}
