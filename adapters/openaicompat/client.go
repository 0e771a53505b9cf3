// Package openaicompat is the client shared by the providers that speak the
// OpenAI chat completions API (Groq, OpenRouter, Hugging Face): streamed and
// plain completions, the model list, and the one place where upstream
// failures are classified into *domain.ProviderError.
package openaicompat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.ChatProvider = (*Client)(nil)

// Bounds on what is read from an upstream.
const (
	maxErrorBody      = 64 << 10
	maxCompletionBody = 8 << 20
	// OpenRouter's model list, with descriptions, runs to megabytes.
	maxModelsBody = 32 << 20
)

// Config configures a Client.
type Config struct {
	// Provider names the upstream in errors.
	Provider domain.Provider
	// BaseURL is the API root, such as https://api.groq.com/openai/v1.
	BaseURL string
	// Keys are the API keys, addressed by index.
	Keys []string
	// HTTPClient makes the requests; nil means a client with dial and TLS
	// timeouts but no overall or response-header timeout (ctx bounds time).
	HTTPClient *http.Client
	// Headers are extra headers sent on every request; they cannot replace
	// Authorization, Accept or Content-Type.
	Headers map[string]string
	// ParseError classifies an error answer: a non-2xx status, or an error
	// object inside a 2xx answer (then status is that 2xx status and body
	// the object's JSON). It may return nil to use DefaultParseError. The
	// client fills Provider and scrubs keys from what it returns.
	ParseError func(status int, header http.Header, body []byte) *domain.ProviderError
}

// Client talks to one OpenAI-compatible provider with any of its keys.
type Client struct {
	provider   domain.Provider
	baseURL    string
	keys       []string
	hc         *http.Client
	headers    [][2]string // canonical names, values
	bearer     []string    // each key's Authorization value
	parseError func(status int, header http.Header, body []byte) *domain.ProviderError
}

// New returns a Client for cfg.
func New(cfg Config) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = NewHTTPClient()
	}
	// Every request sends these: canonical names and the bearer values are
	// made once here, not on every request.
	headers := make([][2]string, 0, len(cfg.Headers))
	for k, v := range cfg.Headers {
		headers = append(headers, [2]string{http.CanonicalHeaderKey(k), v})
	}
	bearer := make([]string, len(cfg.Keys))
	for i, k := range cfg.Keys {
		bearer[i] = "Bearer " + k
	}
	return &Client{
		provider:   cfg.Provider,
		baseURL:    strings.TrimRight(cfg.BaseURL, "/"),
		keys:       append([]string(nil), cfg.Keys...),
		hc:         hc,
		headers:    headers,
		bearer:     bearer,
		parseError: cfg.ParseError,
	}
}

// NewHTTPClient returns an HTTP client for one provider: it bounds
// connecting but not waiting for the answer (a slow first token is the
// router's call, made through ctx), speaks HTTP/2 where the upstream offers
// it over TLS, and keeps enough HTTP/1.1 connections idle that a burst of
// requests reuses them instead of dialling (and leaving TIME_WAIT sockets).
func NewHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}}
}

// Name implements ports.ChatProvider.
func (c *Client) Name() domain.Provider { return c.provider }

// KeyCount implements ports.ChatProvider.
func (c *Client) KeyCount() int { return len(c.keys) }

// chatRequest is the body of POST /chat/completions. Members added with
// tools are omitted when unset, so a plain request is what it always was.
type chatRequest struct {
	Model         string         `json:"model"`
	Messages      []chatMessage  `json:"messages"`
	Stream        bool           `json:"stream"`
	StreamOptions *streamOptions `json:"stream_options,omitempty"`
	Temperature   *float64       `json:"temperature,omitempty"`
	MaxTokens     *int           `json:"max_tokens,omitempty"`
	TopP          *float64       `json:"top_p,omitempty"`
	Stop          []string       `json:"stop,omitempty"`
	Tools         []chatTool     `json:"tools,omitempty"`
	// ToolChoice is a mode string or a namedToolChoice.
	ToolChoice       any             `json:"tool_choice,omitempty"`
	PresencePenalty  *float64        `json:"presence_penalty,omitempty"`
	FrequencyPenalty *float64        `json:"frequency_penalty,omitempty"`
	Seed             *int64          `json:"seed,omitempty"`
	ResponseFormat   *responseFormat `json:"response_format,omitempty"`
}

