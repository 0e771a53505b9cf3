// Package voice is the voice use case: speech to text (Transcribe) and text
// to speech (Speak). Each call validates its request, takes one of the
// user's request slots (domain/admission, shared with chat and images) and
// one unit of the user's daily quota, has the provider router do the work (domain/routing:
// Transcribe, Speak), refunds when no provider delivered, and records the
// request once (kind transcription or speech).
package voice

import (
	"context"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/admission"
	"github.com/genzai/genzai/domain/quota"
	"github.com/genzai/genzai/domain/routing"
	"github.com/genzai/genzai/ports"
)

// Defaults and bounds of Config.
const (
	// DefaultMaxAudioBytes is the provider's own upload limit (25 MiB).
	DefaultMaxAudioBytes  = 25 << 20
	DefaultMaxSpeechChars = 4096
	// MaxPromptChars bounds a transcription's prompt.
	MaxPromptChars = 1000
	// Cost is the quota units one call takes.
	Cost = 1
	// DefaultSpeechFormat is what speech answers unless asked otherwise.
	DefaultSpeechFormat = domain.AudioWAV
)

// ErrDisabled refuses every request while voice is off; the message says
// how to turn it on.
var ErrDisabled = &domain.Error{Code: domain.CodeNotFound,
	Message: "Voice is off on this server: the operator turns it on with ENABLE_VOICE=true"}

// Config configures the use case.
type Config struct {
	// Enabled turns voice on (ENABLE_VOICE).
	Enabled bool
	// MaxAudioBytes bounds an upload (MAX_AUDIO_BYTES).
	MaxAudioBytes int64
	// MaxSpeechChars bounds the text read aloud, in characters
	// (MAX_SPEECH_CHARS).
	MaxSpeechChars int
	// Voices are the speech model's voices, the default first
	// (GROQ_SPEECH_VOICE, then GROQ_SPEECH_VOICES); empty: any name is
	// passed on and the provider judges it.
	Voices []string
	// DefaultVoice reads when a request names none (GROQ_SPEECH_VOICE).
	DefaultVoice string
	// Admission bounds each user's requests in flight, voice counted with
	// chats and images (MAX_CONCURRENT_REQUESTS_PER_USER); nil: no bound.
	Admission *admission.Gate
}

// TranscribeRequest is one upload to transcribe.
type TranscribeRequest struct {
	// Audio is the whole upload; its format is sniffed from its bytes.
	Audio []byte
	// Language is an ISO-639-1 code ("": detected).
	Language string
	// Prompt guides the style or spelling (at most MaxPromptChars).
	Prompt string
	// API is domain.APINative or domain.APIOpenAI, for the request log.
	API string
	// RequestID is the id the client is answered under.
	RequestID string
	// Admitted says the caller holds the request's slot from Admit (so
	// that the upload was read under it): Transcribe does not take another.
	Admitted bool
}

// SpeakRequest is one text to read aloud.
type SpeakRequest struct {
	Input string
	// Voice names one of Config.Voices ("": the default voice).
	Voice string
	// Format is wav, mp3, flac or ogg ("": DefaultSpeechFormat).
	Format domain.AudioFormat
	// API is domain.APINative or domain.APIOpenAI, for the request log.
	API string
	// RequestID is the id the client is answered under.
	RequestID string
}

// Transcript is a transcription and who made it.
type Transcript struct {
	domain.Transcription
	Provider domain.Provider
	Model    string
}

// Speech is spoken text and who spoke it.
type Speech struct {
	domain.Audio
	Provider domain.Provider
	Model    string
}

// Service transcribes and speaks.
type Service struct {
	cfg      Config
	router   *routing.Router
	quota    *quota.Service
	requests ports.RequestLog
	clock    ports.Clock
}

// New builds a Service over the router, the quota and the request log
// (nil: nothing is recorded).
func New(cfg Config, router *routing.Router, q *quota.Service, requests ports.RequestLog, clock ports.Clock) *Service {
	if cfg.MaxAudioBytes <= 0 {
		cfg.MaxAudioBytes = DefaultMaxAudioBytes
	}
	if cfg.MaxSpeechChars <= 0 {
		cfg.MaxSpeechChars = DefaultMaxSpeechChars
	}
	if cfg.DefaultVoice == "" && len(cfg.Voices) > 0 {
		cfg.DefaultVoice = cfg.Voices[0]
	}
	return &Service{cfg: cfg, router: router, quota: q, requests: requests, clock: clock}
}

