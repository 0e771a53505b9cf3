package app

import (
	"fmt"
	"strings"

	"github.com/genzai/genzai/domain"
)

// FeatureGaps lists, one line each, what keeps an optional feature that is
// turned on (ENABLE_IMAGE_GENERATION, ENABLE_VOICE) from being served as
// configured: no provider of its chain has API keys (nothing serves it, and
// /api/v1/models says it is off), or some of them have none (skipped in its
// chain). genzai doctor prints them as warnings.
func (c Config) FeatureGaps() []string {
	var out []string
	check := func(enable, feature, chainVar string, chain []domain.Provider) {
		var missing []string
		for _, p := range chain {
			if pc, keysVar := c.providerKeys(p); !pc.Configured() {
				missing = append(missing, fmt.Sprintf("%s (%s)", p, keysVar))
			}
		}
		switch {
		case len(missing) == 0:
		case len(missing) == len(chain):
			out = append(out, fmt.Sprintf("%s=true but no provider of %s has API keys: %s stays off until one of %s is set",
				enable, chainVar, feature, strings.Join(missing, ", ")))
		default:
			out = append(out, fmt.Sprintf("%s=true but %s of %s has no API keys: skipped in the %s chain",
				enable, strings.Join(missing, ", "), chainVar, feature))
		}
	}
	if c.Images.Enabled {
		check("ENABLE_IMAGE_GENERATION", "image generation", "IMAGE_PROVIDERS", c.Images.Providers)
	}
	if c.Voice.Enabled {
		check("ENABLE_VOICE", "voice", "VOICE_PROVIDERS", c.Voice.Providers)
	}
	return out
}

// providerKeys is a provider's configuration and the variable of its keys.
func (c Config) providerKeys(p domain.Provider) (ProviderConfig, string) {
	switch p {
	case domain.ProviderGroq:
		return c.Groq, "GROQ_API_KEYS"
	case domain.ProviderOpenRouter:
		return c.OpenRouter, "OPENROUTER_API_KEYS"
	case domain.ProviderHuggingFace:
		return c.HuggingFace, "HUGGINGFACE_API_KEY"
	}
	return ProviderConfig{}, "?"
}
