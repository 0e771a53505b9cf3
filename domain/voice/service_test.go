package voice_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/admission"
	"github.com/genzai/genzai/domain/quota"
	"github.com/genzai/genzai/domain/routing"
	"github.com/genzai/genzai/domain/voice"
	"github.com/genzai/genzai/ports"
)

var noon = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var (
	wav = []byte("RIFF\x24\x08\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00")
	mp3 = []byte("ID3\x04\x00\x00\x00\x00\x00\x00\xFF\xFB\x90\x64")
)

// groqVoice answers with err, else a transcription or the audio asked for
// (a WAV or an MP3 header).
type groqVoice struct {
	mu     sync.Mutex
	err    error
	panics bool
	// during, when set, runs in each Transcribe before it answers (a
	// client leaving mid-request).
	during func(ctx context.Context) error
	tr     []domain.TranscriptionRequest
	speech []domain.SpeechRequest
}

var (
	_ ports.Transcriber       = (*groqVoice)(nil)
	_ ports.SpeechSynthesizer = (*groqVoice)(nil)
)

func (g *groqVoice) Name() domain.Provider { return domain.ProviderGroq }

func (g *groqVoice) Transcribe(ctx context.Context, _ int, req domain.TranscriptionRequest) (domain.Transcription, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tr = append(g.tr, req)
	if g.during != nil {
		if err := g.during(ctx); err != nil {
			return domain.Transcription{}, err
		}
	}
	if g.err != nil {
		return domain.Transcription{}, g.err
	}
	return domain.Transcription{Text: "hello", Language: "English", Duration: 2 * time.Second}, nil
}

func (g *groqVoice) Speak(_ context.Context, _ int, req domain.SpeechRequest) (domain.Audio, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.speech = append(g.speech, req)
	if g.panics {
		panic("speech bug")
	}
	if g.err != nil {
		return domain.Audio{}, g.err
	}
	if req.Format == domain.AudioMP3 {
		return domain.Audio{Data: mp3, MIMEType: "audio/mpeg"}, nil
	}
	return domain.Audio{Data: wav, MIMEType: "audio/wav"}, nil
}

// chatOnly is a provider with one key and no chat.
type chatOnly struct{}

func (chatOnly) Name() domain.Provider { return domain.ProviderGroq }
func (chatOnly) KeyCount() int         { return 1 }
func (chatOnly) StreamChat(context.Context, int, domain.CompletionRequest) (ports.ChatStream, error) {
	return nil, &domain.ProviderError{Class: domain.FailureRetryable, Reason: domain.ReasonServerError}
}

type fixture struct {
	svc   *voice.Service
	groq  *groqVoice
	quota *quota.Service
	log   *memory.RequestLog
	user  domain.User
}

func newFixture(t *testing.T, cfg voice.Config) fixture {
	t.Helper()
	store, clock := memory.NewStore(), memory.NewClock(noon)
	u, err := store.CreateUser(t.Context(), domain.NewUser{Email: "v@example.com"})
	require.NoError(t, err)
	g := &groqVoice{}
	r := routing.New(routing.Config{
		Providers:          []routing.ProviderConfig{{Client: chatOnly{}, Transcriber: g, Speech: g}},
		TranscriptionChain: []routing.Route{{Provider: domain.ProviderGroq, Model: "whisper"}},
		SpeechChain:        []routing.Route{{Provider: domain.ProviderGroq, Model: "tts"}},
		RequestTimeout:     5 * time.Second, FirstTokenTimeout: time.Second,
	}, clock, slog.New(slog.DiscardHandler))
	q := quota.New(store, clock, 3)
	log := memory.NewRequestLog()
	return fixture{svc: voice.New(cfg, r, q, log, clock), groq: g, quota: q, log: log, user: u}
}

func on() voice.Config {
	return voice.Config{Enabled: true, MaxAudioBytes: 64, Voices: []string{"Fritz-PlayAI", "Arista-PlayAI"}}
}

func (f fixture) used(t *testing.T) int {
	t.Helper()
	st, err := f.quota.Status(t.Context(), f.user)
	require.NoError(t, err)
	return st.Used
}

