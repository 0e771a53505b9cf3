package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/chat"
	"github.com/genzai/genzai/domain/routing"
)

// The OpenAI-compatible API (/v1): OpenAI's chat completions and model list
// over the same chat use case as the native API, so that the OpenAI SDKs
// and the tools built on them work unchanged. Errors on these routes take
// OpenAI's shape (see openAIErrorBody), decided in handleError.

// openAIPrefix is the path prefix of the OpenAI-compatible routes.
const openAIPrefix = "/v1/"

// modelsCreated is the "created" time of every model in /v1/models: the
// tiers do not change with deployments, so neither does their date
// (2026-01-01, genzai's first release year).
const modelsCreated = 1767225600

// toOpenAIChatRequest converts the request body to a chat request; it
// decides what the generated types leave open (unions, roles, parts) and
// leaves the rules to the use case.
func toOpenAIChatRequest(b *api.OpenAIChatRequest) (chat.Request, error) {
	r := chat.Request{API: domain.APIOpenAI, Tier: domain.Tier(b.Model), Temperature: b.Temperature, TopP: b.TopP, MaxTokens: b.MaxTokens,
		PresencePenalty: b.PresencePenalty, FrequencyPenalty: b.FrequencyPenalty, Seed: b.Seed}
	if b.Model == "" {
		return r, domain.Invalid("model", "is required (fast, balanced or smart)")
	}
	if b.MaxCompletionTokens != nil {
		r.MaxTokens = b.MaxCompletionTokens
	}
	if b.N != nil && *b.N != 1 {
		return r, domain.Invalid("n", "only 1 answer per request is supported")
	}
	if b.Stream != nil {
		r.Stream = *b.Stream
	}
	for i, m := range b.Messages {
		msg, err := toDomainMessage(i, m)
		if err != nil {
			return r, err
		}
		r.Messages = append(r.Messages, msg)
	}
	if b.Stop != nil {
		raw, _ := b.Stop.MarshalJSON()
		switch firstByte(raw) {
		case '"':
			s, _ := b.Stop.AsOpenAIStop0()
			r.Stop = []string{s}
		case '[':
			s, err := b.Stop.AsOpenAIStop1()
			if err != nil {
				return r, domain.Invalid("stop", "must be a string or an array of strings")
			}
			r.Stop = s
		case 'n':
		default:
			return r, domain.Invalid("stop", "must be a string or an array of strings")
		}
	}
	if b.Tools != nil {
		for i, t := range *b.Tools {
			if t.Type != api.OpenAIToolTypeFunction {
				return r, domain.Invalid(fmt.Sprintf("tools[%d].type", i), "must be function")
			}
			tool := domain.Tool{Name: t.Function.Name, Strict: t.Function.Strict}
			if t.Function.Description != nil {
				tool.Description = *t.Function.Description
			}
			if p := t.Function.Parameters; p != nil && !bytes.Equal(bytes.TrimSpace(*p), []byte("null")) {
				tool.Parameters = *p
			}
			r.Tools = append(r.Tools, tool)
		}
	}
	if f := b.ResponseFormat; f != nil {
		r.ResponseFormat = &domain.ResponseFormat{Type: string(f.Type)}
		if f.JsonSchema != nil && !bytes.Equal(bytes.TrimSpace(*f.JsonSchema), []byte("null")) {
			r.ResponseFormat.JSONSchema = *f.JsonSchema
		}
	}
	if b.ToolChoice != nil {
		tc, err := toToolChoice(b.ToolChoice)
		if err != nil {
			return r, err
		}
		r.ToolChoice = tc
	}
	return r, nil
}

// firstByte is the first non-space byte of JSON text, 0 when there is none.
func firstByte(raw []byte) byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

