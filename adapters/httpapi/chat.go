package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/chat"
)

// ErrShuttingDown is the cause with which the server cancels the requests
// still running shortly before its shutdown deadline (the base context of
// every request; see cmd/genzai). A stream then ends with an error event
// of code domain.CodeShuttingDown instead of being cut when the server closes, and
// a request that has not answered yet gets a 503.
var ErrShuttingDown = errors.New("server shutting down")

// shuttingDown reports whether ctx was cancelled by the server's shutdown.
func shuttingDown(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), ErrShuttingDown)
}

// errShutdownUnavailable answers a request the shutdown ended before it
// could answer: the client may send it again (to another instance).
func errShutdownUnavailable(err error) error {
	return &domain.Error{Code: domain.CodeShuttingDown, Message: "The server is shutting down; send the request again", Err: err}
}

func toChatRequest(b *api.ChatRequest, cacheControl *string) chat.Request {
	r := chat.Request{Prompt: b.Prompt, MaxTokens: b.MaxTokens, Temperature: b.Temperature, Stream: true,
		Cache: cacheMode(cacheControl)}
	if b.Cache != nil && !*b.Cache {
		r.Cache = chat.CacheSkip
	}
	if b.Model != nil {
		r.Tier = domain.Tier(*b.Model)
	}
	if b.Stream != nil {
		r.Stream = *b.Stream
	}
	if b.WebSearch != nil {
		r.WebSearch = *b.WebSearch
	}
	if b.Regenerate != nil {
		r.Regenerate = *b.Regenerate
	}
	if b.System != nil {
		r.System = *b.System
	}
	if b.Messages != nil {
		for _, m := range *b.Messages {
			r.Messages = append(r.Messages, domain.Message{Role: string(m.Role), Content: m.Content})
		}
	}
	return r
}

// Chat implements api.StrictServerInterface. A streamed answer is written
// by the returned response object, so that routing errors before the first
// token still become ordinary JSON errors with their status.
func (h *handlers) Chat(ctx context.Context, req api.ChatRequestObject) (api.ChatResponseObject, error) {
	u, ok := UserFrom(ctx)
	if !ok {
		return nil, domain.Errorf(domain.CodeUnauthorized, "Missing bearer token")
	}
	if err := h.s.deps.Login.RequireVerified(u); err != nil {
		return nil, err
	}
	creq := toChatRequest(req.Body, req.Params.CacheControl)
	creq.RequestID = RequestIDFrom(ctx)
	conv, err := chatConversation(req.Body.ConversationId)
	if err != nil {
		return nil, err
	}
	creq.ConversationID = conv
	if creq.Stream {
		return &chatStream{s: h.s, ctx: ctx, user: u, req: creq}, nil
	}
	var sink collectSink
	res, err := h.s.answer(ctx, u, creq, &sink, func() []byte { return sink.content })
	if err != nil {
		return nil, err
	}
	return api.Chat200JSONResponse{Headers: api.Chat200ResponseHeaders{XGenzaiCache: cacheHeaderValue(res.Cache)}, Body: api.ChatReply{
		Id:              RequestIDFrom(ctx),
		Model:           api.Tier(res.Tier),
		Provider:        api.Provider(res.Provider),
		UpstreamModel:   res.UpstreamModel,
		Content:         string(sink.content),
		FinishReason:    res.FinishReason,
		Usage:           api.Usage{PromptTokens: res.Usage.PromptTokens, CompletionTokens: res.Usage.CompletionTokens},
		WebSearch:       webSearchOutcome(res.WebSearch),
		WebSearchReason: webSearchReason(res.WebSearchReason),
		Sources:         toSources(res.Sources),
		ConversationId:  conversationRef(res.ConversationID),
		Cached:          res.Cache == domain.CacheHit,
	}}, nil
}

// chatStream is the streamed answer; it runs the chat when the strict
// server asks it to write itself.
type chatStream struct {
	s    *Server
	ctx  context.Context
	user domain.User
	req  chat.Request
}

// VisitChatResponse implements api.ChatResponseObject.
func (c *chatStream) VisitChatResponse(w http.ResponseWriter) error {
	sink := newSSESink(w, RequestIDFrom(c.ctx), c.s.cfg.SSEKeepAlive)
	return c.s.stream(c.ctx, c.user, c.req, sink)
}

