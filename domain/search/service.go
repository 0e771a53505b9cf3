// Package search is the web search use case: validated, normalised queries
// answered from an in-process LRU cache with a TTL (a shorter one for
// failures and empty answers), identical concurrent queries sharing one
// upstream request that stops when nobody waits for it any more. A user's
// search counts against the daily quota; a chat's search is part of the chat.
package search

import (
	"container/list"
	"context"
	"errors"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/quota"
	"github.com/genzai/genzai/ports"
)

// MaxQueryChars bounds a query after trimming.
const MaxQueryChars = 256

// Sources of an answer.
const (
	SourceScrape = "scrape"
	SourceCache  = "cache"
)

// Config tunes the service.
type Config struct {
	Enabled    bool
	MaxResults int
	CacheTTL   time.Duration
	// NegativeTTL keeps failures and empty answers (0: not kept), so that a
	// storm of one failing query does not reach the engine again and again.
	NegativeTTL time.Duration
	// CacheSize bounds the number of cached queries.
	CacheSize int
}

// Result is an answered search.
type Result struct {
	Query   string
	Source  string
	Results []domain.SearchResult
}

// ErrDisabled is returned when web search is turned off.
var ErrDisabled = &domain.Error{Code: domain.CodeFeatureDisabled, Message: "Web search is disabled"}

// Service answers searches.
type Service struct {
	cfg      Config
	searcher ports.Searcher
	quota    *quota.Service
	clock    ports.Clock

	mu       sync.Mutex
	lru      *list.List // of *entry, most recent first
	entries  map[string]*list.Element
	inflight map[string]*call
}

type entry struct {
	key     string
	results []domain.SearchResult
	// err is a failure kept for NegativeTTL.
	err     error
	expires time.Time
}

// call is one upstream request shared by every caller of the same query.
type call struct {
	done    chan struct{}
	results []domain.SearchResult
	err     error
	// waiters counts the callers still waiting; the last one to leave
	// cancels the request.
	waiters int
	cancel  context.CancelFunc
}

// New builds a Service; q counts users' searches against their daily quota
// (nil: searches are free).
func New(cfg Config, searcher ports.Searcher, q *quota.Service, clock ports.Clock) *Service {
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 1000
	}
	return &Service{cfg: cfg, searcher: searcher, quota: q, clock: clock, lru: list.New(), entries: map[string]*list.Element{}, inflight: map[string]*call{}}
}

// Enabled reports whether web search is on.
func (s *Service) Enabled() bool { return s.cfg.Enabled }

// Results answers a query with its results only, for chat: the search is
// part of the chat request, which already counted against the quota.
func (s *Service) Results(ctx context.Context, query string) ([]domain.SearchResult, error) {
	r, err := s.answer(ctx, query)
	return r.Results, err
}

// Normalize trims a query and collapses its whitespace; the cache key is
// its lower-case form.
func Normalize(q string) string { return strings.Join(strings.Fields(q), " ") }