func toDomainMessage(i int, m api.OpenAIMessage) (domain.Message, error) {
	msg := domain.Message{Role: string(m.Role)}
	if m.Role == "developer" {
		msg.Role = domain.RoleSystem // OpenAI's newer name for system instructions
	}
	if m.Content != nil {
		raw, _ := m.Content.MarshalJSON()
		switch firstByte(raw) {
		case '"':
			msg.Content, _ = m.Content.AsOpenAIMessageContent0()
		case '[':
			parts, err := m.Content.AsOpenAIMessageContent1()
			if err != nil {
				return msg, domain.Invalid(fmt.Sprintf("messages[%d].content", i), "must be a string or an array of text parts")
			}
			var text strings.Builder
			for j, p := range parts {
				if p.Type != "text" {
					return msg, domain.Invalid(fmt.Sprintf("messages[%d].content[%d].type", i, j), "only text parts are supported")
				}
				if p.Text != nil {
					text.WriteString(*p.Text)
				}
			}
			msg.Content = text.String()
		case 'n':
		default:
			return msg, domain.Invalid(fmt.Sprintf("messages[%d].content", i), "must be a string or an array of text parts")
		}
	}
	if m.ToolCallId != nil {
		msg.ToolCallID = *m.ToolCallId
	}
	if m.ToolCalls != nil {
		for j, tc := range *m.ToolCalls {
			if tc.Type != api.OpenAIToolCallTypeFunction {
				return msg, domain.Invalid(fmt.Sprintf("messages[%d].tool_calls[%d].type", i, j), "must be function")
			}
			msg.ToolCalls = append(msg.ToolCalls, domain.ToolCall{ID: tc.Id, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
	}
	return msg, nil
}

func toToolChoice(c *api.OpenAIToolChoice) (*domain.ToolChoice, error) {
	raw, _ := c.MarshalJSON()
	switch firstByte(raw) {
	case '"':
		mode, _ := c.AsOpenAIToolChoice0()
		return &domain.ToolChoice{Mode: string(mode)}, nil
	case '{':
		named, err := c.AsOpenAINamedToolChoice()
		if err != nil || named.Type != api.OpenAINamedToolChoiceTypeFunction || named.Function.Name == "" {
			return nil, domain.Invalid("tool_choice", `must be none, auto, required or {"type":"function","function":{"name":...}}`)
		}
		return &domain.ToolChoice{Mode: domain.ToolChoiceFunction, Function: named.Function.Name}, nil
	case 'n':
		return nil, nil
	}
	return nil, domain.Invalid("tool_choice", "must be a string or an object")
}

// CreateChatCompletion implements api.StrictServerInterface.
func (h *handlers) CreateChatCompletion(ctx context.Context, req api.CreateChatCompletionRequestObject) (api.CreateChatCompletionResponseObject, error) {
	u, ok := UserFrom(ctx)
	if !ok {
		return nil, domain.Errorf(domain.CodeUnauthorized, "Missing bearer token")
	}
	if err := h.s.deps.Login.RequireVerified(u); err != nil {
		return nil, err
	}
	creq, err := toOpenAIChatRequest(req.Body)
	if err != nil {
		return nil, err
	}
	creq.Cache = cacheMode(req.Params.CacheControl)
	creq.RequestID = RequestIDFrom(ctx)
	if creq.Stream {
		includeUsage := req.Body.StreamOptions != nil && req.Body.StreamOptions.IncludeUsage != nil && *req.Body.StreamOptions.IncludeUsage
		return &openAIStream{s: h.s, ctx: ctx, user: u, req: creq, includeUsage: includeUsage}, nil
	}
	var sink openAICollector
	res, err := h.s.answer(ctx, u, creq, &sink, func() []byte { return sink.content })
	if err != nil {
		return nil, err
	}
	answer := api.OpenAIAnswer{Role: api.OpenAIAnswerRoleAssistant}
	toolCalls := sink.calls.Calls()
	if len(sink.content) > 0 || len(toolCalls) == 0 {
		content := string(sink.content)
		answer.Content = &content
	}
	if len(toolCalls) > 0 {
		calls := make([]api.OpenAIToolCall, len(toolCalls))
		for i, c := range toolCalls {
			calls[i] = api.OpenAIToolCall{Id: c.ID, Type: api.OpenAIToolCallTypeFunction,
				Function: api.OpenAIFunctionCall{Name: c.Name, Arguments: c.Arguments}}
		}
		answer.ToolCalls = &calls
	}
	provider, upstream := api.Provider(res.Provider), res.UpstreamModel
	return api.CreateChatCompletion200JSONResponse{
		Headers: api.CreateChatCompletion200ResponseHeaders{XGenzaiProvider: &provider, XGenzaiUpstreamModel: &upstream,
			XGenzaiCache: cacheHeaderValue(res.Cache)},
		Body: api.OpenAIChatCompletion{
			Id:      completionID(ctx),
			Object:  api.ChatCompletion,
			Created: time.Now().Unix(),
			Model:   api.Tier(res.Tier),
			Choices: []api.OpenAIChoice{{Index: 0, Message: answer, FinishReason: finishReason(res.FinishReason)}},
			Usage:   openAIUsage(res.Usage),
		},
	}, nil
}

// completionID is the id of an answer: OpenAI's prefix and the request id,
// so that support can find it in the logs.
func completionID(ctx context.Context) string { return "chatcmpl-" + RequestIDFrom(ctx) }

// finishReason is the provider's, or "stop" when it did not say.
func finishReason(r string) string {
	if r == "" {
		return "stop"
	}
	return r
}

func openAIUsage(u domain.Usage) api.OpenAIUsage {
	return api.OpenAIUsage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.PromptTokens + u.CompletionTokens}
}

// openAICollector gathers a whole answer, tool calls included.
type openAICollector struct {
	meta    chat.Meta
	content []byte
	calls   domain.ToolCalls
}

func (c *openAICollector) Begin(m chat.Meta) error { c.meta = m; return nil }
func (c *openAICollector) Token(t string) error    { c.content = append(c.content, t...); return nil }

// ToolCalls implements chat.ToolSink: pieces with the same index build one call.
func (c *openAICollector) ToolCalls(pieces []domain.ToolCallDelta) error {
	c.calls.Add(pieces)
	return nil
}

// openAIStream is a streamed answer; like chatStream it runs the chat when
// the strict server asks it to write itself, so that errors before the
// first token are ordinary JSON errors.
type openAIStream struct {
	s            *Server
	ctx          context.Context
	user         domain.User
	req          chat.Request
	includeUsage bool
}

// VisitCreateChatCompletionResponse implements api.CreateChatCompletionResponseObject.
func (o *openAIStream) VisitCreateChatCompletionResponse(w http.ResponseWriter) error {
	sink := &openAISink{
		sseSink: newSSESink(w, RequestIDFrom(o.ctx), o.s.cfg.SSEKeepAlive),
		id:      completionID(o.ctx), created: time.Now().Unix(), model: string(o.req.Tier), includeUsage: o.includeUsage,
	}
	return o.s.stream(o.ctx, o.user, o.req, sink)
}

// openAISink writes an answer as OpenAI's chat.completion.chunk events,
// with the stream mechanics (keep-alives, write deadlines, metrics) of the
// native sseSink.
type openAISink struct {
	*sseSink
	id      string
	created int64
	model   string
	// includeUsage adds the usage chunk before [DONE].
	includeUsage bool
	// tokenHead is every token event up to its text: the same for the
	// whole stream, so it is encoded once (a token event is most of the
	// stream, and encoding the chunk each time cost three times as much).
	tokenHead []byte
	buf       []byte
}

// tokenTail closes a token event after its text.
const tokenTail = "},\"logprobs\":null,\"finish_reason\":null}]}\n\n"

type openAIChunk struct {
	ID      string              `json:"id"`
	Object  string              `json:"object"`
	Created int64               `json:"created"`
	Model   string              `json:"model"`
	Choices []openAIChunkChoice `json:"choices"`
	Usage   *api.OpenAIUsage    `json:"usage,omitempty"`
}

type openAIChunkChoice struct {
	Index        int         `json:"index"`
	Delta        openAIDelta `json:"delta"`
	Logprobs     *struct{}   `json:"logprobs"` // always null
	FinishReason *string     `json:"finish_reason"`
}

type openAIDelta struct {
	Role      string                `json:"role,omitempty"`
	Content   *string               `json:"content,omitempty"`
	ToolCalls []openAIToolCallDelta `json:"tool_calls,omitempty"`
}

type openAIToolCallDelta struct {
	Index    int                `json:"index"`
	ID       string             `json:"id,omitempty"`
	Type     string             `json:"type,omitempty"`
	Function openAIFunctionPart `json:"function"`
}

type openAIFunctionPart struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// chunk is a chunk of this stream.
func (s *openAISink) chunk(choices []openAIChunkChoice, usage *api.OpenAIUsage) openAIChunk {
	return openAIChunk{ID: s.id, Object: "chat.completion.chunk", Created: s.created, Model: s.model, Choices: choices, Usage: usage}
}

func (s *openAISink) chunkLocked(delta openAIDelta, finish *string) error {
	return s.eventLocked("", s.chunk([]openAIChunkChoice{{Delta: delta, FinishReason: finish}}, nil))
}

// Begin implements chat.Sink: the headers, then OpenAI's opening chunk.
func (s *openAISink) Begin(m chat.Meta) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.w.Header()
	h.Set("X-Genzai-Provider", string(m.Provider))
	h.Set("X-Genzai-Upstream-Model", m.UpstreamModel)
	h.Set(cacheHeader, cacheHeaderValue(m.Cache))
	s.openLocked()
	empty := ""
	return s.chunkLocked(openAIDelta{Role: "assistant", Content: &empty}, nil)
}

// Token implements chat.Sink.
func (s *openAISink) Token(text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keepAnswer {
		s.answer = append(s.answer, text...)
	}
	if s.tokenHead == nil {
		head, err := json.Marshal(s.chunk(nil, nil))
		if err != nil {
			return err
		}
		// {"id":...,"choices":null} -> data: {"id":...,"choices":[{"index":0,"delta":{"content":
		head = bytes.TrimSuffix(head, []byte(`null}`))
		s.tokenHead = append(append([]byte("data: "), head...), `[{"index":0,"delta":{"content":`...)
	}
	quoted, err := json.Marshal(text)
	if err != nil {
		return err
	}
	s.buf = append(append(append(s.buf[:0], s.tokenHead...), quoted...), tokenTail...)
	return s.writeLocked(s.buf)
}

// ToolCalls implements chat.ToolSink.
func (s *openAISink) ToolCalls(pieces []domain.ToolCallDelta) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	calls := make([]openAIToolCallDelta, len(pieces))
	for i, p := range pieces {
		calls[i] = openAIToolCallDelta{Index: p.Index, ID: p.ID, Function: openAIFunctionPart{Name: p.Name, Arguments: p.Arguments}}
		if p.ID != "" {
			calls[i].Type = "function"
		}
	}
	return s.chunkLocked(openAIDelta{ToolCalls: calls}, nil)
}

