package search_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/search"
)

// fakeSearcher answers every query with one result naming it; it can be
// held to prove coalescing, and made to fail.
type fakeSearcher struct {
	calls   atomic.Int32
	gate    chan struct{}
	fail    error
	queries sync.Map
}

func (f *fakeSearcher) Search(ctx context.Context, q string, max int) ([]domain.SearchResult, error) {
	f.calls.Add(1)
	f.queries.Store(q, max)
	if f.gate != nil {
		<-f.gate
	}
	if f.fail != nil {
		return nil, f.fail
	}
	return []domain.SearchResult{{Title: q, URL: "https://example.com/" + q}}, nil
}

func newService(f *fakeSearcher, clock *memory.Clock, enabled bool) *search.Service {
	return search.New(search.Config{Enabled: enabled, MaxResults: 7, CacheTTL: 10 * time.Minute, CacheSize: 2}, f, clock)
}

func TestValidationAndNormalisation(t *testing.T) {
	t.Parallel()
	f := &fakeSearcher{}
	s := newService(f, memory.NewClock(time.Now()), true)
	for _, q := range []string{"", "   ", string(make([]rune, 257))} {
		_, err := s.Search(context.Background(), q)
		assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "%q", q)
	}
	res, err := s.Search(context.Background(), "  machine \t learning \n")
	require.NoError(t, err)
	assert.Equal(t, "machine learning", res.Query)
	assert.Equal(t, search.SourceScrape, res.Source)
	max, _ := f.queries.Load("machine learning")
	assert.Equal(t, 7, max, "WEB_SEARCH_MAX_RESULTS reaches the searcher")
}

func TestCacheWithTTLAndLRU(t *testing.T) {
	t.Parallel()
	f := &fakeSearcher{}
	clock := memory.NewClock(time.Now())
	s := newService(f, clock, true)
	ctx := context.Background()
	first, err := s.Search(ctx, "Go generics")
	require.NoError(t, err)
	again, err := s.Search(ctx, "go   GENERICS")
	require.NoError(t, err)
	assert.Equal(t, search.SourceCache, again.Source, "same normalised query")
	assert.Equal(t, first.Results, again.Results)
	assert.Equal(t, int32(1), f.calls.Load())

	clock.Advance(10 * time.Minute)
	expired, err := s.Search(ctx, "go generics")
	require.NoError(t, err)
	assert.Equal(t, search.SourceScrape, expired.Source, "the TTL has passed")

	// Size 2: a third query evicts the least recently used.
	_, _ = s.Search(ctx, "b")
	_, _ = s.Search(ctx, "go generics") // touch
	_, _ = s.Search(ctx, "c")           // evicts b
	calls := f.calls.Load()
	res, _ := s.Search(ctx, "go generics")
	assert.Equal(t, search.SourceCache, res.Source)
	res, _ = s.Search(ctx, "b")
	assert.Equal(t, search.SourceScrape, res.Source)
	assert.Equal(t, calls+1, f.calls.Load())
}

func TestConcurrentQueriesShareOneRequest(t *testing.T) {
	t.Parallel()
	f := &fakeSearcher{gate: make(chan struct{})}
	s := newService(f, memory.NewClock(time.Now()), true)
	var wg sync.WaitGroup
	results := make([]search.Result, 20)
	for i := range 20 {
		wg.Go(func() {
			r, err := s.Search(context.Background(), "same query")
			assert.NoError(t, err)
			results[i] = r
		})
	}
	require.Eventually(t, func() bool { return f.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	time.Sleep(20 * time.Millisecond) // let the others queue on the shared request
	close(f.gate)
	wg.Wait()
	assert.Equal(t, int32(1), f.calls.Load())
	for _, r := range results {
		assert.Equal(t, "same query", r.Results[0].Title)
	}
}

func TestFailuresAndDisabled(t *testing.T) {
	t.Parallel()
	f := &fakeSearcher{fail: &domain.Error{Code: domain.CodeUnavailable, Message: "challenge"}}
	s := newService(f, memory.NewClock(time.Now()), true)
	_, err := s.Search(context.Background(), "x")
	assert.Equal(t, domain.CodeSearchUnavailable, domain.ErrorCode(err))
	assert.Equal(t, "Web search temporarily unavailable", domain.ErrorMessage(err))
	_, err = s.Search(context.Background(), "x")
	assert.Equal(t, domain.CodeSearchUnavailable, domain.ErrorCode(err))
	assert.Equal(t, int32(2), f.calls.Load(), "failures are not cached")

	off := newService(&fakeSearcher{}, memory.NewClock(time.Now()), false)
	_, err = off.Search(context.Background(), "x")
	assert.True(t, errors.Is(err, search.ErrDisabled))
	assert.Equal(t, domain.CodeFeatureDisabled, domain.ErrorCode(err))
}

func TestCallerLeavingDoesNotFailOthers(t *testing.T) {
	t.Parallel()
	f := &fakeSearcher{gate: make(chan struct{})}
	s := newService(f, memory.NewClock(time.Now()), true)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := s.Search(ctx, "q"); errc <- err }()
	require.Eventually(t, func() bool { return f.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	assert.ErrorIs(t, <-errc, context.Canceled)
	close(f.gate)
	res, err := s.Search(context.Background(), "q")
	require.NoError(t, err)
	assert.Equal(t, "q", res.Results[0].Title, "the shared request finished for the next caller")
}
