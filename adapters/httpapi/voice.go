package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/voice"
)

// voiceCaller is the voice service and the caller, once voice is on and
// the caller may use it: checked before an upload is read.
func (h *handlers) voiceCaller(ctx context.Context) (*voice.Service, domain.User, error) {
	svc := h.s.deps.Voice
	if svc == nil || !svc.On() {
		return nil, domain.User{}, voice.ErrDisabled
	}
	u, ok := UserFrom(ctx)
	if !ok {
		return nil, domain.User{}, domain.Errorf(domain.CodeUnauthorized, "Missing bearer token")
	}
	// Voice costs quota: an account that has not proven its address gets
	// none, as for chat.
	if err := h.s.deps.Login.RequireVerified(u); err != nil {
		return nil, domain.User{}, err
	}
	return svc, u, nil
}

// upload is a transcription form as read: the file and the other fields.
type upload struct {
	file   []byte
	sent   bool // a part named file came, even empty
	fields map[string]string
}

// maxFieldBytes bounds each field of a transcription form other than the
// file (a prompt of 1000 characters is at most 4000 bytes).
const maxFieldBytes = 8 << 10

// maxFormParts bounds the parts of a transcription form: OpenAI's SDKs
// send a dozen at most (file, model, language, prompt, response_format,
// temperature, timestamp_granularities[]...).
const maxFormParts = 32

// formFields are the fields of a transcription form that are read; the
// others are skipped.
var formFields = map[string]bool{"language": true, "prompt": true, "response_format": true}

// readUpload reads a transcription form as it arrives, part by part, at
// most maxFormParts of them: the file through a limit of maxAudio+1 bytes
// (one more is too large), every other field through maxFieldBytes, kept
// when formFields names it. Nothing goes to disk, as ParseMultipartForm
// would put a large file.
func readUpload(form *multipart.Reader, maxAudio int64) (upload, error) {
	up := upload{fields: map[string]string{}}
	for parts := 0; ; parts++ {
		part, err := form.NextPart()
		if err == io.EOF {
			return up, nil
		}
		if err != nil {
			return upload{}, formError(err, maxAudio)
		}
		if parts == maxFormParts {
			return upload{}, domain.Errorf(domain.CodeInvalid, "Invalid multipart body: more than %d parts", maxFormParts)
		}
		name := part.FormName()
		switch {
		case name == "file" && up.sent:
			return upload{}, domain.Invalid("file", "must be sent once")
		case name == "file":
			up.sent = true
			up.file, err = io.ReadAll(io.LimitReader(part, maxAudio+1))
			if err == nil && int64(len(up.file)) > maxAudio {
				err = voice.TooLarge(maxAudio)
			}
		default:
			// A field the gateway ignores (OpenAI's model, temperature...)
			// is bounded as the read ones are: the body's limit is the
			// file's, megabytes.
			var b []byte
			b, err = io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
			if err == nil && len(b) > maxFieldBytes {
				field := name
				if len(field) > 64 || field == "" {
					field = "form field" // not a client's megabyte name echoed back
				}
				err = domain.Invalid(field, "is too long")
			}
			if formFields[name] {
				up.fields[name] = string(b)
			}
		}
		if err != nil {
			return upload{}, formError(err, maxAudio)
		}
	}
}

// formError words a failure to read the form: over the body's limit (413,
// as the file's), too slow (408), or a form that is broken or cut short
// (400). An error with a code of its own keeps it.
func formError(err error, maxAudio int64) error {
	var (
		tooLarge *http.MaxBytesError
		slow     *BodyTimeoutError
		coded    domain.Coded
	)
	switch {
	case errors.As(err, &tooLarge):
		return voice.TooLarge(maxAudio)
	case errors.As(err, &slow), errors.As(err, &coded):
		return err
	}
	return &domain.Error{Code: domain.CodeInvalid, Message: "Invalid multipart body: the form is malformed or cut short", Err: err}
}

// errNoFile refuses a form without its file.
var errNoFile = domain.Invalid("file", "is required (the audio, as a multipart/form-data part named file)")

