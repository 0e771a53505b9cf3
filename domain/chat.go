package domain

import (
	"encoding/json"
	"fmt"
	"time"
)

// Tier is a routing tier a user picks; each is a fallback chain of providers.
type Tier string

// The tiers.
const (
	TierFast     Tier = "fast"
	TierBalanced Tier = "balanced"
	TierSmart    Tier = "smart"
)

// Tiers lists every tier in display order.
var Tiers = []Tier{TierFast, TierBalanced, TierSmart}

// Valid reports whether t is a known tier.
func (t Tier) Valid() bool { return t == TierFast || t == TierBalanced || t == TierSmart }

// Provider names an upstream AI provider.
type Provider string

// The providers.
const (
	ProviderGroq        Provider = "groq"
	ProviderOpenRouter  Provider = "openrouter"
	ProviderHuggingFace Provider = "huggingface"
	// ProviderMock is the built-in development provider; never in production.
	ProviderMock Provider = "mock"
)

// Providers lists every provider, in the order status reports, metrics and
// the router's snapshot show them; the upstream ones come first.
var Providers = []Provider{ProviderGroq, ProviderOpenRouter, ProviderHuggingFace, ProviderMock}

// Upstream reports whether p is a real upstream provider (not the mock).
func (p Provider) Upstream() bool { return p != ProviderMock }

// Message roles.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	// RoleTool is the result of a tool call, sent back by the client.
	RoleTool = "tool"
)

// The APIs a chat request can come through, as the request log records them.
const (
	APINative = "native" // POST /api/v1/chat
	APIOpenAI = "openai" // POST /v1/chat/completions
)

// Message is one turn of a conversation.
type Message struct {
	Role    string
	Content string
	// ToolCalls are the calls an assistant message asked for.
	ToolCalls []ToolCall
	// ToolCallID names the call a tool message answers.
	ToolCallID string
}

// ToolCall is a function call a model asked for.
type ToolCall struct {
	ID   string
	Name string
	// Arguments is the JSON text the model wrote; models may write invalid
	// JSON, and clients check it, so it is passed on as written.
	Arguments string
}

// Tool is a function the model may call.
type Tool struct {
	Name        string
	Description string
	// Parameters is the JSON Schema of the arguments; nil when there are none.
	Parameters json.RawMessage
	// Strict asks for arguments that follow the schema exactly.
	Strict *bool
}

// Tool choice modes.
const (
	ToolChoiceNone     = "none"
	ToolChoiceAuto     = "auto"
	ToolChoiceRequired = "required"
	// ToolChoiceFunction forces a call of ToolChoice.Function.
	ToolChoiceFunction = "function"
)

// ToolChoice says whether and which tool the model must call.
type ToolChoice struct {
	Mode     string
	Function string
}

// ToolCallDelta is a piece of a streamed tool call: the first piece of a
// call carries its ID and Name, the next ones more of its Arguments. Index
// tells the calls of one answer apart.
type ToolCallDelta struct {
	Index     int
	ID        string
	Name      string
	Arguments string
}

// ToolCalls gathers streamed tool call pieces into whole calls: pieces
// with the same index build one call, in the order the indexes first came.
// The zero value is ready to use.
type ToolCalls struct {
	calls []ToolCall
	// byIndex maps a streamed call's index to its place in calls.
	byIndex map[int]int
}

// Add gathers pieces.
func (t *ToolCalls) Add(pieces []ToolCallDelta) {
	for _, p := range pieces {
		i, ok := t.byIndex[p.Index]
		if !ok {
			if t.byIndex == nil {
				t.byIndex = map[int]int{}
			}
			i = len(t.calls)
			t.byIndex[p.Index] = i
			t.calls = append(t.calls, ToolCall{})
		}
		call := &t.calls[i]
		if p.ID != "" {
			call.ID = p.ID
		}
		call.Name += p.Name
		call.Arguments += p.Arguments
	}
}

// Calls returns the calls gathered so far.
func (t *ToolCalls) Calls() []ToolCall { return t.calls }