// Search answers a user's query and counts it as one request of the
// user's daily quota, answered from the cache or not (the cache saves the
// engine, not the user's budget). The unit is refunded when the engine
// fails (CodeSearchUnavailable, a kept failure included); a client that
// leaves while its search runs still pays, as with chat. Errors:
// CodeFeatureDisabled, CodeInvalid (neither counts), *domain.QuotaExceededError,
// *domain.SearchUnavailableError (CodeSearchUnavailable, with the reason),
// and ctx errors.
func (s *Service) Search(ctx context.Context, u domain.User, raw string) (Result, error) {
	if !s.cfg.Enabled {
		return Result{}, ErrDisabled
	}
	if _, err := query(raw); err != nil {
		return Result{}, err
	}
	var grant domain.QuotaGrant
	if s.quota != nil {
		g, err := s.quota.Consume(ctx, u)
		if err != nil {
			return Result{}, err
		}
		grant = g
	}
	res, err := s.answer(ctx, raw)
	if err != nil && s.quota != nil && domain.ErrorCode(err) == domain.CodeSearchUnavailable {
		// Nothing came back because of the engine: give the unit back, even
		// if the client already left.
		if rerr := s.quota.Refund(context.WithoutCancel(ctx), grant); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	return res, err
}

// query validates and normalises a raw query.
func query(raw string) (string, error) {
	q := Normalize(raw)
	if n := utf8.RuneCountInString(q); n == 0 || n > MaxQueryChars {
		return "", domain.Errorf(domain.CodeInvalid, "q: must be 1 to %d characters", MaxQueryChars)
	}
	return q, nil
}

// answer answers a query from the cache or the engine. Errors:
// CodeFeatureDisabled, CodeInvalid, *domain.SearchUnavailableError, ctx
// errors.
func (s *Service) answer(ctx context.Context, raw string) (Result, error) {
	if !s.cfg.Enabled {
		return Result{}, ErrDisabled
	}
	q, err := query(raw)
	if err != nil {
		return Result{}, err
	}
	key := strings.ToLower(q)
	res, hit, err := s.fetch(ctx, key, q)
	if err != nil {
		return Result{}, err
	}
	source := SourceScrape
	if hit {
		source = SourceCache
	}
	return Result{Query: q, Source: source, Results: res}, nil
}

// cachedLocked is key's live entry; s.mu is held.
func (s *Service) cachedLocked(key string) (entry, bool) {
	el, ok := s.entries[key]
	if !ok {
		return entry{}, false
	}
	e := el.Value.(*entry)
	if !s.clock.Now().Before(e.expires) {
		s.lru.Remove(el)
		delete(s.entries, key)
		return entry{}, false
	}
	s.lru.MoveToFront(el)
	return *e, true
}

// fetch answers from the cache (hit), else asks the searcher, sharing one
// request among identical concurrent queries. The cache and the requests
// in flight are looked at under one lock: a request that ends stores its
// answer as it leaves the flight, so no caller can miss both and ask the
// engine again. The shared request is not tied to any one caller's context
// (one caller leaving must not fail the others), but it stops once every
// caller has left: nobody would read its answer.
func (s *Service) fetch(ctx context.Context, key, q string) (res []domain.SearchResult, hit bool, err error) {
	s.mu.Lock()
	if e, ok := s.cachedLocked(key); ok {
		s.mu.Unlock()
		return e.results, true, e.err
	}
	c, ok := s.inflight[key]
	if !ok {
		sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		c = &call{done: make(chan struct{}), cancel: cancel}
		s.inflight[key] = c
		go s.run(sctx, key, q, c)
	}
	c.waiters++
	s.mu.Unlock()
	select {
	case <-c.done:
		return c.results, false, c.err
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		if c.waiters--; c.waiters == 0 {
			c.cancel()
			if s.inflight[key] == c {
				// The next caller starts afresh rather than wait on a
				// cancelled request.
				delete(s.inflight, key)
			}
		}
		return nil, false, ctx.Err()
	}
}

func (s *Service) run(ctx context.Context, key, q string, c *call) {
	defer c.cancel()
	res, err := s.searcher.Search(ctx, q, s.cfg.MaxResults)
	// A search stopped because everyone left says nothing about the engine.
	abandoned := err != nil && ctx.Err() != nil
	if err != nil {
		err = unavailable(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c.results, c.err = res, err
	if s.inflight[key] == c {
		delete(s.inflight, key)
	}
	switch {
	case abandoned:
	case err != nil || len(res) == 0:
		if s.cfg.NegativeTTL > 0 {
			s.store(key, res, err, s.cfg.NegativeTTL)
		}
	case s.cfg.CacheTTL > 0:
		s.store(key, res, nil, s.cfg.CacheTTL)
	}
	close(c.done)
}

// unavailable is a failed search as its callers get it: a
// *domain.SearchUnavailableError with its reason. A searcher's own is
// passed on as it is, so that each cause is said once; any other failure
// gets the reason it shows (a deadline: timeout), else unreachable.
func unavailable(err error) error {
	var su *domain.SearchUnavailableError
	if errors.As(err, &su) {
		return err
	}
	reason := domain.SearchFailureOf(err)
	if reason == "" {
		reason = domain.SearchUnreachable
	}
	return &domain.SearchUnavailableError{Reason: reason, Err: err}
}

func (s *Service) store(key string, res []domain.SearchResult, err error, ttl time.Duration) {
	e := &entry{key: key, results: res, err: err, expires: s.clock.Now().Add(ttl)}
	if el, ok := s.entries[key]; ok {
		el.Value = e
		s.lru.MoveToFront(el)
		return
	}
	s.entries[key] = s.lru.PushFront(e)
	for s.lru.Len() > s.cfg.CacheSize {
		last := s.lru.Back()
		s.lru.Remove(last)
		delete(s.entries, last.Value.(*entry).key)
	}
}
