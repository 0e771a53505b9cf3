package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
)

// voiceVars turn voice on over the fake Groq.
func voiceVars(extra map[string]string) map[string]string {
	v := map[string]string{"ENABLE_VOICE": "true", "USER_DAILY_QUOTA": "5"}
	for k, val := range extra {
		v[k] = val
	}
	return v
}

func newVoiceEnv(t *testing.T, extra map[string]string) chatEnv {
	t.Helper()
	return newChatEnv(t, voiceVars(extra))
}

// filePart is the file of an audio form: its bytes, name and part header's type.
type filePart struct {
	data        []byte
	name, ctype string
}

// audioForm is a multipart body with file (nil: none) and fields, and its
// Content-Type.
func audioForm(t *testing.T, file *filePart, fields map[string]string) (string, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		require.NoError(t, w.WriteField(k, v))
	}
	if file != nil {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="file"; filename="`+file.name+`"`)
		h.Set("Content-Type", file.ctype)
		p, err := w.CreatePart(h)
		require.NoError(t, err)
		_, err = p.Write(file.data)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	return b.String(), w.FormDataContentType()
}

// upload posts an audio form to path.
func (c chatEnv) upload(path string, file *filePart, fields map[string]string) response {
	c.t.Helper()
	body, ctype := audioForm(c.t, file, fields)
	h := bearer(c.token)
	h["Content-Type"] = ctype
	return c.do(http.MethodPost, path, body, h)
}

func wavFile() *filePart {
	return &filePart{data: fakeupstream.WAV(), name: "hello.wav", ctype: "audio/wav"}
}

func TestVoiceTranscribes(t *testing.T) {
	t.Parallel()
	c := newVoiceEnv(t, nil)
	c.up.groq.Default(fakeupstream.Transcript("Hello, what's the weather like in Paris today?", "English", 3420*time.Millisecond))
	res := c.upload("/api/v1/audio/transcriptions", wavFile(), map[string]string{"language": "en", "prompt": "Paris"})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	body := res.json(t)
	assert.Equal(t, "Hello, what's the weather like in Paris today?", body["text"])
	assert.Equal(t, "English", body["language"])
	assert.Equal(t, 3.42, body["duration"])
	assert.Equal(t, "groq", body["provider"])
	assert.Equal(t, "whisper-large-v3-turbo", body["model"])
	assert.Equal(t, res.header.Get("X-Request-ID"), body["request_id"])
	assert.Equal(t, float64(1), c.quotaUsed(c.token), "one unit")

	reqs := c.up.groq.Requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, "/audio/transcriptions", r.Path)
	assert.Equal(t, fakeupstream.WAV(), r.File, "the upload, byte for byte")
	assert.Equal(t, map[string]string{"model": "whisper-large-v3-turbo", "language": "en", "prompt": "Paris", "response_format": "verbose_json"}, r.Form)
	assert.NotContains(t, c.logs.String(), "Paris", "nothing uploaded is logged")

	// OpenAI's dialect: json by default, text alone when asked.
	res = c.upload("/v1/audio/transcriptions", wavFile(), map[string]string{"model": "whisper-1"})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	assert.JSONEq(t, `{"text":"Hello, what's the weather like in Paris today?"}`, string(res.body))
	res = c.upload("/v1/audio/transcriptions", wavFile(), map[string]string{"response_format": "text"})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	assert.Equal(t, "text/plain", res.header.Get("Content-Type"))
	assert.Equal(t, "Hello, what's the weather like in Paris today?", string(res.body))
	assert.Equal(t, float64(3), c.quotaUsed(c.token))
}

func TestVoiceSpeaks(t *testing.T) {
	t.Parallel()
	c := newVoiceEnv(t, nil)
	tests := []struct {
		body  map[string]any
		data  []byte
		ctype string
		voice string
	}{
		{map[string]any{"input": "Hello!"}, fakeupstream.WAV(), "audio/wav", "Fritz-PlayAI"},
		{map[string]any{"input": "Hello!", "voice": "Arista-PlayAI", "format": "mp3"}, fakeupstream.MP3(), "audio/mpeg", "Arista-PlayAI"},
		{map[string]any{"input": "Hello!", "format": "flac"}, fakeupstream.FLAC(), "audio/flac", "Fritz-PlayAI"},
		{map[string]any{"input": "Hello!", "format": "ogg"}, fakeupstream.Ogg(), "audio/ogg", "Fritz-PlayAI"},
	}
	for i, tt := range tests {
		res := c.do(http.MethodPost, "/api/v1/audio/speech", tt.body, bearer(c.token))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		assert.Equal(t, tt.data, res.body)
		assert.Equal(t, tt.ctype, res.header.Get("Content-Type"))
		assert.Equal(t, "groq", res.header.Get("X-Genzai-Provider"))
		assert.Equal(t, "playai-tts", res.header.Get("X-Genzai-Model"))
		r := c.up.groq.Requests()[i]
		assert.Equal(t, "/audio/speech", r.Path)
		assert.Equal(t, "Hello!", r.Input)
		assert.Equal(t, tt.voice, r.Voice)
		assert.Equal(t, "playai-tts", r.Model)
	}
	assert.Equal(t, float64(4), c.quotaUsed(c.token))
}

func TestVoiceRotatesKeysPastARateLimit(t *testing.T) {
	t.Parallel()
	c := newVoiceEnv(t, nil)
	// The first key (the router starts with it) answers 429 with
	// Retry-After; the second answers.
	c.up.groq.Script("gk-0", fakeupstream.RateLimited(30*time.Second))
	res := c.upload("/api/v1/audio/transcriptions", wavFile(), nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	assert.Equal(t, fakeupstream.DefaultTranscript, res.json(t)["text"])
	assert.Equal(t, 1, c.up.groq.Count("gk-0"))
	assert.Equal(t, 1, c.up.groq.Count("gk-1"))
	assert.Equal(t, float64(1), c.quotaUsed(c.token), "charged once")

	// The first key cools down: speech goes to the second at once.
	res = c.do(http.MethodPost, "/api/v1/audio/speech", map[string]any{"input": "Hi"}, bearer(c.token))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	assert.Equal(t, 1, c.up.groq.Count("gk-0"), "the cooling key is not asked")
	assert.Equal(t, 2, c.up.groq.Count("gk-1"))
	assert.Equal(t, float64(2), c.quotaUsed(c.token))
}

func TestVoiceRefundedWhenNoKeyDelivered(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		groq   fakeupstream.Behaviour
		path   string
		status int
		code   string
	}{
		{"5xx on every key", fakeupstream.GroqError(http.StatusServiceUnavailable, "over capacity", "internal_server_error", "service_unavailable"),
			"/api/v1/audio/transcriptions", http.StatusServiceUnavailable, "providers_unavailable"},
		{"429 on every key", fakeupstream.RateLimited(20 * time.Second), "/api/v1/audio/transcriptions", http.StatusTooManyRequests, "provider_rate_limited"},
		{"HTML where audio was due", fakeupstream.HTMLPage(), "/api/v1/audio/speech", http.StatusServiceUnavailable, "providers_unavailable"},
		{"JSON claimed as audio", fakeupstream.Speech("audio/wav", []byte(`{"ok":true}`)), "/api/v1/audio/speech", http.StatusServiceUnavailable, "providers_unavailable"},
		{"a file Groq cannot decode", fakeupstream.GroqError(http.StatusBadRequest, "could not process file - is it a valid media file?", "invalid_request_error", ""),
			"/api/v1/audio/transcriptions", http.StatusBadGateway, "upstream_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newVoiceEnv(t, nil)
			c.up.groq.Default(tt.groq)
			var res response
			if strings.HasSuffix(tt.path, "speech") {
				res = c.do(http.MethodPost, tt.path, map[string]any{"input": "Hi"}, bearer(c.token))
			} else {
				res = c.upload(tt.path, wavFile(), nil)
			}
			require.Equal(t, tt.status, res.status, "%s", res.body)
			body := res.json(t)
			assert.Equal(t, tt.code, body["code"])
			assert.Equal(t, float64(0), c.quotaUsed(c.token), "refunded")
			if tt.code == "providers_unavailable" {
				attempts := body["attempts"].([]any)
				require.NotEmpty(t, attempts)
				assert.Equal(t, "groq", attempts[0].(map[string]any)["provider"])
			}
			if tt.status == http.StatusTooManyRequests {
				assert.NotEmpty(t, res.header.Get("Retry-After"))
				assert.Equal(t, 2, len(c.up.groq.Requests()), "each key once")
			}
		})
	}
}

func TestVoiceSpeechBytesChecked(t *testing.T) {
	t.Parallel()
	c := newVoiceEnv(t, nil)
	c.up.groq.Default(fakeupstream.HTMLPage())
	res := c.do(http.MethodPost, "/api/v1/audio/speech", map[string]any{"input": "Hi"}, bearer(c.token))
	require.Equal(t, http.StatusServiceUnavailable, res.status, "%s", res.body)
	attempts := res.json(t)["attempts"].([]any)
	require.Len(t, attempts, 1, "a bad answer is the provider's failure, not the key's")
	assert.Equal(t, map[string]any{"provider": "groq", "reason": "bad_response"}, attempts[0])
}

func TestVoiceUploadLimits(t *testing.T) {
	t.Parallel()
	// The transcription routes take MAX_AUDIO_BYTES of file, more than the
	// other routes' MAX_REQUEST_SIZE_BYTES.
	c := newVoiceEnv(t, map[string]string{"MAX_AUDIO_BYTES": "2048", "MAX_REQUEST_SIZE_BYTES": "1024"})
	fits := append(fakeupstream.WAV(), make([]byte, 2048-len(fakeupstream.WAV()))...)
	res := c.upload("/api/v1/audio/transcriptions", &filePart{data: fits, name: "a.wav", ctype: "audio/wav"}, nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)

	for _, path := range []string{"/api/v1/audio/transcriptions", "/v1/audio/transcriptions"} {
		// One byte over, read from the stream.
		res = c.upload(path, &filePart{data: append(fits, 0), name: "a.wav", ctype: "audio/wav"}, nil)
		require.Equal(t, http.StatusRequestEntityTooLarge, res.status, "%s", res.body)
		assert.Contains(t, string(res.body), "at most 2048 bytes (MAX_AUDIO_BYTES)")
		// Far over: refused by its Content-Length before it is read.
		res = c.upload(path, &filePart{data: append(fits, make([]byte, 100<<10)...), name: "a.wav", ctype: "audio/wav"}, nil)
		require.Equal(t, http.StatusRequestEntityTooLarge, res.status, "%s", res.body)
		assert.Contains(t, string(res.body), "MAX_AUDIO_BYTES")
	}
	assert.Equal(t, float64(1), c.quotaUsed(c.token))
	assert.Len(t, c.up.groq.Requests(), 1)

	// Other routes keep their own limit.
	res = c.do(http.MethodPost, "/api/v1/audio/speech", `{"input":"`+strings.Repeat("a", 2000)+`"}`, bearer(c.token))
	assert.Equal(t, http.StatusRequestEntityTooLarge, res.status, "%s", res.body)
	assert.Contains(t, string(res.body), "limit 1024 bytes")
}

func TestVoiceRefusesWhatIsNotAudio(t *testing.T) {
	t.Parallel()
	c := newVoiceEnv(t, nil)
	for _, path := range []string{"/api/v1/audio/transcriptions", "/v1/audio/transcriptions"} {
		// Named and typed as an MP3, but a text file: the bytes decide.
		res := c.upload(path, &filePart{data: []byte("This is a text file, not a song."), name: "song.mp3", ctype: "audio/mpeg"}, nil)
		require.Equal(t, http.StatusUnsupportedMediaType, res.status, "%s", res.body)
		assert.Contains(t, string(res.body), "is not audio")

		res = c.do(http.MethodPost, path, map[string]any{"file": "aGVsbG8="}, bearer(c.token))
		require.Equal(t, http.StatusUnsupportedMediaType, res.status, "%s", res.body)
		assert.Contains(t, string(res.body), "multipart/form-data")
	}
	// Speech takes JSON only.
	body, ctype := audioForm(t, nil, map[string]string{"input": "Hi"})
	h := bearer(c.token)
	h["Content-Type"] = ctype
	res := c.do(http.MethodPost, "/api/v1/audio/speech", body, h)
	assert.Equal(t, http.StatusUnsupportedMediaType, res.status, "%s", res.body)

	assert.Equal(t, float64(0), c.quotaUsed(c.token))
	assert.Empty(t, c.up.groq.Requests())
}

func TestVoiceBadRequests(t *testing.T) {
	t.Parallel()
	c := newVoiceEnv(t, nil)
	uploads := []struct {
		name, path string
		file       *filePart
		fields     map[string]string
		want       string
	}{
		{"no file", "/api/v1/audio/transcriptions", nil, map[string]string{"language": "en"}, "file: is required"},
		{"empty file", "/api/v1/audio/transcriptions", &filePart{name: "a.wav", ctype: "audio/wav"}, nil, "file: must not be empty"},
		{"a language name", "/api/v1/audio/transcriptions", wavFile(), map[string]string{"language": "English"}, "language: must be an ISO-639-1 code"},
		{"prompt too long", "/api/v1/audio/transcriptions", wavFile(), map[string]string{"prompt": strings.Repeat("a", 1001)}, "prompt: must be at most 1000 characters"},
		{"openai no file", "/v1/audio/transcriptions", nil, map[string]string{"model": "whisper-1"}, "file: is required"},
		{"srt", "/v1/audio/transcriptions", wavFile(), map[string]string{"response_format": "srt"}, "srt is not supported"},
		{"vtt", "/v1/audio/transcriptions", wavFile(), map[string]string{"response_format": "vtt"}, "vtt is not supported"},
	}
	for _, tt := range uploads {
		res := c.upload(tt.path, tt.file, tt.fields)
		assert.Equal(t, http.StatusBadRequest, res.status, "%s: %s", tt.name, res.body)
		assert.Contains(t, string(res.body), tt.want, tt.name)
	}
	speech := []struct {
		name, path string
		body       any
		want       string
	}{
		{"empty input", "/api/v1/audio/speech", map[string]any{"input": ""}, "input"},
		{"input too long", "/api/v1/audio/speech", map[string]any{"input": strings.Repeat("a", 4097)}, "input: must be at most 4096 characters"},
		{"control characters", "/api/v1/audio/speech", map[string]any{"input": "a\u001b[2Jb"}, "control characters"},
		{"unknown voice", "/api/v1/audio/speech", map[string]any{"input": "a", "voice": "alloy"}, "voice: must be one of"},
		{"unknown format", "/api/v1/audio/speech", map[string]any{"input": "a", "format": "aac"}, "format"},
		{"not JSON", "/api/v1/audio/speech", `{"input":`, "Invalid JSON"},
		{"openai aac", "/v1/audio/speech", map[string]any{"input": "a", "voice": "alloy", "response_format": "aac"}, "response_format: must be one of mp3, wav, flac, opus"},
		{"openai pcm", "/v1/audio/speech", map[string]any{"input": "a", "response_format": "pcm"}, "response_format"},
		{"openai input too long", "/v1/audio/speech", map[string]any{"input": strings.Repeat("a", 4097)}, "input"},
	}
	for _, tt := range speech {
		res := c.do(http.MethodPost, tt.path, tt.body, bearer(c.token))
		assert.Equal(t, http.StatusBadRequest, res.status, "%s: %s", tt.name, res.body)
		assert.Contains(t, string(res.body), tt.want, tt.name)
	}
	assert.Equal(t, float64(0), c.quotaUsed(c.token))
	assert.Empty(t, c.up.groq.Requests())
}

func TestVoiceQuota(t *testing.T) {
	t.Parallel()
	c := newVoiceEnv(t, map[string]string{"USER_DAILY_QUOTA": "2"})
	require.Equal(t, http.StatusOK, c.upload("/api/v1/audio/transcriptions", wavFile(), nil).status)
	require.Equal(t, http.StatusOK, c.do(http.MethodPost, "/api/v1/audio/speech", map[string]any{"input": "Hi"}, bearer(c.token)).status)
	res := c.do(http.MethodPost, "/api/v1/audio/speech", map[string]any{"input": "Hi"}, bearer(c.token))
	require.Equal(t, http.StatusTooManyRequests, res.status, "%s", res.body)
	assert.Equal(t, "quota_exceeded", res.json(t)["code"])
	assert.NotEmpty(t, res.header.Get("Retry-After"))
	assert.Len(t, c.up.groq.Requests(), 2)
}

func TestVoiceOverTheQuotaRefusedBeforeTheUploadIsRead(t *testing.T) {
	t.Parallel()
	// A user with no quota left cannot make the gateway hold megabytes of
	// upload in memory: the refusal comes before the form is read, so an
	// upload over MAX_AUDIO_BYTES or not audio is a 429, not a 413 or 415.
	c := newVoiceEnv(t, map[string]string{"USER_DAILY_QUOTA": "1", "MAX_AUDIO_BYTES": "2048"})
	require.Equal(t, http.StatusOK, c.upload("/api/v1/audio/transcriptions", wavFile(), nil).status)
	tooBig := append(fakeupstream.WAV(), make([]byte, 2048)...)
	for _, path := range []string{"/api/v1/audio/transcriptions", "/v1/audio/transcriptions"} {
		for _, file := range []*filePart{{data: tooBig, name: "a.wav", ctype: "audio/wav"}, {data: []byte("text"), name: "a.mp3", ctype: "audio/mpeg"}} {
			res := c.upload(path, file, nil)
			require.Equal(t, http.StatusTooManyRequests, res.status, "%s", res.body)
			assert.NotEmpty(t, res.header.Get("Retry-After"))
		}
	}
	assert.Equal(t, float64(1), c.quotaUsed(c.token))
	assert.Len(t, c.up.groq.Requests(), 1)
}

func TestVoiceDisabled(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, nil)
	for _, path := range []string{"/api/v1/audio/transcriptions", "/v1/audio/transcriptions"} {
		res := c.upload(path, wavFile(), nil)
		require.Equal(t, http.StatusNotFound, res.status, "%s", res.body)
		assert.Contains(t, string(res.body), "ENABLE_VOICE=true", path)
	}
	for _, path := range []string{"/api/v1/audio/speech", "/v1/audio/speech"} {
		res := c.do(http.MethodPost, path, map[string]any{"input": "Hi"}, bearer(c.token))
		require.Equal(t, http.StatusNotFound, res.status, "%s", res.body)
		assert.Contains(t, string(res.body), "ENABLE_VOICE=true", path)
	}
	models := c.do(http.MethodGet, "/api/v1/models", nil, bearer(c.token)).json(t)
	assert.Equal(t, map[string]any{"enabled": false, "quota_cost": float64(1), "providers": []any{}, "max_audio_bytes": float64(26214400),
		"max_speech_chars": float64(4096), "voices": []any{}}, models["voice"])
	assert.Empty(t, c.up.groq.Requests())
	assert.Equal(t, float64(0), c.quotaUsed(c.token))
}

func TestVoiceModelsSayItIsOn(t *testing.T) {
	t.Parallel()
	c := newVoiceEnv(t, map[string]string{"MAX_AUDIO_BYTES": "1048576", "MAX_SPEECH_CHARS": "300", "GROQ_SPEECH_VOICES": "Arista-PlayAI,Fritz-PlayAI"})
	models := c.do(http.MethodGet, "/api/v1/models", nil, bearer(c.token)).json(t)
	assert.Equal(t, map[string]any{"enabled": true, "quota_cost": float64(1), "providers": []any{"groq"}, "max_audio_bytes": float64(1 << 20),
		"max_speech_chars": float64(300), "voices": []any{"Fritz-PlayAI", "Arista-PlayAI"}}, models["voice"])
}

// TestVoiceSharesTheRequestSlots: a voice request, on either route and in
// either dialect, takes one of the user's MAX_CONCURRENT_REQUESTS_PER_USER
// slots, the same as chats and images: with the only slot held by an open
// chat stream it is refused with 429 before it costs quota or reaches a
// provider, and admitted once the stream ends.
func TestVoiceSharesTheRequestSlots(t *testing.T) {
	t.Parallel()
	c := newVoiceEnv(t, map[string]string{"MAX_CONCURRENT_REQUESTS_PER_USER": "1",
		"PROVIDER_FIRST_TOKEN_TIMEOUT_SECONDS": "30", "REQUEST_TIMEOUT_SECONDS": "60"})
	// The chat hangs holding its slot; voice is answered as Groq does.
	c.up.groq.Default(fakeupstream.Pick(func(r fakeupstream.Request) fakeupstream.Behaviour {
		if strings.HasSuffix(r.Path, "/chat/completions") {
			return fakeupstream.HangAfterTokens(1)
		}
		return fakeupstream.Transcript("Hello.", "English", time.Second)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stream := openChat(t, c.env, ctx, false, c.token)
	t.Cleanup(func() { stream.Body.Close() })
	require.Equal(t, http.StatusOK, stream.StatusCode)

	for _, path := range []string{"/api/v1/audio/transcriptions", "/v1/audio/transcriptions"} {
		res := c.upload(path, wavFile(), nil)
		require.Equal(t, http.StatusTooManyRequests, res.status, "%s: %s", path, res.body)
		assert.Equal(t, "1", res.header.Get("Retry-After"), path)
	}
	for _, path := range []string{"/api/v1/audio/speech", "/v1/audio/speech"} {
		res := c.do(http.MethodPost, path, map[string]any{"input": "Hi"}, bearer(c.token))
		require.Equal(t, http.StatusTooManyRequests, res.status, "%s: %s", path, res.body)
		assert.Equal(t, "1", res.header.Get("Retry-After"), path)
	}
	assert.Equal(t, float64(1), c.quotaUsed(c.token), "the chat's unit only")
	assert.Len(t, c.up.groq.Requests(), 1, "the chat's request only")

	cancel()
	require.Eventually(t, func() bool {
		return c.do(http.MethodPost, "/api/v1/audio/speech", map[string]any{"input": "Hi"}, bearer(c.token)).status == http.StatusOK
	}, 5*time.Second, 20*time.Millisecond, "the slot comes back when the stream ends")
	res := c.upload("/v1/audio/transcriptions", wavFile(), nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	res = c.do(http.MethodPost, "/api/v1/audio/speech", map[string]any{"input": "Hi"}, bearer(c.token))
	require.Equal(t, http.StatusOK, res.status, "each voice request gives its slot back: %s", res.body)
}

// TestVoiceStatusSaysWhoServesIt: /api/v1/status names transcription and
// speech among what the voice chain's providers serve, only while voice is on.
func TestVoiceStatusSaysWhoServesIt(t *testing.T) {
	t.Parallel()
	serves := func(c chatEnv) []any {
		t.Helper()
		res := c.do(http.MethodGet, "/api/v1/status", nil, nil)
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var providers, out []any
		require.NoError(t, json.Unmarshal(res.body, &providers))
		for _, p := range providers {
			out = append(out, p.(map[string]any)["serves"])
		}
		return out
	}
	assert.Equal(t, []any{[]any{"chat", "transcription", "speech"}, []any{"chat"}, []any{"chat"}}, serves(newVoiceEnv(t, nil)),
		"groq, openrouter and huggingface: groq is the voice chain")
	assert.Equal(t, []any{[]any{"chat"}, []any{"chat"}, []any{"chat"}}, serves(newChatEnv(t, nil)), "voice off")
}

func TestVoiceRequestLogKinds(t *testing.T) {
	t.Parallel()
	c := newVoiceEnv(t, nil)
	require.Equal(t, http.StatusOK, c.upload("/api/v1/audio/transcriptions", wavFile(), nil).status)
	require.Equal(t, http.StatusOK, c.do(http.MethodPost, "/v1/audio/speech", map[string]any{"input": "Hi"}, bearer(c.token)).status)
	c.requirePostgres()
	require.Eventually(t, func() bool {
		var n int64
		c.queryRow(`SELECT count(*) FROM request_log`, &n)
		return n == 2
	}, 5*time.Second, 20*time.Millisecond)
	var kinds string
	c.queryRow(`SELECT string_agg(kind || '/' || api || '/' || provider || '/' || upstream_model, ',' ORDER BY kind DESC) FROM request_log`, &kinds)
	assert.Equal(t, "transcription/native/groq/whisper-large-v3-turbo,speech/openai/groq/playai-tts", kinds)

	// Each upstream call is timed under its own operation, none as a chat.
	families := c.scrape(nil)
	for _, op := range []string{"transcription", "speech"} {
		assert.Equal(t, 1.0, total(t, families, "genzai_provider_request_duration_seconds",
			map[string]string{"provider": "groq", "operation": op, "outcome": "success"}), op)
	}
	assert.Equal(t, 0.0, total(t, families, "genzai_provider_request_duration_seconds", map[string]string{"operation": "chat"}))

	c.registerAdmin("boss@example.com", pw)
	boss := c.login("boss@example.com", pw)
	list := c.do(http.MethodGet, "/api/v1/admin/requests", nil, bearer(boss))
	require.Equal(t, http.StatusOK, list.status, "%s", list.body)
	require.Len(t, list.json(t)["requests"].([]any), 2)
}

// TestVoiceRequestLogRefusalsAndFailures: a voice request refused while
// its upload is read (413 past MAX_AUDIO_BYTES, a field the dialect does
// not take) is recorded as the service's own refusals are (the 415 of a
// file that is not audio): outcome invalid, kind transcription or speech.
// A request that every provider failed is recorded as a chat that every
// provider failed: no provider (none delivered), the providers tried in
// its attempts.
func TestVoiceRequestLogRefusalsAndFailures(t *testing.T) {
	t.Parallel()
	c := newVoiceEnv(t, map[string]string{"MAX_AUDIO_BYTES": "2048"})
	c.requirePostgres()
	over := append(fakeupstream.WAV(), make([]byte, 2049-len(fakeupstream.WAV()))...)
	res := c.upload("/api/v1/audio/transcriptions", &filePart{data: over, name: "a.wav", ctype: "audio/wav"}, nil)
	require.Equal(t, http.StatusRequestEntityTooLarge, res.status, "%s", res.body)
	res = c.upload("/v1/audio/transcriptions", &filePart{data: []byte("not a song"), name: "a.mp3", ctype: "audio/mpeg"}, nil)
	require.Equal(t, http.StatusUnsupportedMediaType, res.status, "%s", res.body)
	res = c.do(http.MethodPost, "/v1/audio/speech", map[string]any{"input": "a", "response_format": "aac"}, bearer(c.token))
	require.Equal(t, http.StatusBadRequest, res.status, "%s", res.body)

	for _, up := range []*fakeupstream.Server{c.up.groq, c.up.openrouter, c.up.huggingface} {
		up.Default(fakeupstream.Status(http.StatusInternalServerError, "{}"))
	}
	res = c.do(http.MethodPost, "/api/v1/audio/speech", map[string]any{"input": "Hi"}, bearer(c.token))
	require.Equal(t, http.StatusServiceUnavailable, res.status, "%s", res.body)
	res = c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "stream": false}, bearer(c.token))
	require.Equal(t, http.StatusServiceUnavailable, res.status, "%s", res.body)
	assert.Equal(t, float64(0), c.quotaUsed(c.token), "all refunded")

	require.Eventually(t, func() bool {
		var n int64
		c.queryRow(`SELECT count(*) FROM request_log`, &n)
		return n == 5
	}, 5*time.Second, 20*time.Millisecond)
	var rows string
	c.queryRow(`SELECT string_agg(r, ',' ORDER BY r) FROM (SELECT kind || '/' || api || '/' || outcome || '/' || error_code || '/' ||
		coalesce(provider, '-') || '/' || coalesce(attempts->0->>'provider', '-') AS r FROM request_log) rows`, &rows)
	assert.Equal(t, strings.Join([]string{
		"chat/native/error/providers_unavailable/-/groq",
		"speech/native/error/providers_unavailable/-/groq",
		"speech/openai/invalid/invalid_request/-/-",
		"transcription/native/invalid/payload_too_large/-/-",
		"transcription/openai/invalid/unsupported_media_type/-/-",
	}, ","), rows)
}

func TestOpenAISDKTranscribesAndSpeaks(t *testing.T) {
	t.Parallel()
	e := newSDKEnv(t, voiceVars(nil))
	e.up.groq.Default(fakeupstream.Transcript("Hello there.", "English", 2*time.Second))
	tr, err := e.client.Audio.Transcriptions.New(t.Context(), openai.AudioTranscriptionNewParams{
		File:  openai.File(bytes.NewReader(fakeupstream.WAV()), "hello.wav", "audio/wav"),
		Model: openai.AudioModelGPTTranscribe,
	})
	require.NoError(t, err)
	assert.Equal(t, "Hello there.", tr.Text)

	tr, err = e.client.Audio.Transcriptions.New(t.Context(), openai.AudioTranscriptionNewParams{
		File:           openai.File(bytes.NewReader(fakeupstream.MP3()), "hello.mp3", "audio/mpeg"),
		Model:          openai.AudioModelGPTTranscribe,
		Language:       openai.String("en"),
		ResponseFormat: openai.AudioResponseFormatVerboseJSON,
	})
	require.NoError(t, err)
	verbose := tr.AsTranscriptionVerbose()
	assert.Equal(t, "Hello there.", verbose.Text)
	assert.Equal(t, "English", verbose.Language)
	assert.Equal(t, 2.0, verbose.Duration)
	reqs := e.up.groq.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, fakeupstream.MP3(), reqs[1].File)
	assert.Equal(t, "whisper-large-v3-turbo", reqs[1].Model, "the configured model, not the one the SDK named")
	assert.Equal(t, "en", reqs[1].Form["language"])

	speech, err := e.client.Audio.Speech.New(t.Context(), openai.AudioSpeechNewParams{
		Input: "Hello!", Model: openai.SpeechModel("tts-1"),
		Voice: openai.AudioSpeechNewParamsVoiceUnion{OfAudioSpeechNewsVoiceString2: openai.String("alloy")},
	})
	require.NoError(t, err)
	defer speech.Body.Close()
	data, err := io.ReadAll(speech.Body)
	require.NoError(t, err)
	assert.Equal(t, fakeupstream.MP3(), data, "mp3, OpenAI's default")
	assert.Equal(t, "audio/mpeg", speech.Header.Get("Content-Type"))
	last := e.up.groq.Requests()[2]
	assert.Equal(t, "Fritz-PlayAI", last.Voice, "OpenAI's voice names read as the default voice")
	assert.Equal(t, "mp3", last.ResponseFormat)

	opus, err := e.client.Audio.Speech.New(t.Context(), openai.AudioSpeechNewParams{
		Input: "Hello!", Model: openai.SpeechModel("tts-1"), ResponseFormat: openai.AudioSpeechNewParamsResponseFormatOpus,
		Voice: openai.AudioSpeechNewParamsVoiceUnion{OfAudioSpeechNewsVoiceString2: openai.String("Celeste-PlayAI")},
	})
	require.NoError(t, err)
	defer opus.Body.Close()
	assert.Equal(t, "audio/ogg", opus.Header.Get("Content-Type"))
	assert.Equal(t, "Celeste-PlayAI", e.up.groq.Requests()[3].Voice)
	assert.Equal(t, "ogg", e.up.groq.Requests()[3].ResponseFormat)

	_, err = e.client.Audio.Speech.New(t.Context(), openai.AudioSpeechNewParams{
		Input: "Hello!", Model: openai.SpeechModel("tts-1"), ResponseFormat: openai.AudioSpeechNewParamsResponseFormatAAC,
		Voice: openai.AudioSpeechNewParamsVoiceUnion{OfAudioSpeechNewsVoiceString2: openai.String("alloy")},
	})
	ae := apiError(t, err)
	assert.Equal(t, http.StatusBadRequest, ae.StatusCode)
	assert.Equal(t, "response_format", ae.Param)

	_, err = e.client.Audio.Transcriptions.New(context.Background(), openai.AudioTranscriptionNewParams{
		File:  openai.File(strings.NewReader("<html>not audio</html>"), "page.mp3", "audio/mpeg"),
		Model: openai.AudioModelGPTTranscribe,
	})
	ae = apiError(t, err)
	assert.Equal(t, http.StatusUnsupportedMediaType, ae.StatusCode)
	assert.Equal(t, "file", ae.Param)
	assert.Equal(t, float64(4), e.quotaUsed(e.token))
}

// TestVoiceSlowUploadIsCut trickles a transcription's file a byte at a
// time: the server stops reading once the request timeout has passed (408,
// connection closed), with or without Content-Length, and charges nothing.
func TestVoiceSlowUploadIsCut(t *testing.T) {
	t.Parallel()
	c := newVoiceEnv(t, map[string]string{"REQUEST_TIMEOUT_SECONDS": "1"})
	addr := c.srv.Listener.Addr().String()
	formHead := "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\nRIFF"
	t.Run("group", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			chunked bool
		}{{"Content-Length", false}, {"chunked", true}} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				head := "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\nAuthorization: Bearer " + c.token + "\r\n"
				piece := func(int) string { return "a" }
				if tc.chunked {
					head += "Transfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n%s\r\n", len(formHead), formHead)
					piece = func(int) string { return "1\r\na\r\n" }
				} else {
					head += "Content-Length: 100000\r\n\r\n" + formHead
				}
				// The server must give up after about 1 s; 15 s proves it never would.
				reply, closed := trickle(t, addr, head, piece, 100*time.Millisecond, 15*time.Second)
				require.True(t, closed, "the server kept reading a slow upload; it sent %q", reply)
				res, err := http.ReadResponse(bufio.NewReader(strings.NewReader(reply)), nil)
				require.NoError(t, err, "reply %q", reply)
				defer res.Body.Close()
				assert.Equal(t, http.StatusRequestTimeout, res.StatusCode)
			})
		}
	})
	assert.Equal(t, float64(0), c.quotaUsed(c.token))
	assert.Empty(t, c.up.groq.Requests(), "no slow upload reached a provider")
}

// TestVoiceTranscriptionsInFlightAreBounded holds one transcription at a
// hanging provider: with MAX_CONCURRENT_REQUESTS_PER_USER=1 the user's next
// upload is refused (429) before it is read, and so is a chat: the slot is
// the one every kind of request shares.
func TestVoiceTranscriptionsInFlightAreBounded(t *testing.T) {
	t.Parallel()
	c := newVoiceEnv(t, map[string]string{"MAX_CONCURRENT_REQUESTS_PER_USER": "1", "REQUEST_TIMEOUT_SECONDS": "3"})
	c.up.groq.Script("gk-0", fakeupstream.Hang())
	c.up.groq.Script("gk-1", fakeupstream.Hang())
	first := make(chan response, 1)
	go func() { first <- c.upload("/api/v1/audio/transcriptions", wavFile(), nil) }()
	require.Eventually(t, func() bool { return len(c.up.groq.Requests()) == 1 }, 5*time.Second, 10*time.Millisecond)

	res := c.upload("/v1/audio/transcriptions", wavFile(), nil)
	require.Equal(t, http.StatusTooManyRequests, res.status, "%s", res.body)
	assert.Contains(t, string(res.body), "Too many concurrent requests (at most 1 at a time)")
	assert.Equal(t, "1", res.header.Get("Retry-After"))
	assert.Len(t, c.up.groq.Requests(), 1, "the second upload reached no provider")
	assert.Equal(t, http.StatusTooManyRequests, c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "hi", "stream": false}, bearer(c.token)).status,
		"the slot is the one every kind of request shares")

	assert.NotEqual(t, http.StatusOK, (<-first).status, "the provider hung")
	res = c.upload("/api/v1/audio/transcriptions", wavFile(), nil)
	assert.NotEqual(t, http.StatusTooManyRequests, res.status, "the slot came back: %s", res.body)
}
