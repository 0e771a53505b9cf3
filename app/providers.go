package app

import (
	"log/slog"
	"time"

	"github.com/genzai/genzai/adapters/groq"
	"github.com/genzai/genzai/adapters/huggingface"
	"github.com/genzai/genzai/adapters/mockprovider"
	"github.com/genzai/genzai/adapters/openaicompat"
	"github.com/genzai/genzai/adapters/openrouter"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/admission"
	"github.com/genzai/genzai/domain/chat"
	"github.com/genzai/genzai/domain/images"
	"github.com/genzai/genzai/domain/quota"
	"github.com/genzai/genzai/domain/routing"
	"github.com/genzai/genzai/domain/status"
	"github.com/genzai/genzai/domain/voice"
	"github.com/genzai/genzai/ports"
)

// routingConfig builds the router's configuration: the providers that have
// keys and the tiers' chains (routing.DefaultChains over the configured
// models). In development without any key, the mock provider answers every
// tier. The provider clients are returned too: the health monitor probes them.
func routingConfig(cfg Config, logger *slog.Logger) (routing.Config, []ports.ModelLister) {
	c := routing.Config{
		FirstTokenTimeout: cfg.FirstTokenTimeout,
		RequestTimeout:    cfg.RequestTimeout,
		DefaultCooldown:   cfg.ProviderCooldown,
		KeyRejectCoolOff:  cfg.ProviderKeyRejectCoolOff,
		BreakerFailures:   cfg.CircuitBreakerFailures,
		BreakerCoolOff:    cfg.CircuitBreakerCoolOff,
	}
	if cfg.UseMockProvider() {
		logger.Warn("no provider API keys configured: the mock provider answers every tier (development only)")
		c.Providers = []routing.ProviderConfig{{Client: mockprovider.New(cfg.MockProviderDelay)}}
		c.Chains = routing.MockChains()
		return c, nil
	}
	groqClient, orClient, hfClient := providerClients(cfg)
	c.Providers = []routing.ProviderConfig{
		{Client: groqClient, RPMPerKey: cfg.Groq.RPMPerKey, KeyNames: keyFingerprints(domain.ProviderGroq, cfg.Groq)},
		{Client: orClient, RPMPerKey: cfg.OpenRouter.RPMPerKey, KeyNames: keyFingerprints(domain.ProviderOpenRouter, cfg.OpenRouter)},
		{Client: hfClient, RPMPerKey: cfg.HuggingFace.RPMPerKey, KeyNames: keyFingerprints(domain.ProviderHuggingFace, cfg.HuggingFace)},
	}
	if cfg.Images.Enabled {
		// Images go over the chat clients' keys, so that one key's budget,
		// cooldowns and breaker count both kinds of request.
		c.Providers[1].Images = openrouter.NewImages(orClient)
		c.Providers[2].Images = huggingface.NewImages(hfClient, cfg.Images.HuggingFaceInferenceURL)
		c.ImageChain = imageChain(cfg.Images)
	}
	if cfg.Voice.Enabled {
		// Voice too goes over the chat client's keys.
		v := groq.NewVoice(groqClient)
		c.Providers[0].Transcriber, c.Providers[0].Speech = v, v
		c.TranscriptionChain, c.SpeechChain = voiceChains(cfg.Voice)
	}
	c.Chains = routing.DefaultChains(routing.Models{
		GroqFast: cfg.GroqFastModel, GroqBalanced: cfg.GroqBalancedModel,
		OpenRouterBalanced: cfg.OpenRouterBalancedModel, OpenRouterSmart: cfg.OpenRouterSmartModel,
		HuggingFace: cfg.HuggingFaceModel,
	})
	for _, p := range []struct {
		name domain.Provider
		cfg  ProviderConfig
	}{{domain.ProviderGroq, cfg.Groq}, {domain.ProviderOpenRouter, cfg.OpenRouter}, {domain.ProviderHuggingFace, cfg.HuggingFace}} {
		if !p.cfg.Configured() {
			logger.Warn("provider has no API keys: skipped in every chain", "provider", p.name)
		}
	}
	return c, []ports.ModelLister{groqClient, orClient, hfClient}
}

// imageChain is IMAGE_PROVIDERS with each provider's image model.
func imageChain(cfg ImagesConfig) []routing.Route {
	models := map[domain.Provider]string{
		domain.ProviderHuggingFace: cfg.HuggingFaceModel,
		domain.ProviderOpenRouter:  cfg.OpenRouterModel,
	}
	out := make([]routing.Route, 0, len(cfg.Providers))
	for _, p := range cfg.Providers {
		out = append(out, routing.Route{Provider: p, Model: models[p]})
	}
	return out
}

