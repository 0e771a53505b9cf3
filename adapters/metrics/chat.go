package metrics

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// chatKey is one series of chat requests.
type chatKey struct{ tier, provider, outcome string }

type chatChild struct {
	requests prometheus.Counter
	duration prometheus.Observer
	// quota is set for the quota_exceeded outcome only.
	quota prometheus.Counter
}

func (m *Metrics) newChatChild(k chatKey) chatChild {
	c := chatChild{
		requests: m.chatRequests.WithLabelValues(k.tier, k.provider, k.outcome),
		duration: m.chatDuration.WithLabelValues(k.tier, k.outcome),
	}
	if k.outcome == string(domain.OutcomeQuota) {
		c.quota = m.quotaRejections.WithLabelValues(k.tier)
	}
	return c
}

// answerKey is a tier and the provider that answered it.
type answerKey struct{ tier, provider string }

type answerChild struct {
	firstToken prometheus.Observer
	fallbacks  prometheus.Counter
}

// attemptKey is a failed attempt's provider and reason.
type attemptKey struct{ provider, reason string }

func (m *Metrics) newAnswerChild(k answerKey) answerChild {
	return answerChild{
		firstToken: m.chatFirstToken.WithLabelValues(k.tier, k.provider),
		fallbacks:  m.chatFallbacks.WithLabelValues(k.tier, k.provider),
	}
}

// cacheStatuses are the response cache's statuses, in the order of
// Metrics.cacheBy.
var cacheStatuses = [...]domain.CacheStatus{domain.CacheHit, domain.CacheMiss, domain.CacheBypass}

// RequestLog decorates a request log: every record it receives is counted
// (chat requests, quota rejections, fallbacks, failed attempts, time to
// first token, how it met the response cache) before it is passed on
// unchanged.
func (m *Metrics) RequestLog(next ports.RequestLog) ports.RequestLog {
	return &requestLog{next: next, m: m}
}

type requestLog struct {
	next ports.RequestLog
	m    *Metrics
}

var _ ports.RequestLog = (*requestLog)(nil)

// Record implements ports.RequestLog.
func (l *requestLog) Record(r domain.RequestRecord) {
	l.observe(&r)
	l.next.Record(r)
}

func (l *requestLog) observe(r *domain.RequestRecord) {
	if r.Kind != "" && r.Kind != domain.RequestKindChat {
		l.observeOther(r)
		return
	}
	tier, provider := tierLabel(r.Tier), providerLabel(r.Provider)
	c := l.m.chatChildren.get(chatKey{tier: tier, provider: provider, outcome: bounded(knownOutcomes, r.Outcome)})
	c.requests.Inc()
	c.duration.Observe(r.Latency.Seconds())
	if c.quota != nil {
		c.quota.Inc()
	}
	if r.ErrorCode == domain.CodeRateLimited {
		// The one rate_limited outcome of a chat: the user's concurrency bound.
		l.m.concurrencyRejections.Inc()
	}
	if r.Provider != "" && r.FirstToken != nil {
		// A provider answered (it may accept and then fail): the attempts
		// recorded before it are the ones that failed.
		a := l.m.answerChildren.get(answerKey{tier: tier, provider: provider})
		if r.FirstToken != nil {
			a.firstToken.Observe(r.FirstToken.Seconds())
		}
		if len(r.Attempts) > 0 {
			a.fallbacks.Inc()
		}
	}
	for _, at := range r.Attempts {
		l.m.attemptChildren.get(attemptKey{provider: providerLabel(at.Provider), reason: bounded(knownReasons, at.Reason)}).Inc()
	}
	// A record with no cache status (the cache off) or an unknown one is
	// not counted: the family has the three statuses only.
	for i, st := range cacheStatuses {
		if r.Cache == st {
			l.m.cacheBy[i].Inc()
		}
	}
}