// done ends the stream: the finish chunk, the usage chunk when asked for,
// and [DONE].
func (s *openAISink) done(r chat.Result) error {
	s.close()
	s.mu.Lock()
	defer s.mu.Unlock()
	finish := finishReason(r.FinishReason)
	if err := s.chunkLocked(openAIDelta{}, &finish); err != nil {
		return err
	}
	if s.includeUsage {
		u := openAIUsage(r.Usage)
		if err := s.eventLocked("", s.chunk([]openAIChunkChoice{}, &u)); err != nil {
			return err
		}
	}
	return s.writeLocked([]byte("data: [DONE]\n\n"))
}

// fail ends the stream with an error event and no [DONE], as OpenAI does;
// the SDKs raise it. Its type comes from openAIErrors; its code is the
// domain code, as the native stream's error event names it.
func (s *openAISink) fail(message string, code domain.Code) error {
	s.close()
	s.mu.Lock()
	defer s.mu.Unlock()
	kind := openAIKindOf(code)
	wire := string(code)
	if kind.code != "" {
		wire = kind.code
	}
	return s.eventLocked("", openAIErrorBody{Error: openAIError{Message: message, Type: kind.typ, Code: &wire}})
}

// ListOpenAIModels implements api.StrictServerInterface.
func (h *handlers) ListOpenAIModels(ctx context.Context, _ api.ListOpenAIModelsRequestObject) (api.ListOpenAIModelsResponseObject, error) {
	tiers := h.s.deps.Chat.Tiers()
	out := api.ListOpenAIModels200JSONResponse{Object: api.List, Data: make([]api.OpenAIModel, 0, len(tiers))}
	for _, t := range tiers {
		out.Data = append(out.Data, toOpenAIModel(t))
	}
	// The image models follow the tiers while image generation is on, so
	// that a client choosing a model for images.generate() finds them.
	if svc := h.s.deps.Images; svc != nil {
		for _, m := range svc.Models() {
			out.Data = append(out.Data, toOpenAIImageModel(m))
		}
	}
	return out, nil
}

