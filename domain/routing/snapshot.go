package routing

import (
	"context"

	"github.com/genzai/genzai/domain"
)

// ProviderStatus is the routing state of one configured provider.
type ProviderStatus struct {
	Provider domain.Provider
	Breaker  BreakerState
	// Down is true while the health monitor reports the provider down.
	Down bool
	Keys []KeyStatus
}

// Snapshot is a read-only view of the router for observers.
type Snapshot struct {
	// Providers are the configured providers, in domain.Providers order.
	Providers []ProviderStatus
	// Tiers are the tiers as clients see them (see Tiers).
	Tiers []TierInfo
}

// Snapshot reports the providers' breakers, keys and health, and the tiers.
func (r *Router) Snapshot() Snapshot {
	return Snapshot{Providers: r.Providers(), Tiers: r.Tiers()}
}

// Providers reports each configured provider's breaker and keys.
func (r *Router) Providers() []ProviderStatus {
	now := r.clock.Now()
	var out []ProviderStatus
	for _, name := range domain.Providers {
		if p, ok := r.providers[name]; ok {
			out = append(out, ProviderStatus{Provider: name, Breaker: p.breaker.state(now), Down: r.isDown(name), Keys: p.keys.status(now)})
		}
	}
	return out
}

// BreakerOpen reports whether a provider's circuit breaker is open; false
// for providers that are not configured.
func (r *Router) BreakerOpen(name domain.Provider) bool {
	p, ok := r.providers[name]
	return ok && p.breaker.state(r.clock.Now()) == BreakerOpen
}

// ProbeKey picks a key for a health probe of a provider, rotating between
// calls; ok is false when no key is usable now, allRejected when every key
// sits out a rejection. Rejections other instances shared count.
func (r *Router) ProbeKey(ctx context.Context, name domain.Provider) (key int, ok, allRejected bool) {
	p, found := r.providers[name]
	if !found {
		return 0, false, true
	}
	r.syncShared(ctx, name, p)
	return p.keys.probeKey(r.clock.Now())
}

// RejectKey keeps key i of the provider out of rotation for the rejection
// cool-off, on every instance, as a 401, 402 or 403 to a chat attempt does;
// the monitor calls it when a probe is refused. refusedAgain reports that
// the key had been refused before, as had every other key of the provider:
// its keys came back from their cool-offs only to be refused again. Unknown
// providers and indexes are ignored.
func (r *Router) RejectKey(ctx context.Context, name domain.Provider, i int) (refusedAgain bool) {
	p, found := r.providers[name]
	if !found || i < 0 || i >= p.client.KeyCount() {
		return false
	}
	return r.rejectProbed(ctx, name, p, i)
}
