// Package chat is the chat use case: it routes a prompt along a tier's
// chain of providers, rotating keys, riding out rate limits and falling back
// until one provider starts answering, then streams that answer out.
package chat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/quota"
	"github.com/genzai/genzai/ports"
)

// Route is one provider of a tier's chain and the model it runs there.
type Route struct {
	Provider domain.Provider
	Model    string
}

// ProviderConfig is one configured provider.
type ProviderConfig struct {
	Client ports.ChatProvider
	// RPMPerKey is the per-key request budget per minute (0 = unlimited).
	RPMPerKey int
}

// Config is the routing configuration.
type Config struct {
	Providers []ProviderConfig
	// Chains lists each tier's fallback order. Routes to providers that are
	// not configured are skipped.
	Chains map[domain.Tier][]Route
	// FirstTokenTimeout bounds each attempt until its first token.
	FirstTokenTimeout time.Duration
	// RequestTimeout bounds a non-streaming request, the search for a
	// provider of a streaming one, and any silence inside a stream.
	RequestTimeout time.Duration
	// DefaultCooldown applies to a 429 that does not say how long to wait.
	DefaultCooldown time.Duration
	// BreakerFailures consecutive failures open a provider's breaker for
	// BreakerCoolOff.
	BreakerFailures int
	BreakerCoolOff  time.Duration
	Limits          Limits
	// ProviderDown, when set, reports providers the health monitor sees
	// down; the router skips them like an open breaker, so that routing
	// agrees with the status report.
	ProviderDown func(domain.Provider) bool
	// SharedBudget and SharedCooldowns, when set, share each key's
	// per-minute budget and its 429 cooldowns between instances, so that
	// together they never send a key more than its budget and all respect
	// its cooldown. Without them each instance keeps its own.
	SharedBudget    ports.RateLimiter
	SharedCooldowns ports.CooldownStore
	// Concurrency, with MaxConcurrentPerUser > 0, bounds each user's chat
	// requests in flight (both APIs, streamed or not): the next one is
	// refused with CodeRateLimited before it touches the quota.
	Concurrency          ports.ConcurrencyLimiter
	MaxConcurrentPerUser int
	// LeaseTTL is how long a request's slot outlives an instance that
	// stopped renewing it (it crashed); running requests renew theirs every
	// LeaseTTL/3. Default one minute.
	LeaseTTL time.Duration
	// Search answers web searches for WebSearch requests; nil turns them off.
	Search WebSearcher
	// KeyName names a key in the shared stores; it must not reveal the key
	// (the app uses a hash prefix, so that deployments sharing a Redis and
	// a key also share its budget). Nil: "<provider>:<index>".
	KeyName func(provider domain.Provider, key int) string
}

// Meta says who answers a request; it is known at the first token.
type Meta struct {
	Tier          domain.Tier
	Provider      domain.Provider
	UpstreamModel string
	// WebSearch is "" when not asked for, else WebSearchUsed,
	// WebSearchNoResults, WebSearchUnavailable or WebSearchDisabled.
	WebSearch string
	// Sources are the search results given to the model, in citation order.
	Sources []domain.SearchResult
}

// Outcomes of the web search of a chat request.
const (
	WebSearchUsed        = "used"
	WebSearchNoResults   = "no_results"
	WebSearchUnavailable = "unavailable"
	WebSearchDisabled    = "disabled"
)

// WebSearcher searches the web for chat requests.
type WebSearcher interface {
	// Enabled reports whether web search is on.
	Enabled() bool
	// Results answers a query (from a cache when it can).
	Results(ctx context.Context, query string) ([]domain.SearchResult, error)
}

// Sink receives an answer as it is produced.
type Sink interface {
	// Begin is called once, when the first token is ready and before it;
	// after Begin no fallback happens.
	Begin(Meta) error
	// Token delivers the next piece of text.
	Token(text string) error
}

// ToolSink is a Sink that also takes tool calls. Requests with Tools need
// one: a sink that is not one never gets tool calls (the router drops them;
// models only call tools they were offered).
type ToolSink interface {
	Sink
	// ToolCalls delivers the next pieces of the answer's tool calls.
	ToolCalls([]domain.ToolCallDelta) error
}