// On reports whether the operator turned voice on (ENABLE_VOICE), so that
// a request is refused before its upload is read.
func (s *Service) On() bool { return s.cfg.Enabled }

// Enabled reports whether voice is on and some provider can serve it.
func (s *Service) Enabled() bool {
	return s.cfg.Enabled && len(s.router.TranscriptionChain()) > 0
}

// Providers is the voice chain over the providers that can serve it now
// (configured with keys), in fallback order; empty when off. It is the
// transcription chain (TranscriptionProviders): both chains are
// VOICE_PROVIDERS.
func (s *Service) Providers() []domain.Provider { return s.TranscriptionProviders() }

// TranscriptionProviders is the transcription chain over the providers
// that can serve it now, in fallback order; empty when off.
func (s *Service) TranscriptionProviders() []domain.Provider {
	return s.chainProviders(s.router.TranscriptionChain)
}

// SpeechProviders is the speech chain over the providers that can serve
// it now, in fallback order; empty when off.
func (s *Service) SpeechProviders() []domain.Provider {
	return s.chainProviders(s.router.SpeechChain)
}

func (s *Service) chainProviders(chain func() []routing.Route) []domain.Provider {
	if !s.cfg.Enabled {
		return nil
	}
	var out []domain.Provider
	for _, r := range chain() {
		out = append(out, r.Provider)
	}
	return out
}

// Limits are what a client may send: the largest upload in bytes, the
// longest text in characters, and the voices (empty when voice is off).
func (s *Service) Limits() (maxAudioBytes int64, maxSpeechChars int, voices []string) {
	if s.cfg.Enabled {
		voices = s.cfg.Voices
	}
	return s.cfg.MaxAudioBytes, s.cfg.MaxSpeechChars, voices
}

// Admit lets a transcription's upload be read, or refuses it first, so
// that a user cannot have the gateway receive and hold megabytes for
// nothing: ErrDisabled; the quota's refusal when no unit is left
// (Transcribe still takes the unit atomically); CodeRateLimited when the
// user's request slots (MAX_CONCURRENT_REQUESTS_PER_USER, shared with
// chats and images) are all taken, which also bounds the uploads held in
// memory. A refusal is recorded as Transcribe records one. The slot taken
// here is the transcription's: the caller passes
// TranscribeRequest.Admitted, and calls release once it is over, however
// it ends.
func (s *Service) Admit(ctx context.Context, u domain.User, api, requestID string) (release func(), err error) {
	if !s.cfg.Enabled {
		return nil, ErrDisabled
	}
	start, began := s.clock.Now(), time.Now()
	release, err = s.admit(ctx, u)
	if err != nil {
		s.record(domain.RequestKindTranscription, api, requestID, u.ID, start, time.Since(began), routing.Trace{}, err)
		return nil, err
	}
	return release, nil
}

func (s *Service) admit(ctx context.Context, u domain.User) (func(), error) {
	if err := s.quota.Admit(ctx, u, Cost); err != nil {
		return nil, err
	}
	return s.cfg.Admission.Admit(ctx, u.ID)
}

// Transcribe validates the upload, takes a request slot (given back when
// it ends) and one unit of the user's quota, and has the router transcribe
// it; the unit is refunded when no provider delivered
// (routing.Trace.Accepted). Errors: ErrDisabled (CodeNotFound),
// CodeInvalid, CodePayloadTooLarge, CodeUnsupportedMediaType (not audio),
// CodeRateLimited (every request slot taken), *domain.QuotaExceededError, *domain.ProviderRateLimitedError,
// *domain.ProvidersUnavailableError, *domain.UpstreamRejectedError, and
// ctx errors when the client leaves.
func (s *Service) Transcribe(ctx context.Context, u domain.User, req TranscribeRequest) (Transcript, error) {
	if !s.cfg.Enabled {
		return Transcript{}, ErrDisabled
	}
	start, began := s.clock.Now(), time.Now()
	var trace routing.Trace
	out, err := s.transcribe(ctx, u, req, began, &trace)
	s.record(domain.RequestKindTranscription, req.API, req.RequestID, u.ID, start, time.Since(began), trace, err)
	return out, err
}