// GetOpenAIModel implements api.StrictServerInterface.
func (h *handlers) GetOpenAIModel(ctx context.Context, req api.GetOpenAIModelRequestObject) (api.GetOpenAIModelResponseObject, error) {
	for _, t := range h.s.deps.Chat.Tiers() {
		if string(t.Tier) == req.Model {
			return api.GetOpenAIModel200JSONResponse(toOpenAIModel(t)), nil
		}
	}
	if !utf8.ValidString(req.Model) || strings.IndexFunc(req.Model, unicode.IsControl) >= 0 || utf8.RuneCountInString(req.Model) > maxModelName {
		return nil, domain.Invalid("model", "must be a model name (fast, balanced or smart)")
	}
	param, code := "model", "model_not_found"
	return api.GetOpenAIModel404JSONResponse{Error: api.OpenAIError{
		Message: fmt.Sprintf("The model %s does not exist; the models are fast, balanced and smart", req.Model),
		Type:    api.NotFoundError, Param: &param, Code: &code,
	}}, nil
}

// maxModelName bounds the name a 404 repeats.
const maxModelName = 128

func toOpenAIModel(t routing.TierInfo) api.OpenAIModel {
	return api.OpenAIModel{
		Id: string(t.Tier), Object: api.Model, Created: modelsCreated, OwnedBy: "genzai", Kind: api.RequestKindChat,
		Name: t.Name, Description: t.Description, Provider: api.Provider(t.Provider), Available: t.Available,
	}
}