func TestTranscribeTakesOneUnitAndRecordsTheKind(t *testing.T) {
	t.Parallel()
	f := newFixture(t, on())
	assert.True(t, f.svc.Enabled())
	assert.Equal(t, []domain.Provider{domain.ProviderGroq}, f.svc.Providers())
	res, err := f.svc.Transcribe(t.Context(), f.user, voice.TranscribeRequest{
		Audio: wav, Language: "FR", Prompt: "Names: Zoë", API: domain.APIOpenAI, RequestID: "r1",
	})
	require.NoError(t, err)
	assert.Equal(t, "hello", res.Text)
	assert.Equal(t, 2*time.Second, res.Duration)
	assert.Equal(t, domain.ProviderGroq, res.Provider)
	assert.Equal(t, "whisper", res.Model)
	assert.Equal(t, 1, f.used(t))
	assert.Equal(t, domain.TranscriptionRequest{Audio: wav, Format: domain.AudioWAV, Language: "fr", Prompt: "Names: Zoë", Model: "whisper"}, f.groq.tr[0])

	recs := f.log.Records()
	require.Len(t, recs, 1)
	assert.Equal(t, domain.RequestKindTranscription, recs[0].Kind)
	assert.Equal(t, domain.OutcomeSuccess, recs[0].Outcome)
	assert.Equal(t, domain.APIOpenAI, recs[0].API)
	assert.Equal(t, "r1", recs[0].RequestID)
	assert.Equal(t, domain.ProviderGroq, recs[0].Provider)
	assert.Equal(t, "whisper", recs[0].UpstreamModel)
}

func TestSpeakFillsInTheDefaultsAndRecordsTheKind(t *testing.T) {
	t.Parallel()
	f := newFixture(t, on())
	res, err := f.svc.Speak(t.Context(), f.user, voice.SpeakRequest{Input: "Hello\nthere", RequestID: "r2"})
	require.NoError(t, err)
	assert.Equal(t, wav, res.Data)
	assert.Equal(t, "audio/wav", res.MIMEType)
	assert.Equal(t, "tts", res.Model)
	assert.Equal(t, domain.SpeechRequest{Input: "Hello\nthere", Voice: "Fritz-PlayAI", Format: domain.AudioWAV, Model: "tts"}, f.groq.speech[0])

	res, err = f.svc.Speak(t.Context(), f.user, voice.SpeakRequest{Input: "Hi", Voice: "arista-playai", Format: domain.AudioMP3})
	require.NoError(t, err)
	assert.Equal(t, "audio/mpeg", res.MIMEType)
	assert.Equal(t, "Arista-PlayAI", f.groq.speech[1].Voice, "the configured spelling")
	assert.Equal(t, 2, f.used(t))

	recs := f.log.Records()
	require.Len(t, recs, 2)
	assert.Equal(t, domain.RequestKindSpeech, recs[0].Kind)
	assert.Equal(t, domain.APINative, recs[0].API)
}

func TestVoiceRefundsWhenNoProviderDelivered(t *testing.T) {
	t.Parallel()
	f := newFixture(t, on())
	f.groq.err = &domain.ProviderError{Provider: domain.ProviderGroq, Class: domain.FailureRetryable, Reason: domain.ReasonServerError, Status: 503}
	_, err := f.svc.Transcribe(t.Context(), f.user, voice.TranscribeRequest{Audio: wav})
	var pu *domain.ProvidersUnavailableError
	require.ErrorAs(t, err, &pu)
	_, err = f.svc.Speak(t.Context(), f.user, voice.SpeakRequest{Input: "Hi"})
	require.ErrorAs(t, err, &pu)
	assert.Equal(t, 0, f.used(t))
	for _, rec := range f.log.Records() {
		assert.Equal(t, domain.OutcomeError, rec.Outcome)
		assert.Equal(t, domain.CodeProvidersUnavailable, rec.ErrorCode)
		assert.Empty(t, rec.Provider)
	}
}

func TestVoiceClientLeavingMidRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		delivered bool // the provider answered before it saw the client leave
		used      int
		outcome   domain.Outcome
	}{
		{"before any provider delivered: refunded", false, 0, domain.OutcomeCancelled},
		{"after the provider delivered: charged", true, 1, domain.OutcomeSuccess},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, on())
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			f.groq.during = func(actx context.Context) error {
				cancel()
				if tt.delivered {
					return nil
				}
				<-actx.Done()
				return actx.Err()
			}
			_, err := f.svc.Transcribe(ctx, f.user, voice.TranscribeRequest{Audio: wav})
			if tt.delivered {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, context.Canceled)
			}
			assert.Equal(t, tt.used, f.used(t), "one unit, refunded once and only when nothing was delivered")
			recs := f.log.Records()
			require.Len(t, recs, 1)
			assert.Equal(t, tt.outcome, recs[0].Outcome)
			assert.Equal(t, domain.RequestKindTranscription, recs[0].Kind)
		})
	}
}

func TestVoiceRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		transcribe *voice.TranscribeRequest
		speak      *voice.SpeakRequest
		code       domain.Code
		field      string
	}{
		{"empty file", &voice.TranscribeRequest{Audio: []byte{}}, nil, domain.CodeInvalid, "file"},
		{"not audio", &voice.TranscribeRequest{Audio: []byte(`{"json": true}`)}, nil, domain.CodeUnsupportedMediaType, "file"},
		{"over the size limit", &voice.TranscribeRequest{Audio: append(append([]byte{}, wav...), make([]byte, 64)...)}, nil, domain.CodePayloadTooLarge, "file"},
		{"language a name", &voice.TranscribeRequest{Audio: wav, Language: "english"}, nil, domain.CodeInvalid, "language"},
		{"language ISO-639-2", &voice.TranscribeRequest{Audio: wav, Language: "eng"}, nil, domain.CodeInvalid, "language"},
		{"language digits", &voice.TranscribeRequest{Audio: wav, Language: "e1"}, nil, domain.CodeInvalid, "language"},
		{"prompt too long", &voice.TranscribeRequest{Audio: wav, Prompt: strings.Repeat("é", voice.MaxPromptChars+1)}, nil, domain.CodeInvalid, "prompt"},
		{"prompt with escapes", &voice.TranscribeRequest{Audio: wav, Prompt: "a\x1b[2J"}, nil, domain.CodeInvalid, "prompt"},
		{"empty input", nil, &voice.SpeakRequest{Input: " \n"}, domain.CodeInvalid, "input"},
		{"input too long", nil, &voice.SpeakRequest{Input: strings.Repeat("a", voice.DefaultMaxSpeechChars+1)}, domain.CodeInvalid, "input"},
		{"input with a control character", nil, &voice.SpeakRequest{Input: "a\x00b"}, domain.CodeInvalid, "input"},
		{"input not UTF-8", nil, &voice.SpeakRequest{Input: "a\xffb"}, domain.CodeInvalid, "input"},
		{"unknown voice", nil, &voice.SpeakRequest{Input: "a", Voice: "alloy"}, domain.CodeInvalid, "voice"},
		{"format aac", nil, &voice.SpeakRequest{Input: "a", Format: "aac"}, domain.CodeInvalid, "format"},
		{"format webm", nil, &voice.SpeakRequest{Input: "a", Format: domain.AudioWebM}, domain.CodeInvalid, "format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, on())
			var err error
			if tt.transcribe != nil {
				_, err = f.svc.Transcribe(t.Context(), f.user, *tt.transcribe)
			} else {
				_, err = f.svc.Speak(t.Context(), f.user, *tt.speak)
			}
			assert.Equal(t, tt.code, domain.ErrorCode(err), "%v", err)
			assert.Equal(t, tt.field, domain.ErrorField(err))
			assert.Equal(t, 0, f.used(t))
			assert.Empty(t, f.groq.tr)
			assert.Empty(t, f.groq.speech)
			require.Len(t, f.log.Records(), 1)
			assert.Equal(t, domain.OutcomeInvalid, f.log.Records()[0].Outcome)
		})
	}
}