// Result is a finished answer.
type Result struct {
	Meta
	FinishReason string
	Usage        domain.Usage
}

type provider struct {
	client  ports.ChatProvider
	keys    *keyPool
	breaker *breaker
}

// Service routes chat requests.
type Service struct {
	cfg       Config
	providers map[domain.Provider]*provider
	quota     *quota.Service
	requests  ports.RequestLog
	clock     ports.Clock
	log       *slog.Logger
}

// New builds a Service.
func New(cfg Config, q *quota.Service, requests ports.RequestLog, clock ports.Clock, logger *slog.Logger) *Service {
	s := &Service{cfg: cfg, providers: map[domain.Provider]*provider{}, quota: q, requests: requests, clock: clock, log: logger}
	if s.cfg.DefaultCooldown <= 0 {
		s.cfg.DefaultCooldown = 30 * time.Second
	}
	if s.cfg.LeaseTTL <= 0 {
		s.cfg.LeaseTTL = time.Minute
	}
	if s.cfg.Limits == (Limits{}) {
		s.cfg.Limits = DefaultLimits
	}
	for _, p := range cfg.Providers {
		if p.Client.KeyCount() == 0 {
			continue
		}
		s.providers[p.Client.Name()] = &provider{
			client:  p.Client,
			keys:    newKeyPool(p.Client.KeyCount(), p.RPMPerKey),
			breaker: newBreaker(cfg.BreakerFailures, cfg.BreakerCoolOff),
		}
	}
	return s
}

// chain returns the configured routes of a tier.
func (s *Service) chain(t domain.Tier) []Route {
	var out []Route
	for _, r := range s.cfg.Chains[t] {
		if _, ok := s.providers[r.Provider]; ok {
			out = append(out, r)
		}
	}
	return out
}

// Chat answers a request: it validates it, consumes one unit of the user's
// quota, routes it and streams the answer into sink. The quota is refunded
// only when no provider accepted the request (see accepted): a client that
// leaves after a provider accepted pays, as does one whose answer failed
// after acceptance. Errors: CodeInvalid, CodeRateLimited (too many of the
// user's requests in flight), CodeUnavailable (the limiter cannot decide),
// *domain.QuotaExceededError, *domain.ProviderRateLimitedError,
// *domain.ProvidersUnavailableError, *domain.UpstreamRejectedError,
// *domain.InterruptedError (after Begin), and ctx errors when the client leaves.
func (s *Service) Chat(ctx context.Context, u domain.User, req Request, sink Sink) (res Result, err error) {
	start := s.clock.Now()
	began := time.Now()
	// The tier is recorded as sent only once it is known to be valid: an
	// invalid one is client text of any size.
	rec := domain.RequestRecord{RequestID: req.RequestID, API: domain.APINative, UserID: u.ID, Tier: domain.TierFast, Stream: req.Stream, CreatedAt: start}
	if req.Tier.Valid() {
		rec.Tier = req.Tier
	}
	if req.API == domain.APIOpenAI {
		rec.API = req.API
	}
	defer func() {
		rec.Latency = time.Since(began)
		rec.Outcome, rec.ErrorCode = outcome(err, rec.FirstToken != nil)
		if s.requests != nil {
			s.requests.Record(rec)
		}
	}()

	if err := req.normalize(s.cfg.Limits); err != nil {
		return Result{}, err
	}
	if _, ok := sink.(ToolSink); len(req.Tools) > 0 && !ok {
		return Result{}, invalid("tools: not supported by this API")
	}
	rec.Tier = req.Tier
	release, err := s.admit(ctx, u)
	if err != nil {
		return Result{}, err
	}
	// Deferred, so that the slot comes back however the request ends: an
	// answer, an error, the client leaving or a panic.
	defer release()
	grant, err := s.quota.Consume(ctx, u)
	if err != nil {
		return Result{}, err
	}
	res, err = s.route(ctx, &req, sink, &rec, began)
	if err != nil && !accepted(rec) {
		// No provider did any work: give the unit back, even if the client
		// already left (its context is done).
		if rerr := s.quota.Refund(context.WithoutCancel(ctx), grant); rerr != nil {
			s.log.Error("refund quota", "user_id", u.ID, "error", rerr)
		}
	}
	return res, err
}