// toOpenAIImageModel describes a model of the image chain: its id is
// "<provider>/<model>", owned by the provider that runs it.
func toOpenAIImageModel(m routing.ImageModel) api.OpenAIModel {
	return api.OpenAIModel{
		Id: string(m.Provider) + "/" + m.Model, Object: api.Model, Created: modelsCreated, OwnedBy: string(m.Provider),
		Kind: api.RequestKindImage, Name: m.Model, Description: "Image generation (POST /v1/images/generations)",
		Provider: api.Provider(m.Provider), Available: m.Available,
	}
}

// openAIErrorBody is the JSON of every non-2xx answer of the /v1 routes.
type openAIErrorBody struct {
	Error openAIError `json:"error"`
}

type openAIError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// openAIKind is how the OpenAI dialect names one error code: OpenAI's
// error type, so that the SDKs raise their usual errors, and its code.
type openAIKind struct {
	typ string
	// code is the body's code when it is not the native API's (the names
	// OpenAI clients test for).
	code string
	// noRetry tells the SDKs not to send it again (X-Should-Retry).
	noRetry bool
}

// openAIErrors is the one table that maps error codes to the OpenAI
// dialect. Every domain.Code has a row (TestEveryCodeHasARow).
var openAIErrors = map[domain.Code]openAIKind{
	domain.CodeInvalid:              {typ: "invalid_request_error"},
	domain.CodeUnauthorized:         {typ: "authentication_error", code: "invalid_api_key"},
	domain.CodeInvalidToken:         {typ: "authentication_error", code: "invalid_api_key"},
	domain.CodeTokenExpired:         {typ: "authentication_error"},
	domain.CodeForbidden:            {typ: "permission_error"},
	domain.CodeEmailUnverified:      {typ: "permission_error"},
	domain.CodeNotFound:             {typ: "not_found_error"},
	domain.CodeMethodNotAllowed:     {typ: "invalid_request_error"},
	domain.CodeConflict:             {typ: "invalid_request_error"},
	domain.CodeConversationBusy:     {typ: "invalid_request_error"},
	domain.CodeRequestTimeout:       {typ: "invalid_request_error"},
	domain.CodePayloadTooLarge:      {typ: "invalid_request_error"},
	domain.CodeUnsupportedMediaType: {typ: "invalid_request_error"},
	// Sending it again cannot succeed before the quota resets.
	domain.CodeQuotaExceeded:        {typ: "insufficient_quota", code: "daily_quota_exceeded", noRetry: true},
	domain.CodeRateLimited:          {typ: "rate_limit_error"},
	domain.CodeProviderRateLimited:  {typ: "rate_limit_error"},
	domain.CodeProvidersUnavailable: {typ: "server_error"},
	domain.CodeUpstreamError:        {typ: "server_error"},
	domain.CodeStreamInterrupted:    {typ: "server_error"},
	domain.CodeTimeout:              {typ: "server_error"},
	domain.CodeCancelled:            {typ: "server_error"},
	domain.CodeUnavailable:          {typ: "server_error"},
	domain.CodeShuttingDown:         {typ: "server_error"},
	domain.CodeFeatureDisabled:      {typ: "server_error"},
	domain.CodeSearchUnavailable:    {typ: "server_error"},
	domain.CodeInternal:             {typ: "server_error"},
}

