package tracing_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/genzai/genzai/adapters/tracing"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// recorder is a tracer provider that keeps every ended span in memory.
func recorder(t *testing.T) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, rec
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

type fakeProvider struct {
	err    error
	deltas []domain.ChatDelta
	end    error
}

func (f *fakeProvider) Name() domain.Provider { return domain.ProviderGroq }
func (f *fakeProvider) KeyCount() int         { return 3 }
func (f *fakeProvider) StreamChat(ctx context.Context, key int, req domain.CompletionRequest) (ports.ChatStream, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &fakeStream{deltas: append([]domain.ChatDelta(nil), f.deltas...), end: f.end}, nil
}

type fakeStream struct {
	deltas []domain.ChatDelta
	end    error
}

func (s *fakeStream) Recv() (domain.ChatDelta, error) {
	if len(s.deltas) == 0 {
		return domain.ChatDelta{}, s.end
	}
	d := s.deltas[0]
	s.deltas = s.deltas[1:]
	return d, nil
}

func (s *fakeStream) Close() error { return nil }

func TestProvider(t *testing.T) {
	t.Parallel()
	const prompt = "my secret prompt"
	answer := []domain.ChatDelta{{Content: "Hi"}, {FinishReason: "stop"}}
	keyRejected := &domain.ProviderError{Provider: domain.ProviderGroq, Class: domain.FailureKeyRejected, Reason: "key_rejected",
		Status: 401, Message: "invalid key gsk_live_123"}
	tests := []struct {
		name       string
		p          *fakeProvider
		cancel     bool
		readAll    bool
		wantStatus codes.Code
		wantClass  string
		wantReason string
		wantFirst  bool
	}{
		{name: "answer", p: &fakeProvider{deltas: answer, end: io.EOF}, readAll: true, wantStatus: codes.Unset, wantFirst: true},
		{name: "key rejected", p: &fakeProvider{err: keyRejected}, wantStatus: codes.Error, wantClass: "key_rejected", wantReason: "key_rejected"},
		{name: "cut off", p: &fakeProvider{deltas: answer[:1], end: &domain.ProviderError{Class: domain.FailureRetryable, Reason: "cut_off"}},
			readAll: true, wantStatus: codes.Error, wantClass: "retryable", wantReason: "cut_off", wantFirst: true},
		{name: "caller left", p: &fakeProvider{end: context.Canceled}, cancel: true, readAll: true, wantStatus: codes.Unset, wantReason: "cancelled"},
		{name: "closed early", p: &fakeProvider{deltas: answer, end: io.EOF}, wantStatus: codes.Unset, wantReason: "cancelled"},
		// A tool call opens an answer as text does (domain.ChatDelta.Opens),
		// for the router, metrics and traces alike.
		{name: "answer opening with a tool call", p: &fakeProvider{deltas: []domain.ChatDelta{
			{ToolCalls: []domain.ToolCallDelta{{ID: "call_1", Name: "f"}}}}, end: io.EOF}, // no finish reason: the call alone opens it
			readAll: true, wantStatus: codes.Unset, wantFirst: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tp, rec := recorder(t)
			parentCtx, parent := tp.Tracer("test").Start(context.Background(), "request")
			ctx, cancel := context.WithCancel(parentCtx)
			defer cancel()
			p := tracing.Provider(tp, tt.p)
			assert.Equal(t, domain.ProviderGroq, p.Name())
			assert.Equal(t, 3, p.KeyCount())

			if tt.cancel {
				cancel()
			}
			s, err := p.StreamChat(ctx, 2, domain.CompletionRequest{Model: "llama", Messages: []domain.Message{{Role: "user", Content: prompt}}})
			if err == nil {
				for tt.readAll && err == nil {
					_, err = s.Recv()
				}
				require.NoError(t, s.Close())
			}
			parent.End()

			ended := rec.Ended()
			require.Len(t, ended, 2)
			sp := ended[0]
			assert.Equal(t, "chat groq", sp.Name())
			assert.Equal(t, trace.SpanKindClient, sp.SpanKind())
			assert.Equal(t, parent.SpanContext().SpanID(), sp.Parent().SpanID(), "a child of the request's span")
			a := attrs(sp)
			assert.Equal(t, "groq", a["gen_ai.provider.name"].AsString())
			assert.Equal(t, "llama", a["gen_ai.request.model"].AsString())
			assert.Equal(t, int64(2), a["genzai.key_index"].AsInt64())
			assert.Equal(t, tt.wantStatus, sp.Status().Code)
			assert.Equal(t, tt.wantClass, a["error.type"].AsString())
			assert.Equal(t, tt.wantReason, a["genzai.error.reason"].AsString())
			first := false
			for _, ev := range sp.Events() {
				first = first || ev.Name == "first_token"
			}
			assert.Equal(t, tt.wantFirst, first)
			for _, kv := range sp.Attributes() {
				assert.NotContains(t, kv.Value.String(), prompt)
				assert.NotContains(t, kv.Value.String(), "gsk_live_123", "upstream messages (which could quote a key) are not recorded")
			}
			assert.NotContains(t, sp.Status().Description, "gsk_live_123")
		})
	}
}