// transcribe runs a transcription request of either dialect; check, when
// set, refuses the form's other fields before any quota is taken.
func (h *handlers) transcribe(ctx context.Context, dialect string, form *multipart.Reader, check func(map[string]string) error) (voice.Transcript, error) {
	svc, u, err := h.voiceCaller(ctx)
	if err != nil {
		return voice.Transcript{}, err
	}
	// Over the quota or too many at once: refused before the upload is
	// received.
	release, err := svc.Admit(ctx, u, dialect, RequestIDFrom(ctx))
	if err != nil {
		return voice.Transcript{}, err
	}
	defer release()
	began := time.Now()
	// A refusal while reading the form is recorded as the service records
	// its own (a 413 as the 415 of a file that is not audio).
	refused := func(err error) (voice.Transcript, error) {
		return voice.Transcript{}, svc.Refused(domain.RequestKindTranscription, u, dialect, RequestIDFrom(ctx), began, err)
	}
	maxAudio, _, _ := svc.Limits()
	up, err := readUpload(form, maxAudio)
	switch {
	case err != nil:
		return refused(err)
	case !up.sent:
		return refused(errNoFile)
	}
	if check != nil {
		if err := check(up.fields); err != nil {
			return refused(err)
		}
	}
	return svc.Transcribe(ctx, u, voice.TranscribeRequest{Audio: up.file, Language: up.fields["language"], Prompt: up.fields["prompt"],
		API: dialect, RequestID: RequestIDFrom(ctx), Admitted: true})
}

// TranscribeAudio implements api.StrictServerInterface.
func (h *handlers) TranscribeAudio(ctx context.Context, req api.TranscribeAudioRequestObject) (api.TranscribeAudioResponseObject, error) {
	res, err := h.transcribe(ctx, domain.APINative, req.Body, nil)
	if err != nil {
		return nil, err
	}
	return api.TranscribeAudio200JSONResponse{Text: res.Text, Language: res.Language, Duration: res.Duration.Seconds(),
		Provider: api.Provider(res.Provider), Model: res.Model, RequestId: RequestIDFrom(ctx)}, nil
}

// CreateTranscription implements api.StrictServerInterface: OpenAI's Audio
// API. response_format picks the answer's shape: json, verbose_json or text.
func (h *handlers) CreateTranscription(ctx context.Context, req api.CreateTranscriptionRequestObject) (api.CreateTranscriptionResponseObject, error) {
	format := "json"
	res, err := h.transcribe(ctx, domain.APIOpenAI, req.Body, func(fields map[string]string) error {
		if f, ok := fields["response_format"]; ok && f != "" {
			format = f
		}
		switch format {
		case "json", "verbose_json", "text":
			return nil
		case "srt", "vtt":
			return domain.Invalid("response_format", "%s is not supported; ask for json, verbose_json or text", format)
		}
		return domain.Invalid("response_format", "must be one of json, verbose_json, text")
	})
	if err != nil {
		return nil, err
	}
	switch format {
	case "text":
		return api.CreateTranscription200TextResponse(res.Text), nil
	case "verbose_json":
		task, lang, secs := "transcribe", res.Language, res.Duration.Seconds()
		return api.CreateTranscription200JSONResponse{Text: res.Text, Task: &task, Language: &lang, Duration: &secs}, nil
	}
	return api.CreateTranscription200JSONResponse{Text: res.Text}, nil
}

// speak runs a speech request of either dialect; invalid, when set, is
// the dialect's own refusal of the request, recorded as the service
// records its own.
func (h *handlers) speak(ctx context.Context, req voice.SpeakRequest, invalid error) (voice.Speech, error) {
	svc, u, err := h.voiceCaller(ctx)
	if err != nil {
		return voice.Speech{}, err
	}
	req.RequestID = RequestIDFrom(ctx)
	if invalid != nil {
		return voice.Speech{}, svc.Refused(domain.RequestKindSpeech, u, req.API, req.RequestID, time.Now(), invalid)
	}
	return svc.Speak(ctx, u, req)
}

// errSpeechType is an answer whose checked type has no response in the
// spec: domain.CheckAudio returns only the formats asked for, so never.
func errSpeechType(mimeType string) error {
	return fmt.Errorf("speech answer of type %q: no response for it", mimeType)
}

