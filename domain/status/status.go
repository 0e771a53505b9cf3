// Package status is the provider health use case: a monitor probes each
// configured provider at a fixed interval (one probe per interval across all
// instances) and the status report combines those probes, the router's
// circuit breakers and the error rate of real chat traffic.
package status

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// Reported lists the providers the status report covers, in order: the
// upstream ones of domain.Providers.
var Reported = upstream()

func upstream() []domain.Provider {
	var out []domain.Provider
	for _, p := range domain.Providers {
		if p.Upstream() {
			out = append(out, p)
		}
	}
	return out
}

// Windows are the uptime windows a report can use.
var Windows = map[string]time.Duration{
	"1h":  time.Hour,
	"24h": 24 * time.Hour,
	"7d":  7 * 24 * time.Hour,
	"30d": 30 * 24 * time.Hour,
}

// DefaultWindow is the uptime window when none is asked for.
const DefaultWindow = "24h"

// failureReasons are the attempt reasons that count against a provider in
// real traffic: its own failures, not rate limits or rejected keys.
var failureReasons = providerFaults()

func providerFaults() []domain.AttemptReason {
	var out []domain.AttemptReason
	for _, r := range domain.AttemptReasons {
		if r.ProviderFault() {
			out = append(out, r)
		}
	}
	return out
}

// Config tunes the monitor.
type Config struct {
	// Interval between probes of a provider (0 disables the monitor).
	Interval time.Duration
	// ProbeTimeout bounds one probe.
	ProbeTimeout time.Duration
	// DegradedLatency: a probe slower than this reports degraded.
	DegradedLatency time.Duration
	// DegradedErrorRate: a share of failed attempts in recent chat traffic
	// above this reports degraded, once MinTraffic attempts were seen.
	DegradedErrorRate float64
	MinTraffic        int
	// TrafficWindow is how far back chat traffic counts.
	TrafficWindow time.Duration
	// Retention is how long checks are kept.
	Retention time.Duration
	// CacheTTL is how long a report is served from memory.
	CacheTTL time.Duration
}

// Router is what the monitor needs from the provider router
// (*routing.Router): it reads the breakers and keys, and pushes its
// verdicts in; the router never calls the monitor.
type Router interface {
	// BreakerOpen reports whether the provider's circuit breaker is open.
	BreakerOpen(domain.Provider) bool
	// ProbeKey picks a usable key index for a probe, rotating between
	// calls; false when no key is usable now. allRejected reports whether
	// every key of the provider sits out a rejection.
	ProbeKey(context.Context, domain.Provider) (key int, ok bool, allRejected bool)
	// RejectKey takes a key the provider refused out of rotation, as a
	// chat attempt refused with it would. refusedAgain reports that this
	// key and every other key of the provider had been refused before:
	// they came back from their cool-offs only to be refused again.
	RejectKey(context.Context, domain.Provider, int) (refusedAgain bool)
	// SetDown tells the router which providers the latest report says are
	// down, so that it skips them.
	SetDown([]domain.Provider)
}

// ProviderStatus is one line of the status report.
type ProviderStatus struct {
	Provider domain.Provider
	Status   domain.HealthStatus
	// Uptime in percent over Window; nil without checks.
	Uptime      *float64
	Window      string
	LastChecked *time.Time
	// Latency of the last check; nil without checks.
	Latency *time.Duration
	// ErrorRate of recent chat traffic (0..1).
	ErrorRate float64
}

// Report is a status report and until when it may be cached.
type Report struct {
	Providers []ProviderStatus
	Expires   time.Time
}

// Service runs the monitor and builds status reports.
type Service struct {
	cfg     Config
	store   ports.HealthStore
	targets map[domain.Provider]ports.ModelLister
	router  Router
	clock   ports.Clock
	log     *slog.Logger

	mu    sync.Mutex
	cache map[string]Report
	// inflight holds, per window, a channel closed when the report being
	// computed is ready: one computation at a time, however many callers.
	inflight map[string]chan struct{}
}

// New builds a Service; targets are the configured providers.
func New(cfg Config, store ports.HealthStore, targets []ports.ModelLister, router Router, clock ports.Clock, logger *slog.Logger) *Service {
	s := &Service{cfg: cfg, store: store, targets: map[domain.Provider]ports.ModelLister{}, router: router, clock: clock, log: logger,
		cache: map[string]Report{}, inflight: map[string]chan struct{}{}}
	for _, t := range targets {
		if t.KeyCount() > 0 {
			s.targets[t.Name()] = t
		}
	}
	return s
}