// fakeImages answers GenerateImages with err, else one PNG.
type fakeImages struct{ err error }

func (fakeImages) Name() domain.Provider { return domain.ProviderOpenRouter }

func (f fakeImages) GenerateImages(ctx context.Context, _ int, _ domain.ImageRequest) ([]domain.Image, error) {
	if f.err != nil {
		return nil, f.err
	}
	return []domain.Image{{Data: []byte("png"), MIMEType: domain.MIMETypePNG}}, nil
}

func TestImageGenerator(t *testing.T) {
	t.Parallel()
	const prompt = "my secret picture"
	tests := []struct {
		name       string
		err        error
		wantStatus codes.Code
		wantClass  string
		wantReason string
	}{
		{name: "delivered", wantStatus: codes.Unset},
		{name: "bad response", err: &domain.ProviderError{Provider: domain.ProviderOpenRouter, Class: domain.FailureRetryable, Reason: domain.ReasonBadResponse},
			wantStatus: codes.Error, wantClass: "retryable", wantReason: "bad_response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tp, rec := recorder(t)
			parentCtx, parent := tp.Tracer("test").Start(context.Background(), "request")
			g := tracing.ImageGenerator(tp, fakeImages{err: tt.err})
			assert.Equal(t, domain.ProviderOpenRouter, g.Name())
			_, err := g.GenerateImages(parentCtx, 1, domain.ImageRequest{Prompt: prompt, Model: "flux", N: 1})
			assert.Equal(t, tt.err == nil, err == nil)
			parent.End()

			ended := rec.Ended()
			require.Len(t, ended, 2)
			sp := ended[0]
			assert.Equal(t, "image openrouter", sp.Name())
			assert.Equal(t, trace.SpanKindClient, sp.SpanKind())
			assert.Equal(t, parent.SpanContext().SpanID(), sp.Parent().SpanID())
			a := attrs(sp)
			assert.Equal(t, "openrouter", a["gen_ai.provider.name"].AsString())
			assert.Equal(t, "image", a["gen_ai.operation.name"].AsString())
			assert.Equal(t, "flux", a["gen_ai.request.model"].AsString())
			assert.Equal(t, int64(1), a["genzai.key_index"].AsInt64())
			assert.Equal(t, tt.wantStatus, sp.Status().Code)
			assert.Equal(t, tt.wantClass, a["error.type"].AsString())
			assert.Equal(t, tt.wantReason, a["genzai.error.reason"].AsString())
			for _, kv := range sp.Attributes() {
				assert.NotContains(t, kv.Value.String(), prompt, "prompts are not recorded")
			}
		})
	}
}

// fakeVoice answers Transcribe and Speak with err.
type fakeVoice struct{ err error }

func (fakeVoice) Name() domain.Provider { return domain.ProviderGroq }

func (f fakeVoice) Transcribe(context.Context, int, domain.TranscriptionRequest) (domain.Transcription, error) {
	return domain.Transcription{Text: "my secret words"}, f.err
}

func (f fakeVoice) Speak(context.Context, int, domain.SpeechRequest) (domain.Audio, error) {
	return domain.Audio{Data: []byte("RIFF"), MIMEType: "audio/wav"}, f.err
}

