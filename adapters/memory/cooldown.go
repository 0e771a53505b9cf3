package memory

import (
	"context"
	"sync"
	"time"

	"github.com/genzai/genzai/ports"
)

var _ ports.CooldownStore = (*CooldownStore)(nil)

// CooldownStore is an in-process ports.CooldownStore, safe for concurrent
// use: for tests, and for a single instance.
//
// A cooldown that has ended is indistinguishable from none, so it is never
// stored and is dropped when read.
type CooldownStore struct {
	clock ports.Clock

	mu    sync.Mutex
	until map[string]time.Time
}

// NewCooldownStore returns an empty CooldownStore that tells the time by
// clock.
func NewCooldownStore(clock ports.Clock) *CooldownStore {
	return &CooldownStore{clock: clock, until: map[string]time.Time{}}
}

// Extend implements ports.CooldownStore. It never fails.
func (s *CooldownStore) Extend(_ context.Context, name string, until time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if until.After(s.clock.Now()) && until.After(s.until[name]) {
		s.until[name] = until
	}
	return nil
}

// Until implements ports.CooldownStore. It never fails.
func (s *CooldownStore) Until(_ context.Context, names []string) ([]time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	out := make([]time.Time, len(names))
	for i, n := range names {
		u, ok := s.until[n]
		switch {
		case !ok:
		case u.After(now):
			out[i] = u
		default:
			delete(s.until, n)
		}
	}
	return out, nil
}
