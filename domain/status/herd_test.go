package status_test

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/status"
	"github.com/genzai/genzai/ports"
)

// slowStore counts report computations (one RecentChecks call per
// configured provider each) and holds them until released.
type slowStore struct {
	ports.HealthStore
	calls   atomic.Int32
	release chan struct{}
}

func (s *slowStore) RecentChecks(ctx context.Context, p domain.Provider, limit int) ([]domain.ProviderCheck, error) {
	s.calls.Add(1)
	<-s.release
	return s.HealthStore.RecentChecks(ctx, p, limit)
}

func TestReportIsComputedOnceForConcurrentCallers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	store := &slowStore{HealthStore: f.store, release: make(chan struct{})}
	svc := status.New(f.cfg, store, f.targets, f.router, f.clock, slog.New(slog.DiscardHandler))

	const callers = 50
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			_, err := svc.Report(context.Background(), "")
			assert.NoError(t, err)
		})
	}
	require.Eventually(t, func() bool { return store.calls.Load() >= 1 }, 5*time.Second, time.Millisecond)
	time.Sleep(20 * time.Millisecond) // let every caller reach the cache
	close(store.release)
	wg.Wait()
	// Two configured providers: one computation reads two providers' checks.
	assert.Equal(t, int32(2), store.calls.Load(), "one computation for %d callers", callers)

	// Expired: chat requests get the old report at once while one
	// background refresh replaces it.
	f.clock.Advance(f.cfg.CacheTTL + time.Second)
	for range callers {
		assert.False(t, svc.Down(context.Background(), domain.ProviderGroq))
	}
	require.Eventually(t, func() bool { return store.calls.Load() == 4 }, 5*time.Second, time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	assert.Equal(t, int32(4), store.calls.Load(), "one refresh for %d chat requests", callers)
}
