package routing

import (
	"time"

	"github.com/genzai/genzai/domain"
)

// Models are the upstream models the default chains run.
type Models struct {
	GroqFast           string
	GroqBalanced       string
	OpenRouterBalanced string
	OpenRouterSmart    string
	HuggingFace        string
}

// DefaultChains are the tiers' fallback orders, as the original backend
// defined them: fast is Groq's small model alone; balanced prefers Groq's
// big model, then OpenRouter, then Hugging Face; smart prefers OpenRouter's
// best, then Groq's big model, then Hugging Face.
func DefaultChains(m Models) map[domain.Tier][]Route {
	groqFast := Route{Provider: domain.ProviderGroq, Model: m.GroqFast}
	groqBig := Route{Provider: domain.ProviderGroq, Model: m.GroqBalanced}
	orBalanced := Route{Provider: domain.ProviderOpenRouter, Model: m.OpenRouterBalanced}
	orSmart := Route{Provider: domain.ProviderOpenRouter, Model: m.OpenRouterSmart}
	hf := Route{Provider: domain.ProviderHuggingFace, Model: m.HuggingFace}
	return map[domain.Tier][]Route{
		domain.TierFast:     {groqFast},
		domain.TierBalanced: {groqBig, orBalanced, hf},
		domain.TierSmart:    {orSmart, groqBig, hf},
	}
}

// MockChains send every tier to the development mock provider, model
// "mock-<tier>".
func MockChains() map[domain.Tier][]Route {
	c := map[domain.Tier][]Route{}
	for _, t := range domain.Tiers {
		c[t] = []Route{{Provider: domain.ProviderMock, Model: "mock-" + string(t)}}
	}
	return c
}

// TierInfo describes a tier to clients.
type TierInfo struct {
	Tier        domain.Tier
	Name        string
	Description string
	// Provider is the provider that would answer now (the first available
	// one of the chain), else the chain's first.
	Provider domain.Provider
	// Available is true when some provider of the chain has a usable key,
	// a breaker that is not open and is not reported down.
	Available bool
}

var tierText = map[domain.Tier][2]string{
	domain.TierFast:     {"Fast ⚡", "Quick responses, good for simple queries"},
	domain.TierBalanced: {"Balanced ⚖️", "Good balance of speed and quality"},
	domain.TierSmart:    {"Smart 🧠", "Best quality for complex reasoning"},
}

// Tiers describes every tier, in display order. Providers the health
// monitor reports down (SetDown) count as unavailable, so that the tier
// list agrees with the status report.
func (r *Router) Tiers() []TierInfo {
	now := r.clock.Now()
	out := make([]TierInfo, 0, len(domain.Tiers))
	for _, t := range domain.Tiers {
		info := TierInfo{Tier: t, Name: tierText[t][0], Description: tierText[t][1]}
		if routes := r.cfg.Chains[t]; len(routes) > 0 {
			info.Provider = routes[0].Provider
		}
		for _, route := range r.chain(t) {
			if r.usable(route.Provider, now) {
				info.Provider, info.Available = route.Provider, true
				break
			}
		}
		out = append(out, info)
	}
	return out
}

// usable reports whether a configured provider can be tried now: a usable
// key, a breaker that is not open, and not reported down.
func (r *Router) usable(name domain.Provider, now time.Time) bool {
	p := r.providers[name]
	return p.breaker.state(now) != BreakerOpen && p.keys.usable(now) && !r.isDown(name)
}
