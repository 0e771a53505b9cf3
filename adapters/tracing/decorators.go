package tracing

import (
	"context"
	"errors"
	"io"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// Span attribute keys of the gateway's own spans (GenAI keys follow the
// OpenTelemetry semantic conventions for generative AI).
const (
	attrGenAIProvider  = attribute.Key("gen_ai.provider.name")
	attrGenAIModel     = attribute.Key("gen_ai.request.model")
	attrGenAIOperation = attribute.Key("gen_ai.operation.name")
	attrKeyIndex       = attribute.Key("genzai.key_index")
	attrErrorReason    = attribute.Key("genzai.error.reason")
	attrSearchEngine   = attribute.Key("genzai.search.engine")
	attrSearchResults  = attribute.Key("genzai.search.results")
)

// Provider decorates a chat provider with a client span per upstream
// request ("chat <provider>"), from StreamChat until its stream ends or is
// closed: attributes name the provider, the model and the key index, and a
// failure sets error.type to its class and genzai.error.reason to its
// reason. The first token is an event. Keys and messages are never recorded.
func Provider(tp trace.TracerProvider, next ports.ChatProvider) ports.ChatProvider {
	return &provider{ChatProvider: next, call: NewOperation(tp, next.Name(), domain.RequestKindChat)}
}

type provider struct {
	ports.ChatProvider
	call *Operation
}

var _ ports.ChatProvider = (*provider)(nil)

// StreamChat implements ports.ChatProvider.
func (p *provider) StreamChat(ctx context.Context, key int, req domain.CompletionRequest) (ports.ChatStream, error) {
	ctx, span := p.call.Start(ctx, req.Model, key)
	s, err := p.ChatProvider.StreamChat(ctx, key, req)
	if err != nil {
		endFailed(ctx, span, err)
		return nil, err
	}
	return &stream{ChatStream: s, ctx: ctx, span: span}, nil
}

// Operation opens the client spans of one provider's upstream calls of
// one kind (chat, image, transcription, speech): "<kind> <provider>", with
// the provider, gen_ai.operation.name (the kind), the model and the key
// index. The decorators of the provider ports use it; a decorator of a new
// port is its call between Start and End.
type Operation struct {
	tracer   trace.Tracer
	spanName string
	attrs    []attribute.KeyValue
}

// NewOperation returns the spans of provider's calls of kind.
func NewOperation(tp trace.TracerProvider, provider domain.Provider, kind domain.RequestKind) *Operation {
	return &Operation{
		tracer:   tp.Tracer(instrumentation + "/provider"),
		spanName: string(kind) + " " + string(provider),
		attrs:    []attribute.KeyValue{attrGenAIProvider.String(string(provider)), attrGenAIOperation.String(string(kind))},
	}
}

// Start opens the span of one call of model with key index key; End ends it.
func (o *Operation) Start(ctx context.Context, model string, key int) (context.Context, trace.Span) {
	return o.tracer.Start(ctx, o.spanName, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(o.attrs...), trace.WithAttributes(attrGenAIModel.String(model), attrKeyIndex.Int(key)))
}

// End ends a call's span: as it is when err is nil, else with the
// failure's class and reason (a caller who left is no error of the
// provider).
func End(ctx context.Context, span trace.Span, err error) {
	if err != nil {
		endFailed(ctx, span, err)
		return
	}
	span.End()
}

// ImageGenerator decorates a provider's image generation with a client
// span per upstream call ("image <provider>"), as Provider does its chat;
// the prompt and the images are never recorded.
func ImageGenerator(tp trace.TracerProvider, next ports.ImageGenerator) ports.ImageGenerator {
	return &imageGenerator{ImageGenerator: next, call: NewOperation(tp, next.Name(), domain.RequestKindImage)}
}

type imageGenerator struct {
	ports.ImageGenerator
	call *Operation
}

var _ ports.ImageGenerator = (*imageGenerator)(nil)

// GenerateImages implements ports.ImageGenerator.
func (g *imageGenerator) GenerateImages(ctx context.Context, key int, req domain.ImageRequest) ([]domain.Image, error) {
	ctx, span := g.call.Start(ctx, req.Model, key)
	images, err := g.ImageGenerator.GenerateImages(ctx, key, req)
	End(ctx, span, err)
	return images, err
}

// Transcriber decorates a provider's speech to text with a client span per
// upstream call ("transcription <provider>"), as ImageGenerator does its
// images; the audio, prompt and transcript are never recorded.
func Transcriber(tp trace.TracerProvider, next ports.Transcriber) ports.Transcriber {
	return &transcriber{Transcriber: next, call: NewOperation(tp, next.Name(), domain.RequestKindTranscription)}
}

type transcriber struct {
	ports.Transcriber
	call *Operation
}

var _ ports.Transcriber = (*transcriber)(nil)

// Transcribe implements ports.Transcriber.
func (t *transcriber) Transcribe(ctx context.Context, key int, req domain.TranscriptionRequest) (domain.Transcription, error) {
	ctx, span := t.call.Start(ctx, req.Model, key)
	out, err := t.Transcriber.Transcribe(ctx, key, req)
	End(ctx, span, err)
	return out, err
}

// SpeechSynthesizer decorates a provider's text to speech with a client
// span per upstream call ("speech <provider>"); the text and the audio are
// never recorded.
func SpeechSynthesizer(tp trace.TracerProvider, next ports.SpeechSynthesizer) ports.SpeechSynthesizer {
	return &speechSynthesizer{SpeechSynthesizer: next, call: NewOperation(tp, next.Name(), domain.RequestKindSpeech)}
}

type speechSynthesizer struct {
	ports.SpeechSynthesizer
	call *Operation
}

var _ ports.SpeechSynthesizer = (*speechSynthesizer)(nil)

// Speak implements ports.SpeechSynthesizer.
func (s *speechSynthesizer) Speak(ctx context.Context, key int, req domain.SpeechRequest) (domain.Audio, error) {
	ctx, span := s.call.Start(ctx, req.Model, key)
	out, err := s.SpeechSynthesizer.Speak(ctx, key, req)
	End(ctx, span, err)
	return out, err
}

// endFailed ends a span with the failure's class and reason; a caller who
// left is not an error of the provider.
func endFailed(ctx context.Context, span trace.Span, err error) {
	defer span.End()
	if ctx.Err() != nil && errors.Is(context.Cause(ctx), context.Canceled) {
		span.SetAttributes(attrErrorReason.String(string(domain.OutcomeCancelled)))
		return
	}
	class, reason := "other", "other"
	var pe *domain.ProviderError
	switch {
	case ctx.Err() != nil:
		class, reason = string(domain.FailureRetryable), string(domain.ReasonTimeout)
	case errors.As(err, &pe):
		class, reason = string(pe.Class), string(pe.Reason)
	}
	span.SetAttributes(semconv.ErrorTypeKey.String(class), attrErrorReason.String(reason))
	span.SetStatus(codes.Error, reason)
}

// stream ends its span with the stream.
type stream struct {
	ports.ChatStream
	ctx   context.Context
	span  trace.Span
	first bool
	done  bool
}

// Recv implements ports.ChatStream.
func (s *stream) Recv() (domain.ChatDelta, error) {
	d, err := s.ChatStream.Recv()
	switch {
	case s.done:
	case err == nil:
		if !s.first && d.Opens() {
			s.first = true
			s.span.AddEvent("first_token")
		}
	case errors.Is(err, io.EOF):
		s.done = true
		s.span.End()
	default:
		s.done = true
		endFailed(s.ctx, s.span, err)
	}
	return d, err
}

// Close implements ports.ChatStream.
func (s *stream) Close() error {
	if !s.done {
		s.done = true
		s.span.SetAttributes(attrErrorReason.String(string(domain.OutcomeCancelled)))
		s.span.End()
	}
	return s.ChatStream.Close()
}

// Searcher decorates a web searcher with a client span per search
// ("web_search"), naming the engine and the number of results, never the
// query (it comes from users' prompts).
func Searcher(tp trace.TracerProvider, next ports.Searcher, engine string) ports.Searcher {
	return &searcher{next: next, tracer: tp.Tracer(instrumentation + "/search"), engine: attrSearchEngine.String(engine)}
}

type searcher struct {
	next   ports.Searcher
	tracer trace.Tracer
	engine attribute.KeyValue
}

var _ ports.Searcher = (*searcher)(nil)

// Search implements ports.Searcher.
func (s *searcher) Search(ctx context.Context, query string, max int) ([]domain.SearchResult, error) {
	ctx, span := s.tracer.Start(ctx, "web_search", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(s.engine))
	defer span.End()
	res, err := s.next.Search(ctx, query, max)
	if err != nil {
		span.SetAttributes(semconv.ErrorTypeKey.String(string(domain.ErrorCode(err))))
		span.SetStatus(codes.Error, "search failed")
		return res, err
	}
	span.SetAttributes(attrSearchResults.Int(len(res)))
	return res, nil
}
