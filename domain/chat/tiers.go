package chat

import "github.com/genzai/genzai/domain"

// TierInfo describes a tier to clients.
type TierInfo struct {
	Tier        domain.Tier
	Name        string
	Description string
	// Provider is the provider that would answer now (the first available
	// one of the chain), else the chain's first.
	Provider domain.Provider
	// Available is true when some provider of the chain has a usable key
	// and a breaker that is not open.
	Available bool
}

var tierText = map[domain.Tier][2]string{
	domain.TierFast:     {"Fast ⚡", "Quick responses, good for simple queries"},
	domain.TierBalanced: {"Balanced ⚖️", "Good balance of speed and quality"},
	domain.TierSmart:    {"Smart 🧠", "Best quality for complex reasoning"},
}

// Tiers describes every tier, in display order. down, when not nil, names
// providers the health monitor reports down: they count as unavailable, so
// that the tier list agrees with the status report.
func (s *Service) Tiers(down func(domain.Provider) bool) []TierInfo {
	now := s.clock.Now()
	out := make([]TierInfo, 0, len(domain.Tiers))
	for _, t := range domain.Tiers {
		info := TierInfo{Tier: t, Name: tierText[t][0], Description: tierText[t][1]}
		if routes := s.cfg.Chains[t]; len(routes) > 0 {
			info.Provider = routes[0].Provider
		}
		for _, r := range s.chain(t) {
			p := s.providers[r.Provider]
			if p.breaker.state(now) != BreakerOpen && p.keys.usable(now) && (down == nil || !down(r.Provider)) {
				info.Provider, info.Available = r.Provider, true
				break
			}
		}
		out = append(out, info)
	}
	return out
}

// ProviderStatus is the routing state of one configured provider.
type ProviderStatus struct {
	Provider domain.Provider
	Breaker  BreakerState
	Keys     []KeyStatus
}

// Providers reports each configured provider's breaker and keys.
func (s *Service) Providers() []ProviderStatus {
	now := s.clock.Now()
	var out []ProviderStatus
	for _, name := range []domain.Provider{domain.ProviderGroq, domain.ProviderOpenRouter, domain.ProviderHuggingFace, domain.ProviderMock} {
		if p, ok := s.providers[name]; ok {
			out = append(out, ProviderStatus{Provider: name, Breaker: p.breaker.state(now), Keys: p.keys.status(now)})
		}
	}
	return out
}

// BreakerOpen reports whether a provider's circuit breaker is open; false
// for providers that are not configured.
func (s *Service) BreakerOpen(name domain.Provider) bool {
	p, ok := s.providers[name]
	return ok && p.breaker.state(s.clock.Now()) == BreakerOpen
}

// ProbeKey picks a key for a health probe of a provider, rotating between
// calls; ok is false when no key is usable now, allRejected when none ever is.
// RejectKey takes key i of the provider out of rotation for good (until
// restart), as a 401 or 403 to a chat attempt does; the monitor calls it
// when a probe is refused. Unknown providers and indexes are ignored.
func (s *Service) RejectKey(name domain.Provider, i int) {
	if p, found := s.providers[name]; found && i >= 0 && i < p.client.KeyCount() {
		p.keys.reject(i)
	}
}

func (s *Service) ProbeKey(name domain.Provider) (key int, ok, allRejected bool) {
	p, found := s.providers[name]
	if !found {
		return 0, false, true
	}
	return p.keys.probeKey(s.clock.Now())
}
