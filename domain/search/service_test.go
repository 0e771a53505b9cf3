package search_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/quota"
	"github.com/genzai/genzai/domain/search"
)

// fakeSearcher answers every query with one result naming it; it can be
// held to prove coalescing, and made to fail.
type fakeSearcher struct {
	calls   atomic.Int32
	gate    chan struct{}
	fail    error
	empty   bool
	queries sync.Map
	// stopped counts searches whose ctx ended while they were held.
	stopped atomic.Int32
}

func (f *fakeSearcher) Search(ctx context.Context, q string, max int) ([]domain.SearchResult, error) {
	f.calls.Add(1)
	f.queries.Store(q, max)
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			f.stopped.Add(1)
			return nil, ctx.Err()
		}
	}
	if f.fail != nil {
		return nil, f.fail
	}
	if f.empty {
		return []domain.SearchResult{}, nil
	}
	return []domain.SearchResult{{Title: q, URL: "https://example.com/" + q}}, nil
}

func newService(f *fakeSearcher, clock *memory.Clock, enabled bool) *search.Service {
	return search.New(search.Config{Enabled: enabled, MaxResults: 7, CacheTTL: 10 * time.Minute, CacheSize: 2}, f, nil, clock)
}

// find is a user's search on a service without quota.
func find(ctx context.Context, s *search.Service, q string) (search.Result, error) {
	return s.Search(ctx, domain.User{ID: "u-1"}, q)
}

func TestValidationAndNormalisation(t *testing.T) {
	t.Parallel()
	f := &fakeSearcher{}
	s := newService(f, memory.NewClock(time.Now()), true)
	for _, q := range []string{"", "   ", string(make([]rune, 257))} {
		_, err := find(context.Background(), s, q)
		assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "%q", q)
	}
	res, err := find(context.Background(), s, "  machine \t learning \n")
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
	first, err := find(ctx, s, "Go generics")
	require.NoError(t, err)
	again, err := find(ctx, s, "go   GENERICS")
	require.NoError(t, err)
	assert.Equal(t, search.SourceCache, again.Source, "same normalised query")
	assert.Equal(t, first.Results, again.Results)
	assert.Equal(t, int32(1), f.calls.Load())

	clock.Advance(10 * time.Minute)
	expired, err := find(ctx, s, "go generics")
	require.NoError(t, err)
	assert.Equal(t, search.SourceScrape, expired.Source, "the TTL has passed")

	// Size 2: a third query evicts the least recently used.
	_, _ = find(ctx, s, "b")
	_, _ = find(ctx, s, "go generics") // touch
	_, _ = find(ctx, s, "c")           // evicts b
	calls := f.calls.Load()
	res, _ := find(ctx, s, "go generics")
	assert.Equal(t, search.SourceCache, res.Source)
	res, _ = find(ctx, s, "b")
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
			r, err := find(context.Background(), s, "same query")
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

// TestFailureReasons: a failed search says why, for the client to act on:
// a searcher's own reason is passed on as it is (each cause said once in
// the log line), a deadline is a timeout, anything else unreachable.
func TestFailureReasons(t *testing.T) {
	t.Parallel()
	blocked := &domain.SearchUnavailableError{Reason: domain.SearchBlocked, Err: errors.New("html endpoint: status 202: bot challenge page")}
	tests := []struct {
		name string
		fail error
		want domain.SearchFailure
	}{
		{"the searcher's reason", blocked, domain.SearchBlocked},
		{"a deadline", fmt.Errorf("request: %w", context.DeadlineExceeded), domain.SearchTimeout},
		{"no reason given", &domain.Error{Code: domain.CodeUnavailable, Message: "down"}, domain.SearchUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newService(&fakeSearcher{fail: tt.fail}, memory.NewClock(time.Now()), true)
			_, err := find(context.Background(), s, "x")
			var su *domain.SearchUnavailableError
			require.ErrorAs(t, err, &su)
			assert.Equal(t, tt.want, su.Reason)
			assert.Equal(t, tt.want, domain.SearchFailureOf(err))
			assert.Equal(t, domain.CodeSearchUnavailable, domain.ErrorCode(err))
			assert.Equal(t, su.PublicMessage(), domain.ErrorMessage(err))
			assert.Equal(t, 1, strings.Count(err.Error(), "web search unavailable"), "said once: %v", err)
		})
	}
	assert.Equal(t, "web search unavailable (blocked): html endpoint: status 202: bot challenge page", blocked.Error())
	assert.Equal(t, "Web search temporarily unavailable: the search engine is refusing this server's requests", blocked.PublicMessage())
}

func TestFailuresAndDisabled(t *testing.T) {
	t.Parallel()
	f := &fakeSearcher{fail: &domain.Error{Code: domain.CodeUnavailable, Message: "challenge"}}
	s := newService(f, memory.NewClock(time.Now()), true)
	_, err := find(context.Background(), s, "x")
	assert.Equal(t, domain.CodeSearchUnavailable, domain.ErrorCode(err))
	_, err = find(context.Background(), s, "x")
	assert.Equal(t, domain.CodeSearchUnavailable, domain.ErrorCode(err))
	assert.Equal(t, int32(2), f.calls.Load(), "failures are not kept without a NegativeTTL")

	off := newService(&fakeSearcher{}, memory.NewClock(time.Now()), false)
	_, err = find(context.Background(), off, "x")
	assert.True(t, errors.Is(err, search.ErrDisabled))
	assert.Equal(t, domain.CodeFeatureDisabled, domain.ErrorCode(err))
}

