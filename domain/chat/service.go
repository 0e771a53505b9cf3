// Package chat is the chat use case: it validates a prompt, admits it
// against the user's concurrency and quota, searches the web when asked,
// opens an answer through the provider router (domain/routing) and streams
// it out, then records the request once, from what it did.
package chat

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/admission"
	"github.com/genzai/genzai/domain/quota"
	"github.com/genzai/genzai/domain/routing"
	"github.com/genzai/genzai/ports"
)

// Config configures the chat use case; routing has its own (routing.Config).
type Config struct {
	Limits Limits
	// Concurrency, with MaxConcurrentPerUser > 0, bounds each user's
	// requests in flight (both APIs, streamed or not; with the other kinds
	// admitted under the same limiter: see domain/admission): the next one
	// is refused with CodeRateLimited before it touches the quota.
	Concurrency          ports.ConcurrencyLimiter
	MaxConcurrentPerUser int
	// LeaseTTL is how long a request's slot outlives an instance that
	// stopped renewing it (it crashed); running requests renew theirs every
	// LeaseTTL/3. Default one minute.
	LeaseTTL time.Duration
	// Search answers web searches for WebSearch requests; nil turns them off.
	Search WebSearcher
	// Conversations keeps the conversations requests continue
	// (Request.ConversationID); nil refuses them.
	Conversations Conversations
	// Cache keeps complete answers, to answer identical requests without a
	// provider call; nil turns the response cache off.
	Cache ports.ResponseCache
	// CacheTTL is how long a stored answer is served.
	CacheTTL time.Duration
	// CacheScope says whose requests share answers (default
	// CacheScopeUser).
	CacheScope CacheScope
}