// admit takes one of the user's concurrent request slots, renewed in the
// background while the request runs; release gives it back. Errors:
// CodeRateLimited (with RetryAfter) when every slot is taken, and the
// limiter's own (CodeUnavailable) when it cannot decide.
func (s *Service) admit(ctx context.Context, u domain.User) (release func(), err error) {
	limit := s.cfg.MaxConcurrentPerUser
	if s.cfg.Concurrency == nil || limit <= 0 {
		return func() {}, nil
	}
	key := "user:" + string(u.ID)
	ttl := s.cfg.LeaseTTL
	lease, ok, err := s.cfg.Concurrency.Acquire(ctx, key, limit, ttl)
	if err != nil {
		return nil, fmt.Errorf("acquire request slot: %w", err)
	}
	if !ok {
		return nil, &domain.Error{Code: domain.CodeRateLimited, RetryAfter: time.Second,
			Message: fmt.Sprintf("Too many concurrent requests (at most %d at a time)", limit)}
	}
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(ttl / 3)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				// A long stream keeps its slot; the renewal must not fail
				// with the request's context (the client may be gone while
				// the request winds down).
				held, err := s.cfg.Concurrency.Renew(context.WithoutCancel(ctx), key, lease, ttl)
				if err != nil || !held {
					s.log.Warn("renew request slot", "user_id", u.ID, "held", held, "error", err)
				}
			}
		}
	}()
	return func() {
		close(stop)
		<-stopped
		if err := s.cfg.Concurrency.Release(context.WithoutCancel(ctx), key, lease); err != nil {
			// The lease expires by itself after LeaseTTL.
			s.log.Warn("release request slot", "user_id", u.ID, "error", err)
		}
	}, nil
}

// accepted reports whether a provider accepted the request: one attempt's
// stream opened (the upstream answered 200 with an event stream), so the
// provider went to work and bills for it, whether or not a token reached
// the user. It is the one definition behind the refund rule, read from the
// request log's record so that the log and the quota always agree: a
// record with a provider was charged, one without was refunded. Refusals
// before a stream opened (connection failures, 4xx/5xx/429 statuses, an
// open breaker, no usable key) leave it false.
func accepted(rec domain.RequestRecord) bool { return rec.Provider != "" }

// outcome names what happened for the request log.
func outcome(err error, began bool) (string, string) {
	var qe *domain.QuotaExceededError
	var ie *domain.InterruptedError
	switch {
	case err == nil:
		return domain.OutcomeSuccess, ""
	case errors.Is(err, context.Canceled) || errors.Is(err, errSink):
		return domain.OutcomeCancelled, "cancelled"
	case errors.Is(err, context.DeadlineExceeded):
		return domain.OutcomeError, "timeout"
	case errors.As(err, &qe):
		return domain.OutcomeQuota, string(domain.CodeQuotaExceeded)
	case errors.As(err, &ie) || began:
		return domain.OutcomeInterrupted, "stream_interrupted"
	case domain.ErrorCode(err) == domain.CodeInvalid:
		return domain.OutcomeInvalid, string(domain.CodeInvalid)
	default:
		return domain.OutcomeError, ErrorCode(err)
	}
}

// ErrorCode is the public machine code of a chat error.
func ErrorCode(err error) string { return string(domain.ErrorCode(err)) }

var (
	errFirstTokenTimeout = errors.New("no first token in time")
	errStalled           = errors.New("upstream stalled")
	// errSink marks failures to deliver to the client: they say nothing
	// about the provider and end the request at once.
	errSink = errors.New("deliver to client")
)

