package httpapi

import (
	"context"

	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/domain"
)

// errVoiceOff answers the voice routes while voice is off.
var errVoiceOff = &domain.Error{Code: domain.CodeNotFound,
	Message: "Voice is off on this server: the operator turns it on with ENABLE_VOICE=true"}

// TranscribeAudio implements api.StrictServerInterface.
func (h *handlers) TranscribeAudio(ctx context.Context, req api.TranscribeAudioRequestObject) (api.TranscribeAudioResponseObject, error) {
	return nil, errVoiceOff
}

// SynthesizeSpeech implements api.StrictServerInterface.
func (h *handlers) SynthesizeSpeech(ctx context.Context, req api.SynthesizeSpeechRequestObject) (api.SynthesizeSpeechResponseObject, error) {
	return nil, errVoiceOff
}

// CreateTranscription implements api.StrictServerInterface: OpenAI's Audio API.
func (h *handlers) CreateTranscription(ctx context.Context, req api.CreateTranscriptionRequestObject) (api.CreateTranscriptionResponseObject, error) {
	return nil, errVoiceOff
}

// CreateSpeech implements api.StrictServerInterface: OpenAI's Audio API.
func (h *handlers) CreateSpeech(ctx context.Context, req api.CreateSpeechRequestObject) (api.CreateSpeechResponseObject, error) {
	return nil, errVoiceOff
}

// voiceInfo says whether voice is on, for the model list.
func (h *handlers) voiceInfo() api.VoiceInfo {
	return api.VoiceInfo{Providers: []api.Provider{}, Voices: []string{}}
}