// Meta says who answers a request; it is known at the first token.
type Meta struct {
	Tier          domain.Tier
	Provider      domain.Provider
	UpstreamModel string
	// WebSearch is "" when not asked for, else WebSearchUsed,
	// WebSearchNoResults, WebSearchUnavailable or WebSearchDisabled.
	WebSearch string
	// WebSearchReason says why, when WebSearch is WebSearchUnavailable
	// (when known).
	WebSearchReason domain.SearchFailure
	// Sources are the search results given to the model, in citation order.
	Sources []domain.SearchResult
	// ConversationID is the conversation the answer is stored in; empty
	// without one.
	ConversationID domain.ConversationID
	// Cache is how the request met the response cache: CacheHit (the
	// answer was stored: no provider was called), CacheMiss or
	// CacheBypass; "" when the cache is off.
	Cache domain.CacheStatus
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
// one: a sink that is not one never gets tool calls (they are dropped;
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

// Service answers chat requests.
type Service struct {
	cfg      Config
	router   *routing.Router
	quota    *quota.Service
	requests ports.RequestLog
	clock    ports.Clock
	log      *slog.Logger
	gate     *admission.Gate
	// cacheHealth is what the service knows of the response cache's store.
	cacheHealth storeHealth
}

// New builds a Service that opens answers through router.
func New(cfg Config, router *routing.Router, q *quota.Service, requests ports.RequestLog, clock ports.Clock, logger *slog.Logger) *Service {
	s := &Service{cfg: cfg, router: router, quota: q, requests: requests, clock: clock, log: logger}
	if s.cfg.LeaseTTL <= 0 {
		s.cfg.LeaseTTL = time.Minute
	}
	s.gate = admission.New(s.cfg.Concurrency, s.cfg.MaxConcurrentPerUser, s.cfg.LeaseTTL, logger)
	if s.cfg.Limits == (Limits{}) {
		s.cfg.Limits = DefaultLimits
	}
	if !s.cfg.CacheScope.Valid() {
		s.cfg.CacheScope = CacheScopeUser
	}
	if s.cfg.CacheTTL <= 0 {
		s.cfg.CacheTTL = time.Hour
	}
	return s
}

// Tiers describes every tier, in display order, as the router sees them now.
func (s *Service) Tiers() []routing.TierInfo { return s.router.Tiers() }

// served is what a request did, read once at its end into the request log.
type served struct {
	tier       domain.Tier // once known to be valid
	trace      routing.Trace
	firstToken *time.Duration
	usage      domain.Usage
	// cache is how the request met the response cache ("" when it is off);
	// cachedModel is the upstream model of the stored answer of a hit.
	cache       domain.CacheStatus
	cachedModel string
}

// Chat answers a request: it validates it, takes a concurrency slot,
// consumes one unit of the user's quota, searches the web when asked,
// opens an answer through the router and streams it into sink, then
// refunds or records. The quota is refunded only when no provider accepted
// the request (routing.Trace.Accepted) and it was not answered from the
// response cache: a client that leaves after a provider accepted pays, as
// does one whose answer failed after acceptance, and a hit counts as any
// request does. The result of a failed request still says how it met the
// cache (Result.Cache).
// Errors: CodeInvalid, CodeRateLimited (too many of the user's requests in
// flight), CodeUnavailable (the limiter cannot decide),
// *domain.QuotaExceededError, *domain.ProviderRateLimitedError,
// *domain.ProvidersUnavailableError, *domain.UpstreamRejectedError,
// *domain.InterruptedError (after Begin), and ctx errors when the client
// leaves; with a ConversationID also CodeNotFound (not the user's
// conversation), *domain.ConversationBusyError and CodeConflict (too many
// conversations to start one), all refunded.
func (s *Service) Chat(ctx context.Context, u domain.User, req Request, sink Sink) (Result, error) {
	start, began := s.clock.Now(), time.Now()
	// The tier is recorded as sent only once it is known to be valid: an
	// invalid one is client text of any size.
	sv := served{tier: domain.TierFast}
	if s.cfg.Cache != nil {
		// Until the look-up says otherwise: a request that fails before
		// it did not use the cache.
		sv.cache = domain.CacheBypass
	}
	if req.Tier.Valid() {
		sv.tier = req.Tier
	}
	// The request log's fields are read before serve normalizes req.
	api := req.API
	res, err := s.serve(ctx, &u, &req, sink, began, &sv)
	s.record(&req, api, u.ID, start, time.Since(began), &sv, err)
	if err != nil {
		res = Result{Meta: Meta{Cache: sv.cache}}
	}
	return res, err
}

// serve runs the request's steps, in order, noting in sv what it did. req
// is the caller's copy: it is normalized in place. The user, the request
// and what was served go by pointer down the chat layers, so that none of
// their frames, on the stack for the whole of a stream, holds a copy.
func (s *Service) serve(ctx context.Context, u *domain.User, req *Request, sink Sink, began time.Time, sv *served) (Result, error) {
	if err := req.normalize(s.cfg.Limits); err != nil {
		return Result{}, err
	}
	if _, ok := sink.(ToolSink); len(req.Tools) > 0 && !ok {
		return Result{}, domain.Invalid("tools", "not supported by this API")
	}
	sv.tier = req.Tier
	release, err := s.admit(ctx, *u)
	if err != nil {
		return Result{}, err
	}
	// Deferred, so that the slot comes back however the request ends: an
	// answer, an error, the client leaving or a panic.
	defer release()
	grant, err := s.quota.Consume(ctx, *u)
	if err != nil {
		return Result{}, err
	}
	returned := false
	defer func() {
		if !returned && !sv.trace.Accepted() && sv.cache != domain.CacheHit {
			// A panic (a bug under the router) before any provider
			// accepted delivered nothing: the unit goes back as it goes
			// on up, its stack intact.
			_ = s.quota.Refund(context.WithoutCancel(ctx), grant)
		}
	}()
	res, err := s.converse(ctx, u, req, sink, began, sv)
	returned = true
	if err != nil && !sv.trace.Accepted() && sv.cache != domain.CacheHit {
		// No provider did any work and no stored answer was served: give
		// the unit back, even if the client already left (its context is
		// done).
		if rerr := s.quota.Refund(context.WithoutCancel(ctx), grant); rerr != nil {
			s.log.Error("refund quota", "user_id", u.ID, "error", rerr)
		}
	}
	return res, err
}

// record writes the request log's one record of a request, built from what
// it did. It takes pointers and builds the record itself, so that Chat's
// frame, on the stack for the whole request, holds no copy of either.
func (s *Service) record(req *Request, api string, userID domain.UserID, start time.Time, latency time.Duration, sv *served, err error) {
	if s.requests == nil {
		return
	}
	rec := domain.RequestRecord{RequestID: req.RequestID, API: domain.APINative, UserID: userID, Stream: req.Stream,
		CreatedAt: start, Latency: latency}
	if api == domain.APIOpenAI {
		rec.API = api
	}
	rec.Tier, rec.Attempts, rec.FirstToken, rec.Usage = sv.tier, sv.trace.Attempts, sv.firstToken, sv.usage
	rec.Provider, rec.UpstreamModel, rec.KeyIndex = sv.trace.Provider, sv.trace.Model, sv.trace.KeyIndex
	rec.Outcome, rec.ErrorCode = outcome(err, rec.FirstToken != nil)
	rec.Cache = sv.cache
	if sv.cache == domain.CacheHit {
		// No provider was called: the model is the stored answer's, and no
		// tokens were spent (the client still gets the stored usage), so
		// that the log's token totals are what the providers counted.
		rec.UpstreamModel, rec.Usage = sv.cachedModel, domain.Usage{}
	}
	s.requests.Record(rec)
}

// outcome names what happened for the request log.
func outcome(err error, began bool) (domain.Outcome, domain.Code) {
	var qe *domain.QuotaExceededError
	var ie *domain.InterruptedError
	switch {
	case err == nil:
		return domain.OutcomeSuccess, ""
	case errors.Is(err, context.Canceled) || errors.Is(err, errSink):
		return domain.OutcomeCancelled, domain.CodeCancelled
	case errors.Is(err, context.DeadlineExceeded):
		return domain.OutcomeError, domain.CodeTimeout
	case errors.As(err, &qe):
		return domain.OutcomeQuota, domain.CodeQuotaExceeded
	case errors.As(err, &ie) || began:
		return domain.OutcomeInterrupted, domain.CodeStreamInterrupted
	case domain.ErrorCode(err) == domain.CodeInvalid:
		return domain.OutcomeInvalid, domain.CodeInvalid
	default:
		return domain.OutcomeError, domain.ErrorCode(err)
	}
}

// errSink marks failures to deliver to the client: they say nothing about
// the provider and end the request at once.
var errSink = errors.New("deliver to client")
