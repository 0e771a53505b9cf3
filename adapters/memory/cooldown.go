package memory

import (
	"context"
	"sync"
	"time"

	"github.com/genzai/genzai/ports"
)

var _ ports.CooldownStore = (*CooldownStore)(nil)

// CooldownStore keeps cooldowns in process (for tests, and for one instance).
type CooldownStore struct {
	mu    sync.Mutex
	clock ports.Clock
	until map[string]time.Time
}

// NewCooldownStore returns an empty CooldownStore reading time from clock.
func NewCooldownStore(clock ports.Clock) *CooldownStore {
	return &CooldownStore{clock: clock, until: map[string]time.Time{}}
}

// Extend implements ports.CooldownStore.
func (s *CooldownStore) Extend(_ context.Context, name string, until time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if until.After(s.until[name]) {
		s.until[name] = until
	}
	return nil
}

// Until implements ports.CooldownStore.
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
			delete(s.until, n) // passed: nothing to keep
		}
	}
	return out, nil
}
