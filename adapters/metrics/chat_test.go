package metrics_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/metrics"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// recordingLog keeps what reaches it.
type recordingLog struct{ records []domain.RequestRecord }

func (l *recordingLog) Record(r domain.RequestRecord) { l.records = append(l.records, r) }

func dur(d time.Duration) *time.Duration { return &d }

func TestRequestLog(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil)
	next := &recordingLog{}
	log := m.RequestLog(next)
	records := []domain.RequestRecord{
		{UserID: "u-1", Tier: domain.TierFast, Provider: domain.ProviderGroq, Outcome: domain.OutcomeSuccess,
			Latency: time.Second, FirstToken: dur(200 * time.Millisecond)},
		// Answered by OpenRouter after Groq timed out and a key was rate limited: a fallback.
		{UserID: "u-2", Tier: domain.TierBalanced, Provider: domain.ProviderOpenRouter, Outcome: domain.OutcomeSuccess,
			Latency: 3 * time.Second, FirstToken: dur(2500 * time.Millisecond), Attempts: []domain.Attempt{
				{Provider: domain.ProviderGroq, Reason: "timeout"}, {Provider: domain.ProviderGroq, Reason: "rate_limited"},
			}},
		{UserID: "u-3", Tier: domain.TierSmart, Outcome: domain.OutcomeQuota, ErrorCode: "quota_exceeded"},
		{UserID: "u-3", Tier: domain.TierSmart, Outcome: domain.OutcomeQuota, ErrorCode: "quota_exceeded"},
		{UserID: "u-4", Tier: domain.TierFast, Outcome: domain.OutcomeError, Attempts: []domain.Attempt{
			{Provider: domain.ProviderGroq, Reason: "circuit_open"}, {Provider: "acme", Reason: "a reason nobody knows"},
		}},
		{UserID: "u-5", Tier: "turbo", Outcome: "exploded"},
		// Too many of the user's requests at once, twice.
		{UserID: "u-6", Tier: domain.TierFast, Outcome: domain.OutcomeError, ErrorCode: "rate_limited"},
		{UserID: "u-6", Tier: domain.TierFast, Outcome: domain.OutcomeError, ErrorCode: "rate_limited"},
		// Accepted by Groq, which then failed before the first token, and a
		// fallback refused: charged, but no answer and so no fallback answer.
		{UserID: "u-7", Tier: domain.TierSmart, Provider: domain.ProviderGroq, Outcome: domain.OutcomeError, Attempts: []domain.Attempt{
			{Provider: domain.ProviderGroq, Reason: "timeout"},
		}},
	}
	for _, r := range records {
		log.Record(r)
	}
	assert.Equal(t, records, next.records, "records pass through unchanged")

	g := m.Gatherer()
	requests := []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"tier": "fast", "provider": "groq", "outcome": "success"}, 1},
		{map[string]string{"tier": "balanced", "provider": "openrouter", "outcome": "success"}, 1},
		{map[string]string{"tier": "smart", "provider": "none", "outcome": "quota_exceeded"}, 2},
		{map[string]string{"tier": "fast", "provider": "none", "outcome": "error"}, 3},
		{map[string]string{"tier": "other", "provider": "none", "outcome": "other"}, 1},
	}
	for _, tt := range requests {
		assert.Equal(t, tt.want, find(t, g, "genzai_chat_requests_total", tt.labels).value, tt.labels)
	}
	assert.Equal(t, 2.0, find(t, g, "genzai_quota_rejections_total", map[string]string{"tier": "smart"}).value)
	assert.Equal(t, 0.0, find(t, g, "genzai_quota_rejections_total", map[string]string{"tier": "fast"}).value)
	assert.Equal(t, 1.0, find(t, g, "genzai_chat_fallbacks_total", map[string]string{"tier": "balanced", "provider": "openrouter"}).value)
	assert.Equal(t, 0.0, find(t, g, "genzai_chat_fallbacks_total", map[string]string{"tier": "fast", "provider": "groq"}).value)
	assert.False(t, find(t, g, "genzai_chat_fallbacks_total", map[string]string{"tier": "smart", "provider": "groq"}).found,
		"accepted and failed is no answer")
	assert.Equal(t, 2.0, find(t, g, "genzai_concurrency_rejections_total", nil).value)
	for reason, want := range map[string]float64{"timeout": 2, "rate_limited": 1, "circuit_open": 1} {
		assert.Equal(t, want, find(t, g, "genzai_chat_failed_attempts_total", map[string]string{"provider": "groq", "reason": reason}).value, reason)
	}
	assert.Equal(t, 1.0, find(t, g, "genzai_chat_failed_attempts_total", map[string]string{"provider": "other", "reason": "other"}).value)
	ttft := find(t, g, "genzai_chat_time_to_first_token_seconds", map[string]string{"tier": "balanced", "provider": "openrouter"})
	assert.Equal(t, 1.0, ttft.count)
	assert.InDelta(t, 2.5, ttft.sum, 1e-9)
	assert.False(t, find(t, g, "genzai_chat_time_to_first_token_seconds", map[string]string{"provider": "none"}).found,
		"no time to first token for requests nobody answered")
	assert.Equal(t, 2.0, find(t, g, "genzai_chat_request_duration_seconds", map[string]string{"tier": "smart", "outcome": "quota_exceeded"}).count)
}

func TestRequestLogCacheStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		records []domain.CacheStatus
		want    map[string]float64
	}{
		{name: "cache off: the series stay at zero", records: []domain.CacheStatus{"", ""},
			want: map[string]float64{"hit": 0, "miss": 0, "bypass": 0}},
		{name: "each status", records: []domain.CacheStatus{domain.CacheMiss, domain.CacheHit, domain.CacheHit, domain.CacheBypass, ""},
			want: map[string]float64{"hit": 2, "miss": 1, "bypass": 1}},
		{name: "an unknown status is not counted", records: []domain.CacheStatus{"stale", domain.CacheHit},
			want: map[string]float64{"hit": 1, "miss": 0, "bypass": 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := metrics.New(nil)
			log := m.RequestLog(discard{})
			for _, c := range tc.records {
				log.Record(domain.RequestRecord{Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, Cache: c})
			}
			g := m.Gatherer()
			for status, want := range tc.want {
				s := find(t, g, "genzai_cache_requests_total", map[string]string{"status": status})
				assert.True(t, s.found, status)
				assert.Equal(t, want, s.value, status)
			}
			assert.False(t, find(t, g, "genzai_cache_requests_total", map[string]string{"status": "stale"}).found)
			assert.Equal(t, float64(len(tc.records)),
				find(t, g, "genzai_chat_requests_total", map[string]string{"tier": "fast", "provider": "none", "outcome": "success"}).value,
				"every record is a chat request, whatever its cache status")
		})
	}
}

func TestRequestLogDoesNotAllocate(t *testing.T) {
	m := metrics.New(nil)
	log := m.RequestLog(discard{})
	r := domain.RequestRecord{Tier: domain.TierFast, Provider: domain.ProviderGroq, Outcome: domain.OutcomeSuccess, Cache: domain.CacheMiss,
		FirstToken: dur(time.Second), Attempts: []domain.Attempt{{Provider: domain.ProviderGroq, Reason: "rate_limited"}}}
	log.Record(r)
	assert.Zero(t, testing.AllocsPerRun(1000, func() { log.Record(r) }))
}

type discard struct{}

func (discard) Record(domain.RequestRecord) {}

// fakeProvider answers StreamChat with err, or with a stream of deltas
// ending in end (io.EOF for a complete answer).
type fakeProvider struct {
	err    error
	deltas []domain.ChatDelta
	end    error
}

func (f *fakeProvider) Name() domain.Provider { return domain.ProviderGroq }
func (f *fakeProvider) KeyCount() int         { return 2 }
func (f *fakeProvider) StreamChat(ctx context.Context, key int, req domain.CompletionRequest) (ports.ChatStream, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &fakeStream{deltas: append([]domain.ChatDelta(nil), f.deltas...), end: f.end}, nil
}

type fakeStream struct {
	deltas []domain.ChatDelta
	end    error
	closed int
}

func (s *fakeStream) Recv() (domain.ChatDelta, error) {
	if len(s.deltas) == 0 {
		return domain.ChatDelta{}, s.end
	}
	d := s.deltas[0]
	s.deltas = s.deltas[1:]
	return d, nil
}

func (s *fakeStream) Close() error { s.closed++; return nil }

var errTimeout = errors.New("no first token in time")

