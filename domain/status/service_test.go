package status_test

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/groq"
	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
	"github.com/genzai/genzai/adapters/openrouter"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/routing"
	"github.com/genzai/genzai/domain/status"
	"github.com/genzai/genzai/ports"
)

const interval = time.Minute

// fakeRouter rotates probe keys like the chat router and lets tests open
// breakers and cool keys down.
type fakeRouter struct {
	mu       sync.Mutex
	keys     map[domain.Provider]int
	next     map[domain.Provider]int
	breaker  map[domain.Provider]bool
	cooling  bool
	rejected bool
	refused  map[domain.Provider][]int // keys taken out by RejectKey
	down     []domain.Provider         // as the latest report pushed it
}

func (r *fakeRouter) SetDown(down []domain.Provider) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
}

// Down returns what the monitor last pushed.
func (r *fakeRouter) Down() []domain.Provider {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.down)
}

func (r *fakeRouter) BreakerOpen(p domain.Provider) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.breaker[p]
}

func (r *fakeRouter) RejectKey(_ context.Context, p domain.Provider, i int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refused == nil {
		r.refused = map[domain.Provider][]int{}
	}
	r.refused[p] = append(r.refused[p], i)
	return false // a key refused here never comes back
}

func (r *fakeRouter) ProbeKey(_ context.Context, p domain.Provider) (int, bool, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rejected || len(r.refused[p]) >= r.keys[p] {
		return 0, false, true
	}
	for slices.Contains(r.refused[p], r.next[p]%r.keys[p]) {
		r.next[p]++
	}
	if r.cooling {
		return 0, false, false
	}
	k := r.next[p] % r.keys[p]
	r.next[p]++
	return k, true, false
}

type fixture struct {
	groq, openrouter *fakeupstream.Server
	store            *memory.HealthStore
	clock            *memory.Clock
	router           *fakeRouter
	targets          []ports.ModelLister
	cfg              status.Config
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{
		groq: fakeupstream.New(t), openrouter: fakeupstream.New(t),
		store: memory.NewHealthStore(),
		clock: memory.NewClock(time.Date(2025, 12, 24, 12, 0, 0, 0, time.UTC)),
		router: &fakeRouter{
			keys: map[domain.Provider]int{domain.ProviderGroq: 2, domain.ProviderOpenRouter: 1},
			next: map[domain.Provider]int{}, breaker: map[domain.Provider]bool{},
		},
		cfg: status.Config{
			Interval: interval, ProbeTimeout: 2 * time.Second, DegradedLatency: 2 * time.Second,
			DegradedErrorRate: 0.25, MinTraffic: 5, TrafficWindow: 5 * time.Minute,
			Retention: 30 * 24 * time.Hour, CacheTTL: 30 * time.Second,
		},
	}
	f.targets = []ports.ModelLister{
		groq.New(groq.Config{BaseURL: f.groq.URL(), Keys: []string{"gk-0", "gk-1"}, HTTPClient: f.groq.Client()}),
		openrouter.New(openrouter.Config{BaseURL: f.openrouter.URL(), Keys: []string{"ok-0"}, HTTPClient: f.openrouter.Client()}),
	}
	return f
}

func (f *fixture) service() *status.Service {
	return status.New(f.cfg, f.store, f.targets, f.router, f.clock, slog.New(slog.DiscardHandler))
}

func (f *fixture) report(t *testing.T, s *status.Service, window string) map[domain.Provider]status.ProviderStatus {
	t.Helper()
	r, err := s.Report(context.Background(), window)
	require.NoError(t, err)
	require.Len(t, r.Providers, 3)
	out := map[domain.Provider]status.ProviderStatus{}
	for i, want := range []domain.Provider{domain.ProviderGroq, domain.ProviderOpenRouter, domain.ProviderHuggingFace} {
		assert.Equal(t, want, r.Providers[i].Provider, "order")
		out[want] = r.Providers[i]
	}
	return out
}

