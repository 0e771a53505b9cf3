package domain

import "time"

// CacheStatus says how a chat request met the response cache.
type CacheStatus string

// The cache statuses; "" when the cache is off.
const (
	// CacheHit: answered from the cache, without a provider call.
	CacheHit CacheStatus = "hit"
	// CacheMiss: not in the cache; answered by a provider, and stored when
	// the answer completed.
	CacheMiss CacheStatus = "miss"
	// CacheBypass: the cache was not used: the request opted out
	// ("cache": false, Cache-Control: no-cache) or the cache store could
	// not answer (Redis down).
	CacheBypass CacheStatus = "bypass"
)

// CachedAnswer is a complete answer kept by the response cache: everything
// a hit replays, as a JSON answer or as a stream.
type CachedAnswer struct {
	// Provider and UpstreamModel answered the request that was stored.
	Provider      Provider
	UpstreamModel string
	// Text is the answer's whole text.
	Text string
	// ToolCalls are the answer's tool calls, whole.
	ToolCalls    []ToolCall
	FinishReason string
	Usage        Usage
	// StoredAt is when the answer was stored (the service clock).
	StoredAt time.Time
}

// Size is the entry's approximate size in bytes, what a byte-bounded
// cache counts.
func (a CachedAnswer) Size() int {
	n := 64 + len(a.Provider) + len(a.UpstreamModel) + len(a.Text) + len(a.FinishReason)
	for _, c := range a.ToolCalls {
		n += 48 + len(c.ID) + len(c.Name) + len(c.Arguments)
	}
	return n
}