func TestProvider(t *testing.T) {
	t.Parallel()
	answer := []domain.ChatDelta{{}, {Content: "Hi"}, {Content: "!"}, {FinishReason: "stop"}}
	rateLimited := &domain.ProviderError{Provider: domain.ProviderGroq, Class: domain.FailureRateLimited, Reason: "rate_limited", Status: 429}
	cutOff := &domain.ProviderError{Provider: domain.ProviderGroq, Class: domain.FailureRetryable, Reason: "cut_off"}
	toolAnswer := []domain.ChatDelta{{}, {ToolCalls: []domain.ToolCallDelta{{ID: "call_1", Name: "f"}}}} // no finish reason: the call alone opens it
	tests := []struct {
		name string
		p    *fakeProvider
		// ctx ends how: "" not at all, "cancel" the caller left, "cause"
		// the router's timeout cause.
		ctxEnd    string
		readAll   bool
		outcome   string
		firstTok  bool
		errLabels map[string]string
	}{
		{name: "answer", p: &fakeProvider{deltas: answer, end: io.EOF}, readAll: true, outcome: "success", firstTok: true},
		{name: "refused at once", p: &fakeProvider{err: rateLimited}, outcome: "error",
			errLabels: map[string]string{"class": "rate_limited", "reason": "rate_limited"}},
		{name: "cut off mid-stream", p: &fakeProvider{deltas: answer[:2], end: cutOff}, readAll: true, outcome: "error", firstTok: true,
			errLabels: map[string]string{"class": "retryable", "reason": "cut_off"}},
		{name: "unclassified error", p: &fakeProvider{err: errors.New("boom")}, outcome: "error",
			errLabels: map[string]string{"class": "other", "reason": "other"}},
		{name: "caller left", p: &fakeProvider{deltas: answer[:1], end: context.Canceled}, ctxEnd: "cancel", readAll: true, outcome: "cancelled"},
		{name: "router's first-token timeout", p: &fakeProvider{deltas: answer[:1], end: context.Canceled}, ctxEnd: "cause", readAll: true, outcome: "error",
			errLabels: map[string]string{"class": "retryable", "reason": "timeout"}},
		{name: "closed early", p: &fakeProvider{deltas: answer, end: io.EOF}, outcome: "cancelled"},
		// A tool call opens an answer as text does (domain.ChatDelta.Opens):
		// the router counts it as the first token, so metrics do too.
		{name: "answer opening with a tool call", p: &fakeProvider{deltas: toolAnswer, end: io.EOF}, readAll: true, outcome: "success", firstTok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := metrics.New(nil)
			p := m.Provider(tt.p)
			assert.Equal(t, domain.ProviderGroq, p.Name())
			assert.Equal(t, 2, p.KeyCount())

			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			switch tt.ctxEnd {
			case "cancel":
				cancel(nil)
			case "cause":
				cancel(errTimeout)
			}
			s, err := p.StreamChat(ctx, 1, domain.CompletionRequest{Model: "m"})
			if err == nil {
				if tt.readAll {
					for err == nil {
						_, err = s.Recv()
					}
				} else {
					_, err = s.Recv() // one delta, then the caller stops reading
					require.NoError(t, err)
				}
				require.NoError(t, s.Close())
				require.NoError(t, s.Close(), "closing twice is allowed and counts once")
			}

			g := m.Gatherer()
			for _, outcome := range []string{"success", "error", "cancelled"} {
				want := 0.0
				if outcome == tt.outcome {
					want = 1
				}
				got := find(t, g, "genzai_provider_request_duration_seconds", map[string]string{"provider": "groq", "outcome": outcome})
				assert.Equal(t, want, got.count, outcome)
			}
			wantFirst := 0.0
			if tt.firstTok {
				wantFirst = 1
			}
			assert.Equal(t, wantFirst, find(t, g, "genzai_provider_time_to_first_token_seconds", map[string]string{"provider": "groq"}).count)
			errs := find(t, g, "genzai_provider_errors_total", map[string]string{"provider": "groq"})
			if tt.errLabels == nil {
				assert.False(t, errs.found, "no error counted")
				return
			}
			tt.errLabels["provider"] = "groq"
			assert.Equal(t, 1.0, find(t, g, "genzai_provider_errors_total", tt.errLabels).value)
		})
	}
}