// TestVoiceDecorators: a transcription or speech call is a client span
// named by its operation, with what an image call's span carries, and
// neither the text nor the audio.
func TestVoiceDecorators(t *testing.T) {
	t.Parallel()
	const secret = "my secret words"
	calls := map[string]func(tp trace.TracerProvider, ctx context.Context, f fakeVoice) error{
		"transcription": func(tp trace.TracerProvider, ctx context.Context, f fakeVoice) error {
			tr := tracing.Transcriber(tp, f)
			assert.Equal(t, domain.ProviderGroq, tr.Name())
			_, err := tr.Transcribe(ctx, 1, domain.TranscriptionRequest{Audio: []byte(secret), Prompt: secret, Model: "whisper"})
			return err
		},
		"speech": func(tp trace.TracerProvider, ctx context.Context, f fakeVoice) error {
			sp := tracing.SpeechSynthesizer(tp, f)
			assert.Equal(t, domain.ProviderGroq, sp.Name())
			_, err := sp.Speak(ctx, 1, domain.SpeechRequest{Input: secret, Model: "whisper"})
			return err
		},
	}
	tests := []struct {
		name       string
		err        error
		wantStatus codes.Code
		wantClass  string
		wantReason string
	}{
		{name: "delivered", wantStatus: codes.Unset},
		{name: "bad response", err: &domain.ProviderError{Provider: domain.ProviderGroq, Class: domain.FailureRetryable, Reason: domain.ReasonBadResponse},
			wantStatus: codes.Error, wantClass: "retryable", wantReason: "bad_response"},
	}
	for op, call := range calls {
		for _, tt := range tests {
			t.Run(op+" "+tt.name, func(t *testing.T) {
				t.Parallel()
				tp, rec := recorder(t)
				parentCtx, parent := tp.Tracer("test").Start(context.Background(), "request")
				err := call(tp, parentCtx, fakeVoice{err: tt.err})
				assert.Equal(t, tt.err == nil, err == nil)
				parent.End()

				ended := rec.Ended()
				require.Len(t, ended, 2)
				sp := ended[0]
				assert.Equal(t, op+" groq", sp.Name())
				assert.Equal(t, trace.SpanKindClient, sp.SpanKind())
				assert.Equal(t, parent.SpanContext().SpanID(), sp.Parent().SpanID())
				a := attrs(sp)
				assert.Equal(t, "groq", a["gen_ai.provider.name"].AsString())
				assert.Equal(t, op, a["gen_ai.operation.name"].AsString())
				assert.Equal(t, "whisper", a["gen_ai.request.model"].AsString())
				assert.Equal(t, int64(1), a["genzai.key_index"].AsInt64())
				assert.Equal(t, tt.wantStatus, sp.Status().Code)
				assert.Equal(t, tt.wantClass, a["error.type"].AsString())
				assert.Equal(t, tt.wantReason, a["genzai.error.reason"].AsString())
				for _, kv := range sp.Attributes() {
					assert.NotContains(t, kv.Value.String(), secret, "neither text nor audio is recorded")
				}
			})
		}
	}
}

type fakeSearcher struct{ err error }

func (f fakeSearcher) Search(ctx context.Context, q string, max int) ([]domain.SearchResult, error) {
	if f.err != nil {
		return nil, f.err
	}
	return []domain.SearchResult{{Title: "a"}, {Title: "b"}}, nil
}

func TestSearcher(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		err     error
		status  codes.Code
		results int64
	}{
		{name: "results", status: codes.Unset, results: 2},
		{name: "unavailable", err: domain.Errorf(domain.CodeUnavailable, "blocked"), status: codes.Error},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tp, rec := recorder(t)
			s := tracing.Searcher(tp, fakeSearcher{err: tt.err}, "duckduckgo")
			_, err := s.Search(context.Background(), "what my users typed", 5)
			assert.Equal(t, tt.err, err)
			require.Len(t, rec.Ended(), 1)
			sp := rec.Ended()[0]
			assert.Equal(t, "web_search", sp.Name())
			assert.Equal(t, tt.status, sp.Status().Code)
			a := attrs(sp)
			assert.Equal(t, "duckduckgo", a["genzai.search.engine"].AsString())
			assert.Equal(t, tt.results, a["genzai.search.results"].AsInt64())
			for _, kv := range sp.Attributes() {
				assert.NotContains(t, kv.Value.String(), "what my users typed")
			}
		})
	}
}