// openAIKindOf is the row of code; an unknown code is an internal error.
func openAIKindOf(code domain.Code) openAIKind {
	if kind, ok := openAIErrors[code]; ok {
		return kind
	}
	return openAIErrors[domain.CodeInternal]
}

// toOpenAIError restates a decided error in OpenAI's shape, by its code.
func toOpenAIError(a errorAnswer) (openAIErrorBody, openAIKind) {
	kind := openAIKindOf(a.code)
	e := openAIError{Message: a.body.Error, Type: kind.typ}
	code := a.body.Code
	if kind.code != "" {
		code = kind.code
	}
	e.Code = &code
	if a.body.Used != nil && a.body.Limit != nil {
		e.Message = fmt.Sprintf("%s (%d of %d requests used today)", a.body.Error, *a.body.Used, *a.body.Limit)
	}
	if a.field != "" {
		field := a.field
		e.Param = &field
	}
	return openAIErrorBody{Error: e}, kind
}

// isOpenAIPath reports whether an answer to path takes OpenAI's error shape.
func isOpenAIPath(path string) bool { return strings.HasPrefix(path, openAIPrefix) }

// writeOpenAIError writes an error answer of the /v1 routes.
func writeOpenAIError(w http.ResponseWriter, a errorAnswer) error {
	body, kind := toOpenAIError(a)
	if kind.noRetry {
		// The OpenAI SDKs read this and do not retry.
		w.Header().Set("X-Should-Retry", "false")
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	_, err = w.Write(append(raw, '\n'))
	return err
}
