package chat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/routing"
)

// CacheMode says how a request uses the response cache.
type CacheMode uint8

// The cache modes; the zero value uses the cache.
const (
	// CacheUse looks the answer up and stores a fresh complete one.
	CacheUse CacheMode = iota
	// CacheRefresh skips the look-up but stores the fresh complete answer
	// (Cache-Control: no-cache).
	CacheRefresh
	// CacheSkip neither looks up nor stores (native "cache": false,
	// Cache-Control: no-store).
	CacheSkip
)

// CacheScope says whose requests share cached answers.
type CacheScope string

// The cache scopes.
const (
	// CacheScopeUser: a user only ever gets answers to their own requests.
	CacheScopeUser CacheScope = "user"
	// CacheScopeGlobal: identical requests of any users share answers.
	CacheScopeGlobal CacheScope = "global"
)

// Valid reports whether s is a known scope.
func (s CacheScope) Valid() bool { return s == CacheScopeUser || s == CacheScopeGlobal }

// cacheKeyVersion changes whenever the key's encoding or what an entry
// means changes, so that old entries are never read as new ones.
const cacheKeyVersion = 1

// cacheKeyFields is everything that shapes an answer, encoded with
// encoding/json (fields in declaration order, maps sorted): the same
// request always encodes the same bytes. Whether the answer is streamed
// and which API asked are left out: the answer is the same.
type cacheKeyFields struct {
	V                int                    `json:"v"`
	Scope            string                 `json:"scope"`
	Tier             domain.Tier            `json:"tier"`
	Chain            []routing.Route        `json:"chain"`
	Messages         []domain.Message       `json:"messages"`
	Temperature      *float64               `json:"temperature"`
	TopP             *float64               `json:"top_p"`
	MaxTokens        *int                   `json:"max_tokens"`
	Stop             []string               `json:"stop"`
	ResponseFormat   *domain.ResponseFormat `json:"response_format"`
	Tools            []domain.Tool          `json:"tools"`
	ToolChoice       *domain.ToolChoice     `json:"tool_choice"`
	PresencePenalty  *float64               `json:"presence_penalty"`
	FrequencyPenalty *float64               `json:"frequency_penalty"`
	Seed             *int64                 `json:"seed"`
}

// cacheKey is the hex SHA-256 of everything that shapes the answer to c
// (the completion as sent upstream: system prompt, web search context,
// history and prompt, and the sampling options) in the tier, within the
// scope (the user, or everyone), answered by chain (the tier's providers and
// models: a changed model is a miss).
func cacheKey(scope CacheScope, user domain.UserID, tier domain.Tier, chain []routing.Route, c domain.CompletionRequest) (string, error) {
	owner := string(CacheScopeGlobal)
	if scope != CacheScopeGlobal {
		owner = "user:" + string(user)
	}
	raw, err := json.Marshal(cacheKeyFields{
		V: cacheKeyVersion, Scope: owner, Tier: tier, Chain: chain, Messages: c.Messages,
		Temperature: c.Temperature, TopP: c.TopP, MaxTokens: c.MaxTokens, Stop: c.Stop,
		ResponseFormat: c.ResponseFormat, Tools: c.Tools, ToolChoice: c.ToolChoice,
		PresencePenalty: c.PresencePenalty, FrequencyPenalty: c.FrequencyPenalty, Seed: c.Seed,
	})
	if err != nil {
		return "", fmt.Errorf("encode cache key: %w", err)
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:]), nil
}

// cacheUse is how one request meets the cache: its key, whether a fresh
// answer is stored, and the status so far.
type cacheUse struct {
	key    string
	store  bool
	status domain.CacheStatus
	// hit is the stored answer, when there is one.
	hit *domain.CachedAnswer
}

// lookup decides how req meets the cache and, when it may, looks its
// answer up. A store that cannot answer makes the request a bypass,
// served by the providers: the cache never fails a request.
func (s *Service) lookup(ctx context.Context, u domain.User, req *Request, c domain.CompletionRequest) cacheUse {
	if s.cfg.Cache == nil {
		return cacheUse{}
	}
	if req.Cache == CacheSkip {
		return cacheUse{status: domain.CacheBypass}
	}
	key, err := cacheKey(s.cfg.CacheScope, u.ID, req.Tier, s.router.Chain(req.Tier), c)
	if err != nil {
		s.cacheTrouble("response cache key", err)
		return cacheUse{status: domain.CacheBypass}
	}
	if req.Cache == CacheRefresh {
		return cacheUse{key: key, store: true, status: domain.CacheBypass}
	}
	if !s.cacheHealth.ask(s.clock.Now()) {
		return cacheUse{status: domain.CacheBypass}
	}
	a, ok, err := s.cfg.Cache.Get(ctx, key)
	switch {
	case err != nil && ctx.Err() != nil:
		// The client left while the store was asked: that says nothing
		// about the store.
		return cacheUse{status: domain.CacheBypass}
	case err != nil:
		s.cacheHealth.failed(s.clock.Now())
		s.cacheTrouble("response cache unavailable: served by the providers", err)
		return cacheUse{status: domain.CacheBypass}
	case ok:
		s.cacheHealth.answered()
		return cacheUse{key: key, status: domain.CacheHit, hit: &a}
	}
	s.cacheHealth.answered()
	return cacheUse{key: key, store: true, status: domain.CacheMiss}
}