func TestQueryTracer(t *testing.T) {
	t.Parallel()
	tp, rec := recorder(t)
	qt := tracing.QueryTracer(tp)
	run := func(ctx context.Context, sql string, err error) {
		ctx = qt.TraceQueryStart(ctx, nil, pgx.TraceQueryStartData{SQL: sql, Args: []any{"ada@example.com"}})
		qt.TraceQueryEnd(ctx, nil, pgx.TraceQueryEndData{Err: err})
	}
	// Outside any trace (background writes): no span at all.
	run(context.Background(), "-- name: InsertProviderCheck :exec\nINSERT ...", nil)
	assert.Empty(t, rec.Ended())

	ctx, parent := tp.Tracer("test").Start(context.Background(), "request")
	run(ctx, "-- name: ConsumeQuota :one\nINSERT ...", nil)
	run(ctx, "-- name: GetUserByEmail :one\nSELECT ...", pgx.ErrNoRows)
	run(ctx, "SELECT 1", errors.New("connection reset"))
	copier := qt.(pgx.CopyFromTracer)
	cctx := copier.TraceCopyFromStart(ctx, nil, pgx.TraceCopyFromStartData{TableName: pgx.Identifier{"request_log"}})
	copier.TraceCopyFromEnd(cctx, nil, pgx.TraceCopyFromEndData{})
	parent.End()

	want := []struct {
		name   string
		status codes.Code
	}{
		{"ConsumeQuota", codes.Unset},
		{"GetUserByEmail", codes.Unset}, // no rows is an answer, not a failure
		{"other", codes.Error},
		{"copy_from request_log", codes.Unset},
	}
	ended := rec.Ended()
	require.Len(t, ended, len(want)+1)
	for i, w := range want {
		sp := ended[i]
		assert.Equal(t, w.name, sp.Name())
		assert.Equal(t, w.status, sp.Status().Code, w.name)
		assert.Equal(t, parent.SpanContext().SpanID(), sp.Parent().SpanID())
		assert.Equal(t, "postgresql", attrs(sp)["db.system.name"].AsString())
		for _, kv := range sp.Attributes() {
			assert.NotContains(t, kv.Value.String(), "ada@example.com", "arguments are never recorded")
		}
	}
	assert.Equal(t, "request", ended[len(want)].Name(), "the request's own span was not ended by a statement")
}

func TestLogHandler(t *testing.T) {
	t.Parallel()
	tp, _ := recorder(t)
	var buf bytes.Buffer
	logger := slog.New(tracing.NewLogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	ctx, span := tp.Tracer("test").Start(context.Background(), "request")
	defer span.End()

	line := func(f func()) map[string]any {
		buf.Reset()
		f()
		var m map[string]any
		require.NoError(t, json.Unmarshal(buf.Bytes(), &m), buf.String())
		return m
	}
	in := line(func() { logger.InfoContext(ctx, "inside", "k", "v") })
	assert.Equal(t, span.SpanContext().TraceID().String(), in["trace_id"])
	assert.Equal(t, span.SpanContext().SpanID().String(), in["span_id"])
	assert.Equal(t, "test", in["component"])
	assert.Equal(t, "v", in["k"])

	out := line(func() { logger.Info("outside") })
	assert.NotContains(t, out, "trace_id")

	grouped := line(func() { logger.WithGroup("g").InfoContext(ctx, "grouped", "k", "v") })
	assert.NotEmpty(t, grouped["g"].(map[string]any)["trace_id"])

	assert.False(t, tracing.NewLogHandler(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn})).Enabled(ctx, slog.LevelInfo))
}

func TestNewOff(t *testing.T) {
	t.Parallel()
	tr, err := tracing.New(context.Background(), tracing.Config{})
	require.NoError(t, err)
	assert.False(t, tr.Enabled())
	_, span := tr.TracerProvider().Tracer("x").Start(context.Background(), "nothing")
	assert.False(t, span.SpanContext().IsValid(), "the no-op provider makes no real spans")
	require.NoError(t, tr.Shutdown(context.Background()))
}

// collector is a fake OTLP/HTTP collector: it decodes every export.
type collector struct {
	mu       sync.Mutex
	requests []*coltrace.ExportTraceServiceRequest
	headers  []http.Header
}

