package app

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/metrics"
)

// cacheSize is a fixed in-process response cache size.
type cacheSize struct {
	entries int
	bytes   int64
}

func (c cacheSize) Stats() (int, int64) { return c.entries, c.bytes }

// TestWatchResponseCache checks the hook the composition root calls when
// the chat path uses the in-process response cache: its gauges appear on
// the App's registry, and only then.
func TestWatchResponseCache(t *testing.T) {
	t.Parallel()
	off := &observability{metrics: metrics.New(nil)}
	n, err := testutil.GatherAndCount(off.metrics.Gatherer(), "genzai_cache_entries", "genzai_cache_bytes")
	require.NoError(t, err)
	assert.Zero(t, n, "no gauges without the in-process store")

	o := &observability{metrics: metrics.New(nil)}
	o.watchResponseCache(cacheSize{entries: 3, bytes: 1200})
	n, err = testutil.GatherAndCount(o.metrics.Gatherer(), "genzai_cache_entries", "genzai_cache_bytes")
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Panics(t, func() { o.watchResponseCache(cacheSize{}) }, "one in-process store per App")
}
