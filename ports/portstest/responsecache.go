package portstest

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// RunResponseCache checks the ports.ResponseCache contract. newCache
// returns a cache for each subtest, able to hold at least a megabyte, and a
// function that moves its clock forward by at least d: a fake clock's
// Advance, or time.Sleep for a store on real time (the suite then sleeps
// about two seconds).
//
// Every key is unique to one run of one subtest, so a store may share its
// data with other tests and earlier runs.
func RunResponseCache(t *testing.T, newCache func(t *testing.T) (ports.ResponseCache, func(d time.Duration))) {
	ctx := context.Background()
	run := rand.Text()[:10]
	key := func(t *testing.T, n string) string { return "portstest:" + run + ":" + t.Name() + ":" + n }
	get := func(t *testing.T, c ports.ResponseCache, k string) (domain.CachedAnswer, bool) {
		t.Helper()
		a, ok, err := c.Get(ctx, k)
		require.NoError(t, err)
		return a, ok
	}
	put := func(t *testing.T, c ports.ResponseCache, k string, a domain.CachedAnswer, ttl time.Duration) {
		t.Helper()
		require.NoError(t, c.Put(ctx, k, a, ttl))
	}
	hit := func(t *testing.T, c ports.ResponseCache, k string, want domain.CachedAnswer, msgAndArgs ...any) {
		t.Helper()
		got, ok := get(t, c, k)
		if assert.True(t, ok, msgAndArgs...) {
			assertSameAnswer(t, want, got, msgAndArgs...)
		}
	}
	miss := func(t *testing.T, c ports.ResponseCache, k string, msgAndArgs ...any) {
		t.Helper()
		got, ok := get(t, c, k)
		assert.False(t, ok, msgAndArgs...)
		assert.Zero(t, got, msgAndArgs...)
	}

	t.Run("an unknown key is a miss", func(t *testing.T) {
		t.Parallel()
		c, _ := newCache(t)
		miss(t, c, key(t, "unknown"))
	})

	t.Run("put then get returns the answer whole", func(t *testing.T) {
		t.Parallel()
		c, _ := newCache(t)
		for name, a := range map[string]domain.CachedAnswer{
			"text":       cachedAnswer("Paris is the capital of France."),
			"tool calls": cachedToolAnswer("", 2),
			"both":       cachedToolAnswer("Let me look.", 1),
			"unicode":    cachedAnswer("日本語の答え 🙂 \"quoted\" \\ </script>\n"),
			"empty text": {Provider: "openrouter", UpstreamModel: "m", FinishReason: "length", Usage: domain.Usage{PromptTokens: 3}, StoredAt: time.Now()},
		} {
			k := key(t, name)
			put(t, c, k, a, time.Hour)
			hit(t, c, k, a, name)
			hit(t, c, k, a, "%s, read twice", name)
		}
	})

	t.Run("put replaces the answer and its ttl", func(t *testing.T) {
		t.Parallel()
		c, advance := newCache(t)
		k := key(t, "a")
		put(t, c, k, cachedToolAnswer("first", 2), time.Second)
		second := cachedAnswer("second")
		put(t, c, k, second, time.Hour)
		hit(t, c, k, second, "the later answer")
		advance(1500 * time.Millisecond)
		hit(t, c, k, second, "under the later ttl")
	})

	t.Run("an answer expires after its ttl", func(t *testing.T) {
		t.Parallel()
		c, advance := newCache(t)
		short, long := key(t, "short"), key(t, "long")
		a, b := cachedAnswer("short-lived"), cachedAnswer("long-lived")
		put(t, c, short, a, time.Second)
		put(t, c, long, b, time.Hour)
		hit(t, c, short, a, "before its ttl")
		advance(1500 * time.Millisecond)
		miss(t, c, short, "after its ttl")
		miss(t, c, short, "and still after")
		hit(t, c, long, b, "each key has its own ttl")
	})

	t.Run("a ttl that is not positive leaves nothing", func(t *testing.T) {
		t.Parallel()
		c, _ := newCache(t)
		for _, ttl := range []time.Duration{0, -time.Second} {
			k := key(t, fmt.Sprint(ttl))
			put(t, c, k, cachedAnswer("stored"), time.Hour)
			put(t, c, k, cachedAnswer("not stored"), ttl)
			miss(t, c, k, "ttl %s", ttl)
		}
	})

	t.Run("keys are independent", func(t *testing.T) {
		t.Parallel()
		c, _ := newCache(t)
		// Keys that share a prefix, and one that differs in case only.
		names := []string{"a", "ab", "A", "a:b"}
		for _, n := range names {
			put(t, c, key(t, n), cachedAnswer("answer to "+n), time.Hour)
		}
		for _, n := range names {
			hit(t, c, key(t, n), cachedAnswer("answer to "+n), "key %q", n)
		}
		miss(t, c, key(t, "b"))
	})

	t.Run("callers cannot change what is stored", func(t *testing.T) {
		t.Parallel()
		c, _ := newCache(t)
		k := key(t, "a")
		want := cachedToolAnswer("text", 2)
		mine := want
		mine.ToolCalls = append([]domain.ToolCall(nil), want.ToolCalls...)
		put(t, c, k, mine, time.Hour)
		mine.ToolCalls[0].Arguments = `{"changed":"after put"}`

		got, ok := get(t, c, k)
		require.True(t, ok)
		assertSameAnswer(t, want, got, "the caller's slice changed after Put")
		got.ToolCalls[1].Name = "changed after get"
		hit(t, c, k, want, "a Get's slice changed")
	})

	t.Run("concurrent gets and puts", func(t *testing.T) {
		t.Parallel()
		c, _ := newCache(t)
		const keys, versions = 4, 3
		// Each key holds one of its versions at any time, whole.
		version := func(k, v int) domain.CachedAnswer {
			return cachedToolAnswer(fmt.Sprintf("key %d version %d", k, v), v)
		}
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Go(func() {
				for i := range 20 {
					k := (g/2 + i) % keys
					if g%2 == 0 {
						assert.NoError(t, c.Put(ctx, key(t, fmt.Sprint(k)), version(k, (g+i)%versions), time.Hour))
						continue
					}
					got, ok, err := c.Get(ctx, key(t, fmt.Sprint(k)))
					if !assert.NoError(t, err) || !ok {
						continue
					}
					var v int
					_, err = fmt.Sscanf(got.Text, fmt.Sprintf("key %d version %%d", k), &v)
					if assert.NoError(t, err, "text %q", got.Text) {
						assertSameAnswer(t, version(k, v), got)
					}
				}
			})
		}
		wg.Wait()
		for k := range keys {
			_, ok := get(t, c, key(t, fmt.Sprint(k)))
			assert.True(t, ok, "key %d was stored", k)
		}
	})
}