func TestRequestLogCountsImagesApart(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil)
	log := m.RequestLog(discard{})
	log.Record(domain.RequestRecord{Kind: domain.RequestKindImage, Provider: domain.ProviderOpenRouter, Outcome: domain.OutcomeSuccess,
		Attempts: []domain.Attempt{{Provider: domain.ProviderHuggingFace, Reason: domain.ReasonBadResponse}}})
	log.Record(domain.RequestRecord{Kind: domain.RequestKindImage, Outcome: domain.OutcomeQuota})
	log.Record(domain.RequestRecord{Kind: domain.RequestKindImage, Outcome: domain.OutcomeError, ErrorCode: domain.CodeRateLimited})
	g := m.Gatherer()
	assert.Equal(t, 1.0, find(t, g, "genzai_concurrency_rejections_total", nil).value, "an image refused a request slot")
	assert.Equal(t, 1.0, find(t, g, "genzai_image_requests_total", map[string]string{"provider": "openrouter", "outcome": "success"}).value)
	assert.Equal(t, 1.0, find(t, g, "genzai_image_requests_total", map[string]string{"provider": "none", "outcome": "quota_exceeded"}).value)
	assert.Equal(t, 1.0, find(t, g, "genzai_chat_failed_attempts_total", map[string]string{"provider": "huggingface", "reason": "bad_response"}).value)
	assert.False(t, find(t, g, "genzai_chat_requests_total", nil).found, "an image is not a chat")
}

func TestRequestLogCountsVoiceByKind(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil)
	log := m.RequestLog(discard{})
	log.Record(domain.RequestRecord{Kind: domain.RequestKindTranscription, Provider: domain.ProviderGroq, Outcome: domain.OutcomeSuccess,
		Attempts: []domain.Attempt{{Provider: domain.ProviderGroq, Reason: domain.ReasonRateLimited}}})
	log.Record(domain.RequestRecord{Kind: domain.RequestKindSpeech, Outcome: domain.OutcomeError})
	log.Record(domain.RequestRecord{Kind: domain.RequestKindSpeech, Outcome: domain.OutcomeError})
	g := m.Gatherer()
	assert.Equal(t, 1.0, find(t, g, "genzai_voice_requests_total", map[string]string{"kind": "transcription", "provider": "groq", "outcome": "success"}).value)
	assert.Equal(t, 2.0, find(t, g, "genzai_voice_requests_total", map[string]string{"kind": "speech", "provider": "none", "outcome": "error"}).value)
	assert.Equal(t, 1.0, find(t, g, "genzai_chat_failed_attempts_total", map[string]string{"provider": "groq", "reason": "rate_limited"}).value)
	assert.False(t, find(t, g, "genzai_chat_requests_total", nil).found, "voice is not a chat")
	assert.False(t, find(t, g, "genzai_image_requests_total", nil).found, "nor an image")
}

// imageFake answers GenerateImages with err, after ctx's own end when it
// has one.
type imageFake struct{ err error }

func (imageFake) Name() domain.Provider { return domain.ProviderHuggingFace }

func (f imageFake) GenerateImages(ctx context.Context, _ int, _ domain.ImageRequest) ([]domain.Image, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if f.err != nil {
		return nil, f.err
	}
	return []domain.Image{{Data: []byte("png"), MIMEType: domain.MIMETypePNG}}, nil
}

func TestImageGenerator(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		err       error
		cancel    bool
		outcome   string
		errLabels map[string]string
	}{
		{name: "delivered", outcome: "success"},
		{name: "rate limited", err: &domain.ProviderError{Provider: domain.ProviderHuggingFace, Class: domain.FailureRateLimited, Reason: domain.ReasonRateLimited, Status: 429},
			outcome: "error", errLabels: map[string]string{"class": "rate_limited", "reason": "rate_limited"}},
		{name: "the caller left", cancel: true, outcome: "cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := metrics.New(nil)
			g := m.ImageGenerator(imageFake{err: tt.err})
			assert.Equal(t, domain.ProviderHuggingFace, g.Name())
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				cancel()
			}
			_, err := g.GenerateImages(ctx, 0, domain.ImageRequest{Model: "flux", N: 1})
			assert.Equal(t, tt.outcome == "success", err == nil)

			gath := m.Gatherer()
			for _, outcome := range []string{"success", "error", "cancelled"} {
				want := 0.0
				if outcome == tt.outcome {
					want = 1
				}
				got := find(t, gath, "genzai_provider_request_duration_seconds",
					map[string]string{"provider": "huggingface", "operation": "image", "outcome": outcome})
				assert.Equal(t, want, got.count, outcome)
			}
			assert.False(t, find(t, gath, "genzai_provider_request_duration_seconds", map[string]string{"operation": "chat"}).found,
				"an image call is not a chat")
			errs := find(t, gath, "genzai_provider_errors_total", map[string]string{"provider": "huggingface"})
			if tt.errLabels == nil {
				assert.False(t, errs.found, "no error counted")
				return
			}
			tt.errLabels["provider"], tt.errLabels["operation"] = "huggingface", "image"
			assert.Equal(t, 1.0, find(t, gath, "genzai_provider_errors_total", tt.errLabels).value)
		})
	}
}

