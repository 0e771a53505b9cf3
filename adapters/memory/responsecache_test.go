package memory_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
	"github.com/genzai/genzai/ports/portstest"
)

func TestResponseCacheContract(t *testing.T) {
	portstest.RunResponseCache(t, func(*testing.T) (ports.ResponseCache, func(time.Duration)) {
		clock := memory.NewClock(time.Now())
		return memory.NewResponseCache(1<<20, clock), clock.Advance
	})
}

// sized is an answer whose entry under key weighs exactly size bytes.
func sized(t *testing.T, key string, size int) domain.CachedAnswer {
	t.Helper()
	a := domain.CachedAnswer{Provider: "groq", UpstreamModel: "m", FinishReason: "stop"}
	pad := size - a.Size() - len(key)
	require.GreaterOrEqual(t, pad, 0, "size %d is too small", size)
	a.Text = strings.Repeat("x", pad)
	require.Equal(t, size, a.Size()+len(key))
	return a
}

// present lists which of keys c holds, in order.
func present(t *testing.T, c *memory.ResponseCache, keys ...string) []string {
	t.Helper()
	var out []string
	for _, k := range keys {
		_, ok, err := c.Get(context.Background(), k)
		require.NoError(t, err)
		if ok {
			out = append(out, k)
		}
	}
	return out
}

func TestResponseCacheEvictsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name string
		// touch is read between storing a, b, c (300 bytes each) and d.
		touch []string
		dSize int
		want  []string
	}{
		{name: "oldest first", dSize: 300, want: []string{"b", "c", "d"}},
		{name: "a read keeps an entry", touch: []string{"a"}, dSize: 300, want: []string{"a", "c", "d"}},
		{name: "reads order the entries", touch: []string{"b", "a"}, dSize: 300, want: []string{"a", "b", "d"}},
		{name: "as many go as the new entry needs", touch: []string{"c"}, dSize: 700, want: []string{"c", "d"}},
		{name: "a miss moves nothing", touch: []string{"nope"}, dSize: 300, want: []string{"b", "c", "d"}},
		{name: "the whole cache for one entry", dSize: 1000, want: []string{"d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := memory.NewResponseCache(1000, memory.NewClock(time.Now()))
			for _, k := range []string{"a", "b", "c"} {
				require.NoError(t, c.Put(ctx, k, sized(t, k, 300), time.Hour))
			}
			present(t, c, tt.touch...)
			require.NoError(t, c.Put(ctx, "d", sized(t, "d", tt.dSize), time.Hour))
			// present reads in this order, which changes nothing after.
			assert.Equal(t, tt.want, present(t, c, "a", "b", "c", "d"))
			entries, bytes := c.Stats()
			assert.Equal(t, len(tt.want), entries)
			assert.LessOrEqual(t, bytes, int64(1000))
		})
	}
}

func TestResponseCacheReplaceKeepsRecency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := memory.NewResponseCache(1000, memory.NewClock(time.Now()))
	for _, k := range []string{"a", "b", "c"} {
		require.NoError(t, c.Put(ctx, k, sized(t, k, 300), time.Hour))
	}
	// Storing a again makes it the most recent, b the least.
	require.NoError(t, c.Put(ctx, "a", sized(t, "a", 350), time.Hour))
	_, bytes := c.Stats()
	assert.Equal(t, int64(950), bytes, "the replaced entry's bytes are given back")
	require.NoError(t, c.Put(ctx, "d", sized(t, "d", 300), time.Hour))
	assert.Equal(t, []string{"a", "c", "d"}, present(t, c, "a", "b", "c", "d"))
}

func TestResponseCacheOversizeEntryIsNotStored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := memory.NewResponseCache(1000, memory.NewClock(time.Now()))
	require.NoError(t, c.Put(ctx, "a", sized(t, "a", 400), time.Hour))
	require.NoError(t, c.Put(ctx, "b", sized(t, "b", 400), time.Hour))

	require.NoError(t, c.Put(ctx, "big", sized(t, "big", 1001), time.Hour), "not an error")
	assert.Equal(t, []string{"a", "b"}, present(t, c, "a", "b", "big"), "nothing evicted for it")

	require.NoError(t, c.Put(ctx, "a", sized(t, "a", 1001), time.Hour))
	assert.Equal(t, []string{"b"}, present(t, c, "a", "b"), "an oversize answer replaces what was under its key by nothing")
	entries, bytes := c.Stats()
	assert.Equal(t, 1, entries)
	assert.Equal(t, int64(400), bytes)
}