// voiceChains are VOICE_PROVIDERS with each provider's transcription and
// speech model.
func voiceChains(cfg VoiceConfig) (transcription, speech []routing.Route) {
	models := map[domain.Provider][2]string{
		domain.ProviderGroq: {cfg.GroqTranscriptionModel, cfg.GroqSpeechModel},
	}
	for _, p := range cfg.Providers {
		transcription = append(transcription, routing.Route{Provider: p, Model: models[p][0]})
		speech = append(speech, routing.Route{Provider: p, Model: models[p][1]})
	}
	return transcription, speech
}

// core is the router and the use cases over it.
type core struct {
	chat   *chat.Service
	status *status.Service
	images *images.Service
	voice  *voice.Service
	// router is returned for the admin use case, which reads its snapshot.
	router *routing.Router
}

// chatCore builds the provider router, the chat, image and voice use cases
// over it, and the health monitor, which reads the router's breakers and
// keys and pushes each report's verdicts into it: the router never calls
// the monitor, so nothing here is wired in a cycle.
func chatCore(cfg Config, obs *observability, lim limits, db *Database, searchSvc chat.WebSearcher, quotaSvc *quota.Service,
	convs chat.Conversations, requests ports.RequestLog, clk ports.Clock, logger *slog.Logger) core {
	routeCfg, probeTargets := routingConfig(cfg, logger)
	obs.providers(routeCfg.Providers)
	if lim.shared {
		routeCfg.SharedBudget, routeCfg.SharedCooldowns = lim.limiter, lim.cooldowns
	}
	router := routing.New(routeCfg, clk, logger)
	obs.watchRouter(router)
	// Requests without a deadline of their own (streams) renew their slot
	// every third of this; a crashed instance's slots come back after it.
	slotTTL := max(2*cfg.RequestTimeout, time.Minute)
	chatCfg := chat.Config{Limits: chat.DefaultLimits, Search: searchSvc, Conversations: convs,
		Concurrency: lim.concurrency, MaxConcurrentPerUser: cfg.MaxConcurrentPerUser, LeaseTTL: slotTTL,
		Cache: responseCache(cfg, obs, lim, clk, logger), CacheTTL: cfg.CacheTTL, CacheScope: cfg.CacheScope}
	chatCfg.Limits.MaxPromptChars = cfg.MaxPromptChars
	chatSvc := chat.New(chatCfg, router, quotaSvc, requests, clk, logger)
	// Every kind of request takes its slot under the same limiter and key
	// as chat's, so that MAX_CONCURRENT_REQUESTS_PER_USER bounds them together.
	gate := admission.New(lim.concurrency, cfg.MaxConcurrentPerUser, slotTTL, logger)
	imagesSvc := images.New(images.Config{Enabled: cfg.Images.Enabled, Cost: cfg.Images.QuotaCost, Admission: gate}, router, quotaSvc, requests, clk)
	voiceSvc := voice.New(voice.Config{Enabled: cfg.Voice.Enabled, MaxAudioBytes: cfg.Voice.MaxAudioBytes,
		MaxSpeechChars: cfg.Voice.MaxSpeechChars, Voices: cfg.Voice.GroqSpeechVoices,
		// A transcription is bounded by the request timeout: its slot
		// needs no renewal.
		Concurrency: lim.concurrency, MaxConcurrentPerUser: cfg.MaxConcurrentPerUser, LeaseTTL: max(2*cfg.RequestTimeout, time.Minute),
		Admission: gate},
		router, quotaSvc, requests, clk)
	statusSvc := status.New(status.Config{
		Interval:          cfg.ProviderCheckInterval,
		ProbeTimeout:      cfg.ProviderCheckTimeout,
		DegradedLatency:   cfg.ProviderDegradedLatency,
		DegradedErrorRate: cfg.ProviderDegradedErrRate,
		MinTraffic:        5,
		TrafficWindow:     5 * time.Minute,
		Retention:         cfg.ProviderCheckRetention,
		CacheTTL:          cfg.StatusCacheTTL,
	}, db, probeTargets, router, clk, logger)
	return core{chat: chatSvc, status: statusSvc, images: imagesSvc, voice: voiceSvc, router: router}
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