func newCollector(t *testing.T) (*collector, *httptest.Server) {
	c := &collector{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		raw, err := io.ReadAll(body)
		if err != nil || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		req := &coltrace.ExportTraceServiceRequest{}
		if err := proto.Unmarshal(raw, req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.requests = append(c.requests, req)
		c.headers = append(c.headers, r.Header.Clone())
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return c, srv
}

func TestNewExports(t *testing.T) {
	t.Parallel()
	col, srv := newCollector(t)
	tr, err := tracing.New(context.Background(), tracing.Config{
		Endpoint: srv.URL + "/v1/traces", Headers: map[string]string{"Authorization": "Bearer t0ken"},
		ServiceVersion: "v9.9.9",
	})
	require.NoError(t, err)
	require.True(t, tr.Enabled())
	_, span := tr.TracerProvider().Tracer("test").Start(context.Background(), "hello")
	span.End()
	require.NoError(t, tr.Shutdown(context.Background()), "shutdown flushes")

	col.mu.Lock()
	defer col.mu.Unlock()
	require.Len(t, col.requests, 1)
	assert.Equal(t, "Bearer t0ken", col.headers[0].Get("Authorization"))
	rs := col.requests[0].GetResourceSpans()[0]
	res := map[string]string{}
	for _, kv := range rs.GetResource().GetAttributes() {
		res[kv.GetKey()] = kv.GetValue().GetStringValue()
	}
	assert.Equal(t, "genzai", res["service.name"])
	assert.Equal(t, "v9.9.9", res["service.version"])
	assert.Equal(t, "hello", rs.GetScopeSpans()[0].GetSpans()[0].GetName())
}

// TestNewSampler checks what each sampler decides, not only that it builds:
// the share of root spans sampled, and of spans whose parent was sampled
// or not, over many random trace ids.
func TestNewSampler(t *testing.T) {
	t.Parallel()
	type shares struct{ root, sampledParent, unsampledParent float64 }
	tests := []struct {
		name string
		arg  float64
		want shares
	}{
		{"always_on", 0.5, shares{1, 1, 1}},
		{"always_off", 0.5, shares{0, 0, 0}},
		{"traceidratio", 0.5, shares{0.5, 0.5, 0.5}},
		{"traceidratio", 0, shares{0, 0, 0}},
		{"traceidratio", 1, shares{1, 1, 1}},
		{"parentbased_always_on", 0.5, shares{1, 1, 0}},
		{"", 0.5, shares{1, 1, 0}}, // the default
		{"ParentBased_Always_On", 0.5, shares{1, 1, 0}},
		{"parentbased_always_off", 0.5, shares{0, 1, 0}},
		{"parentbased_traceidratio", 0.5, shares{0.5, 1, 0}},
		{"parentbased_traceidratio", 0, shares{0, 1, 0}},
	}
	const n = 2000
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %v", tt.name, tt.arg), func(t *testing.T) {
			t.Parallel()
			s, err := tracing.NewSampler(tt.name, tt.arg)
			require.NoError(t, err)
			share := func(parent trace.TraceFlags, withParent bool) float64 {
				sampled := 0
				for range n {
					var tid trace.TraceID
					var sid trace.SpanID
					_, _ = rand.Read(tid[:])
					_, _ = rand.Read(sid[:])
					ctx := context.Background()
					if withParent {
						ctx = trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
							TraceID: tid, SpanID: sid, TraceFlags: parent, Remote: true,
						}))
					}
					res := s.ShouldSample(sdktrace.SamplingParameters{ParentContext: ctx, TraceID: tid, Name: "op", Kind: trace.SpanKindServer})
					if res.Decision == sdktrace.RecordAndSample {
						sampled++
					}
				}
				return float64(sampled) / n
			}
			// Exact for 0 and 1; within 0.1 of a ratio (2000 draws: about 4.5 sigma).
			assert.InDelta(t, tt.want.root, share(0, false), 0.1, "root spans")
			assert.InDelta(t, tt.want.sampledParent, share(trace.FlagsSampled, true), 0.1, "spans of a sampled parent")
			assert.InDelta(t, tt.want.unsampledParent, share(0, true), 0.1, "spans of an unsampled parent")
		})
	}

	t.Run("exact at the ends", func(t *testing.T) {
		t.Parallel()
		on, err := tracing.NewSampler("always_on", 1)
		require.NoError(t, err)
		off, err := tracing.NewSampler("always_off", 1)
		require.NoError(t, err)
		for range 100 {
			var tid trace.TraceID
			_, _ = rand.Read(tid[:])
			p := sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: tid, Name: "op"}
			assert.Equal(t, sdktrace.RecordAndSample, on.ShouldSample(p).Decision, "always_on samples every span")
			assert.Equal(t, sdktrace.Drop, off.ShouldSample(p).Decision, "always_off samples none")
		}
	})

	for _, name := range tracing.Samplers {
		_, err := tracing.NewSampler(name, 0.5)
		assert.NoError(t, err, name)
	}
	_, err := tracing.NewSampler("jaeger_remote", 1)
	assert.Error(t, err)
	_, err = tracing.NewSampler("traceidratio", 1.5)
	assert.Error(t, err)
	_, err = tracing.NewSampler("traceidratio", -0.1)
	assert.Error(t, err)
}

func TestParseHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    map[string]string
		wantErr bool
	}{
		{in: "", want: map[string]string{}},
		{in: "api-key=abc", want: map[string]string{"api-key": "abc"}},
		{in: " Authorization=Basic%20dXNlcjpwYXNz , x-tenant=a=b,", want: map[string]string{"Authorization": "Basic dXNlcjpwYXNz", "x-tenant": "a=b"}},
		{in: "novalue", wantErr: true},
		{in: "=secret", wantErr: true},
		{in: "k=%zz-secret", wantErr: true},
		{in: "k=a%0d%0aInjected: 1", wantErr: true},
	}
	for _, tt := range tests {
		got, err := tracing.ParseHeaders(tt.in)
		if tt.wantErr {
			require.Error(t, err, tt.in)
			assert.NotContains(t, err.Error(), "secret", "errors never quote values")
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}
