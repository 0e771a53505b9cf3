package memory

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.HealthStore = (*HealthStore)(nil)

// HealthStore is an in-memory ports.HealthStore, safe for concurrent use.
//
// It keeps what the PostgreSQL store keeps, at the same precision (times in
// microseconds, latencies in whole milliseconds), so that both pass one
// contract suite. Traffic is computed from the records of its request log
// (see RequestLog), placed in time by their CreatedAt.
type HealthStore struct {
	mu      sync.Mutex
	checks  []domain.ProviderCheck // in the order recorded
	nextDue map[domain.Provider]time.Time
	log     *RequestLog
}

// NewHealthStore returns an empty HealthStore with an empty request log.
func NewHealthStore() *HealthStore {
	return &HealthStore{nextDue: map[domain.Provider]time.Time{}, log: NewRequestLog()}
}

// RequestLog returns the request log Traffic reads. Record chat requests in
// it, or hand it to the chat use case as its ports.RequestLog, to give
// providers traffic. A record without CreatedAt is never inside a window.
func (s *HealthStore) RequestLog() *RequestLog { return s.log }

// ClaimProbe implements ports.HealthStore: the mutex makes the check of the
// due time and its move one step, so exactly one caller wins each interval.
func (s *HealthStore) ClaimProbe(_ context.Context, provider domain.Provider, now time.Time, interval time.Duration) (bool, error) {
	if interval <= 0 {
		return false, errors.New("claim probe: interval must be positive")
	}
	next := storedTime(now.Add(interval))
	now = storedTime(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	if due, ok := s.nextDue[provider]; ok && now.Before(due) {
		return false, nil
	}
	s.nextDue[provider] = next
	return true, nil
}

// RecordCheck implements ports.HealthStore.
func (s *HealthStore) RecordCheck(_ context.Context, c domain.ProviderCheck) error {
	c.CheckedAt = storedTime(c.CheckedAt)
	c.Latency = time.Duration(min(max(c.Latency.Milliseconds(), 0), math.MaxInt32)) * time.Millisecond
	c.Status = min(max(c.Status, 0), math.MaxInt32)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks = append(s.checks, c)
	return nil
}

// RecentChecks implements ports.HealthStore; checks at the same instant come
// newest recorded first. A limit below 1 gives no checks.
func (s *HealthStore) RecentChecks(_ context.Context, provider domain.Provider, limit int) ([]domain.ProviderCheck, error) {
	out := []domain.ProviderCheck{}
	if limit <= 0 {
		return out, nil
	}
	s.mu.Lock()
	for i := len(s.checks) - 1; i >= 0; i-- {
		if s.checks[i].Provider == provider {
			out = append(out, s.checks[i])
		}
	}
	s.mu.Unlock()
	// out is newest recorded first; the stable sort keeps that order among
	// checks at the same instant.
	slices.SortStableFunc(out, func(a, b domain.ProviderCheck) int { return b.CheckedAt.Compare(a.CheckedAt) })
	return out[:min(limit, len(out))], nil
}

// Uptime implements ports.HealthStore; a check at since counts.
func (s *HealthStore) Uptime(_ context.Context, provider domain.Provider, since time.Time) (domain.Uptime, error) {
	since = storedTime(since)
	var u domain.Uptime
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.checks {
		if c.Provider == provider && !c.CheckedAt.Before(since) {
			u.Total++
			if c.OK {
				u.OK++
			}
		}
	}
	return u, nil
}

// Traffic implements ports.HealthStore over the records of RequestLog:
// Answered counts the records the provider answered with a first token,
// Failed the attempts on the provider whose reason is one of failureReasons.
// A record created at since counts.
func (s *HealthStore) Traffic(_ context.Context, provider domain.Provider, since time.Time, failureReasons []domain.AttemptReason) (domain.TrafficStats, error) {
	since = storedTime(since)
	var t domain.TrafficStats
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	for _, r := range s.log.records {
		if r.CreatedAt.IsZero() || storedTime(r.CreatedAt).Before(since) {
			continue
		}
		if r.Provider != "" && r.Provider == provider && r.FirstToken != nil {
			t.Answered++
		}
		for _, a := range r.Attempts {
			if a.Provider == provider && slices.Contains(failureReasons, a.Reason) {
				t.Failed++
			}
		}
	}
	return t, nil
}

// PruneChecks implements ports.HealthStore; a check at before is kept.
func (s *HealthStore) PruneChecks(_ context.Context, before time.Time) (int64, error) {
	before = storedTime(before)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.checks)
	s.checks = slices.DeleteFunc(s.checks, func(c domain.ProviderCheck) bool { return c.CheckedAt.Before(before) })
	return int64(n - len(s.checks)), nil
}

// storedTime is t as PostgreSQL's timestamptz keeps it: UTC, truncated to
// the microsecond.
func storedTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
