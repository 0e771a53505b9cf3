package routing_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/routing"
	"github.com/genzai/genzai/ports"
)

var wavBytes = []byte("RIFF\x24\x08\x00\x00WAVEfmt ")

// fakeVoice answers each call with the next of its script: an error, a
// transcription or audio; an empty script answers "hello" or a WAV.
type fakeVoice struct {
	name domain.Provider

	mu      sync.Mutex
	script  []any
	keys    []int
	models  []string
	formats []domain.AudioFormat
}

var (
	_ ports.Transcriber       = (*fakeVoice)(nil)
	_ ports.SpeechSynthesizer = (*fakeVoice)(nil)
)

func (f *fakeVoice) Name() domain.Provider { return f.name }

// next records a call and pops its answer.
func (f *fakeVoice) next(key int, model string, def any) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys, f.models = append(f.keys, key), append(f.models, model)
	b := def
	if len(f.script) > 0 {
		b, f.script = f.script[0], f.script[1:]
	}
	if err, ok := b.(*domain.ProviderError); ok {
		pe := *err
		pe.Provider = f.name
		return nil, &pe
	}
	return b, nil
}

func (f *fakeVoice) Transcribe(_ context.Context, key int, req domain.TranscriptionRequest) (domain.Transcription, error) {
	b, err := f.next(key, req.Model, domain.Transcription{Text: "hello", Language: "English", Duration: time.Second})
	if err != nil {
		return domain.Transcription{}, err
	}
	return b.(domain.Transcription), nil
}

func (f *fakeVoice) Speak(_ context.Context, key int, req domain.SpeechRequest) (domain.Audio, error) {
	f.mu.Lock()
	f.formats = append(f.formats, req.Format)
	f.mu.Unlock()
	b, err := f.next(key, req.Model, domain.Audio{Data: wavBytes, MIMEType: "audio/wav"})
	if err != nil {
		return domain.Audio{}, err
	}
	return b.(domain.Audio), nil
}

func voiceRouter(clock ports.Clock, voices ...*fakeVoice) *routing.Router {
	cfg := routing.Config{
		FirstTokenTimeout: 2 * time.Second, RequestTimeout: 5 * time.Second,
		BreakerFailures: 3, BreakerCoolOff: time.Minute,
	}
	for _, v := range voices {
		cfg.Providers = append(cfg.Providers, routing.ProviderConfig{Client: newFake(v.name, 2), Transcriber: v, Speech: v})
		cfg.TranscriptionChain = append(cfg.TranscriptionChain, routing.Route{Provider: v.name, Model: string(v.name) + "-stt"})
		cfg.SpeechChain = append(cfg.SpeechChain, routing.Route{Provider: v.name, Model: string(v.name) + "-tts"})
	}
	return routing.New(cfg, clock, slog.New(slog.DiscardHandler))
}

func transcribe(r *routing.Router) (domain.Transcription, routing.Trace, error) {
	return r.Transcribe(context.Background(), routing.TranscriptionRequest{
		Transcription: domain.TranscriptionRequest{Audio: wavBytes, Format: domain.AudioWAV}, Began: time.Now(),
	})
}

func speak(r *routing.Router, format domain.AudioFormat) (domain.Audio, routing.Trace, error) {
	return r.Speak(context.Background(), routing.SpeechRequest{
		Speech: domain.SpeechRequest{Input: "Hi", Voice: "Fritz-PlayAI", Format: format}, Began: time.Now(),
	})
}