// cachedAnswer is a complete text answer.
func cachedAnswer(text string) domain.CachedAnswer {
	return domain.CachedAnswer{
		Provider:      "groq",
		UpstreamModel: "llama-3.3-70b-versatile",
		Text:          text,
		FinishReason:  "stop",
		Usage:         domain.Usage{PromptTokens: 12, CompletionTokens: len(strings.Fields(text)) + 1},
		// Nanoseconds and a zone other than UTC: stores must keep the
		// instant, to the nanosecond.
		StoredAt: time.Date(2026, 12, 7, 18, 30, 1, 123456789, time.FixedZone("CET", 3600)),
	}
}

// cachedToolAnswer is a complete answer with n tool calls after text.
func cachedToolAnswer(text string, n int) domain.CachedAnswer {
	a := cachedAnswer(text)
	a.Provider, a.UpstreamModel, a.FinishReason = "huggingface", "Qwen/Qwen2.5-72B-Instruct", "tool_calls"
	for i := range n {
		a.ToolCalls = append(a.ToolCalls, domain.ToolCall{
			ID:        fmt.Sprintf("call_%d", i),
			Name:      fmt.Sprintf("tool_%d", i),
			Arguments: fmt.Sprintf(`{"city":"Zürich","n":%d}`, i),
		})
	}
	return a
}

// assertSameAnswer checks that got is want: StoredAt as the same instant
// (a store may keep it in another location), no tool calls as an empty
// list whether nil or not.
func assertSameAnswer(t *testing.T, want, got domain.CachedAnswer, msgAndArgs ...any) {
	t.Helper()
	assert.True(t, want.StoredAt.Equal(got.StoredAt), "stored at: want %s, got %s", want.StoredAt, got.StoredAt)
	if len(want.ToolCalls) == 0 {
		assert.Empty(t, got.ToolCalls, msgAndArgs...)
		want.ToolCalls, got.ToolCalls = nil, nil
	}
	want.StoredAt, got.StoredAt = time.Time{}, time.Time{}
	assert.Equal(t, want, got, msgAndArgs...)
}
