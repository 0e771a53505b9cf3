// Package search is the web search use case: validated, normalised queries
// answered from an in-process LRU cache with a TTL, identical concurrent
// queries sharing one upstream request.
package search

import (
	"container/list"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/genzai/genzai/domain"
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
	clock    ports.Clock

	mu       sync.Mutex
	lru      *list.List // of *entry, most recent first
	entries  map[string]*list.Element
	inflight map[string]*call
}

type entry struct {
	key     string
	results []domain.SearchResult
	expires time.Time
}

type call struct {
	done    chan struct{}
	results []domain.SearchResult
	err     error
}

// New builds a Service.
func New(cfg Config, searcher ports.Searcher, clock ports.Clock) *Service {
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 1000
	}
	return &Service{cfg: cfg, searcher: searcher, clock: clock, lru: list.New(), entries: map[string]*list.Element{}, inflight: map[string]*call{}}
}

// Enabled reports whether web search is on.
func (s *Service) Enabled() bool { return s.cfg.Enabled }

// Results answers a query with its results only (for chat).
func (s *Service) Results(ctx context.Context, query string) ([]domain.SearchResult, error) {
	r, err := s.Search(ctx, query)
	return r.Results, err
}

// Normalize trims a query and collapses its whitespace; the cache key is
// its lower-case form.
func Normalize(q string) string { return strings.Join(strings.Fields(q), " ") }

// Search answers a query. Errors: CodeFeatureDisabled, CodeInvalid,
// CodeSearchUnavailable.
func (s *Service) Search(ctx context.Context, raw string) (Result, error) {
	if !s.cfg.Enabled {
		return Result{}, ErrDisabled
	}
	q := Normalize(raw)
	if n := utf8.RuneCountInString(q); n == 0 || n > MaxQueryChars {
		return Result{}, domain.Errorf(domain.CodeInvalid, "q: must be 1 to %d characters", MaxQueryChars)
	}
	key := strings.ToLower(q)
	if res, ok := s.cached(key); ok {
		return Result{Query: q, Source: SourceCache, Results: res}, nil
	}
	res, err := s.fetch(ctx, key, q)
	if err != nil {
		return Result{}, err
	}
	return Result{Query: q, Source: SourceScrape, Results: res}, nil
}

func (s *Service) cached(key string) ([]domain.SearchResult, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.entries[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*entry)
	if !s.clock.Now().Before(e.expires) {
		s.lru.Remove(el)
		delete(s.entries, key)
		return nil, false
	}
	s.lru.MoveToFront(el)
	return e.results, true
}

// fetch asks the searcher, sharing one request among identical concurrent
// queries. The shared request is not tied to the first caller's context:
// one caller leaving must not fail the others.
func (s *Service) fetch(ctx context.Context, key, q string) ([]domain.SearchResult, error) {
	s.mu.Lock()
	c, ok := s.inflight[key]
	if !ok {
		c = &call{done: make(chan struct{})}
		s.inflight[key] = c
		go s.run(context.WithoutCancel(ctx), key, q, c)
	}
	s.mu.Unlock()
	select {
	case <-c.done:
		return c.results, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *Service) run(ctx context.Context, key, q string, c *call) {
	res, err := s.searcher.Search(ctx, q, s.cfg.MaxResults)
	if err != nil {
		err = &domain.Error{Code: domain.CodeSearchUnavailable, Message: "Web search temporarily unavailable", Err: fmt.Errorf("search: %w", err)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c.results, c.err = res, err
	delete(s.inflight, key)
	if err == nil && s.cfg.CacheTTL > 0 {
		s.store(key, res)
	}
	close(c.done)
}

func (s *Service) store(key string, res []domain.SearchResult) {
	e := &entry{key: key, results: res, expires: s.clock.Now().Add(s.cfg.CacheTTL)}
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