func (s *Service) transcribe(ctx context.Context, u domain.User, req TranscribeRequest, began time.Time, trace *routing.Trace) (Transcript, error) {
	treq, err := s.validateUpload(req)
	if err != nil {
		return Transcript{}, err
	}
	var t domain.Transcription
	err = s.charged(ctx, u, req.Admitted, trace, func() (tr routing.Trace, err error) {
		t, tr, err = s.router.Transcribe(ctx, routing.TranscriptionRequest{Transcription: treq, Began: began})
		return tr, err
	})
	if err != nil {
		return Transcript{}, err
	}
	if t.Language == "" {
		t.Language = treq.Language // the provider did not say: what was asked
	}
	return Transcript{Transcription: t, Provider: trace.Provider, Model: trace.Model}, nil
}

// Speak validates the text, takes a request slot (given back when it ends)
// and one unit of the user's quota, and has the router read it aloud; the
// unit is refunded when no provider delivered. Errors: as Transcribe's,
// without the upload's; CodeRateLimited when every request slot is taken.
func (s *Service) Speak(ctx context.Context, u domain.User, req SpeakRequest) (Speech, error) {
	if !s.cfg.Enabled {
		return Speech{}, ErrDisabled
	}
	start, began := s.clock.Now(), time.Now()
	var trace routing.Trace
	out, err := s.speak(ctx, u, req, began, &trace)
	s.record(domain.RequestKindSpeech, req.API, req.RequestID, u.ID, start, time.Since(began), trace, err)
	return out, err
}

func (s *Service) speak(ctx context.Context, u domain.User, req SpeakRequest, began time.Time, trace *routing.Trace) (Speech, error) {
	sreq, err := s.validateSpeech(req)
	if err != nil {
		return Speech{}, err
	}
	var a domain.Audio
	err = s.charged(ctx, u, false, trace, func() (tr routing.Trace, err error) {
		a, tr, err = s.router.Speak(ctx, routing.SpeechRequest{Speech: sreq, Began: began})
		return tr, err
	})
	if err != nil {
		return Speech{}, err
	}
	return Speech{Audio: a, Provider: trace.Provider, Model: trace.Model}, nil
}

// Refused records a request that its handler refused before the service
// could see it whole (an upload over MaxAudioBytes found while reading
// it, a broken form, a field the dialect does not take), as Transcribe and
// Speak record the requests they refuse, and returns err. kind is
// domain.RequestKindTranscription or RequestKindSpeech; began is when the
// handler began reading the request.
func (s *Service) Refused(kind domain.RequestKind, u domain.User, api, requestID string, began time.Time, err error) error {
	latency := time.Since(began)
	s.record(kind, api, requestID, u.ID, s.clock.Now().Add(-latency), latency, routing.Trace{}, err)
	return err
}

// charged takes a request slot (unless admitted: the caller holds one
// from Admit) and the call's unit of quota, runs the
// call, and gives the unit back when no provider delivered, even when the
// client left or run panicked; the slot comes back however the call ends.
func (s *Service) charged(ctx context.Context, u domain.User, admitted bool, trace *routing.Trace, run func() (routing.Trace, error)) error {
	if !admitted {
		release, err := s.cfg.Admission.Admit(ctx, u.ID)
		if err != nil {
			return err
		}
		defer release()
	}
	return s.quota.Charge(ctx, u, Cost, func() (bool, error) {
		tr, err := run()
		*trace = tr
		return tr.Accepted(), err
	})
}

// record hands the request's record to the request log.
func (s *Service) record(kind domain.RequestKind, api, requestID string, userID domain.UserID, start time.Time, latency time.Duration,
	trace routing.Trace, err error) {
	if s.requests == nil {
		return
	}
	rec := domain.RequestRecord{RequestID: requestID, API: domain.APINative, Kind: kind,
		UserID: userID, CreatedAt: start, Latency: latency, Attempts: trace.Attempts,
		Provider: trace.Provider, UpstreamModel: trace.Model, KeyIndex: trace.KeyIndex}
	if api == domain.APIOpenAI {
		rec.API = domain.APIOpenAI
	}
	rec.Outcome, rec.ErrorCode = domain.OutcomeOf(err)
	s.requests.Record(rec)
}
