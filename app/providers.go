package app

import (
	"log/slog"

	"github.com/genzai/genzai/adapters/groq"
	"github.com/genzai/genzai/adapters/huggingface"
	"github.com/genzai/genzai/adapters/mockprovider"
	"github.com/genzai/genzai/adapters/openaicompat"
	"github.com/genzai/genzai/adapters/openrouter"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/chat"
	"github.com/genzai/genzai/ports"
)

// chatConfig builds the routing configuration: the providers that have keys
// and the tiers' chains, as the original backend defined them. In
// development without any key, the mock provider answers every tier.
// The provider clients are returned too: the health monitor probes them.
func chatConfig(cfg Config, logger *slog.Logger) (chat.Config, []ports.ModelLister) {
	c := chat.Config{
		FirstTokenTimeout: cfg.FirstTokenTimeout,
		RequestTimeout:    cfg.RequestTimeout,
		DefaultCooldown:   cfg.ProviderCooldown,
		BreakerFailures:   cfg.CircuitBreakerFailures,
		BreakerCoolOff:    cfg.CircuitBreakerCoolOff,
		Limits:            chat.DefaultLimits,
	}
	c.Limits.MaxPromptChars = cfg.MaxPromptChars
	if cfg.UseMockProvider() {
		logger.Warn("no provider API keys configured: the mock provider answers every tier (development only)")
		c.Providers = []chat.ProviderConfig{{Client: mockprovider.New(cfg.MockProviderDelay)}}
		c.Chains = map[domain.Tier][]chat.Route{}
		for _, t := range domain.Tiers {
			c.Chains[t] = []chat.Route{{Provider: domain.ProviderMock, Model: "mock-" + string(t)}}
		}
		return c, nil
	}
	groqClient, orClient, hfClient := providerClients(cfg)
	c.Providers = []chat.ProviderConfig{
		{Client: groqClient, RPMPerKey: cfg.Groq.RPMPerKey},
		{Client: orClient, RPMPerKey: cfg.OpenRouter.RPMPerKey},
		{Client: hfClient, RPMPerKey: cfg.HuggingFace.RPMPerKey},
	}
	groqFast := chat.Route{Provider: domain.ProviderGroq, Model: cfg.GroqFastModel}
	groqBig := chat.Route{Provider: domain.ProviderGroq, Model: cfg.GroqBalancedModel}
	orBalanced := chat.Route{Provider: domain.ProviderOpenRouter, Model: cfg.OpenRouterBalancedModel}
	orSmart := chat.Route{Provider: domain.ProviderOpenRouter, Model: cfg.OpenRouterSmartModel}
	hf := chat.Route{Provider: domain.ProviderHuggingFace, Model: cfg.HuggingFaceModel}
	c.Chains = map[domain.Tier][]chat.Route{
		domain.TierFast:     {groqFast},
		domain.TierBalanced: {groqBig, orBalanced, hf},
		domain.TierSmart:    {orSmart, groqBig, hf},
	}
	for _, p := range []struct {
		name string
		cfg  ProviderConfig
	}{{"groq", cfg.Groq}, {"openrouter", cfg.OpenRouter}, {"huggingface", cfg.HuggingFace}} {
		if !p.cfg.Configured() {
			logger.Warn("provider has no API keys: skipped in every chain", "provider", p.name)
		}
	}
	return c, []ports.ModelLister{groqClient, orClient, hfClient}
}

func providerClients(cfg Config) (groqClient, orClient, hfClient *openaicompat.Client) {
	// A transport per provider: each keeps its own warm connections (HTTP/2
	// where the upstream offers it), so one provider's burst or slowness
	// never takes another's idle connections.
	groqClient = groq.New(groq.Config{BaseURL: cfg.Groq.BaseURL, Keys: cfg.Groq.RevealKeys(), HTTPClient: openaicompat.NewHTTPClient()})
	orClient = openrouter.New(openrouter.Config{BaseURL: cfg.OpenRouter.BaseURL, Keys: cfg.OpenRouter.RevealKeys(),
		HTTPClient: openaicompat.NewHTTPClient(), Referer: cfg.RenderExternalURL})
	hfClient = huggingface.New(huggingface.Config{BaseURL: cfg.HuggingFace.BaseURL, Keys: cfg.HuggingFace.RevealKeys(), HTTPClient: openaicompat.NewHTTPClient()})
	return groqClient, orClient, hfClient
}

// ProbeTargets are the provider clients the zero-token probe can check,
// in the order groq, openrouter, huggingface (those without keys included:
// KeyCount tells).
func ProbeTargets(cfg Config) []ports.ModelLister {
	g, o, h := providerClients(cfg)
	return []ports.ModelLister{g, o, h}
}