// cachePutTimeout bounds storing an answer: the answer was delivered
// already, and the request's slot is held until the write ends. (The Redis
// client honours it only while it waits for a connection; its own read
// and write timeouts, 250 ms unless REDIS_URL sets them, bound the round
// trip, of Get as of Put.)
const cachePutTimeout = time.Second

// store keeps a complete answer (no error and a finish reason); it returns
// the request's cache status, a bypass when the store could not keep it.
func (s *Service) store(ctx context.Context, cu cacheUse, res Result, got *collected) domain.CacheStatus {
	if !cu.store || got == nil || res.FinishReason == "" {
		return cu.status
	}
	if !s.cacheHealth.ask(s.clock.Now()) {
		return domain.CacheBypass
	}
	a := domain.CachedAnswer{Provider: res.Provider, UpstreamModel: res.UpstreamModel, Text: got.text.String(),
		ToolCalls: got.calls.Calls(), FinishReason: res.FinishReason, Usage: res.Usage, StoredAt: s.clock.Now()}
	// The client may have gone as the answer ended: the answer is whole, so
	// it is still kept.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cachePutTimeout)
	defer cancel()
	if err := s.cfg.Cache.Put(ctx, cu.key, a, s.cfg.CacheTTL); err != nil {
		s.cacheHealth.failed(s.clock.Now())
		s.cacheTrouble("store in response cache", err)
		return domain.CacheBypass
	}
	s.cacheHealth.answered()
	return cu.status
}

// replay delivers a stored answer into sink at once: the meta, the whole
// text as one token, each tool call whole, and the finish reason and
// usage in the result.
func replay(a domain.CachedAnswer, meta Meta, tier domain.Tier, sink Sink) (Result, error) {
	res := Result{Meta: meta, FinishReason: a.FinishReason, Usage: a.Usage}
	res.Tier, res.Provider, res.UpstreamModel, res.Cache = tier, a.Provider, a.UpstreamModel, domain.CacheHit
	if err := sink.Begin(res.Meta); err != nil {
		return Result{}, fmt.Errorf("%w: begin answer: %w", errSink, err)
	}
	if a.Text != "" {
		if err := sink.Token(a.Text); err != nil {
			return Result{}, fmt.Errorf("%w: token: %w", errSink, err)
		}
	}
	if toolSink, ok := sink.(ToolSink); ok {
		for i, c := range a.ToolCalls {
			d := []domain.ToolCallDelta{{Index: i, ID: c.ID, Name: c.Name, Arguments: c.Arguments}}
			if err := toolSink.ToolCalls(d); err != nil {
				return Result{}, fmt.Errorf("%w: tool calls: %w", errSink, err)
			}
		}
	}
	return res, nil
}

// collected is an answer gathered whole as it streams, to be stored.
type collected struct {
	text  strings.Builder
	calls domain.ToolCalls
}

// add gathers one delta.
func (c *collected) add(d domain.ChatDelta) {
	c.text.WriteString(d.Content)
	c.calls.Add(d.ToolCalls)
}

// CacheBackoff is how long the response cache's store is left alone after
// it failed: a store that is down, or hangs until its client's timeout,
// would otherwise add that timeout to every request. Then one request
// probes it while the others keep bypassing it.
const CacheBackoff = 2 * time.Second

// cacheLogEvery bounds the response cache's trouble to one log line per
// interval: a store that is down would otherwise log once per request.
const cacheLogEvery = time.Minute

// storeHealth is what the service knows of the response cache's store:
// whether it failed last, so that requests leave it alone for a while,
// and when its trouble may be logged next. Safe for concurrent use.
type storeHealth struct {
	mu sync.Mutex
	// retryAt is when the store may be asked again, while it fails; zero
	// while it answers.
	retryAt    time.Time
	nextLog    time.Time
	suppressed int
}

// ask reports whether a request may use the store at now: yes while it
// answers; while it fails, only once its backoff is over, for one request
// (the probe), which pushes the next one a backoff away.
func (h *storeHealth) ask(now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.retryAt.IsZero() {
		return true
	}
	if now.Before(h.retryAt) {
		return false
	}
	h.retryAt = now.Add(CacheBackoff)
	return true
}

// failed records that the store failed at now: it is left alone for
// CacheBackoff.
func (h *storeHealth) failed(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.retryAt = now.Add(CacheBackoff)
}

// answered records that the store answered: it is used again.
func (h *storeHealth) answered() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.retryAt = time.Time{}
}

// cacheTrouble logs a failure of the response cache, at most once per
// cacheLogEvery of the service clock, with how many it kept quiet.
func (s *Service) cacheTrouble(msg string, err error) {
	now := s.clock.Now()
	h := &s.cacheHealth
	h.mu.Lock()
	if now.Before(h.nextLog) {
		h.suppressed++
		h.mu.Unlock()
		return
	}
	suppressed := h.suppressed
	h.nextLog, h.suppressed = now.Add(cacheLogEvery), 0
	h.mu.Unlock()
	s.log.Warn(msg, "error", err, "suppressed_since_last", suppressed)
}