// SynthesizeSpeech implements api.StrictServerInterface.
func (h *handlers) SynthesizeSpeech(ctx context.Context, req api.SynthesizeSpeechRequestObject) (api.SynthesizeSpeechResponseObject, error) {
	sreq := voice.SpeakRequest{Input: req.Body.Input, API: domain.APINative}
	if req.Body.Voice != nil {
		sreq.Voice = *req.Body.Voice
	}
	if req.Body.Format != nil {
		sreq.Format = domain.AudioFormat(*req.Body.Format)
	}
	res, err := h.speak(ctx, sreq, nil)
	if err != nil {
		return nil, err
	}
	body, n := bytes.NewReader(res.Data), int64(len(res.Data))
	provider, model := api.Provider(res.Provider), res.Model
	headers := api.SynthesizeSpeech200ResponseHeaders{XGenzaiProvider: &provider, XGenzaiModel: &model}
	switch res.Format {
	case domain.AudioWAV:
		return api.SynthesizeSpeech200AudiowavResponse{Body: body, ContentLength: n, Headers: headers}, nil
	case domain.AudioMP3:
		return api.SynthesizeSpeech200AudiompegResponse{Body: body, ContentLength: n, Headers: headers}, nil
	case domain.AudioFLAC:
		return api.SynthesizeSpeech200AudioflacResponse{Body: body, ContentLength: n, Headers: headers}, nil
	case domain.AudioOgg:
		return api.SynthesizeSpeech200AudiooggResponse{Body: body, ContentLength: n, Headers: headers}, nil
	}
	return nil, errSpeechType(res.MIMEType)
}

// openAIVoices are OpenAI's voice names: the SDKs send one, and they are
// not Groq's, so each reads as the default voice.
var openAIVoices = map[string]bool{
	"alloy": true, "ash": true, "ballad": true, "coral": true, "echo": true, "fable": true, "nova": true,
	"onyx": true, "sage": true, "shimmer": true, "verse": true, "marin": true, "cedar": true,
}

// openAISpeechFormats maps OpenAI's response_format to the formats speech
// answers; aac and pcm have none.
var openAISpeechFormats = map[string]domain.AudioFormat{
	"mp3": domain.AudioMP3, "wav": domain.AudioWAV, "flac": domain.AudioFLAC, "opus": domain.AudioOgg,
}

// CreateSpeech implements api.StrictServerInterface: OpenAI's Audio API.
func (h *handlers) CreateSpeech(ctx context.Context, req api.CreateSpeechRequestObject) (api.CreateSpeechResponseObject, error) {
	sreq := voice.SpeakRequest{Input: req.Body.Input, Format: domain.AudioMP3, API: domain.APIOpenAI}
	if v := req.Body.Voice; v != nil && !openAIVoices[strings.ToLower(*v)] {
		sreq.Voice = *v
	}
	var invalid error
	if f := req.Body.ResponseFormat; f != nil {
		format, ok := openAISpeechFormats[string(*f)]
		if !ok {
			invalid = domain.Invalid("response_format", "must be one of mp3, wav, flac, opus")
		}
		sreq.Format = format
	}
	res, err := h.speak(ctx, sreq, invalid)
	if err != nil {
		return nil, err
	}
	body, n := bytes.NewReader(res.Data), int64(len(res.Data))
	switch res.Format {
	case domain.AudioMP3:
		return api.CreateSpeech200AudiompegResponse{Body: body, ContentLength: n}, nil
	case domain.AudioWAV:
		return api.CreateSpeech200AudiowavResponse{Body: body, ContentLength: n}, nil
	case domain.AudioFLAC:
		return api.CreateSpeech200AudioflacResponse{Body: body, ContentLength: n}, nil
	case domain.AudioOgg:
		return api.CreateSpeech200AudiooggResponse{Body: body, ContentLength: n}, nil
	}
	return nil, errSpeechType(res.MIMEType)
}

// voiceInfo says whether voice is on and its limits, for the model list.
func (h *handlers) voiceInfo() api.VoiceInfo {
	info := api.VoiceInfo{Providers: []api.Provider{}, QuotaCost: voice.Cost, MaxAudioBytes: h.s.cfg.MaxAudioBytes,
		MaxSpeechChars: voice.DefaultMaxSpeechChars, Voices: []string{}}
	svc := h.s.deps.Voice
	if svc == nil {
		return info
	}
	maxAudio, maxChars, voices := svc.Limits()
	info.MaxAudioBytes, info.MaxSpeechChars = maxAudio, maxChars
	if !svc.Enabled() {
		return info
	}
	info.Enabled = true
	info.Voices = append(info.Voices, voices...)
	for _, p := range svc.Providers() {
		info.Providers = append(info.Providers, api.Provider(p))
	}
	return info
}
