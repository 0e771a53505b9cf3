package voice

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/genzai/genzai/domain"
)

// validateUpload checks a transcription request and turns it into the
// providers' request.
func (s *Service) validateUpload(req TranscribeRequest) (domain.TranscriptionRequest, error) {
	switch {
	case len(req.Audio) == 0:
		return domain.TranscriptionRequest{}, domain.Invalid("file", "must not be empty")
	case int64(len(req.Audio)) > s.cfg.MaxAudioBytes:
		return domain.TranscriptionRequest{}, TooLarge(s.cfg.MaxAudioBytes)
	}
	format := domain.SniffAudio(req.Audio)
	if format == "" {
		return domain.TranscriptionRequest{}, ErrNotAudio
	}
	lang := strings.ToLower(strings.TrimSpace(req.Language))
	if lang != "" && !isLanguageCode(lang) {
		return domain.TranscriptionRequest{}, domain.Invalid("language", "must be an ISO-639-1 code such as en or fr")
	}
	if err := checkText("prompt", req.Prompt, MaxPromptChars); err != nil {
		return domain.TranscriptionRequest{}, err
	}
	return domain.TranscriptionRequest{Audio: req.Audio, Format: format, Language: lang, Prompt: req.Prompt}, nil
}

// ErrNotAudio refuses an upload whose bytes are none of the formats the
// providers take, whatever its name or part header claimed.
var ErrNotAudio = &domain.Error{Code: domain.CodeUnsupportedMediaType, Field: "file",
	Message: "file: is not audio (FLAC, MP3, MP4/M4A, Ogg, WAV or WebM)"}

// TooLarge refuses an upload over max bytes (MAX_AUDIO_BYTES).
func TooLarge(max int64) *domain.Error {
	return &domain.Error{Code: domain.CodePayloadTooLarge, Field: "file",
		Message: fmt.Sprintf("file: must be at most %d bytes (MAX_AUDIO_BYTES)", max)}
}

// isLanguageCode reports whether code has the shape of an ISO-639-1 code:
// two lower-case ASCII letters.
func isLanguageCode(code string) bool {
	return len(code) == 2 && code[0] >= 'a' && code[0] <= 'z' && code[1] >= 'a' && code[1] <= 'z'
}

// speechFormats are the formats speech can answer.
var speechFormats = []domain.AudioFormat{domain.AudioWAV, domain.AudioMP3, domain.AudioFLAC, domain.AudioOgg}

// validateSpeech checks a speech request and turns it into the providers'
// request, with the default voice and format filled in.
func (s *Service) validateSpeech(req SpeakRequest) (domain.SpeechRequest, error) {
	if strings.TrimSpace(req.Input) == "" {
		return domain.SpeechRequest{}, domain.Invalid("input", "must not be empty")
	}
	if err := checkText("input", req.Input, s.cfg.MaxSpeechChars); err != nil {
		return domain.SpeechRequest{}, err
	}
	format := req.Format
	if format == "" {
		format = DefaultSpeechFormat
	}
	known := false
	for _, f := range speechFormats {
		known = known || f == format
	}
	if !known {
		return domain.SpeechRequest{}, domain.Invalid("format", "must be one of wav, mp3, flac, ogg")
	}
	voice, err := s.voice(req.Voice)
	if err != nil {
		return domain.SpeechRequest{}, err
	}
	return domain.SpeechRequest{Input: req.Input, Voice: voice, Format: format}, nil
}

// voice is the configured spelling of the voice name (case aside), or the
// default voice for "".
func (s *Service) voice(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return s.cfg.DefaultVoice, nil
	}
	if len(s.cfg.Voices) == 0 {
		if err := checkText("voice", name, 100); err != nil {
			return "", err
		}
		return name, nil
	}
	for _, v := range s.cfg.Voices {
		if strings.EqualFold(v, name) {
			return v, nil
		}
	}
	return "", domain.Invalid("voice", "must be one of %s", strings.Join(s.cfg.Voices, ", "))
}

// checkText refuses text that is not UTF-8, is longer than max characters
// or holds control characters (tabs and line breaks aside).
func checkText(field, text string, max int) error {
	switch {
	case !utf8.ValidString(text):
		return domain.Invalid(field, "must be valid UTF-8")
	case utf8.RuneCountInString(text) > max:
		return domain.Invalid(field, "must be at most %d characters", max)
	}
	return domain.CheckControl(field, text)
}
