package groq

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/textproto"
	"strings"
	"time"

	"github.com/genzai/genzai/adapters/openaicompat"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// Bounds on what is read of a voice answer.
const (
	// maxTranscriptionAnswer bounds a verbose transcription (its segments
	// grow with the audio's length).
	maxTranscriptionAnswer = 16 << 20
	// MaxSpeechBytes bounds the audio of one speech answer: minutes of
	// 48 kHz WAV.
	MaxSpeechBytes = 64 << 20
)

// Voice is Groq's speech to text (Whisper: POST {base}/audio/transcriptions,
// a multipart form with file, model, language, prompt and
// response_format=verbose_json, answered {"text","language","duration",...})
// and text to speech (POST {base}/audio/speech with {model, input, voice,
// response_format}, answered with the audio's bytes), over the chat
// client's keys and error mapping (429 with Retry-After or Groq's reset
// headers, 5xx, 4xx upstream_error).
type Voice struct {
	client *openaicompat.Client
}

var (
	_ ports.Transcriber       = (*Voice)(nil)
	_ ports.SpeechSynthesizer = (*Voice)(nil)
)

// NewVoice returns voice over client's keys (the chat client New returns).
func NewVoice(client *openaicompat.Client) *Voice { return &Voice{client: client} }

// Name implements ports.Transcriber and ports.SpeechSynthesizer.
func (v *Voice) Name() domain.Provider { return domain.ProviderGroq }

// verboseTranscription is the part of a verbose_json answer the gateway reads.
type verboseTranscription struct {
	Text     *string `json:"text"`
	Language string  `json:"language"`
	// Duration is in seconds.
	Duration float64 `json:"duration"`
}

// Transcribe implements ports.Transcriber.
func (v *Voice) Transcribe(ctx context.Context, key int, req domain.TranscriptionRequest) (domain.Transcription, error) {
	upload, err := transcriptionForm(req)
	if err != nil {
		return domain.Transcription{}, &domain.ProviderError{Provider: domain.ProviderGroq, Class: domain.FailureCaller,
			Reason: domain.ReasonCallerError, Message: "encode transcription form", Err: err}
	}
	reply, err := v.client.PostUpload(ctx, key, v.client.URL("/audio/transcriptions"), "application/json", upload, maxTranscriptionAnswer)
	if err != nil {
		return domain.Transcription{}, err
	}
	var out verboseTranscription
	if err := json.Unmarshal(reply.Body, &out); err != nil || out.Text == nil {
		return domain.Transcription{}, &domain.ProviderError{Provider: domain.ProviderGroq, Class: domain.FailureRetryable,
			Reason: domain.ReasonBadResponse, Status: reply.Status, Message: "malformed transcription", Err: err}
	}
	// Whisper opens its text with a space.
	return domain.Transcription{Text: strings.TrimSpace(*out.Text), Language: out.Language,
		Duration: time.Duration(out.Duration * float64(time.Second))}, nil
}

// transcriptionForm encodes req as the multipart form Groq reads. The
// audio is not copied into the form: the body reads the form's head, the
// audio itself, then the closing boundary.
func transcriptionForm(req domain.TranscriptionRequest) (openaicompat.Upload, error) {
	var head bytes.Buffer
	w := multipart.NewWriter(&head)
	fields := [][2]string{{"model", req.Model}, {"response_format", "verbose_json"}}
	if req.Language != "" {
		fields = append(fields, [2]string{"language", req.Language})
	}
	if req.Prompt != "" {
		fields = append(fields, [2]string{"prompt", req.Prompt})
	}
	for _, f := range fields {
		if err := w.WriteField(f[0], f[1]); err != nil {
			return openaicompat.Upload{}, err
		}
	}
	// The file's name carries its format's extension: Whisper servers
	// read it.
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="audio.`+string(req.Format)+`"`)
	h.Set("Content-Type", req.Format.MIMEType())
	if _, err := w.CreatePart(h); err != nil {
		return openaicompat.Upload{}, err
	}
	n := head.Len()
	// Close writes only the closing boundary after the last part's data.
	if err := w.Close(); err != nil {
		return openaicompat.Upload{}, err
	}
	tail := bytes.Clone(head.Bytes()[n:])
	head.Truncate(n)
	return openaicompat.Upload{
		ContentType: w.FormDataContentType(),
		Length:      int64(head.Len() + len(req.Audio) + len(tail)),
		Body:        io.MultiReader(&head, bytes.NewReader(req.Audio), bytes.NewReader(tail)),
	}, nil
}

// speechRequest is the body of POST /audio/speech.
type speechRequest struct {
	Model          string `json:"model"`
	Input          string `json:"input"`
	Voice          string `json:"voice"`
	ResponseFormat string `json:"response_format"`
}

// Speak implements ports.SpeechSynthesizer.
func (v *Voice) Speak(ctx context.Context, key int, req domain.SpeechRequest) (domain.Audio, error) {
	body := speechRequest{Model: req.Model, Input: req.Input, Voice: req.Voice, ResponseFormat: string(req.Format)}
	reply, err := v.client.Post(ctx, key, v.client.URL("/audio/speech"), req.Format.MIMEType(), body, MaxSpeechBytes)
	if err != nil {
		return domain.Audio{}, err
	}
	// The bytes are checked against the format asked for by the router.
	return domain.Audio{Data: reply.Body, MIMEType: reply.Header.Get("Content-Type")}, nil
}
