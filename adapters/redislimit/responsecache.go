package redislimit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.ResponseCache = (*ResponseCache)(nil)

// ResponseCacheKeyPrefix starts the Redis key of every cached answer: the
// answer under key "k" is the string "genzai:cache:v1:k". The version
// changes with the key's derivation or the value's layout, so that
// instances of different versions never read each other's entries.
const ResponseCacheKeyPrefix = "genzai:cache:v1:"

// cachedAnswerVersion is the layout of the stored JSON; a value of another
// layout reads as a miss.
const cachedAnswerVersion = 1

// ResponseCache is a ports.ResponseCache over Redis strings, safe for
// concurrent use, shared by every instance. Each answer is one key holding
// its JSON, expired by Redis (to the millisecond).
type ResponseCache struct {
	client redis.UniversalClient
}

// NewResponseCache returns a ResponseCache storing its answers through
// client.
func NewResponseCache(client redis.UniversalClient) *ResponseCache {
	return &ResponseCache{client: client}
}

// cachedAnswerJSON is the stored form of a domain.CachedAnswer, kept apart
// from the domain type so that the domain can change without changing
// what instances of another version read.
type cachedAnswerJSON struct {
	Version          int            `json:"v"`
	Provider         string         `json:"provider"`
	UpstreamModel    string         `json:"model"`
	Text             string         `json:"text"`
	ToolCalls        []toolCallJSON `json:"tool_calls,omitempty"`
	FinishReason     string         `json:"finish_reason"`
	PromptTokens     int            `json:"prompt_tokens"`
	CompletionTokens int            `json:"completion_tokens"`
	StoredAt         time.Time      `json:"stored_at"`
}

// toolCallJSON is the stored form of a domain.ToolCall.
type toolCallJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// Get implements ports.ResponseCache in one round trip (two when the value
// is unreadable). Its errors are *domain.Error with CodeUnavailable: Redis
// could not be reached or did not answer in time. A value that does not
// decode, or has another layout, is a miss, and is deleted.
func (s *ResponseCache) Get(ctx context.Context, key string) (domain.CachedAnswer, bool, error) {
	rkey := ResponseCacheKeyPrefix + key
	raw, err := s.client.Get(ctx, rkey).Bytes()
	if errors.Is(err, redis.Nil) {
		return domain.CachedAnswer{}, false, nil
	}
	if err != nil {
		return domain.CachedAnswer{}, false, cacheUnavailable(fmt.Errorf("redis get cached answer: %w", err))
	}
	a, ok := decodeCachedAnswer(raw)
	if !ok {
		// Best effort: a failed delete leaves the value to its expiry, and
		// it reads as a miss meanwhile. A valid answer another instance
		// stored since the GET may go too: a later miss, nothing worse.
		_ = s.client.Del(ctx, rkey).Err()
		return domain.CachedAnswer{}, false, nil
	}
	return a, true, nil
}

// Put implements ports.ResponseCache in one round trip: SET with the ttl,
// rounded up to the millisecond. A ttl that is not positive stores nothing
// and deletes what was under key. Its errors are *domain.Error with
// CodeUnavailable.
func (s *ResponseCache) Put(ctx context.Context, key string, a domain.CachedAnswer, ttl time.Duration) error {
	rkey := ResponseCacheKeyPrefix + key
	if ttl <= 0 {
		if err := s.client.Del(ctx, rkey).Err(); err != nil {
			return cacheUnavailable(fmt.Errorf("redis delete cached answer: %w", err))
		}
		return nil
	}
	raw, err := json.Marshal(encodeCachedAnswer(a))
	if err != nil {
		return fmt.Errorf("encode cached answer: %w", err)
	}
	// go-redis would truncate a ttl under a millisecond to one and log it;
	// rounding up keeps every ttl whole and the log quiet.
	if r := ttl % time.Millisecond; r != 0 {
		ttl += time.Millisecond - r
	}
	if err := s.client.Set(ctx, rkey, raw, ttl).Err(); err != nil {
		return cacheUnavailable(fmt.Errorf("redis set cached answer: %w", err))
	}
	return nil
}

// encodeCachedAnswer maps a to its stored form.
func encodeCachedAnswer(a domain.CachedAnswer) cachedAnswerJSON {
	w := cachedAnswerJSON{
		Version:          cachedAnswerVersion,
		Provider:         string(a.Provider),
		UpstreamModel:    a.UpstreamModel,
		Text:             a.Text,
		FinishReason:     a.FinishReason,
		PromptTokens:     a.Usage.PromptTokens,
		CompletionTokens: a.Usage.CompletionTokens,
		StoredAt:         a.StoredAt.UTC(),
	}
	if len(a.ToolCalls) > 0 {
		w.ToolCalls = make([]toolCallJSON, len(a.ToolCalls))
		for i, c := range a.ToolCalls {
			w.ToolCalls[i] = toolCallJSON{ID: c.ID, Name: c.Name, Arguments: c.Arguments}
		}
	}
	return w
}

// decodeCachedAnswer reads a stored answer; false when raw is not one of
// this layout.
func decodeCachedAnswer(raw []byte) (domain.CachedAnswer, bool) {
	var w cachedAnswerJSON
	if err := json.Unmarshal(raw, &w); err != nil || w.Version != cachedAnswerVersion {
		return domain.CachedAnswer{}, false
	}
	a := domain.CachedAnswer{
		Provider:      domain.Provider(w.Provider),
		UpstreamModel: w.UpstreamModel,
		Text:          w.Text,
		FinishReason:  w.FinishReason,
		Usage:         domain.Usage{PromptTokens: w.PromptTokens, CompletionTokens: w.CompletionTokens},
		StoredAt:      w.StoredAt,
	}
	if len(w.ToolCalls) > 0 {
		a.ToolCalls = make([]domain.ToolCall, len(w.ToolCalls))
		for i, c := range w.ToolCalls {
			a.ToolCalls[i] = domain.ToolCall{ID: c.ID, Name: c.Name, Arguments: c.Arguments}
		}
	}
	return a, true
}

// cacheUnavailable wraps a Redis failure for the port. go-redis errors
// name the address at most, never the password.
func cacheUnavailable(err error) error {
	return &domain.Error{Code: domain.CodeUnavailable, Message: "Response cache unavailable", Err: err}
}