func TestVoiceAnyNameWithoutAVoiceList(t *testing.T) {
	t.Parallel()
	f := newFixture(t, voice.Config{Enabled: true, DefaultVoice: "Fritz-PlayAI"})
	_, err := f.svc.Speak(t.Context(), f.user, voice.SpeakRequest{Input: "a", Voice: "Someone-New"})
	require.NoError(t, err)
	assert.Equal(t, "Someone-New", f.groq.speech[0].Voice, "the provider judges it")
}

func TestVoiceOverTheQuota(t *testing.T) {
	t.Parallel()
	f := newFixture(t, on())
	for range 3 {
		_, err := f.svc.Speak(t.Context(), f.user, voice.SpeakRequest{Input: "a"})
		require.NoError(t, err)
	}
	_, err := f.svc.Transcribe(t.Context(), f.user, voice.TranscribeRequest{Audio: wav})
	var qe *domain.QuotaExceededError
	require.ErrorAs(t, err, &qe)
	assert.Equal(t, 3, f.used(t))
	assert.Empty(t, f.groq.tr)
	assert.Equal(t, domain.OutcomeQuota, f.log.Records()[3].Outcome)
}

func TestVoiceDisabled(t *testing.T) {
	t.Parallel()
	f := newFixture(t, voice.Config{Voices: []string{"Fritz-PlayAI"}})
	assert.False(t, f.svc.On())
	assert.False(t, f.svc.Enabled())
	assert.Empty(t, f.svc.Providers())
	maxBytes, maxChars, voices := f.svc.Limits()
	assert.Equal(t, int64(voice.DefaultMaxAudioBytes), maxBytes)
	assert.Equal(t, voice.DefaultMaxSpeechChars, maxChars)
	assert.Empty(t, voices)
	_, err := f.svc.Transcribe(t.Context(), f.user, voice.TranscribeRequest{Audio: wav})
	assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
	assert.Contains(t, domain.ErrorMessage(err), "ENABLE_VOICE=true")
	_, err = f.svc.Speak(t.Context(), f.user, voice.SpeakRequest{Input: "a"})
	assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
	assert.Empty(t, f.log.Records(), "a route that is off logs nothing")
}

func TestAdmitLooksAtTheQuotaWithoutCountingIt(t *testing.T) {
	t.Parallel()
	f := newFixture(t, on())
	release, err := f.svc.Admit(t.Context(), f.user, domain.APINative, "r0")
	require.NoError(t, err)
	release()
	assert.Equal(t, 0, f.used(t), "a look, not a charge")
	assert.Empty(t, f.log.Records())
	for range 3 {
		_, err := f.svc.Transcribe(t.Context(), f.user, voice.TranscribeRequest{Audio: wav})
		require.NoError(t, err)
	}
	_, err = f.svc.Admit(t.Context(), f.user, domain.APIOpenAI, "r4")
	var qe *domain.QuotaExceededError
	require.ErrorAs(t, err, &qe)
	assert.Equal(t, 3, qe.Used)
	assert.Positive(t, domain.RetryAfter(err))
	assert.Equal(t, 3, f.used(t))
	recs := f.log.Records()
	require.Len(t, recs, 4)
	assert.Equal(t, domain.RequestKindTranscription, recs[3].Kind)
	assert.Equal(t, domain.OutcomeQuota, recs[3].Outcome)
	assert.Equal(t, domain.APIOpenAI, recs[3].API)
	assert.Equal(t, "r4", recs[3].RequestID)

	off := newFixture(t, voice.Config{})
	_, err = off.svc.Admit(t.Context(), off.user, domain.APINative, "")
	assert.ErrorIs(t, err, voice.ErrDisabled)
}