func models(s *fakeupstream.Server) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == http.MethodGet {
			n++
		}
	}
	return n
}

func TestDownWithinTwoIntervalsAndUpAfterRecovery(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.cfg.CacheTTL = 0
	s := f.service()
	ctx := context.Background()

	before := f.report(t, s, "")
	assert.Equal(t, domain.StatusUnknown, before[domain.ProviderGroq].Status)
	assert.Nil(t, before[domain.ProviderGroq].Uptime)
	assert.Equal(t, domain.StatusUnconfigured, before[domain.ProviderHuggingFace].Status)

	require.Equal(t, 2, s.RunOnce(ctx))
	r := f.report(t, s, "")
	assert.Equal(t, domain.StatusUp, r[domain.ProviderGroq].Status)
	require.NotNil(t, r[domain.ProviderGroq].Uptime)
	assert.Equal(t, 100.0, *r[domain.ProviderGroq].Uptime)
	assert.Equal(t, f.clock.Now(), *r[domain.ProviderGroq].LastChecked)

	// groq goes down.
	f.groq.Default(fakeupstream.Status(http.StatusServiceUnavailable, `{"error":{"message":"overloaded"}}`))
	assert.Equal(t, 0, s.RunOnce(ctx), "nothing is due before the interval has passed")
	f.clock.Advance(interval)
	require.Equal(t, 2, s.RunOnce(ctx))
	assert.Equal(t, domain.StatusDegraded, f.report(t, s, "")[domain.ProviderGroq].Status, "one failed probe")
	f.clock.Advance(interval)
	s.RunOnce(ctx)
	r = f.report(t, s, "")
	assert.Equal(t, domain.StatusDown, r[domain.ProviderGroq].Status, "down within two intervals")
	assert.Equal(t, 33.33, *r[domain.ProviderGroq].Uptime)
	assert.Equal(t, domain.StatusUp, r[domain.ProviderOpenRouter].Status)

	checks, err := f.store.RecentChecks(ctx, domain.ProviderGroq, 1)
	require.NoError(t, err)
	assert.Equal(t, domain.ProviderCheck{Provider: domain.ProviderGroq, Status: 503, ErrorClass: "server_error", Latency: checks[0].Latency, CheckedAt: f.clock.Now()}, checks[0])

	// It recovers.
	f.groq.Default(fakeupstream.Models("llama"))
	f.clock.Advance(interval)
	s.RunOnce(ctx)
	r = f.report(t, s, "")
	assert.Equal(t, domain.StatusUp, r[domain.ProviderGroq].Status)
	assert.Equal(t, 50.0, *r[domain.ProviderGroq].Uptime)
}

func TestProbesRotateKeysAndCostNoTokens(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.service()
	for range 4 {
		s.RunOnce(context.Background())
		f.clock.Advance(interval)
	}
	var keys []string
	for _, r := range f.groq.Requests() {
		assert.Equal(t, http.MethodGet, r.Method, "probes only list models")
		assert.Equal(t, "/models", r.Path)
		keys = append(keys, r.Key)
	}
	assert.Equal(t, []string{"gk-0", "gk-1", "gk-0", "gk-1"}, keys)
}

func TestOneProbePerIntervalAcrossInstances(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a, b := f.service(), f.service() // two instances, one database
	ctx := context.Background()
	for i := range 3 {
		var wg sync.WaitGroup
		for _, s := range []*status.Service{a, b, a, b} {
			wg.Go(func() { s.RunOnce(ctx) })
		}
		wg.Wait()
		assert.Equal(t, i+1, models(f.groq), "interval %d", i)
		assert.Equal(t, i+1, models(f.openrouter), "interval %d", i)
		f.clock.Advance(interval)
	}
	// An instance that stops probing is replaced at the next interval.
	for range 2 {
		b.RunOnce(ctx)
		f.clock.Advance(interval)
	}
	assert.Equal(t, 5, models(f.groq))
}

