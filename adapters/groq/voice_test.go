package groq

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
	"github.com/genzai/genzai/domain"
)

func newVoice(t *testing.T) (*Voice, *fakeupstream.Server) {
	t.Helper()
	srv := fakeupstream.New(t)
	// A path under the root, as Groq's /openai/v1.
	return NewVoice(New(Config{BaseURL: srv.URL() + "/openai/v1", Keys: []string{"gsk_0", "gsk_1"}, HTTPClient: srv.Client()})), srv
}

func TestTranscribeSendsTheFormAndReadsTheVerboseAnswer(t *testing.T) {
	t.Parallel()
	v, srv := newVoice(t)
	srv.Default(fakeupstream.Transcript("Bonjour tout le monde.", "French", 3420*time.Millisecond))
	wav := fakeupstream.WAV()
	got, err := v.Transcribe(t.Context(), 1, domain.TranscriptionRequest{
		Audio: wav, Format: domain.AudioWAV, Language: "fr", Prompt: "Salutations", Model: "whisper-large-v3-turbo",
	})
	require.NoError(t, err)
	assert.Equal(t, domain.Transcription{Text: "Bonjour tout le monde.", Language: "French", Duration: 3420 * time.Millisecond}, got)

	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, "/openai/v1/audio/transcriptions", r.Path)
	assert.Equal(t, "gsk_1", r.Key)
	assert.True(t, strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data; boundary="))
	assert.Equal(t, "application/json", r.Header.Get("Accept"))
	assert.Equal(t, map[string]string{
		"model": "whisper-large-v3-turbo", "response_format": "verbose_json", "language": "fr", "prompt": "Salutations",
	}, r.Form)
	assert.Equal(t, wav, r.File, "the audio, byte for byte")
	assert.Equal(t, "audio.wav", r.FileName)
	assert.Equal(t, "audio/wav", r.FileType)
	assert.Equal(t, "whisper-large-v3-turbo", r.Model)
}

func TestTranscribeLeavesOutWhatWasNotAsked(t *testing.T) {
	t.Parallel()
	v, srv := newVoice(t)
	_, err := v.Transcribe(t.Context(), 0, domain.TranscriptionRequest{Audio: fakeupstream.MP3(), Format: domain.AudioMP3, Model: "m"})
	require.NoError(t, err)
	r := srv.Requests()[0]
	assert.Equal(t, map[string]string{"model": "m", "response_format": "verbose_json"}, r.Form)
	assert.Equal(t, "audio.mp3", r.FileName)
	assert.Equal(t, "audio/mpeg", r.FileType)
}

func TestTranscribeFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		behaviour fakeupstream.Behaviour
		class     domain.FailureClass
		reason    domain.AttemptReason
		retry     time.Duration
	}{
		{"429 with Retry-After", fakeupstream.RateLimited(7 * time.Second), domain.FailureRateLimited, domain.ReasonRateLimited, 7 * time.Second},
		{"429 with Groq's reset headers", fakeupstream.GroqReset("12s", ""), domain.FailureRateLimited, domain.ReasonRateLimited, 12 * time.Second},
		{"a file Groq cannot decode", fakeupstream.GroqError(http.StatusBadRequest, "could not process file - is it a valid media file?", "invalid_request_error", ""),
			domain.FailureCaller, domain.ReasonCallerError, 0},
		{"a refused key", fakeupstream.Unauthorized(), domain.FailureKeyRejected, domain.ReasonKeyRejected, 0},
		{"5xx", fakeupstream.GroqError(http.StatusServiceUnavailable, "over capacity", "internal_server_error", "service_unavailable"),
			domain.FailureRetryable, domain.ReasonServerError, 0},
		{"an error object in a 200", fakeupstream.MidStreamError(0, 0, "busy"), domain.FailureRetryable, domain.ReasonServerError, 0},
		{"not a transcription", fakeupstream.Garbage(0, `["text"]`), domain.FailureRetryable, domain.ReasonBadResponse, 0},
		{"a JSON answer without text", fakeupstream.Garbage(0, `{"language":"English"}`), domain.FailureRetryable, domain.ReasonBadResponse, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, srv := newVoice(t)
			srv.Default(tt.behaviour)
			_, err := v.Transcribe(t.Context(), 0, domain.TranscriptionRequest{Audio: fakeupstream.WAV(), Format: domain.AudioWAV, Model: "m"})
			var pe *domain.ProviderError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, domain.ProviderGroq, pe.Provider)
			assert.Equal(t, tt.class, pe.Class)
			assert.Equal(t, tt.reason, pe.Reason)
			assert.Equal(t, tt.retry, pe.RetryAfter)
		})
	}
}

func TestSpeakSendsTheRequestAndReturnsTheBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		format domain.AudioFormat
		data   []byte
		mime   string
	}{
		{domain.AudioWAV, fakeupstream.WAV(), "audio/wav"},
		{domain.AudioMP3, fakeupstream.MP3(), "audio/mpeg"},
		{domain.AudioFLAC, fakeupstream.FLAC(), "audio/flac"},
		{domain.AudioOgg, fakeupstream.Ogg(), "audio/ogg"},
	}
	for _, tt := range tests {
		t.Run(string(tt.format), func(t *testing.T) {
			t.Parallel()
			v, srv := newVoice(t)
			got, err := v.Speak(t.Context(), 0, domain.SpeechRequest{Input: "Hello there", Voice: "Fritz-PlayAI", Format: tt.format, Model: "playai-tts"})
			require.NoError(t, err)
			assert.Equal(t, tt.data, got.Data)
			assert.Equal(t, tt.mime, got.MIMEType)
			r := srv.Requests()[0]
			assert.Equal(t, "/openai/v1/audio/speech", r.Path)
			assert.JSONEq(t, `{"model":"playai-tts","input":"Hello there","voice":"Fritz-PlayAI","response_format":"`+string(tt.format)+`"}`, string(r.Body))
			assert.Equal(t, tt.mime, r.Header.Get("Accept"))
		})
	}
}

func TestSpeakFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		behaviour fakeupstream.Behaviour
		reason    domain.AttemptReason
	}{
		{"a voice the model lacks", fakeupstream.GroqError(http.StatusBadRequest, "voice must be one of the model's voices", "invalid_request_error", ""), domain.ReasonCallerError},
		{"429", fakeupstream.RateLimited(time.Second), domain.ReasonRateLimited},
		{"an error object in a 200", fakeupstream.MidStreamError(0, 0, "busy"), domain.ReasonServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, srv := newVoice(t)
			srv.Default(tt.behaviour)
			_, err := v.Speak(t.Context(), 0, domain.SpeechRequest{Input: "Hi", Voice: "x", Format: domain.AudioWAV, Model: "m"})
			var pe *domain.ProviderError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, domain.ProviderGroq, pe.Provider)
			assert.Equal(t, tt.reason, pe.Reason)
		})
	}
}

func TestSpeakPassesOnWhatTheProviderClaims(t *testing.T) {
	t.Parallel()
	v, srv := newVoice(t)
	// The router checks the bytes (domain.CheckAudio); the adapter only
	// reports them and their claim.
	srv.Default(fakeupstream.HTMLPage())
	got, err := v.Speak(t.Context(), 0, domain.SpeechRequest{Input: "Hi", Voice: "x", Format: domain.AudioWAV, Model: "m"})
	require.NoError(t, err)
	assert.Equal(t, "text/html; charset=utf-8", got.MIMEType)
}