// Run probes until ctx ends. It wakes several times per interval so that
// a probe another instance failed to make is taken over within one
// interval. Beside the probes, on a schedule of its own (a hanging probe
// must not hold it up), it refreshes the default window's report when it
// has expired, so that the router learns which providers are down (from
// other instances' probes too, and also when this one does not probe).
func (s *Service) Run(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.follow(ctx)
	}()
	defer func() { <-done }()
	if s.cfg.Interval <= 0 {
		return
	}
	t := time.NewTicker(min(max(s.cfg.Interval/4, 100*time.Millisecond), 5*time.Second))
	defer t.Stop()
	for {
		s.RunOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// follow refreshes the default window's report, which pushes its verdicts
// to the router, until ctx ends. It starts at once: what the store already
// says (checks from before a restart, other instances') reaches the router
// before this instance's first probes, as the first chat request's report
// did when the router asked for it.
func (s *Service) follow(ctx context.Context) {
	t := time.NewTicker(s.refreshEvery())
	defer t.Stop()
	for {
		s.refresh(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// refreshEvery is how often follow looks at the report: often enough that
// an expired report is replaced about when a chat request used to replace
// it (the router asked for the report on each request), at most
// refreshTick; without a cache (CacheTTL 0, each request computed a
// report) once a second, a bound on the load of an idle instance.
func (s *Service) refreshEvery() time.Duration {
	if s.cfg.CacheTTL > 0 {
		return min(max(s.cfg.CacheTTL/4, 100*time.Millisecond), refreshTick)
	}
	return min(time.Second, refreshTick)
}

// RunOnce probes every provider that is due and that this instance claims,
// then prunes old checks. It returns how many probes it made.
func (s *Service) RunOnce(ctx context.Context) int {
	probed := 0
	for _, name := range Reported {
		target, ok := s.targets[name]
		if !ok {
			continue
		}
		claimed, err := s.store.ClaimProbe(ctx, name, s.clock.Now(), s.cfg.Interval)
		if err != nil {
			s.log.Warn("claim provider probe", "provider", name, "error", err)
			continue
		}
		if !claimed {
			continue
		}
		if s.probe(ctx, target) {
			probed++
		}
	}
	if probed > 0 {
		if n, err := s.store.PruneChecks(ctx, s.clock.Now().Add(-s.cfg.Retention)); err != nil {
			s.log.Warn("prune provider checks", "error", err)
		} else if n > 0 {
			s.log.Info("pruned provider checks", "deleted", n)
		}
	}
	return probed
}

// probe checks one provider with a zero-token request and records it.
func (s *Service) probe(ctx context.Context, target ports.ModelLister) bool {
	name := target.Name()
	check := domain.ProviderCheck{Provider: name, CheckedAt: s.clock.Now()}
	key, ok, allRejected := s.router.ProbeKey(ctx, name)
	switch {
	case !ok && allRejected:
		check.ErrorClass = domain.ReasonNoUsableKey
	case !ok:
		return false // every key is cooling down: not the provider's fault
	default:
		pctx, cancel := context.WithTimeout(ctx, s.cfg.ProbeTimeout)
		start := time.Now()
		_, err := target.ListModels(pctx, key)
		check.Latency = time.Since(start)
		cancel()
		var pe *domain.ProviderError
		switch {
		case err == nil:
			check.OK, check.Status = true, 200
		case errors.As(err, &pe) && pe.Class == domain.FailureRateLimited:
			// The provider answered; the key is busy. That is not downtime.
			check.OK, check.Status, check.ErrorClass = true, pe.Status, pe.Reason
		case errors.As(err, &pe) && pe.Class == domain.FailureKeyRejected:
			// The provider answered; this key is refused (revoked, mistyped).
			// One bad key among good ones is not downtime: the key leaves the
			// rotation, and once every key has, the next probe records
			// no_usable_key and the provider goes down.
			again := s.router.RejectKey(ctx, name, key)
			s.log.Error("provider key rejected: out of rotation for its cool-off", "provider", name, "key_index", key, "status", pe.Status, "by", "probe")
			check.OK, check.Status, check.ErrorClass = true, pe.Status, pe.Reason
			if again {
				// Every key was refused before and came back from its
				// cool-off: refused again, there is still no usable key, as
				// when a refused key never came back; not a provider that
				// is up again every cool-off.
				check.OK, check.ErrorClass = false, domain.ReasonNoUsableKey
			}
		case errors.As(err, &pe):
			check.Status, check.ErrorClass = pe.Status, pe.Reason
		case ctx.Err() != nil:
			return false // shutting down
		default:
			check.ErrorClass = domain.ReasonServerError
		}
	}
	if err := s.store.RecordCheck(context.WithoutCancel(ctx), check); err != nil {
		s.log.Warn("record provider check", "provider", name, "error", err)
		return false
	}
	if !check.OK {
		s.log.Warn("provider probe failed", "provider", name, "reason", check.ErrorClass, "status", check.Status)
	}
	return true
}

// recentChecks is how many checks decide up/down.
const recentChecks = 2

func (s *Service) providerStatus(ctx context.Context, name domain.Provider, window string, span time.Duration, now time.Time) (ProviderStatus, error) {
	ps := ProviderStatus{Provider: name, Window: window, Status: domain.StatusUnconfigured}
	if _, ok := s.targets[name]; !ok {
		return ps, nil
	}
	checks, err := s.store.RecentChecks(ctx, name, recentChecks)
	if err != nil {
		return ps, fmt.Errorf("recent checks: %w", err)
	}
	up, err := s.store.Uptime(ctx, name, now.Add(-span))
	if err != nil {
		return ps, fmt.Errorf("uptime: %w", err)
	}
	traffic, err := s.store.Traffic(ctx, name, now.Add(-s.cfg.TrafficWindow), failureReasons)
	if err != nil {
		return ps, fmt.Errorf("traffic: %w", err)
	}
	if p, ok := up.Percent(); ok {
		ps.Uptime = &p
	}
	if len(checks) > 0 {
		at, lat := checks[0].CheckedAt, checks[0].Latency
		ps.LastChecked, ps.Latency = &at, &lat
	}
	ps.ErrorRate = math.Round(traffic.ErrorRate()*10000) / 10000
	ps.Status = Evaluate(Inputs{
		Checks:            checks,
		BreakerOpen:       s.router.BreakerOpen(name),
		Traffic:           traffic,
		DegradedLatency:   s.cfg.DegradedLatency,
		DegradedErrorRate: s.cfg.DegradedErrorRate,
		MinTraffic:        s.cfg.MinTraffic,
	})
	return ps, nil
}