type responseFormat struct {
	Type       string          `json:"type"`
	JSONSchema json.RawMessage `json:"json_schema,omitempty"`
}

type chatMessage struct {
	Role string `json:"role"`
	// Content is nil only for an assistant message that is all tool calls:
	// some upstreams refuse "" there and want null.
	Content    *string        `json:"content"`
	ToolCalls  []chatToolCall `json:"tool_calls,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
}

type chatToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function chatFunction `json:"function"`
}

type chatFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type chatTool struct {
	Type     string           `json:"type"`
	Function chatToolFunction `json:"function"`
}

type chatToolFunction struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// namedToolChoice forces a call of one function.
type namedToolChoice struct {
	Type     string `json:"type"`
	Function struct {
		Name string `json:"name"`
	} `json:"function"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

func newChatRequest(req domain.CompletionRequest, stream bool) chatRequest {
	cr := chatRequest{
		Model:       req.Model,
		Messages:    make([]chatMessage, len(req.Messages)),
		Stream:      stream,
		Temperature: req.Temperature,
		MaxTokens:   req.MaxTokens,
		TopP:        req.TopP,
		Stop:        req.Stop,

		PresencePenalty:  req.PresencePenalty,
		FrequencyPenalty: req.FrequencyPenalty,
		Seed:             req.Seed,
	}
	if f := req.ResponseFormat; f != nil {
		cr.ResponseFormat = &responseFormat{Type: f.Type, JSONSchema: f.JSONSchema}
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		cm := chatMessage{Role: m.Role, Content: &m.Content, ToolCallID: m.ToolCallID}
		if len(m.ToolCalls) > 0 {
			cm.ToolCalls = make([]chatToolCall, len(m.ToolCalls))
			for j, tc := range m.ToolCalls {
				cm.ToolCalls[j] = chatToolCall{ID: tc.ID, Type: "function", Function: chatFunction{Name: tc.Name, Arguments: tc.Arguments}}
			}
			if m.Content == "" {
				cm.Content = nil
			}
		}
		cr.Messages[i] = cm
	}
	if len(req.Tools) > 0 {
		cr.Tools = make([]chatTool, len(req.Tools))
		for i, t := range req.Tools {
			cr.Tools[i] = chatTool{Type: "function", Function: chatToolFunction{
				Name: t.Name, Description: t.Description, Parameters: t.Parameters, Strict: t.Strict,
			}}
		}
	}
	if tc := req.ToolChoice; tc != nil {
		if tc.Mode == domain.ToolChoiceFunction {
			var named namedToolChoice
			named.Type = "function"
			named.Function.Name = tc.Function
			cr.ToolChoice = named
		} else {
			cr.ToolChoice = tc.Mode
		}
	}
	if stream {
		cr.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	return cr
}

// StreamChat implements ports.ChatProvider. Streamed (req.Delivery), it
// POSTs a streamed completion and returns a *Stream once the upstream has
// answered with a 2xx status. Whole, it POSTs a plain completion, reads
// it, and returns a stream of its one delta (see Client.whole).
func (c *Client) StreamChat(ctx context.Context, key int, req domain.CompletionRequest) (ports.ChatStream, error) {
	if req.Delivery == domain.DeliveryWhole {
		return c.whole(ctx, key, req)
	}
	resp, err := c.do(ctx, key, http.MethodPost, "/chat/completions", "text/event-stream", newChatRequest(req, true))
	if err != nil {
		return nil, err
	}
	if isJSON(resp.Header) {
		// Some upstreams answer a streamed request that fails late with a
		// 200 and a plain JSON error object instead of an event stream.
		defer resp.Body.Close()
		body, err := readBody(ctx, resp, maxErrorBody)
		if err != nil {
			return nil, c.finish(err)
		}
		if hasErrorObject(body) {
			return nil, c.classify(resp.StatusCode, resp.Header, body)
		}
		return nil, c.finish(&domain.ProviderError{Class: domain.FailureRetryable, Reason: reasonBadResponse,
			Status: resp.StatusCode, Message: "expected an event stream, got JSON"})
	}
	return c.newStream(ctx, resp), nil
}

// newStream reads resp's body as an event stream.
func (c *Client) newStream(ctx context.Context, resp *http.Response) *Stream {
	return &Stream{
		ctx:    ctx,
		c:      c,
		status: resp.StatusCode,
		header: resp.Header,
		body:   resp.Body,
		events: newSSEReader(resp.Body, maxEventBytes),
	}
}

// ListModels returns the ids of the models the upstream offers to key index
// key; it costs no tokens, so it doubles as a health probe. Every error is
// a *domain.ProviderError.
func (c *Client) ListModels(ctx context.Context, key int) ([]string, error) {
	resp, err := c.do(ctx, key, http.MethodGet, "/models", "application/json", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, perr := readBody(ctx, resp, maxModelsBody)
	if perr != nil {
		return nil, c.finish(perr)
	}
	if hasErrorObject(body) {
		return nil, c.classify(resp.StatusCode, resp.Header, body)
	}
	var out struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, c.finish(&domain.ProviderError{Class: domain.FailureRetryable, Reason: reasonBadResponse,
			Status: resp.StatusCode, Message: "malformed model list", Err: err})
	}
	ids := make([]string, 0, len(out.Data))
	for _, m := range out.Data {
		ids = append(ids, m.ID)
	}
	return ids, nil
}

// do sends one request and returns the response when its status is 2xx;
// any other outcome is a classified, scrubbed *domain.ProviderError.
func (c *Client) do(ctx context.Context, key int, method, path, accept string, payload any) (*http.Response, error) {
	return c.doURL(ctx, key, method, c.baseURL+path, accept, payload)
}

// doURL is do for an absolute URL, with payload (nil: none) sent as JSON.
func (c *Client) doURL(ctx context.Context, key int, method, url, accept string, payload any) (*http.Response, error) {
	if payload == nil {
		return c.send(ctx, key, method, url, accept, "", nil, 0)
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, c.finish(&domain.ProviderError{Class: domain.FailureCaller, Reason: reasonCaller,
			Message: "encode request", Err: err})
	}
	return c.send(ctx, key, method, url, accept, "application/json", bytes.NewReader(b), int64(len(b)))
}

// send sends one request with body (nil: none) of contentType and length
// bytes, and returns the response when its status is 2xx; any other
// outcome is a classified, scrubbed *domain.ProviderError.
func (c *Client) send(ctx context.Context, key int, method, url, accept, contentType string, body io.Reader, length int64) (*http.Response, error) {
	if key < 0 || key >= len(c.keys) {
		return nil, c.finish(&domain.ProviderError{Class: domain.FailureKeyRejected, Reason: reasonKeyRejected,
			Message: fmt.Sprintf("key index %d out of range (%d keys)", key, len(c.keys))})
	}
	hreq, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, c.finish(&domain.ProviderError{Class: domain.FailureRetryable, Reason: reasonConnection,
			Message: "build request", Err: err})
	}
	if body != nil {
		// Known already for a bytes.Reader; a multipart body made of
		// several readers says it here, so that it is not sent chunked.
		hreq.ContentLength = length
	}
	hreq.Header = c.header(key, accept, contentType)
	resp, err := c.hc.Do(hreq)
	if err != nil {
		return nil, c.finish(transportError(ctx, err, reasonConnection))
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	// A partial error body still classifies by status; keep what arrived.
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return nil, c.classify(resp.StatusCode, resp.Header, b)
}

// header is a request's header: the extra headers, then the key's
// Authorization, Accept and, with a body, its Content-Type (the later replace
// an extra header of the same name), in a map made to size with one slice
// for all the values (each header's its own, of capacity 1).
func (c *Client) header(key int, accept, contentType string) http.Header {
	n := len(c.headers) + 3
	h, vals := make(http.Header, n), make([]string, 0, n)
	set := func(name, value string) {
		vals = append(vals, value)
		h[name] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	for _, kv := range c.headers {
		set(kv[0], kv[1])
	}
	set("Authorization", c.bearer[key])
	set("Accept", accept)
	if contentType != "" {
		set("Content-Type", contentType)
	}
	return h
}

// classify turns an error answer into a ProviderError through the
// provider's hook, falling back to DefaultParseError.
func (c *Client) classify(status int, header http.Header, body []byte) *domain.ProviderError {
	var pe *domain.ProviderError
	if c.parseError != nil {
		pe = c.parseError(status, header, body)
	}
	if pe == nil {
		pe = DefaultParseError(status, header, body)
	}
	if pe.Status == 0 {
		pe.Status = status
	}
	return c.finish(pe)
}

// finish stamps the provider on pe and removes every key from its text.
func (c *Client) finish(pe *domain.ProviderError) *domain.ProviderError {
	pe.Provider = c.provider
	for _, k := range c.keys {
		// All keys, not only the one used: an upstream may echo any of them.
		if k == "" {
			continue
		}
		pe.Message = redactCutKey(strings.ReplaceAll(pe.Message, k, redacted), k)
		if pe.Err != nil && strings.Contains(pe.Err.Error(), k) {
			pe.Err = &scrubbedError{msg: strings.ReplaceAll(pe.Err.Error(), k, redacted)}
		}
	}
	return pe
}

// redactCutKey redacts the start of key left at the end of msg when msg
// was shortened in the middle of the key: the message is bounded before
// the keys are removed, and a key that straddles the cut would otherwise
// leak its first part.
func redactCutKey(msg, key string) string {
	body, cut := strings.CutSuffix(msg, "…")
	if !cut {
		return msg
	}
	for n := len(key) - 1; n >= 4; n-- {
		if strings.HasSuffix(body, key[:n]) {
			return body[:len(body)-n] + redacted + "…"
		}
	}
	return msg
}

// readBody reads at most limit bytes; more is a bad_response, a failed read
// a transport error.
func readBody(ctx context.Context, resp *http.Response, limit int64) ([]byte, *domain.ProviderError) {
	b, err := readSized(io.LimitReader(resp.Body, limit+1), min(resp.ContentLength, limit+1, maxPresized))
	if err != nil {
		return nil, transportError(ctx, err, reasonCutOff)
	}
	if int64(len(b)) > limit {
		return nil, &domain.ProviderError{Class: domain.FailureRetryable, Reason: reasonBadResponse,
			Message: fmt.Sprintf("answer over %d bytes", limit)}
	}
	return b, nil
}

// maxPresized bounds the buffer readBody makes from an answer's
// Content-Length before any of it arrived: a larger answer grows its
// buffer as it comes, as io.ReadAll does.
const maxPresized = 64 << 10

// readSized is io.ReadAll into a buffer of length bytes, one more for the
// read that finds the end, when the length is known (> 0): one allocation
// instead of a buffer grown from 512 bytes.
func readSized(r io.Reader, length int64) ([]byte, error) {
	if length <= 0 {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, length+1)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // longer than said: grow
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		switch {
		case err == io.EOF:
			return b, nil
		case err != nil:
			return b, err
		}
	}
}

// hasErrorObject reports whether body is a JSON object with a non-null
// "error" member.
func hasErrorObject(body []byte) bool {
	var env struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &env) != nil {
		return false
	}
	return len(env.Error) > 0 && string(env.Error) != "null"
}

// isJSON reports whether the answer's media type is application/json.
func isJSON(h http.Header) bool {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && mt == "application/json"
}
