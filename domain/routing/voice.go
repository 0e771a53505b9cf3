package routing

import (
	"context"
	"time"

	"github.com/genzai/genzai/domain"
)

// TranscriptionRequest is what Transcribe is asked for.
type TranscriptionRequest struct {
	// Transcription is the request for the provider; Transcribe fills in
	// Model.
	Transcription domain.TranscriptionRequest
	// Began is when the request arrived: its deadline counts from it.
	Began time.Time
}

// SpeechRequest is what Speak is asked for.
type SpeechRequest struct {
	// Speech is the request for the provider; Speak fills in Model.
	Speech domain.SpeechRequest
	// Began is when the request arrived: its deadline counts from it.
	Began time.Time
}

// TranscriptionChain is the transcription chain over the providers that
// are configured with keys and voice, in order; empty when voice is off.
func (r *Router) TranscriptionChain() []Route {
	var out []Route
	for _, route := range r.cfg.TranscriptionChain {
		if p, ok := r.providers[route.Provider]; ok && p.transcriber != nil {
			out = append(out, route)
		}
	}
	return out
}

// SpeechChain is the speech chain over the providers that are configured
// with keys and voice, in order; empty when voice is off.
func (r *Router) SpeechChain() []Route {
	var out []Route
	for _, route := range r.cfg.SpeechChain {
		if p, ok := r.providers[route.Provider]; ok && p.speech != nil {
			out = append(out, route)
		}
	}
	return out
}

// Transcribe walks the transcription chain (see deliver) until one
// provider delivers a transcription. Errors: as Open's.
func (r *Router) Transcribe(ctx context.Context, req TranscriptionRequest) (domain.Transcription, Trace, error) {
	return deliver(r, ctx, req.Began, r.TranscriptionChain(), func(ctx context.Context, route Route, key int) (domain.Transcription, error) {
		treq := req.Transcription
		treq.Model = route.Model
		return r.providers[route.Provider].transcriber.Transcribe(ctx, key, treq)
	})
}

// Speak walks the speech chain (see deliver) until one provider delivers
// audio of the format asked for (domain.CheckAudio): a provider that
// answers something else (HTML, JSON, another format) fails like a 5xx
// and the next one is asked. Errors: as Open's.
func (r *Router) Speak(ctx context.Context, req SpeechRequest) (domain.Audio, Trace, error) {
	return deliver(r, ctx, req.Began, r.SpeechChain(), func(ctx context.Context, route Route, key int) (domain.Audio, error) {
		sreq := req.Speech
		sreq.Model = route.Model
		audio, err := r.providers[route.Provider].speech.Speak(ctx, key, sreq)
		if err != nil {
			return domain.Audio{}, err
		}
		return domain.CheckAudio(route.Provider, sreq.Format, audio)
	})
}