func TestAdmitBoundsTheTranscriptionsInFlight(t *testing.T) {
	t.Parallel()
	cfg := on()
	cfg.Admission = admission.New(memory.NewConcurrencyLimiter(memory.NewClock(noon)), 2, time.Minute, slog.New(slog.DiscardHandler))
	f := newFixture(t, cfg)
	first, err := f.svc.Admit(t.Context(), f.user, domain.APINative, "r1")
	require.NoError(t, err)
	second, err := f.svc.Admit(t.Context(), f.user, domain.APINative, "r2")
	require.NoError(t, err)
	_, err = f.svc.Admit(t.Context(), f.user, domain.APINative, "r3")
	assert.Equal(t, domain.CodeRateLimited, domain.ErrorCode(err), "%v", err)
	assert.Positive(t, domain.RetryAfter(err))
	recs := f.log.Records()
	require.Len(t, recs, 1, "the refusal is recorded")
	assert.Equal(t, domain.CodeRateLimited, recs[0].ErrorCode)

	first()
	third, err := f.svc.Admit(t.Context(), f.user, domain.APINative, "r4")
	require.NoError(t, err, "a slot came back")
	second()
	third()
	assert.Equal(t, 0, f.used(t), "slots are not quota")

	// The slot Admit took is the transcription's: an admitted upload takes
	// no second one, while one that was not admitted needs its own.
	a, err := f.svc.Admit(t.Context(), f.user, domain.APINative, "r5")
	require.NoError(t, err)
	b, err := f.svc.Admit(t.Context(), f.user, domain.APINative, "r6")
	require.NoError(t, err)
	_, err = f.svc.Transcribe(t.Context(), f.user, voice.TranscribeRequest{Audio: wav, Admitted: true})
	require.NoError(t, err, "both slots held by Admit, the admitted upload still goes")
	_, err = f.svc.Transcribe(t.Context(), f.user, voice.TranscribeRequest{Audio: wav})
	assert.Equal(t, domain.CodeRateLimited, domain.ErrorCode(err), "without Admit, a transcription takes a slot of its own")
	a()
	b()
	_, err = f.svc.Transcribe(t.Context(), f.user, voice.TranscribeRequest{Audio: wav})
	require.NoError(t, err)
}

// TestSpeakTakesARequestSlot: speech holds one of the user's request slots
// (domain/admission, shared with chat and images) while the provider
// reads, refused with 429 and costing nothing when every slot is taken,
// and gives it back however it ends.
func TestSpeakTakesARequestSlot(t *testing.T) {
	t.Parallel()
	cfg := on()
	gate := admission.New(memory.NewConcurrencyLimiter(memory.NewClock(noon)), 1, time.Minute, slog.New(slog.DiscardHandler))
	cfg.Admission = gate
	f := newFixture(t, cfg)

	chat, err := gate.Admit(t.Context(), f.user.ID)
	require.NoError(t, err)
	_, err = f.svc.Speak(t.Context(), f.user, voice.SpeakRequest{Input: "Hi"})
	assert.Equal(t, domain.CodeRateLimited, domain.ErrorCode(err), "%v", err)
	assert.Positive(t, domain.RetryAfter(err))
	assert.Equal(t, 0, f.used(t), "a refusal costs nothing")
	assert.Empty(t, f.groq.speech, "no provider asked")
	chat()

	_, err = f.svc.Speak(t.Context(), f.user, voice.SpeakRequest{Input: "Hi"})
	require.NoError(t, err)
	f.groq.err = &domain.ProviderError{Class: domain.FailureRetryable, Reason: domain.ReasonServerError}
	_, err = f.svc.Speak(t.Context(), f.user, voice.SpeakRequest{Input: "Hi"})
	require.Error(t, err)
	next, err := gate.Admit(t.Context(), f.user.ID)
	require.NoError(t, err, "the slot came back after a success and a failure")
	next()
}

// TestSpeakPanicRefunds: a panic under Speak (a bug in a provider's
// adapter) delivered nothing: the unit goes back before the panic goes on
// up (to the server's recovery).
func TestSpeakPanicRefunds(t *testing.T) {
	t.Parallel()
	f := newFixture(t, on())
	f.groq.panics = true
	assert.PanicsWithValue(t, "speech bug", func() {
		_, _ = f.svc.Speak(t.Context(), f.user, voice.SpeakRequest{Input: "Hi"})
	})
	assert.Equal(t, 0, f.used(t), "the unit went back")
}