// route walks the tier's chain until a provider starts answering.
func (s *Service) route(ctx context.Context, req *Request, sink Sink, rec *domain.RequestRecord, began time.Time) (Result, error) {
	parent := ctx
	routingDeadline := began.Add(s.cfg.RequestTimeout)
	var cancel context.CancelFunc
	if !req.Stream {
		// One deadline for the whole answer, the same one that bounds the search.
		ctx, cancel = context.WithDeadline(ctx, routingDeadline)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	defer cancel()

	search := s.webSearch(ctx, req)
	creq := domain.CompletionRequest{Messages: req.messages(search.Sources), Temperature: req.Temperature, TopP: req.TopP,
		MaxTokens: req.MaxTokens, Stop: req.Stop, Tools: req.Tools, ToolChoice: req.ToolChoice,
		PresencePenalty: req.PresencePenalty, FrequencyPenalty: req.FrequencyPenalty, Seed: req.Seed, ResponseFormat: req.ResponseFormat}
	var attempts []domain.Attempt
	onlyRateLimited := true
	for _, route := range s.chain(req.Tier) {
		p := s.providers[route.Provider]
		if s.cfg.ProviderDown != nil && s.cfg.ProviderDown(route.Provider) {
			attempts = append(attempts, domain.Attempt{Provider: route.Provider, Reason: "provider_down"})
			onlyRateLimited = false
			continue
		}
		if !p.breaker.allow(s.clock.Now()) {
			attempts = append(attempts, domain.Attempt{Provider: route.Provider, Reason: "circuit_open"})
			onlyRateLimited = false
			continue
		}
		creq.Model = route.Model
		s.syncCooldowns(ctx, route.Provider, p)
		for {
			if err := ctx.Err(); err != nil {
				p.breaker.release()
				rec.Attempts = attempts
				return Result{}, err
			}
			key, ok := p.keys.acquire(s.clock.Now())
			if !ok {
				p.breaker.release()
				if _, any := p.keys.nextAvailable(s.clock.Now()); any {
					attempts = append(attempts, domain.Attempt{Provider: route.Provider, Reason: "rate_limited"})
				} else {
					attempts = append(attempts, domain.Attempt{Provider: route.Provider, Reason: "no_usable_key"})
					onlyRateLimited = false
				}
				break
			}
			if !s.takeShared(ctx, route.Provider, p, key) {
				continue // the key's budget is spent across instances: the next key
			}
			ttft := min(s.cfg.FirstTokenTimeout, time.Until(routingDeadline))
			if ttft <= 0 {
				p.breaker.release()
				// Out of time before this provider could be asked (a slow
				// database or search ate the budget): say so, rather than
				// answer "unavailable" with no attempt at all.
				attempts = append(attempts, domain.Attempt{Provider: route.Provider, Reason: "timeout"})
				rec.Attempts = attempts
				return Result{}, s.failure(attempts, false)
			}
			res, err := s.attempt(ctx, p, key, route, creq, search, ttft, sink, rec, began)
			if err == nil {
				rec.Attempts = attempts
				return res, nil
			}
			if errors.Is(err, errSink) {
				// The client cannot be written to: not the provider's fault.
				p.breaker.release()
				rec.Attempts = attempts
				return Result{}, err
			}
			if ctx.Err() != nil {
				p.breaker.release()
				if parent.Err() == nil && rec.FirstToken == nil {
					// A non-streaming request ran out of time before any
					// answer: the same failure a stream gets.
					k := key
					attempts = append(attempts, domain.Attempt{Provider: route.Provider, Reason: "timeout", KeyIndex: &k})
					rec.Attempts = attempts
					return Result{}, s.failure(attempts, false)
				}
				rec.Attempts = attempts
				return Result{}, ctx.Err() // the client left, or a whole answer ran out of time
			}
			if rec.FirstToken != nil {
				// Too late to fall back: the user has part of the answer.
				rec.Attempts = attempts
				return Result{}, err
			}
			var pe *domain.ProviderError
			if !errors.As(err, &pe) {
				pe = &domain.ProviderError{Provider: route.Provider, Class: domain.FailureRetryable, Reason: "server_error", Err: err}
			}
			k := key
			attempts = append(attempts, domain.Attempt{Provider: route.Provider, Reason: pe.Reason, KeyIndex: &k})
			now := s.clock.Now()
			switch pe.Class {
			case domain.FailureRateLimited:
				wait := pe.RetryAfter
				if wait <= 0 {
					wait = s.cfg.DefaultCooldown
				}
				p.keys.cooldown(key, now.Add(wait))
				s.shareCooldown(ctx, route.Provider, key, now.Add(wait))
				s.log.Warn("provider key rate limited", "provider", route.Provider, "key_index", key, "cooldown", wait.String())
				continue // the next key of the same provider
			case domain.FailureKeyRejected:
				p.keys.reject(key)
				s.log.Error("provider key rejected: taken out of rotation", "provider", route.Provider, "key_index", key, "status", pe.Status)
				onlyRateLimited = false
				continue
			case domain.FailureCaller:
				p.breaker.success() // the provider answered; the request was the problem
				rec.Attempts = attempts
				return Result{}, &domain.UpstreamRejectedError{Provider: route.Provider, Status: pe.Status, Message: pe.Message}
			default:
				p.breaker.failure(now)
				onlyRateLimited = false
				s.log.Warn("provider attempt failed", "provider", route.Provider, "key_index", key, "reason", pe.Reason, "error", pe.Error())
			}
			break // the next provider
		}
	}
	rec.Attempts = attempts
	return Result{}, s.failure(attempts, onlyRateLimited)
}

// failure builds the error for a request no provider answered.
func (s *Service) failure(attempts []domain.Attempt, onlyRateLimited bool) error {
	if onlyRateLimited && len(attempts) > 0 {
		now := s.clock.Now()
		var next time.Time
		for _, a := range attempts {
			if at, ok := s.providers[a.Provider].keys.nextAvailable(now); ok && (next.IsZero() || at.Before(next)) {
				next = at
			}
		}
		wait := time.Duration(math.Ceil(next.Sub(now).Seconds())) * time.Second
		return &domain.ProviderRateLimitedError{RetryAfter: max(wait, time.Second), Attempts: attempts}
	}
	return &domain.ProvidersUnavailableError{Attempts: attempts}
}

// attempt asks one provider with one key. Until the first token it is bound
// by ttft; after it, by RequestTimeout of silence between tokens.
func (s *Service) attempt(ctx context.Context, p *provider, key int, route Route, creq domain.CompletionRequest,
	search Meta, ttft time.Duration, sink Sink, rec *domain.RequestRecord, began time.Time) (Result, error) {
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	timer := time.AfterFunc(ttft, func() { cancel(errFirstTokenTimeout) })
	defer timer.Stop()

	classify := func(err error) error {
		cause := context.Cause(actx)
		if ctx.Err() == nil && (errors.Is(cause, errFirstTokenTimeout) || errors.Is(cause, errStalled)) {
			return &domain.ProviderError{Provider: route.Provider, Class: domain.FailureRetryable, Reason: "timeout", Err: cause}
		}
		return err
	}

	stream, err := p.client.StreamChat(actx, key, creq)
	if err != nil {
		return Result{}, classify(err)
	}
	defer stream.Close()
	// The provider accepted the request (see accepted): from here on the
	// record names it, and the user pays whatever happens next. A later
	// attempt that is accepted in turn replaces it.
	k := key
	rec.Provider, rec.UpstreamModel, rec.KeyIndex = route.Provider, route.Model, &k

	res := Result{Meta: Meta{Tier: rec.Tier, Provider: route.Provider, UpstreamModel: route.Model, WebSearch: search.WebSearch, Sources: search.Sources}}
	toolSink, _ := sink.(ToolSink) // nil: tool calls are dropped
	begun := false
	var stall *time.Timer
	defer func() {
		if stall != nil {
			stall.Stop()
		}
	}()
	begin := func() error {
		if begun {
			return nil
		}
		begun = true
		timer.Stop()
		p.breaker.success()
		d := time.Since(began)
		if err := sink.Begin(res.Meta); err != nil {
			return fmt.Errorf("%w: begin answer: %w", errSink, err)
		}
		rec.FirstToken = &d
		return nil
	}
	for {
		d, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			if err := begin(); err != nil { // an empty answer is still an answer
				return Result{}, err
			}
			return res, nil
		}
		if err != nil {
			err = classify(err)
			if begun {
				return Result{}, &domain.InterruptedError{Err: err}
			}
			return Result{}, err
		}
		if d.Content == "" && len(d.ToolCalls) == 0 && d.FinishReason == "" && d.Usage == nil {
			continue
		}
		if d.Content != "" || len(d.ToolCalls) > 0 || d.FinishReason != "" {
			if err := begin(); err != nil {
				return Result{}, err
			}
		}
		if begun {
			// Silence between tokens is bounded too.
			if stall == nil {
				stall = time.AfterFunc(s.cfg.RequestTimeout, func() { cancel(errStalled) })
			} else {
				stall.Reset(s.cfg.RequestTimeout)
			}
		}
		if d.Content != "" {
			if err := sink.Token(d.Content); err != nil {
				return Result{}, fmt.Errorf("%w: token: %w", errSink, err)
			}
		}
		if toolSink != nil && len(d.ToolCalls) > 0 {
			if err := toolSink.ToolCalls(d.ToolCalls); err != nil {
				return Result{}, fmt.Errorf("%w: tool calls: %w", errSink, err)
			}
		}
		if d.FinishReason != "" {
			res.FinishReason = d.FinishReason
		}
		if d.Usage != nil {
			res.Usage = *d.Usage
			rec.Usage = *d.Usage
		}
	}
}