// observeOther counts a request that is not a chat: image requests by
// provider and outcome, voice requests by kind, provider and outcome, and
// the attempts that failed on the way, which count against the providers
// as a chat's do.
func (l *requestLog) observeOther(r *domain.RequestRecord) {
	switch r.Kind {
	case domain.RequestKindImage:
		l.m.imageRequests.WithLabelValues(providerLabel(r.Provider), bounded(knownOutcomes, r.Outcome)).Inc()
	case domain.RequestKindTranscription, domain.RequestKindSpeech:
		l.m.voiceRequests.WithLabelValues(string(r.Kind), providerLabel(r.Provider), bounded(knownOutcomes, r.Outcome)).Inc()
	}
	if r.ErrorCode == domain.CodeRateLimited {
		// Every kind takes its slot under the same bound (domain/admission).
		l.m.concurrencyRejections.Inc()
	}
	for _, at := range r.Attempts {
		l.m.attemptChildren.get(attemptKey{provider: providerLabel(at.Provider), reason: bounded(knownReasons, at.Reason)}).Inc()
	}
}

// Outcomes of an upstream request: the request log's words.
const (
	providerSuccess   = string(domain.OutcomeSuccess)
	providerError     = string(domain.OutcomeError)
	providerCancelled = string(domain.OutcomeCancelled)
)

// Provider decorates a chat provider: each upstream request is timed from
// StreamChat to the end of its stream, its first token is timed, and its
// failure is counted by class and reason. A request the caller gave up on
// (its context cancelled, the stream closed early) is "cancelled", not an
// error; a deadline or a timeout cause set by the router is a timeout error.
func (m *Metrics) Provider(next ports.ChatProvider) ports.ChatProvider {
	return &provider{
		ChatProvider: next,
		call:         m.Operation(next.Name(), domain.RequestKindChat),
		firstToken:   m.providerFirstToken.WithLabelValues(providerLabel(next.Name())),
	}
}

type provider struct {
	ports.ChatProvider
	call       *Operation
	firstToken prometheus.Observer
}

var _ ports.ChatProvider = (*provider)(nil)

// StreamChat implements ports.ChatProvider.
func (p *provider) StreamChat(ctx context.Context, key int, req domain.CompletionRequest) (ports.ChatStream, error) {
	start := time.Now()
	s, err := p.ChatProvider.StreamChat(ctx, key, req)
	if err != nil {
		p.call.Observe(ctx, start, err)
		return nil, err
	}
	return &stream{ChatStream: s, p: p, ctx: ctx, start: start}, nil
}

// Operation times and counts one provider's upstream calls of one kind
// (chat, image, transcription, speech) in provider_request_duration_seconds
// and provider_errors_total. The decorators of the provider ports use it;
// a decorator of a new port is its call wrapped in Observe.
type Operation struct {
	m                           *Metrics
	provider, operation         string
	success, failure, cancelled prometheus.Observer
}

// Operation returns the series of provider's calls of kind.
func (m *Metrics) Operation(provider domain.Provider, kind domain.RequestKind) *Operation {
	name, op := providerLabel(provider), bounded(knownKinds, kind)
	return &Operation{
		m: m, provider: name, operation: op,
		success:   m.providerDuration.WithLabelValues(name, op, providerSuccess),
		failure:   m.providerDuration.WithLabelValues(name, op, providerError),
		cancelled: m.providerDuration.WithLabelValues(name, op, providerCancelled),
	}
}

// Observe records a call begun at start that ended with err (nil: it
// succeeded). A call its caller gave up on is "cancelled", not an error of
// the provider.
func (o *Operation) Observe(ctx context.Context, start time.Time, err error) {
	elapsed := time.Since(start).Seconds()
	if err == nil {
		o.success.Observe(elapsed)
		return
	}
	class, reason, cancelled := classify(ctx, err)
	if cancelled {
		o.cancelled.Observe(elapsed)
		return
	}
	o.failure.Observe(elapsed)
	o.m.providerErrors.WithLabelValues(o.provider, o.operation, class, reason).Inc()
}

// ImageGenerator decorates a provider's image generation as Provider does
// its chat: each upstream call timed, its failure counted by class and
// reason, under the operation "image".
func (m *Metrics) ImageGenerator(next ports.ImageGenerator) ports.ImageGenerator {
	return &imageGenerator{ImageGenerator: next, call: m.Operation(next.Name(), domain.RequestKindImage)}
}