func TestDegradedByLatency(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.cfg.DegradedLatency = 50 * time.Millisecond
	f.groq.Default(fakeupstream.Handler(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(120 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"object":"list","data":[{"id":"llama"}]}`))
	}))
	s := f.service()
	s.RunOnce(context.Background())
	r := f.report(t, s, "")
	assert.Equal(t, domain.StatusDegraded, r[domain.ProviderGroq].Status)
	require.NotNil(t, r[domain.ProviderGroq].Latency)
	assert.GreaterOrEqual(t, *r[domain.ProviderGroq].Latency, 120*time.Millisecond)
	assert.Equal(t, domain.StatusUp, r[domain.ProviderOpenRouter].Status)
}

func TestDegradedByUserTraffic(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.service()
	s.RunOnce(context.Background())
	log := f.store.RequestLog()
	now := f.clock.Now()
	ttft := 100 * time.Millisecond
	for range 3 {
		log.Record(domain.RequestRecord{UserID: "u", Tier: domain.TierFast, Provider: domain.ProviderGroq, FirstToken: &ttft, CreatedAt: now})
	}
	for range 2 {
		log.Record(domain.RequestRecord{UserID: "u", Tier: domain.TierBalanced, Provider: domain.ProviderOpenRouter, FirstToken: &ttft, CreatedAt: now,
			Attempts: []domain.Attempt{{Provider: domain.ProviderGroq, Reason: "server_error"}}})
	}
	// A stale failure outside the 5-minute window does not count.
	log.Record(domain.RequestRecord{UserID: "u", Tier: domain.TierBalanced, CreatedAt: now.Add(-10 * time.Minute),
		Attempts: []domain.Attempt{{Provider: domain.ProviderGroq, Reason: "timeout"}}})
	r := f.report(t, s, "")
	assert.Equal(t, domain.StatusDegraded, r[domain.ProviderGroq].Status, "2 of 5 attempts failed")
	assert.Equal(t, 0.4, r[domain.ProviderGroq].ErrorRate)
	assert.Equal(t, domain.StatusUp, r[domain.ProviderOpenRouter].Status)
}

func TestBreakerOpenIsDown(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.service()
	s.RunOnce(context.Background())
	f.router.breaker[domain.ProviderOpenRouter] = true
	assert.Equal(t, domain.StatusDown, f.report(t, s, "")[domain.ProviderOpenRouter].Status)
}

func TestKeysCoolingOrRejected(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.cfg.CacheTTL = 0
	s := f.service()
	f.router.cooling = true
	assert.Equal(t, 0, s.RunOnce(context.Background()), "no probe while every key cools down")
	assert.Equal(t, 0, models(f.groq))

	f.router.cooling, f.router.rejected = false, true
	f.clock.Advance(interval)
	assert.Equal(t, 2, s.RunOnce(context.Background()))
	assert.Equal(t, 0, models(f.groq), "no request with a rejected key")
	checks, err := f.store.RecentChecks(context.Background(), domain.ProviderGroq, 1)
	require.NoError(t, err)
	assert.Equal(t, domain.ReasonNoUsableKey, checks[0].ErrorClass)
	assert.Equal(t, domain.StatusDown, f.report(t, s, "")[domain.ProviderGroq].Status)
}

func TestRateLimitedProbeCountsAsUp(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.groq.Default(fakeupstream.RateLimited(10 * time.Second))
	s := f.service()
	s.RunOnce(context.Background())
	r := f.report(t, s, "")
	assert.Equal(t, domain.StatusUp, r[domain.ProviderGroq].Status)
	assert.Equal(t, 100.0, *r[domain.ProviderGroq].Uptime)
}

// TestRefusedKeyIsRejectedNotDowntime: a probe refused with 401 takes that
// key out of the rotation and counts as up; once every key is refused the
// provider is down (no usable key).
func TestRefusedKeyIsRejectedNotDowntime(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.cfg.CacheTTL = 0
	f.groq.Script("gk-0", fakeupstream.Unauthorized())
	s := f.service()
	ctx := context.Background()

	s.RunOnce(ctx) // probes groq with gk-0: refused
	assert.Equal(t, map[domain.Provider][]int{domain.ProviderGroq: {0}}, f.router.refused)
	r := f.report(t, s, "")
	assert.Equal(t, domain.StatusUp, r[domain.ProviderGroq].Status, "one refused key is not downtime")
	checks, err := f.store.RecentChecks(ctx, domain.ProviderGroq, 1)
	require.NoError(t, err)
	assert.Equal(t, 401, checks[0].Status)

	f.clock.Advance(interval)
	s.RunOnce(ctx) // the next probe uses gk-1, the key left
	assert.Equal(t, 1, f.groq.Count("gk-1"))
	assert.Equal(t, 1, f.groq.Count("gk-0"), "the refused key is not probed again")

	f.groq.Script("gk-1", fakeupstream.Unauthorized())
	for range 3 {
		f.clock.Advance(interval)
		s.RunOnce(ctx)
	}
	assert.Equal(t, domain.StatusDown, f.report(t, s, "")[domain.ProviderGroq].Status, "every key refused: down")
	checks, err = f.store.RecentChecks(ctx, domain.ProviderGroq, 1)
	require.NoError(t, err)
	assert.Equal(t, domain.ReasonNoUsableKey, checks[0].ErrorClass)
}

func TestUptimeWindowsAndPruning(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.cfg.CacheTTL = 0
	ctx := context.Background()
	now := f.clock.Now()
	// A known series: ok 40 days ago (pruned), failed 3 days ago, ok 2 h ago, failed 30 min ago, ok now.
	for _, c := range []struct {
		ago time.Duration
		ok  bool
	}{{40 * 24 * time.Hour, true}, {72 * time.Hour, false}, {2 * time.Hour, true}, {30 * time.Minute, false}} {
		require.NoError(t, f.store.RecordCheck(ctx, domain.ProviderCheck{Provider: domain.ProviderGroq, OK: c.ok, CheckedAt: now.Add(-c.ago)}))
	}
	s := f.service()
	s.RunOnce(ctx) // probes (ok) and prunes
	checks, err := f.store.RecentChecks(ctx, domain.ProviderGroq, 100)
	require.NoError(t, err)
	assert.Len(t, checks, 4, "the 40-day-old check was pruned")

	for window, want := range map[string]float64{"1h": 50, "24h": 66.67, "7d": 50, "30d": 50} {
		r := f.report(t, s, window)
		require.NotNil(t, r[domain.ProviderGroq].Uptime, window)
		assert.Equal(t, want, *r[domain.ProviderGroq].Uptime, window)
		assert.Equal(t, window, r[domain.ProviderGroq].Window)
	}
	_, err = s.Report(ctx, "2h")
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
}

func TestReportIsCached(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.service()
	first, err := s.Report(context.Background(), "")
	require.NoError(t, err)
	assert.Equal(t, f.clock.Now().Add(30*time.Second), first.Expires)
	s.RunOnce(context.Background())
	f.clock.Advance(29 * time.Second)
	again, err := s.Report(context.Background(), "")
	require.NoError(t, err)
	assert.Equal(t, domain.StatusUnknown, again.Providers[0].Status, "served from the cache")
	f.clock.Advance(time.Second)
	fresh, err := s.Report(context.Background(), "")
	require.NoError(t, err)
	assert.Equal(t, domain.StatusUp, fresh.Providers[0].Status)
}

// TestReportTellsTheRouterWhatIsDown: the router never asks the monitor;
// each fresh report of the default window pushes its verdicts into it.
func TestReportTellsTheRouterWhatIsDown(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.service()
	s.RunOnce(context.Background())
	f.router.breaker[domain.ProviderOpenRouter] = true
	f.report(t, s, "1h")
	assert.Empty(t, f.router.Down(), "only the default window's report decides routing")
	f.report(t, s, "")
	assert.Equal(t, []domain.Provider{domain.ProviderOpenRouter}, f.router.Down())

	f.router.breaker[domain.ProviderOpenRouter] = false
	f.report(t, s, "")
	assert.Equal(t, []domain.Provider{domain.ProviderOpenRouter}, f.router.Down(), "a cached report changes nothing")
	f.clock.Advance(f.cfg.CacheTTL)
	f.report(t, s, "")
	assert.Empty(t, f.router.Down(), "the next report says it is back")
}

// TestRunRefreshesTheReportWithoutProbing: an instance that does not probe
// still learns, from other instances' checks, which providers are down.
func TestRunRefreshesTheReportWithoutProbing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.cfg.Interval = 0
	s := f.service()
	for range 2 { // another instance's failed probes
		require.NoError(t, f.store.RecordCheck(context.Background(), domain.ProviderCheck{Provider: domain.ProviderGroq, CheckedAt: f.clock.Now(), ErrorClass: "server_error", Status: 500}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	require.Eventually(t, func() bool { return slices.Equal(f.router.Down(), []domain.Provider{domain.ProviderGroq}) }, 5*time.Second, 10*time.Millisecond)
	cancel()
	<-done
	assert.Equal(t, 0, models(f.groq), "no probe")
}

// runMonitor runs s.Run until the test ends.
func runMonitor(t *testing.T, s *status.Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// TestRunTellsTheRouterBeforeProbing: what the store already says (checks
// from before a restart, or another instance's) reaches the router at once,
// as the first chat request's report did when the router asked; not only
// after this instance's probes, which can take a probe timeout each.
func TestRunTellsTheRouterBeforeProbing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.cfg.ProbeTimeout = 30 * time.Second
	f.groq.Default(fakeupstream.Hang()) // the first probe takes its whole timeout
	for range 2 {
		require.NoError(t, f.store.RecordCheck(context.Background(), domain.ProviderCheck{Provider: domain.ProviderOpenRouter,
			CheckedAt: f.clock.Now().Add(-interval), ErrorClass: "server_error", Status: 500}))
	}
	runMonitor(t, f.service())
	require.Eventually(t, func() bool { return slices.Equal(f.router.Down(), []domain.Provider{domain.ProviderOpenRouter}) },
		2*time.Second, 10*time.Millisecond, "the router learns before the probes end")
}

// TestRunFollowsAShortCacheTTL: with a short report cache the router learns
// a verdict about as soon as the cache lets it, as it did when each chat
// request consulted the report (an expired one being refreshed at once).
func TestRunFollowsAShortCacheTTL(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.cfg.Interval = 0
	f.cfg.CacheTTL = 200 * time.Millisecond
	s := f.service()
	f.report(t, s, "") // cached until CacheTTL has passed on f.clock
	runMonitor(t, s)
	time.Sleep(100 * time.Millisecond) // Run's first look finds that report fresh
	assert.Empty(t, f.router.Down())

	f.router.mu.Lock()
	f.router.breaker[domain.ProviderGroq] = true
	f.router.mu.Unlock()
	f.clock.Advance(f.cfg.CacheTTL) // the cached report expires
	assert.Eventually(t, func() bool { return slices.Equal(f.router.Down(), []domain.Provider{domain.ProviderGroq}) },
		2*time.Second, 10*time.Millisecond, "within a fraction of the refresh tick")
}

// TestRunTellsTheRouterWhileAProbeHangs: the report the router follows is
// refreshed on its own schedule, as chat requests refreshed it before, not
// only between rounds of probes, which a hanging provider holds up for a
// probe timeout each.
func TestRunTellsTheRouterWhileAProbeHangs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.cfg.ProbeTimeout = 30 * time.Second
	f.cfg.CacheTTL = 200 * time.Millisecond
	f.groq.Default(fakeupstream.Hang())
	runMonitor(t, f.service())
	require.Eventually(t, func() bool { return len(f.groq.Requests()) > 0 }, 2*time.Second, 10*time.Millisecond, "groq's probe hangs")
	for range 2 { // another instance's failed probes
		require.NoError(t, f.store.RecordCheck(context.Background(), domain.ProviderCheck{Provider: domain.ProviderOpenRouter,
			CheckedAt: f.clock.Now(), ErrorClass: "server_error", Status: 500}))
	}
	f.clock.Advance(f.cfg.CacheTTL) // the cached report expires
	assert.Eventually(t, func() bool { return slices.Equal(f.router.Down(), []domain.Provider{domain.ProviderOpenRouter}) },
		2*time.Second, 10*time.Millisecond)
}

// TestEveryKeyRefusedStaysDownAfterTheCoolOff: a refused key comes back
// after its cool-off (routing.Config.KeyRejectCoolOff) and the probe tries
// it again; refused again while no other key is usable, that is no usable
// key, not a provider that is up again: the report stays down, as it did
// when a refused key never came back.
func TestEveryKeyRefusedStaysDownAfterTheCoolOff(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.cfg.CacheTTL = 0
	f.groq.Default(fakeupstream.Unauthorized())
	const coolOff = 10 * time.Minute
	client := groq.New(groq.Config{BaseURL: f.groq.URL(), Keys: []string{"gk-0", "gk-1"}, HTTPClient: f.groq.Client()})
	router := routing.New(routing.Config{Providers: []routing.ProviderConfig{{Client: client}}, KeyRejectCoolOff: coolOff},
		f.clock, slog.New(slog.DiscardHandler))
	s := status.New(f.cfg, f.store, []ports.ModelLister{client}, router, f.clock, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	for range 4 { // gk-0 refused, gk-1 refused, then no usable key
		s.RunOnce(ctx)
		f.clock.Advance(interval)
	}
	require.Equal(t, domain.StatusDown, f.report(t, s, "")[domain.ProviderGroq].Status, "every key refused: down")

	f.clock.Advance(coolOff)
	for i := range 3 {
		s.RunOnce(ctx) // a key is back, and refused again
		assert.Equal(t, domain.StatusDown, f.report(t, s, "")[domain.ProviderGroq].Status, "probe %d after the cool-off", i)
		f.clock.Advance(interval)
	}
	assert.Positive(t, f.groq.Count("gk-0")+f.groq.Count("gk-1")-2, "the keys were tried again")
}

// TestOneRefusedKeyAfterItsCoolOffIsNotDowntime: refused again after its
// cool-off while another key works, a key is still one bad key among good
// ones.
func TestOneRefusedKeyAfterItsCoolOffIsNotDowntime(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.cfg.CacheTTL = 0
	f.groq.Script("gk-0", fakeupstream.Unauthorized())
	const coolOff = 10 * time.Minute
	client := groq.New(groq.Config{BaseURL: f.groq.URL(), Keys: []string{"gk-0", "gk-1"}, HTTPClient: f.groq.Client()})
	router := routing.New(routing.Config{Providers: []routing.ProviderConfig{{Client: client}}, KeyRejectCoolOff: coolOff},
		f.clock, slog.New(slog.DiscardHandler))
	s := status.New(f.cfg, f.store, []ports.ModelLister{client}, router, f.clock, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	s.RunOnce(ctx) // gk-0 refused
	f.clock.Advance(coolOff)
	for i := range 3 {
		s.RunOnce(ctx)
		assert.Equal(t, domain.StatusUp, f.report(t, s, "")[domain.ProviderGroq].Status, "probe %d after the cool-off", i)
		f.clock.Advance(interval)
	}
	assert.Equal(t, 2, f.groq.Count("gk-0"), "the refused key was tried again")
}
