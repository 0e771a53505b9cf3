package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingPinger counts pings; each waits for release when it is set.
type countingPinger struct {
	pings   atomic.Int32
	release chan struct{}
}

func (p *countingPinger) Ping(ctx context.Context) error {
	p.pings.Add(1)
	if p.release != nil {
		select {
		case <-p.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func readyServer(t *testing.T, db *countingPinger, ttl time.Duration) *Server {
	t.Helper()
	s, err := New(Config{Environment: "production", ReadyTimeout: 5 * time.Second, ReadyCacheTTL: ttl},
		Deps{Database: db}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	return s
}

func getReady(s *Server) int {
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ready", nil))
	return rec.Code
}

// TestReadyPingsOncePerTTL performs the flood of issue 19 (thousands of
// /ready calls a second grew the pool): concurrent callers share one probe,
// and rapid calls reuse its answer until the TTL passes.
func TestReadyPingsOncePerTTL(t *testing.T) {
	t.Parallel()

	t.Run("concurrent callers share one probe", func(t *testing.T) {
		t.Parallel()
		db := &countingPinger{release: make(chan struct{})}
		s := readyServer(t, db, time.Hour)
		var wg sync.WaitGroup
		codes := make(chan int, 50)
		for range 50 {
			wg.Go(func() { codes <- getReady(s) })
		}
		// Every caller is waiting on the one ping in flight.
		require.Eventually(t, func() bool { return db.pings.Load() == 1 }, 5*time.Second, time.Millisecond)
		time.Sleep(50 * time.Millisecond) // let the others pile up behind it
		close(db.release)
		wg.Wait()
		close(codes)
		for code := range codes {
			assert.Equal(t, http.StatusOK, code)
		}
		assert.Equal(t, int32(1), db.pings.Load(), "one ping for 50 concurrent calls")
	})

	t.Run("rapid calls reuse the answer until it expires", func(t *testing.T) {
		t.Parallel()
		db := &countingPinger{}
		const ttl = 200 * time.Millisecond
		s := readyServer(t, db, ttl)
		start := time.Now()
		calls := 0
		for time.Since(start) < 3*ttl {
			assert.Equal(t, http.StatusOK, getReady(s))
			calls++
		}
		elapsed := time.Since(start)
		maxPings := int32(elapsed/ttl) + 1
		assert.LessOrEqual(t, db.pings.Load(), maxPings, "at most one ping per TTL over %d calls", calls)
		assert.GreaterOrEqual(t, db.pings.Load(), int32(2), "a stale answer is probed again")
		assert.Greater(t, calls, 10)
	})

	t.Run("the default TTL is one second", func(t *testing.T) {
		t.Parallel()
		db := &countingPinger{}
		s := readyServer(t, db, 0)
		for range 100 {
			getReady(s)
		}
		assert.Equal(t, int32(1), db.pings.Load())
		assert.Equal(t, time.Second, s.ready.ttl)
	})
}

// TestReadyWaiterLeaves ends a caller that gives up while another's probe
// runs, without disturbing that probe.
func TestReadyWaiterLeaves(t *testing.T) {
	t.Parallel()
	db := &countingPinger{release: make(chan struct{})}
	s := readyServer(t, db, time.Hour)
	first := make(chan int, 1)
	go func() { first <- getReady(s) }()
	require.Eventually(t, func() bool { return db.pings.Load() == 1 }, 5*time.Second, time.Millisecond)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ready", nil).WithContext(ctx))
	assert.NotEqual(t, http.StatusOK, rec.Code)

	close(db.release)
	assert.Equal(t, http.StatusOK, <-first)
	assert.Equal(t, int32(1), db.pings.Load())
}
