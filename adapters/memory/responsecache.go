package memory

import (
	"container/list"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.ResponseCache = (*ResponseCache)(nil)

// ResponseCache is an in-process ports.ResponseCache bounded by bytes, safe
// for concurrent use: the response cache of a single instance.
//
// An entry weighs its answer's Size plus the length of its key. When a Put
// would pass the bound, the least recently used entries (by Get or Put) go
// first. Expired entries are misses; they are removed when read, and from
// the least recently used end when an answer is stored, and count in Stats
// until then.
type ResponseCache struct {
	maxBytes int64
	clock    ports.Clock

	mu      sync.Mutex
	lru     *list.List // of *cacheEntry, most recently used first
	entries map[string]*list.Element
	bytes   int64
}

// cacheEntry is one stored answer. Its answer is never changed once
// stored, so that Get can copy it out under the lock and clone its tool
// calls after releasing it.
type cacheEntry struct {
	key     string
	answer  domain.CachedAnswer
	expires time.Time
	size    int64
}

// NewResponseCache returns an empty ResponseCache holding at most maxBytes
// (nothing when maxBytes is not positive) and timing entries by clock.
func NewResponseCache(maxBytes int64, clock ports.Clock) *ResponseCache {
	return &ResponseCache{maxBytes: maxBytes, clock: clock, lru: list.New(), entries: map[string]*list.Element{}}
}

// Get implements ports.ResponseCache. It never fails.
func (c *ResponseCache) Get(_ context.Context, key string) (domain.CachedAnswer, bool, error) {
	// Read the clock before taking the lock: a clock may lock too, and the
	// lock is the one every chat request of the instance goes through.
	now := c.clock.Now()
	c.mu.Lock()
	el, ok := c.entries[key]
	if !ok {
		c.mu.Unlock()
		return domain.CachedAnswer{}, false, nil
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.remove(el)
		c.mu.Unlock()
		return domain.CachedAnswer{}, false, nil
	}
	c.lru.MoveToFront(el)
	a := e.answer
	c.mu.Unlock()
	a.ToolCalls = cloneToolCalls(a.ToolCalls)
	return a, true, nil
}

// Put implements ports.ResponseCache. It never fails. An answer heavier
// than the whole cache, or a ttl that is not positive, is not stored, and
// leaves nothing under key: what was there is replaced by nothing.
func (c *ResponseCache) Put(_ context.Context, key string, a domain.CachedAnswer, ttl time.Duration) error {
	now := c.clock.Now()
	size := int64(a.Size()) + int64(len(key))
	e := &cacheEntry{key: key, answer: a, expires: now.Add(ttl), size: size}
	// Copied outside the lock: the caller keeps its slice.
	e.answer.ToolCalls = cloneToolCalls(a.ToolCalls)
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[key]; ok {
		c.remove(old)
	}
	if size > c.maxBytes || ttl <= 0 {
		return nil
	}
	c.dropExpired(now)
	for c.bytes+size > c.maxBytes {
		c.remove(c.lru.Back())
	}
	c.entries[key] = c.lru.PushFront(e)
	c.bytes += size
	return nil
}

// Stats returns how many entries the cache holds and how many bytes they
// weigh, expired entries not yet removed included.
func (c *ResponseCache) Stats() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.bytes
}

// dropExpired removes expired entries from the least recently used end,
// up to the first live one: cheap, and it keeps answers nobody reads from
// holding bytes until the bound pushes them out. The caller holds mu.
func (c *ResponseCache) dropExpired(now time.Time) {
	for el := c.lru.Back(); el != nil && !now.Before(el.Value.(*cacheEntry).expires); el = c.lru.Back() {
		c.remove(el)
	}
}

// remove drops el from the cache. The caller holds mu.
func (c *ResponseCache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*cacheEntry)
	delete(c.entries, e.key)
	c.bytes -= e.size
}

// cloneToolCalls copies calls so that callers and the cache never share a
// backing array; an empty list is nil.
func cloneToolCalls(calls []domain.ToolCall) []domain.ToolCall {
	if len(calls) == 0 {
		return nil
	}
	return slices.Clone(calls)
}