type imageGenerator struct {
	ports.ImageGenerator
	call *Operation
}

var _ ports.ImageGenerator = (*imageGenerator)(nil)

// GenerateImages implements ports.ImageGenerator.
func (g *imageGenerator) GenerateImages(ctx context.Context, key int, req domain.ImageRequest) ([]domain.Image, error) {
	start := time.Now()
	images, err := g.ImageGenerator.GenerateImages(ctx, key, req)
	g.call.Observe(ctx, start, err)
	return images, err
}

// Transcriber decorates a provider's speech to text as ImageGenerator does
// its images, under the operation "transcription".
func (m *Metrics) Transcriber(next ports.Transcriber) ports.Transcriber {
	return &transcriber{Transcriber: next, call: m.Operation(next.Name(), domain.RequestKindTranscription)}
}

type transcriber struct {
	ports.Transcriber
	call *Operation
}

var _ ports.Transcriber = (*transcriber)(nil)

// Transcribe implements ports.Transcriber.
func (t *transcriber) Transcribe(ctx context.Context, key int, req domain.TranscriptionRequest) (domain.Transcription, error) {
	start := time.Now()
	out, err := t.Transcriber.Transcribe(ctx, key, req)
	t.call.Observe(ctx, start, err)
	return out, err
}

// SpeechSynthesizer decorates a provider's text to speech as
// ImageGenerator does its images, under the operation "speech".
func (m *Metrics) SpeechSynthesizer(next ports.SpeechSynthesizer) ports.SpeechSynthesizer {
	return &speechSynthesizer{SpeechSynthesizer: next, call: m.Operation(next.Name(), domain.RequestKindSpeech)}
}

type speechSynthesizer struct {
	ports.SpeechSynthesizer
	call *Operation
}

var _ ports.SpeechSynthesizer = (*speechSynthesizer)(nil)

// Speak implements ports.SpeechSynthesizer.
func (s *speechSynthesizer) Speak(ctx context.Context, key int, req domain.SpeechRequest) (domain.Audio, error) {
	start := time.Now()
	out, err := s.SpeechSynthesizer.Speak(ctx, key, req)
	s.call.Observe(ctx, start, err)
	return out, err
}

// classify names a provider failure. The caller leaving is no failure of
// the provider; a timeout imposed by the caller (a deadline, or a cause
// such as the router's first-token timeout) is.
func classify(ctx context.Context, err error) (class, reason string, cancelled bool) {
	if ctx.Err() != nil {
		if cause := context.Cause(ctx); errors.Is(cause, context.Canceled) {
			return "", "", true
		}
		return string(domain.FailureRetryable), string(domain.ReasonTimeout), false
	}
	var pe *domain.ProviderError
	if errors.As(err, &pe) {
		return bounded(knownClasses, pe.Class), bounded(knownReasons, pe.Reason), false
	}
	return other, other, false
}

// stream times one upstream stream. Recv and Close are called by one
// goroutine at a time, as ports.ChatStream requires of its callers.
type stream struct {
	ports.ChatStream
	p     *provider
	ctx   context.Context
	start time.Time
	first bool
	done  bool
}

// Recv implements ports.ChatStream.
func (s *stream) Recv() (domain.ChatDelta, error) {
	d, err := s.ChatStream.Recv()
	switch {
	case s.done:
	case err == nil:
		if !s.first && d.Opens() {
			s.first = true
			s.p.firstToken.Observe(time.Since(s.start).Seconds())
		}
	case errors.Is(err, io.EOF):
		s.done = true
		s.p.call.Observe(s.ctx, s.start, nil)
	default:
		s.done = true
		s.p.call.Observe(s.ctx, s.start, err)
	}
	return d, err
}

// Close implements ports.ChatStream: a stream closed before its end was
// given up by the caller.
func (s *stream) Close() error {
	if !s.done {
		s.done = true
		s.p.call.cancelled.Observe(time.Since(s.start).Seconds())
	}
	return s.ChatStream.Close()
}