// keyName names a provider key in shared stores (never the key itself).
func (s *Service) keyName(provider domain.Provider, key int) string {
	if s.cfg.KeyName != nil {
		return "provider-key:" + s.cfg.KeyName(provider, key)
	}
	return "provider-key:" + string(provider) + ":" + strconv.Itoa(key)
}

// syncCooldowns applies cooldowns other instances set on the provider's keys.
func (s *Service) syncCooldowns(ctx context.Context, name domain.Provider, p *provider) {
	if s.cfg.SharedCooldowns == nil {
		return
	}
	names := make([]string, p.client.KeyCount())
	for i := range names {
		names[i] = s.keyName(name, i)
	}
	until, err := s.cfg.SharedCooldowns.Until(ctx, names)
	if err != nil {
		// The shared store is down: this instance's own cooldowns still apply.
		s.log.Debug("read shared key cooldowns", "provider", name, "error", err)
		return
	}
	for i, u := range until {
		if !u.IsZero() {
			p.keys.cooldown(i, u)
		}
	}
}

// shareCooldown tells other instances about a key's cooldown.
func (s *Service) shareCooldown(ctx context.Context, name domain.Provider, key int, until time.Time) {
	if s.cfg.SharedCooldowns == nil {
		return
	}
	if err := s.cfg.SharedCooldowns.Extend(context.WithoutCancel(ctx), s.keyName(name, key), until); err != nil {
		s.log.Debug("share key cooldown", "provider", name, "key_index", key, "error", err)
	}
}