func TestResponseCacheWithoutRoomStoresNothing(t *testing.T) {
	t.Parallel()
	for _, maxBytes := range []int64{0, -1} {
		c := memory.NewResponseCache(maxBytes, memory.NewClock(time.Now()))
		require.NoError(t, c.Put(context.Background(), "a", sized(t, "a", 100), time.Hour))
		assert.Empty(t, present(t, c, "a"), "max %d", maxBytes)
	}
}

func TestResponseCacheStats(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := memory.NewClock(time.Now())
	c := memory.NewResponseCache(10_000, clock)
	stats := func() []int64 {
		n, b := c.Stats()
		return []int64{int64(n), b}
	}
	assert.Equal(t, []int64{0, 0}, stats(), "empty")

	require.NoError(t, c.Put(ctx, "short", sized(t, "short", 200), time.Minute))
	require.NoError(t, c.Put(ctx, "long", sized(t, "long", 300), time.Hour))
	assert.Equal(t, []int64{2, 500}, stats())
	require.NoError(t, c.Put(ctx, "long", sized(t, "long", 250), time.Hour))
	assert.Equal(t, []int64{2, 450}, stats(), "after a replace")

	clock.Advance(2 * time.Minute)
	assert.Equal(t, []int64{2, 450}, stats(), "an expired entry counts until it is seen")
	assert.Empty(t, present(t, c, "short"))
	assert.Equal(t, []int64{1, 250}, stats(), "read expired, it is removed")

	// The least recently used end loses its expired entries on a Put.
	require.NoError(t, c.Put(ctx, "soon", sized(t, "soon", 100), time.Minute))
	present(t, c, "long") // soon is the least recently used
	clock.Advance(2 * time.Minute)
	require.NoError(t, c.Put(ctx, "new", sized(t, "new", 100), time.Hour))
	assert.Equal(t, []int64{2, 350}, stats(), "soon was removed by the Put")
	assert.Equal(t, []string{"long", "new"}, present(t, c, "long", "soon", "new"))
}

func TestResponseCacheConcurrentEviction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const maxBytes = 2000
	c := memory.NewResponseCache(maxBytes, memory.NewClock(time.Now()))
	keys := make([]string, 23)
	answers := make([][]domain.CachedAnswer, len(keys)) // by key, of 100 to 500 bytes
	for k := range keys {
		keys[k] = fmt.Sprintf("k%d", k)
		for size := 100; size <= 500; size += 100 {
			answers[k] = append(answers[k], sized(t, keys[k], size))
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := (g*7 + i) % len(keys)
				if i%3 == 0 {
					_, _, err := c.Get(ctx, keys[k])
					assert.NoError(t, err)
					continue
				}
				assert.NoError(t, c.Put(ctx, keys[k], answers[k][i%5], time.Hour))
			}
		})
	}
	wg.Wait()
	entries, bytes := c.Stats()
	assert.Positive(t, entries)
	assert.LessOrEqual(t, bytes, int64(maxBytes))
}

func BenchmarkResponseCacheGet(b *testing.B) {
	ctx := context.Background()
	c := memory.NewResponseCache(64<<20, memory.NewClock(time.Now()))
	// Keys as the chat use case makes them: a hex SHA-256.
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("%064x", i)
	}
	text := strings.Repeat("A typical answer of a few hundred words. ", 50)
	for i, k := range keys {
		a := domain.CachedAnswer{Provider: "groq", UpstreamModel: "llama-3.3-70b-versatile", Text: text, FinishReason: "stop"}
		if i%2 == 1 {
			a.ToolCalls = []domain.ToolCall{{ID: "call_1", Name: "weather", Arguments: `{"city":"Paris"}`}}
		}
		if err := c.Put(ctx, k, a, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name string
		key  string
	}{
		{"hit", keys[0]},
		{"hit with tool calls", keys[1]},
		{"miss", strings.Repeat("f", 64)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := c.Get(ctx, bc.key); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("parallel hits", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, ok, _ := c.Get(ctx, keys[i%len(keys)]); !ok {
					b.Error("miss")
					return
				}
				i++
			}
		})
	})
}
