// Package routing is the provider router, a domain service beside the use
// cases: it owns the tiers' chains of providers, each provider's key pool
// and circuit breaker, the cooldowns and budgets shared between instances,
// and the fallback from one provider to the next. It answers one question,
// Open: a stream for this completion request, positioned at its first
// token, with the attempts it took. Observers (status, metrics, the tier
// list) read its state through Snapshot and never change it, except the
// monitor, which reports its verdicts (SetDown) and refused keys.
package routing

import (
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// Route is one provider of a tier's chain and the model it runs there.
type Route struct {
	Provider domain.Provider
	Model    string
}

// ProviderConfig is one configured provider.
type ProviderConfig struct {
	Client ports.ChatProvider
	// Images is the provider's image generation over the same keys; nil
	// when it has none (or images are off).
	Images ports.ImageGenerator
	// Transcriber and Speech are the provider's voice over the same keys;
	// nil when it has none (or voice is off).
	Transcriber ports.Transcriber
	Speech      ports.SpeechSynthesizer
	// RPMPerKey is the per-key request budget per minute (0 = unlimited).
	RPMPerKey int
	// KeyNames name the keys, by index, in the shared stores; a name must
	// not reveal its key (the app uses a hash prefix, so that deployments
	// sharing a Redis and a key also share its budget). A key without one
	// is "<provider>:<index>".
	KeyNames []string
}

// Config is the routing configuration.
type Config struct {
	Providers []ProviderConfig
	// Chains lists each tier's fallback order. Routes to providers that are
	// not configured are skipped.
	Chains map[domain.Tier][]Route
	// ImageChain is the fallback order of image generation (see
	// GenerateImages). Routes to providers without Images are skipped.
	ImageChain []Route
	// TranscriptionChain and SpeechChain are the fallback orders of voice
	// (see Transcribe and Speak), each route with its model. Routes to
	// providers without a Transcriber or Speech are skipped.
	TranscriptionChain []Route
	SpeechChain        []Route
	// FirstTokenTimeout bounds each attempt of a streaming request until
	// its first token. A non-streaming request asks for the whole answer
	// at once, whose first token is its last: RequestTimeout bounds it.
	FirstTokenTimeout time.Duration
	// RequestTimeout bounds a non-streaming request, the search for a
	// provider of a streaming one, and any silence inside a stream.
	RequestTimeout time.Duration
	// DefaultCooldown applies to a 429 that does not say how long to wait.
	DefaultCooldown time.Duration
	// KeyRejectCoolOff is how long a key the provider refused (401/402/403)
	// stays out of rotation before it is tried again. Default 10 minutes.
	KeyRejectCoolOff time.Duration
	// BreakerFailures consecutive failures open a provider's breaker for
	// BreakerCoolOff.
	BreakerFailures int
	BreakerCoolOff  time.Duration
	// SharedBudget and SharedCooldowns, when set, share each key's
	// per-minute budget, its 429 cooldowns and its rejections between
	// instances, so that together they never send a key more than its
	// budget and all respect its cooldown. Without them each instance keeps
	// its own.
	SharedBudget    ports.RateLimiter
	SharedCooldowns ports.CooldownStore
	// SharedSyncEvery is how often a request reads the cooldowns and
	// rejections other instances shared on a provider's keys: at most once
	// per interval per provider, not on every request (that read was a
	// shared-store round trip on every chat request). Until the next read
	// an instance may send a key another one saw cooling down, and meet the
	// 429 itself. What this instance meets applies here at once, and health
	// probes read the store every time. Default one second.
	SharedSyncEvery time.Duration
}

// DefaultSharedSyncEvery is how often requests read the shared key state by
// default.
const DefaultSharedSyncEvery = time.Second

// DefaultKeyRejectCoolOff is how long a refused key sits out by default.
const DefaultKeyRejectCoolOff = 10 * time.Minute

type provider struct {
	client      ports.ChatProvider
	images      ports.ImageGenerator
	transcriber ports.Transcriber
	speech      ports.SpeechSynthesizer
	keys        *keyPool
	breaker     *breaker
	keyNames    []string
	// sharedNames are the names of the keys' cooldowns, then of their
	// rejections, in the shared store: built once, read at most every
	// SharedSyncEvery.
	sharedNames []string
	// nextSync is when requests read the shared key state next (Unix
	// nanoseconds, by the router's clock).
	nextSync atomic.Int64
}

// Router routes completion requests along the tiers' chains.
type Router struct {
	cfg       Config
	providers map[domain.Provider]*provider
	clock     ports.Clock
	log       *slog.Logger

	mu sync.RWMutex
	// down holds the providers the health monitor last reported down.
	down map[domain.Provider]bool
}

// New builds a Router over the providers that have keys.
func New(cfg Config, clock ports.Clock, logger *slog.Logger) *Router {
	r := &Router{cfg: cfg, providers: map[domain.Provider]*provider{}, clock: clock, log: logger}
	if r.cfg.DefaultCooldown <= 0 {
		r.cfg.DefaultCooldown = 30 * time.Second
	}
	if r.cfg.KeyRejectCoolOff <= 0 {
		r.cfg.KeyRejectCoolOff = DefaultKeyRejectCoolOff
	}
	if r.cfg.SharedSyncEvery <= 0 {
		r.cfg.SharedSyncEvery = DefaultSharedSyncEvery
	}
	for _, p := range cfg.Providers {
		if p.Client.KeyCount() == 0 {
			continue
		}
		r.providers[p.Client.Name()] = &provider{
			client:      p.Client,
			images:      p.Images,
			transcriber: p.Transcriber,
			speech:      p.Speech,
			keys:        newKeyPool(p.Client.KeyCount(), p.RPMPerKey),
			breaker:     newBreaker(cfg.BreakerFailures, cfg.BreakerCoolOff),
			keyNames:    p.KeyNames,
		}
	}
	for name, p := range r.providers {
		n := p.client.KeyCount()
		p.sharedNames = make([]string, 0, 2*n)
		for i := range n {
			p.sharedNames = append(p.sharedNames, cooldownPrefix+r.keyName(name, i))
		}
		for i := range n {
			p.sharedNames = append(p.sharedNames, rejectedPrefix+r.keyName(name, i))
		}
	}
	return r
}

// Deadline is when a request that began at began runs out of time: a
// non-streaming answer must be complete by then, a stream must have begun.
func (r *Router) Deadline(began time.Time) time.Time { return began.Add(r.cfg.RequestTimeout) }

// SetDown replaces the set of providers the health monitor reports down:
// the router skips them like an open breaker (attempt reason
// provider_down), and the tier list counts them unavailable, so that
// routing agrees with the status report.
func (r *Router) SetDown(down []domain.Provider) {
	set := make(map[domain.Provider]bool, len(down))
	for _, p := range down {
		set[p] = true
	}
	r.mu.Lock()
	r.down = set
	r.mu.Unlock()
}

// isDown reports whether the monitor last reported the provider down.
func (r *Router) isDown(p domain.Provider) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.down[p]
}

// chain returns the configured routes of a tier.
// Chain is the tier's fallback chain over the configured providers, in
// order: what answers the tier (the response cache keys answers by it, so
// that a deploy that changes a tier's models never serves the old ones).
func (r *Router) Chain(t domain.Tier) []Route { return r.chain(t) }

func (r *Router) chain(t domain.Tier) []Route {
	var out []Route
	for _, route := range r.cfg.Chains[t] {
		if _, ok := r.providers[route.Provider]; ok {
			out = append(out, route)
		}
	}
	return out
}

// keyName names a provider key in shared stores (never the key itself).
func (r *Router) keyName(provider domain.Provider, key int) string {
	if p, ok := r.providers[provider]; ok && key < len(p.keyNames) {
		return p.keyNames[key]
	}
	return string(provider) + ":" + strconv.Itoa(key)
}