func TestTranscribeRotatesKeysPastARateLimit(t *testing.T) {
	t.Parallel()
	groq := &fakeVoice{name: domain.ProviderGroq, script: []any{rateLimited(30 * time.Second)}}
	r := voiceRouter(memory.NewClock(t0), groq)

	got, trace, err := transcribe(r)
	require.NoError(t, err)
	assert.Equal(t, "hello", got.Text)
	assert.True(t, trace.Accepted())
	assert.Equal(t, domain.ProviderGroq, trace.Provider)
	assert.Equal(t, "groq-stt", trace.Model)
	require.NotNil(t, trace.KeyIndex)
	assert.Equal(t, 1, *trace.KeyIndex)
	require.Len(t, trace.Attempts, 1)
	assert.Equal(t, domain.ReasonRateLimited, trace.Attempts[0].Reason)
	assert.Equal(t, []int{0, 1}, groq.keys, "the second key after the first cooled down")
	assert.Equal(t, []string{"groq-stt", "groq-stt"}, groq.models)

	// The first key still cools down: the next request goes to the second.
	_, _, err = transcribe(r)
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1, 1}, groq.keys)
}

func TestTranscribeEveryKeyRateLimitedSaysWhenToRetry(t *testing.T) {
	t.Parallel()
	groq := &fakeVoice{name: domain.ProviderGroq, script: []any{rateLimited(20 * time.Second), rateLimited(40 * time.Second)}}
	r := voiceRouter(memory.NewClock(t0), groq)

	_, trace, err := transcribe(r)
	var rl *domain.ProviderRateLimitedError
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, 20*time.Second, rl.RetryAfter)
	assert.False(t, trace.Accepted())
}

func TestSpeakFallsBackOnBytesThatAreNotTheAudioAskedFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		answer domain.Audio
	}{
		{"html", domain.Audio{Data: []byte("<!DOCTYPE html><html>"), MIMEType: "text/html"}},
		{"json claimed as audio", domain.Audio{Data: []byte(`{"error":"busy"}`), MIMEType: "audio/wav"}},
		{"mp3 where wav was asked", domain.Audio{Data: []byte("ID3\x04\x00\x00\x00\x00\x00\x00"), MIMEType: "audio/wav"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			groq := &fakeVoice{name: domain.ProviderGroq, script: []any{tt.answer}}
			other := &fakeVoice{name: domain.ProviderOpenRouter}
			r := voiceRouter(memory.NewClock(t0), groq, other)

			audio, trace, err := speak(r, domain.AudioWAV)
			require.NoError(t, err)
			assert.Equal(t, wavBytes, audio.Data)
			assert.Equal(t, "audio/wav", audio.MIMEType)
			assert.Equal(t, domain.ProviderOpenRouter, trace.Provider)
			assert.Equal(t, "openrouter-tts", trace.Model)
			require.Len(t, trace.Attempts, 1)
			assert.Equal(t, domain.ReasonBadResponse, trace.Attempts[0].Reason)
			assert.Equal(t, []domain.AudioFormat{domain.AudioWAV}, groq.formats)
		})
	}
}

func TestSpeakWithNothingDeliveredIsUnavailable(t *testing.T) {
	t.Parallel()
	groq := &fakeVoice{name: domain.ProviderGroq, script: []any{serverError(domain.ReasonServerError)}}
	r := voiceRouter(memory.NewClock(t0), groq)
	_, trace, err := speak(r, domain.AudioMP3)
	var pu *domain.ProvidersUnavailableError
	require.ErrorAs(t, err, &pu)
	assert.False(t, trace.Accepted())
	require.Len(t, pu.Attempts, 1)
	assert.Equal(t, domain.ReasonServerError, pu.Attempts[0].Reason)
}

func TestVoiceChainsSkipProvidersWithoutVoice(t *testing.T) {
	t.Parallel()
	r := routing.New(routing.Config{
		Providers:          []routing.ProviderConfig{{Client: newFake(domain.ProviderGroq, 1)}},
		TranscriptionChain: []routing.Route{{Provider: domain.ProviderGroq, Model: "x"}},
		SpeechChain:        []routing.Route{{Provider: domain.ProviderGroq, Model: "y"}},
	}, memory.NewClock(t0), slog.New(slog.DiscardHandler))
	assert.Empty(t, r.TranscriptionChain())
	assert.Empty(t, r.SpeechChain())
	_, trace, err := transcribe(r)
	var pu *domain.ProvidersUnavailableError
	require.ErrorAs(t, err, &pu)
	assert.False(t, trace.Accepted())
}