// voiceFake answers Transcribe and Speak with err, after ctx's own end when
// it has one.
type voiceFake struct{ err error }

func (voiceFake) Name() domain.Provider { return domain.ProviderGroq }

func (f voiceFake) Transcribe(ctx context.Context, _ int, _ domain.TranscriptionRequest) (domain.Transcription, error) {
	if err := ctx.Err(); err != nil {
		return domain.Transcription{}, err
	}
	return domain.Transcription{Text: "hello"}, f.err
}

func (f voiceFake) Speak(ctx context.Context, _ int, _ domain.SpeechRequest) (domain.Audio, error) {
	if err := ctx.Err(); err != nil {
		return domain.Audio{}, err
	}
	return domain.Audio{Data: []byte("RIFF"), MIMEType: "audio/wav"}, f.err
}

// TestVoiceDecorators: transcription and speech calls are timed and their
// failures counted under their own operation, as images are.
func TestVoiceDecorators(t *testing.T) {
	t.Parallel()
	calls := map[string]func(m *metrics.Metrics, ctx context.Context, f voiceFake) error{
		"transcription": func(m *metrics.Metrics, ctx context.Context, f voiceFake) error {
			tr := m.Transcriber(f)
			assert.Equal(t, domain.ProviderGroq, tr.Name())
			_, err := tr.Transcribe(ctx, 0, domain.TranscriptionRequest{Model: "whisper"})
			return err
		},
		"speech": func(m *metrics.Metrics, ctx context.Context, f voiceFake) error {
			sp := m.SpeechSynthesizer(f)
			assert.Equal(t, domain.ProviderGroq, sp.Name())
			_, err := sp.Speak(ctx, 0, domain.SpeechRequest{Model: "tts", Input: "hi"})
			return err
		},
	}
	tests := []struct {
		name      string
		err       error
		cancel    bool
		outcome   string
		errLabels map[string]string
	}{
		{name: "delivered", outcome: "success"},
		{name: "rate limited", err: &domain.ProviderError{Provider: domain.ProviderGroq, Class: domain.FailureRateLimited, Reason: domain.ReasonRateLimited, Status: 429},
			outcome: "error", errLabels: map[string]string{"class": "rate_limited", "reason": "rate_limited"}},
		{name: "the caller left", cancel: true, outcome: "cancelled"},
	}
	for op, call := range calls {
		for _, tt := range tests {
			t.Run(op+" "+tt.name, func(t *testing.T) {
				t.Parallel()
				m := metrics.New(nil)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if tt.cancel {
					cancel()
				}
				err := call(m, ctx, voiceFake{err: tt.err})
				assert.Equal(t, tt.outcome == "success", err == nil)

				gath := m.Gatherer()
				for _, outcome := range []string{"success", "error", "cancelled"} {
					want := 0.0
					if outcome == tt.outcome {
						want = 1
					}
					got := find(t, gath, "genzai_provider_request_duration_seconds",
						map[string]string{"provider": "groq", "operation": op, "outcome": outcome})
					assert.Equal(t, want, got.count, outcome)
				}
				assert.False(t, find(t, gath, "genzai_provider_request_duration_seconds", map[string]string{"operation": "chat"}).found,
					"a voice call is not a chat")
				errs := find(t, gath, "genzai_provider_errors_total", map[string]string{"provider": "groq"})
				if tt.errLabels == nil {
					assert.False(t, errs.found, "no error counted")
					return
				}
				want := map[string]string{"provider": "groq", "operation": op}
				for k, v := range tt.errLabels {
					want[k] = v
				}
				assert.Equal(t, 1.0, find(t, gath, "genzai_provider_errors_total", want).value)
			})
		}
	}
}