// answer runs a chat whose answer is sent whole once it is complete; the
// sink collects it, content returns what it collected. Both APIs' JSON
// answers come through here.
func (s *Server) answer(ctx context.Context, u domain.User, req chat.Request, sink chat.Sink, content func() []byte) (chat.Result, error) {
	res, err := s.deps.Chat.Chat(ctx, u, req, sink)
	if s.cfg.LogPrompts {
		s.logTranscript(ctx, req, content(), err)
	}
	if err != nil {
		setCacheStatus(ctx, res.Cache) // the error answer says it too
	}
	if err != nil && shuttingDown(ctx) {
		return res, errShutdownUnavailable(err)
	}
	return res, err
}

// eventStream is a chat answer written as Server-Sent Events: the native
// sseSink or the OpenAI-compatible openAISink.
type eventStream interface {
	chat.Sink
	// stream is the sink's stream mechanics.
	stream() *sseSink
	// done ends a complete answer; fail ends one that cannot complete.
	done(chat.Result) error
	fail(message string, code domain.Code) error
}

// stream runs a streamed chat into sink. Until the first token nothing is
// written, so an error is returned for the error handler to answer with
// its status; after it, the stream ends with the sink's error event.
func (s *Server) stream(ctx context.Context, u domain.User, req chat.Request, sink eventStream) error {
	st := sink.stream()
	st.metrics, st.keepAnswer = s.cfg.Metrics, s.cfg.LogPrompts
	defer st.close()
	res, err := s.deps.Chat.Chat(ctx, u, req, sink)
	if s.cfg.LogPrompts {
		s.logTranscript(ctx, req, st.answer, err)
	}
	if st.begun && st.metrics != nil {
		defer st.metrics.StreamClosed() // after the last event is written
	}
	if !st.begun {
		setCacheStatus(ctx, res.Cache)
		if err != nil && shuttingDown(ctx) {
			return errShutdownUnavailable(err)
		}
		return err // nothing written yet: the error handler answers with JSON
	}
	switch {
	case err == nil:
		return sink.done(res)
	case shuttingDown(ctx):
		// The server stops before the answer could finish: say so, so that
		// the client knows the answer is incomplete and why.
		s.log.Info("stream ended by shutdown", "request_id", RequestIDFrom(ctx))
		_ = sink.fail("The server is shutting down; the answer is incomplete", domain.CodeShuttingDown)
		return nil
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		return nil // the client left
	default:
		s.log.Warn("stream interrupted", "request_id", RequestIDFrom(ctx), "error", err)
		_ = sink.fail("The AI provider failed in the middle of the answer", domain.ErrorCode(err))
		return nil
	}
}

// logTranscript logs a chat's prompt and answer (only with LOG_PROMPTS:
// prompts and answers stay out of the logs otherwise). A failed chat logs
// the part of the answer that was sent, if any, and its error code.
func (s *Server) logTranscript(ctx context.Context, req chat.Request, answer []byte, err error) {
	// An OpenAI request has no prompt: its last message is the one sent now.
	prompt, earlier := req.Prompt, req.Messages
	if prompt == "" && len(earlier) > 0 {
		prompt, earlier = earlier[len(earlier)-1].Content, earlier[:len(earlier)-1]
	}
	attrs := []slog.Attr{
		slog.String("request_id", RequestIDFrom(ctx)),
		slog.String("prompt", prompt),
	}
	if req.System != "" {
		attrs = append(attrs, slog.String("system", req.System))
	}
	if len(earlier) > 0 {
		attrs = append(attrs, slog.Int("earlier_messages", len(earlier)))
	}
	attrs = append(attrs, slog.String("answer", string(answer)))
	if err != nil {
		attrs = append(attrs, slog.String("error_code", string(domain.ErrorCode(err))))
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "chat transcript", attrs...)
}

// ListModels implements api.StrictServerInterface.
func (h *handlers) ListModels(ctx context.Context, _ api.ListModelsRequestObject) (api.ListModelsResponseObject, error) {
	tiers := h.s.deps.Chat.Tiers()
	out := api.ListModels200JSONResponse{Models: make([]api.ModelInfo, 0, len(tiers)), Images: h.imagesInfo(), Voice: h.voiceInfo()}
	for _, t := range tiers {
		out.Models = append(out.Models, api.ModelInfo{
			Id: api.Tier(t.Tier), Name: t.Name, Provider: api.Provider(t.Provider),
			Description: t.Description, Available: t.Available,
		})
	}
	return out, nil
}

func webSearchOutcome(s string) *api.WebSearchOutcome {
	if s == "" {
		return nil
	}
	o := api.WebSearchOutcome(s)
	return &o
}

func webSearchReason(r domain.SearchFailure) *api.WebSearchFailure {
	if r == "" {
		return nil
	}
	f := api.WebSearchFailure(r)
	return &f
}