// takeShared counts a request on the key's budget shared by all instances;
// when it is spent the key cools down here until the budget frees a slot.
// An unreachable store admits the request: the local budget still holds.
func (s *Service) takeShared(ctx context.Context, name domain.Provider, p *provider, key int) bool {
	if s.cfg.SharedBudget == nil || p.keys.rpm <= 0 {
		return true
	}
	d, err := s.cfg.SharedBudget.Allow(ctx, s.keyName(name, key), domain.Rate{Limit: p.keys.rpm, Period: rpmWindow})
	if err != nil {
		s.log.Debug("shared key budget", "provider", name, "key_index", key, "error", err)
		return true
	}
	if !d.Allowed {
		p.keys.cooldown(key, s.clock.Now().Add(d.RetryAfter))
		return false
	}
	return true
}

// maxSearchQuery bounds the query made from a prompt.
const maxSearchQuery = 256

// maxChatSources is how many results a chat answer gets as context.
const maxChatSources = 5

// webSearch runs the search of a WebSearch request. A failed search never
// fails the chat: the answer comes without sources and Meta says why.
func (s *Service) webSearch(ctx context.Context, req *Request) Meta {
	if !req.WebSearch {
		return Meta{}
	}
	if s.cfg.Search == nil || !s.cfg.Search.Enabled() {
		return Meta{WebSearch: WebSearchDisabled}
	}
	q := strings.Join(strings.Fields(req.Prompt), " ")
	if r := []rune(q); len(r) > maxSearchQuery {
		q = string(r[:maxSearchQuery])
	}
	results, err := s.cfg.Search.Results(ctx, q)
	switch {
	case err != nil:
		s.log.Warn("web search for chat failed", "error", err)
		return Meta{WebSearch: WebSearchUnavailable}
	case len(results) == 0:
		return Meta{WebSearch: WebSearchNoResults}
	}
	return Meta{WebSearch: WebSearchUsed, Sources: results[:min(len(results), maxChatSources)]}
}