func TestCallerLeavingDoesNotFailOthers(t *testing.T) {
	t.Parallel()
	f := &fakeSearcher{gate: make(chan struct{})}
	s := newService(f, memory.NewClock(time.Now()), true)
	leaving, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := find(leaving, s, "q"); errc <- err }()
	require.Eventually(t, func() bool { return f.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	staying := make(chan search.Result, 1)
	go func() { res, _ := find(context.Background(), s, "q"); staying <- res }()
	time.Sleep(20 * time.Millisecond) // let the second caller join the shared request

	cancel()
	assert.ErrorIs(t, <-errc, context.Canceled)
	close(f.gate)
	res := <-staying
	require.NotEmpty(t, res.Results)
	assert.Equal(t, "q", res.Results[0].Title, "the shared request finished for the caller still waiting")
	assert.Equal(t, int32(1), f.calls.Load())
	assert.Zero(t, f.stopped.Load())
}

// TestSearchStopsWhenEveryCallerLeft: issue 19 found searches running on
// after the client left. The last caller to leave stops the engine's request.
func TestSearchStopsWhenEveryCallerLeft(t *testing.T) {
	t.Parallel()
	f := &fakeSearcher{gate: make(chan struct{})}
	defer close(f.gate)
	s := search.New(search.Config{Enabled: true, MaxResults: 7, CacheTTL: time.Minute, NegativeTTL: time.Minute}, f, nil, memory.NewClock(time.Now()))
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	for range 2 {
		go func() { _, err := find(ctx, s, "q"); errs <- err }()
	}
	require.Eventually(t, func() bool { return f.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	cancel()
	for range 2 {
		assert.ErrorIs(t, <-errs, context.Canceled)
	}
	require.Eventually(t, func() bool { return f.stopped.Load() == 1 }, 5*time.Second, time.Millisecond, "the engine's request was cancelled")

	// The abandoned search is not kept as a failure: the next caller searches anew.
	next, cancelNext := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelNext()
	_, err := find(next, s, "q")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, int32(2), f.calls.Load())
}

// TestNegativeCache: issue 19 found no negative cache, so a storm of one
// failing query hammered the engine. Failures and empty answers are kept for
// NegativeTTL.
func TestNegativeCache(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		f    *fakeSearcher
	}{
		{"failure", &fakeSearcher{fail: &domain.Error{Code: domain.CodeUnavailable, Message: "challenge"}}},
		{"no results", &fakeSearcher{empty: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := memory.NewClock(time.Now())
			s := search.New(search.Config{Enabled: true, MaxResults: 7, CacheTTL: time.Hour, NegativeTTL: time.Minute}, tc.f, nil, clock)
			var wg sync.WaitGroup
			for range 50 {
				wg.Go(func() {
					res, err := find(context.Background(), s, "storm")
					if tc.f.fail != nil {
						assert.Equal(t, domain.CodeSearchUnavailable, domain.ErrorCode(err))
					} else {
						assert.NoError(t, err)
						assert.Empty(t, res.Results)
					}
				})
			}
			wg.Wait()
			assert.Equal(t, int32(1), tc.f.calls.Load(), "one request to the engine for the whole storm")

			clock.Advance(time.Minute) // the short TTL, not the hour of answers
			_, _ = find(context.Background(), s, "storm")
			assert.Equal(t, int32(2), tc.f.calls.Load(), "asked again once NegativeTTL passed")
		})
	}
}

// TestSearchCountsAgainstTheQuota: a user's search is one request of the
// daily quota, a cached answer too; a failure of the engine is refunded;
// invalid or disabled searches and chat's searches count nothing.
func TestSearchCountsAgainstTheQuota(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := memory.NewStore()
	clock := memory.NewClock(time.Now())
	u, err := store.CreateUser(ctx, domain.NewUser{Email: "q@example.com"})
	require.NoError(t, err)
	q := quota.New(store, clock, 3)
	used := func() int {
		st, err := q.Status(ctx, u)
		require.NoError(t, err)
		return st.Used
	}
	f := &fakeSearcher{}
	s := search.New(search.Config{Enabled: true, MaxResults: 7, CacheTTL: time.Hour, NegativeTTL: time.Minute}, f, q, clock)

	_, err = s.Search(ctx, u, "a")
	require.NoError(t, err)
	res, err := s.Search(ctx, u, "a")
	require.NoError(t, err)
	assert.Equal(t, search.SourceCache, res.Source)
	assert.Equal(t, 2, used(), "a cached answer counts too")

	_, err = s.Search(ctx, u, "  ")
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
	_, err = s.Results(ctx, "chat's own search")
	require.NoError(t, err)
	assert.Equal(t, 2, used(), "invalid queries and chat's searches count nothing")

	f.fail = &domain.Error{Code: domain.CodeUnavailable, Message: "down"}
	for range 2 { // from the engine, then from the negative cache
		_, err = s.Search(ctx, u, "b")
		assert.Equal(t, domain.CodeSearchUnavailable, domain.ErrorCode(err))
	}
	assert.Equal(t, 2, used(), "failures are refunded")

	_, err = s.Search(ctx, u, "a")
	require.NoError(t, err)
	_, err = s.Search(ctx, u, "a")
	var qe *domain.QuotaExceededError
	require.ErrorAs(t, err, &qe)
	assert.Equal(t, 3, used())
}
