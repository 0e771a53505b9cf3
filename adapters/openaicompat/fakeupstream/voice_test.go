package fakeupstream_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
	"github.com/genzai/genzai/domain"
)

// transcribe posts a transcription form (file nil: none) with key.
func transcribe(t *testing.T, srv *fakeupstream.Server, file []byte, fields map[string]string) (int, http.Header, []byte) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range fields {
		require.NoError(t, w.WriteField(k, v))
	}
	if file != nil {
		p, err := w.CreateFormFile("file", "a.wav")
		require.NoError(t, err)
		_, err = p.Write(file)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL()+"/openai/v1/audio/transcriptions", &body)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer k")
	req.Header.Set("Content-Type", w.FormDataContentType())
	return do(t, srv, req)
}

// speak posts a speech request with key.
func speak(t *testing.T, srv *fakeupstream.Server, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL()+"/openai/v1/audio/speech", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer k")
	req.Header.Set("Content-Type", "application/json")
	return do(t, srv, req)
}

func do(t *testing.T, srv *fakeupstream.Server, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, b
}

func TestTranscriptionSpeaksWhispersFormats(t *testing.T) {
	t.Parallel()
	srv := fakeupstream.New(t)
	srv.Default(fakeupstream.Transcript("Hi there.", "English", 2500*time.Millisecond))
	tests := []struct {
		format string
		want   string
		ctype  string
	}{
		{"", `{"text":" Hi there.","x_groq":{"id":"req_fake"}}`, "application/json"},
		{"json", `{"text":" Hi there.","x_groq":{"id":"req_fake"}}`, "application/json"},
		{"text", " Hi there.\n", "text/plain; charset=utf-8"},
	}
	for _, tt := range tests {
		fields := map[string]string{"model": "whisper-large-v3-turbo"}
		if tt.format != "" {
			fields["response_format"] = tt.format
		}
		status, h, body := transcribe(t, srv, fakeupstream.WAV(), fields)
		require.Equal(t, http.StatusOK, status, "%s", body)
		assert.Equal(t, tt.ctype, h.Get("Content-Type"))
		if tt.ctype == "application/json" {
			assert.JSONEq(t, tt.want, string(body), tt.format)
		} else {
			assert.Equal(t, tt.want, string(body))
		}
	}

	status, _, body := transcribe(t, srv, fakeupstream.WAV(), map[string]string{"model": "m", "response_format": "verbose_json", "language": "en"})
	require.Equal(t, http.StatusOK, status)
	var verbose struct {
		Task, Language, Text string
		Duration             float64
		Segments             []map[string]any
	}
	require.NoError(t, json.Unmarshal(body, &verbose))
	assert.Equal(t, "transcribe", verbose.Task)
	assert.Equal(t, "English", verbose.Language)
	assert.Equal(t, " Hi there.", verbose.Text)
	assert.Equal(t, 2.5, verbose.Duration)
	assert.Len(t, verbose.Segments, 1)

	last := srv.Requests()[len(srv.Requests())-1]
	assert.Equal(t, "m", last.Model)
	assert.Equal(t, map[string]string{"model": "m", "response_format": "verbose_json", "language": "en"}, last.Form)
	assert.Equal(t, fakeupstream.WAV(), last.File)
	assert.Equal(t, "a.wav", last.FileName)
	assert.Equal(t, "application/octet-stream", last.FileType)
}

func TestTranscriptionWithoutAFileIsRefusedAsGroqDoes(t *testing.T) {
	t.Parallel()
	srv := fakeupstream.New(t)
	status, _, body := transcribe(t, srv, nil, map[string]string{"model": "m"})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.JSONEq(t, `{"error":{"message":"file or url must be provided","type":"invalid_request_error"}}`, string(body))
}

func TestSpeechAnswersTheFormatAskedFor(t *testing.T) {
	t.Parallel()
	srv := fakeupstream.New(t)
	tests := []struct {
		format string
		want   domain.AudioFormat
		ctype  string
	}{
		{"wav", domain.AudioWAV, "audio/wav"},
		{"mp3", domain.AudioMP3, "audio/mpeg"},
		{"flac", domain.AudioFLAC, "audio/flac"},
		{"ogg", domain.AudioOgg, "audio/ogg"},
	}
	for _, tt := range tests {
		status, h, body := speak(t, srv, `{"model":"playai-tts","input":"Hi","voice":"Fritz-PlayAI","response_format":"`+tt.format+`"}`)
		require.Equal(t, http.StatusOK, status, "%s", body)
		assert.Equal(t, tt.ctype, h.Get("Content-Type"))
		assert.Equal(t, tt.want, domain.SniffAudio(body), "real %s bytes", tt.format)
	}
	last := srv.Requests()[len(srv.Requests())-1]
	assert.Equal(t, "Hi", last.Input)
	assert.Equal(t, "Fritz-PlayAI", last.Voice)
	assert.Equal(t, "ogg", last.ResponseFormat)
	assert.Equal(t, "playai-tts", last.Model)

	srv.Default(fakeupstream.Speech("audio/wav", []byte("<html>")))
	_, h, body := speak(t, srv, `{"model":"m","input":"Hi","voice":"v","response_format":"mp3"}`)
	assert.Equal(t, "audio/wav", h.Get("Content-Type"))
	assert.Equal(t, "<html>", string(body))

	status, _, _ := speak(t, srv, `{"model":"m","input":"","voice":"v"}`)
	assert.Equal(t, http.StatusBadRequest, status)
}

func TestGroqErrorShape(t *testing.T) {
	t.Parallel()
	srv := fakeupstream.New(t)
	srv.Default(fakeupstream.GroqError(http.StatusServiceUnavailable, "over capacity", "internal_server_error", "service_unavailable"))
	status, h, body := speak(t, srv, `{"model":"m","input":"Hi","voice":"v"}`)
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Equal(t, "application/json", h.Get("Content-Type"))
	assert.JSONEq(t, `{"error":{"message":"over capacity","type":"internal_server_error","code":"service_unavailable"}}`, string(body))
}

func TestChatResponseFormatObjectStillRecorded(t *testing.T) {
	t.Parallel()
	srv := fakeupstream.New(t)
	status, _, _ := post(t, srv, "k", `{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}}`)
	require.Equal(t, http.StatusOK, status)
	r := srv.Requests()[0]
	assert.Equal(t, "m", r.Model, "a chat's response_format object does not stop the record")
	assert.Empty(t, r.ResponseFormat)
}
