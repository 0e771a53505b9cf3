package status

import (
	"context"
	"time"

	"github.com/genzai/genzai/domain"
)

// Report returns the status of every reported provider, from the cache
// when it is fresh. window is one of Windows ("" for DefaultWindow).
// Errors: CodeInvalid for an unknown window, CodeUnavailable.
func (s *Service) Report(ctx context.Context, window string) (Report, error) {
	if window == "" {
		window = DefaultWindow
	}
	span, ok := Windows[window]
	if !ok {
		return Report{}, domain.Errorf(domain.CodeInvalid, "window: must be 1h, 24h, 7d or 30d")
	}
	for {
		now := s.clock.Now()
		s.mu.Lock()
		cached, hit := s.cache[window]
		if hit && now.Before(cached.Expires) {
			s.mu.Unlock()
			return cached, nil
		}
		if wait, busy := s.inflight[window]; busy {
			s.mu.Unlock()
			if hit {
				return cached, nil // stale, while another caller refreshes it
			}
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return Report{}, &domain.Error{Code: domain.CodeUnavailable, Message: "status report not ready", Err: ctx.Err()}
			}
		}
		done := make(chan struct{})
		s.inflight[window] = done
		s.mu.Unlock()

		r, err := s.compute(ctx, window, span, now)
		s.mu.Lock()
		delete(s.inflight, window)
		if err == nil {
			s.cache[window] = r
		}
		s.mu.Unlock()
		if err == nil && window == DefaultWindow {
			// The router skips what the report says is down: it learns so
			// here, from each fresh report, never by asking.
			s.router.SetDown(r.down())
		}
		close(done)
		return r, err
	}
}

// compute builds a report from the store.
func (s *Service) compute(ctx context.Context, window string, span time.Duration, now time.Time) (Report, error) {
	r := Report{Expires: now.Add(s.cfg.CacheTTL)}
	for _, name := range Reported {
		ps, err := s.providerStatus(ctx, name, window, span, now)
		if err != nil {
			return Report{}, err
		}
		r.Providers = append(r.Providers, ps)
	}
	return r, nil
}

// refreshTimeout bounds a report refresh started in the background.
const refreshTimeout = 30 * time.Second

// refreshTick is the longest the monitor waits between two looks at the report.
const refreshTick = 5 * time.Second

// refresh computes the default window's report unless a fresh one is cached
// (Report pushes it to the router).
func (s *Service) refresh(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	if _, err := s.Report(ctx, DefaultWindow); err != nil && ctx.Err() == nil {
		s.log.Warn("refresh provider status", "error", err)
	}
}

// down lists the providers the report says are down.
func (r Report) down() []domain.Provider {
	var out []domain.Provider
	for _, p := range r.Providers {
		if p.Status == domain.StatusDown {
			out = append(out, p.Provider)
		}
	}
	return out
}

// FreshFor is how long r stays in the cache, by the service's clock (the
// one that stamped r.Expires): what an HTTP Cache-Control max-age should say.
func (s *Service) FreshFor(r Report) time.Duration {
	return max(r.Expires.Sub(s.clock.Now()), 0)
}

// Down reports whether the latest (possibly cached) report says provider
// is down; false when the report cannot be read. (The router does not ask:
// each fresh report is pushed to it.)
//
// Once a report exists a caller never waits for a new one: an expired report is used while one
// background refresh replaces it (without a cache, CacheTTL 0, each call
// computes, one at a time).
func (s *Service) Down(ctx context.Context, provider domain.Provider) bool {
	r, err := s.latest(ctx)
	if err != nil {
		s.log.Warn("read provider status", "error", err)
		return false
	}
	for _, p := range r.Providers {
		if p.Provider == provider {
			return p.Status == domain.StatusDown
		}
	}
	return false
}

// latest is the default window's report, possibly expired (see Down).
func (s *Service) latest(ctx context.Context) (Report, error) {
	if s.cfg.CacheTTL <= 0 {
		return s.Report(ctx, DefaultWindow)
	}
	s.mu.Lock()
	r, hit := s.cache[DefaultWindow]
	_, busy := s.inflight[DefaultWindow]
	s.mu.Unlock()
	if !hit {
		return s.Report(ctx, DefaultWindow)
	}
	if !busy && !s.clock.Now().Before(r.Expires) {
		go func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
			defer cancel()
			if _, err := s.Report(ctx, DefaultWindow); err != nil {
				s.log.Warn("refresh provider status", "error", err)
			}
		}()
	}
	return r, nil
}