// Usage counts tokens as the upstream reported them.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
}

// CompletionRequest is what a provider is asked to complete.
type CompletionRequest struct {
	// Model is the upstream model id.
	Model string
	// Delivery says whether the provider streams its answer or sends it
	// whole; the provider's ChatStream yields it as deltas either way.
	Delivery    Delivery
	Messages    []Message
	Temperature *float64
	TopP        *float64
	MaxTokens   *int
	Stop        []string
	// Tools and ToolChoice are passed to providers that support them.
	Tools      []Tool
	ToolChoice *ToolChoice
	// The sampling options below are passed on when set.
	PresencePenalty  *float64
	FrequencyPenalty *float64
	Seed             *int64
	ResponseFormat   *ResponseFormat
}

// Delivery is how a provider is asked to send its answer.
type Delivery int

// The deliveries.
const (
	// DeliveryStreamed: a stream of events, token by token (the zero value).
	DeliveryStreamed Delivery = iota
	// DeliveryWhole: the whole answer at once, in one completion; for a
	// client that waits for the whole answer anyway, it spares parsing an
	// event per token.
	DeliveryWhole
)

// Response formats.
const (
	ResponseFormatText       = "text"
	ResponseFormatJSONObject = "json_object"
	ResponseFormatJSONSchema = "json_schema"
)

// ResponseFormat asks for an answer in JSON: any object, or one that
// follows a schema.
type ResponseFormat struct {
	Type string
	// JSONSchema is OpenAI's json_schema member ({"name","schema","strict"})
	// for ResponseFormatJSONSchema, passed on as sent.
	JSONSchema json.RawMessage
}

// ChatDelta is one piece of a streamed answer. The last delta of a stream
// carries FinishReason and, when the upstream sends it, Usage.
type ChatDelta struct {
	Content      string
	ToolCalls    []ToolCallDelta
	FinishReason string
	Usage        *Usage
}

// Opens reports whether d opens an answer: it carries content, a tool call
// or a finish reason. The first such delta is the answer's first token, for
// the router (which falls back only before it), metrics and tracing alike.
func (d ChatDelta) Opens() bool {
	return d.Content != "" || len(d.ToolCalls) > 0 || d.FinishReason != ""
}

// FailureClass says how the router reacts to a provider failure.
type FailureClass string

// The failure classes.
const (
	// FailureRateLimited: the key is cooling down; try the next key.
	FailureRateLimited FailureClass = "rate_limited"
	// FailureKeyRejected: the key is invalid (401/403); take it out of rotation.
	FailureKeyRejected FailureClass = "key_rejected"
	// FailureRetryable: the provider failed (5xx, loading, timeout, network,
	// cut-off stream); try the next provider.
	FailureRetryable FailureClass = "retryable"
	// FailureCaller: the upstream refused the request itself (400/404/422);
	// no other provider will do better.
	FailureCaller FailureClass = "caller_error"
)

// ProviderError is a classified upstream failure. Adapters return it from
// every provider call; Message never contains a key.
type ProviderError struct {
	Provider Provider
	Class    FailureClass
	// Reason is the short attempt reason shown to clients: one of the
	// first group of AttemptReasons.
	Reason AttemptReason
	// Status is the upstream HTTP status, 0 when there was no answer.
	Status int
	// RetryAfter is how long the upstream asked us to wait (0 = unknown).
	RetryAfter time.Duration
	// Message is the upstream's own explanation, safe to show.
	Message string
	Err     error
}

