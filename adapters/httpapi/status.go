package httpapi

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/domain"
)

// GetStatus implements api.StrictServerInterface.
func (h *handlers) GetStatus(ctx context.Context, req api.GetStatusRequestObject) (api.GetStatusResponseObject, error) {
	window := ""
	if req.Params.Window != nil {
		window = string(*req.Params.Window)
	}
	report, err := h.s.deps.Status.Report(ctx, window)
	if err != nil {
		return nil, err
	}
	body := make([]api.ProviderHealth, 0, len(report.Providers))
	for _, p := range report.Providers {
		ph := api.ProviderHealth{
			Provider:    api.Provider(p.Provider),
			Status:      api.ProviderHealthStatus(p.Status),
			Serves:      h.serves(p.Provider, p.Status),
			Uptime:      p.Uptime,
			Window:      api.ProviderHealthWindow(p.Window),
			LastChecked: p.LastChecked,
			ErrorRate:   p.ErrorRate,
		}
		if p.LastChecked != nil {
			t := p.LastChecked.UTC().Truncate(time.Second)
			ph.LastChecked = &t
		}
		if p.Latency != nil {
			ms := int(p.Latency.Milliseconds())
			ph.LatencyMs = &ms
		}
		body = append(body, ph)
	}
	// The cache header matches what is left of the in-process cache entry.
	maxAge := int(math.Ceil(h.s.deps.Status.FreshFor(report).Seconds()))
	cc := fmt.Sprintf("public, max-age=%d", maxAge)
	return api.GetStatus200JSONResponse{Body: body, Headers: api.GetStatus200ResponseHeaders{CacheControl: &cc}}, nil
}

// serves lists the kinds of request a provider is in the chain of on this
// server: chat for every configured provider, image for those of the image
// chain while image generation is on, transcription and speech for those
// of the voice chains while voice is on.
func (h *handlers) serves(p domain.Provider, st domain.HealthStatus) []api.RequestKind {
	out := []api.RequestKind{}
	if st == domain.StatusUnconfigured {
		return out
	}
	out = append(out, api.RequestKindChat)
	if svc := h.s.deps.Images; svc != nil && svc.Enabled() && slices.Contains(svc.Providers(), p) {
		out = append(out, api.RequestKindImage)
	}
	if svc := h.s.deps.Voice; svc != nil {
		if slices.Contains(svc.TranscriptionProviders(), p) {
			out = append(out, api.RequestKindTranscription)
		}
		if slices.Contains(svc.SpeechProviders(), p) {
			out = append(out, api.RequestKindSpeech)
		}
	}
	return out
}
