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

// Tiers describes every tier, in display order.
func (s *Service) Tiers() []TierInfo {
	now := s.clock.Now()
	out := make([]TierInfo, 0, len(domain.Tiers))
	for _, t := range domain.Tiers {
		info := TierInfo{Tier: t, Name: tierText[t][0], Description: tierText[t][1]}
		if routes := s.cfg.Chains[t]; len(routes) > 0 {
			info.Provider = routes[0].Provider
		}
		for _, r := range s.chain(t) {
			p := s.providers[r.Provider]
			if p.breaker.state(now) != BreakerOpen && p.keys.usable(now) {
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