// Error implements error.
func (e *ProviderError) Error() string {
	s := fmt.Sprintf("%s: %s (%s)", e.Provider, e.Reason, e.Class)
	if e.Status != 0 {
		s += fmt.Sprintf(" status %d", e.Status)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *ProviderError) Unwrap() error { return e.Err }

// AttemptReason says why one attempt at a provider did not answer. The
// words are public: the request log, /metrics, the status report and both
// APIs' error bodies use them as they are.
type AttemptReason string

// The attempt reasons. The first group comes from the provider adapters
// (ProviderError.Reason), the second from the router itself.
const (
	ReasonRateLimited     AttemptReason = "rate_limited"
	ReasonKeyRejected     AttemptReason = "key_rejected"
	ReasonServerError     AttemptReason = "server_error"
	ReasonModelLoading    AttemptReason = "model_loading"
	ReasonTimeout         AttemptReason = "timeout"
	ReasonConnectionError AttemptReason = "connection_error"
	ReasonCutOff          AttemptReason = "cut_off"
	ReasonBadResponse     AttemptReason = "bad_response"
	ReasonCallerError     AttemptReason = "caller_error"

	ReasonProviderDown AttemptReason = "provider_down"
	ReasonCircuitOpen  AttemptReason = "circuit_open"
	ReasonNoUsableKey  AttemptReason = "no_usable_key"
)

// AttemptReasons lists every attempt reason.
var AttemptReasons = []AttemptReason{
	ReasonRateLimited, ReasonKeyRejected, ReasonServerError, ReasonModelLoading, ReasonTimeout,
	ReasonConnectionError, ReasonCutOff, ReasonBadResponse, ReasonCallerError,
	ReasonProviderDown, ReasonCircuitOpen, ReasonNoUsableKey,
}

// ProviderFault reports whether r is the provider's own failure (it counts
// against the provider's health), rather than a rate limit, a rejected key,
// a refused request or the router's decision not to ask.
func (r AttemptReason) ProviderFault() bool {
	switch r {
	case ReasonServerError, ReasonTimeout, ReasonConnectionError, ReasonCutOff, ReasonModelLoading, ReasonBadResponse:
		return true
	}
	return false
}

// Attempt is one provider tried for a request, and why it did not answer.
type Attempt struct {
	Provider Provider
	Reason   AttemptReason
	KeyIndex *int
}

// Outcome is what happened to a chat request, as the request log and
// /metrics record it.
type Outcome string

// Outcomes of a chat request.
const (
	OutcomeSuccess     Outcome = "success"
	OutcomeError       Outcome = "error"
	OutcomeCancelled   Outcome = "cancelled"
	OutcomeInvalid     Outcome = "invalid"
	OutcomeQuota       Outcome = "quota_exceeded"
	OutcomeInterrupted Outcome = "interrupted" // failed after the first token
)

// Outcomes lists every outcome.
var Outcomes = []Outcome{OutcomeSuccess, OutcomeError, OutcomeCancelled, OutcomeInvalid, OutcomeQuota, OutcomeInterrupted}

// RequestKind is what a logged request asked for.
type RequestKind string

// The kinds of request the log holds (the voice kinds are reserved for
// transcription and speech).
const (
	RequestKindChat          RequestKind = "chat"
	RequestKindImage         RequestKind = "image"
	RequestKindTranscription RequestKind = "transcription"
	RequestKindSpeech        RequestKind = "speech"
)

// RequestKinds lists every kind of request, in display order.
var RequestKinds = []RequestKind{RequestKindChat, RequestKindImage, RequestKindTranscription, RequestKindSpeech}

// RequestRecord is one row of the request log: what a chat request did.
type RequestRecord struct {
	// Kind is what was asked for; "" reads as RequestKindChat.
	Kind RequestKind
	// RequestID is the id the client was answered under (X-Request-ID); ""
	// when unknown. Clients may choose it, so it is unique only per user at best.
	RequestID string
	// API is APINative or APIOpenAI.
	API           string
	UserID        UserID
	Tier          Tier
	Provider      Provider // the last to accept (its stream opened); empty when none did: then, only then, refunded
	UpstreamModel string
	KeyIndex      *int
	Outcome       Outcome
	ErrorCode     Code
	Attempts      []Attempt
	Stream        bool
	Latency       time.Duration
	// FirstToken is the time to the first token; nil when none came.
	FirstToken *time.Duration
	Usage      Usage
	CreatedAt  time.Time
	// Cache is how the request met the response cache; "" when it is off.
	Cache CacheStatus
}
