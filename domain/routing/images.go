package routing

import (
	"context"
	"time"

	"github.com/genzai/genzai/domain"
)

// ImageRequest is what GenerateImages is asked for.
type ImageRequest struct {
	// Image is the request for the provider; GenerateImages fills in Model.
	Image domain.ImageRequest
	// Began is when the request arrived: its deadline counts from it.
	Began time.Time
}

// ImageChain is the image generation chain over the providers that are
// configured with keys and images, in order; empty when images are off.
func (r *Router) ImageChain() []Route {
	var out []Route
	for _, route := range r.cfg.ImageChain {
		if p, ok := r.providers[route.Provider]; ok && p.images != nil {
			out = append(out, route)
		}
	}
	return out
}

// GenerateImages walks the image chain (see deliver) until one provider
// delivers images whose bytes are what they claim to be
// (domain.CheckImage): a provider that answers something else fails like
// a 5xx and the next one is asked. Errors: as Open's.
func (r *Router) GenerateImages(ctx context.Context, req ImageRequest) ([]domain.Image, Trace, error) {
	return deliver(r, ctx, req.Began, r.ImageChain(), func(ctx context.Context, route Route, key int) ([]domain.Image, error) {
		ireq := req.Image
		ireq.Model = route.Model
		images, err := r.providers[route.Provider].images.GenerateImages(ctx, key, ireq)
		if err != nil {
			return nil, err
		}
		if len(images) == 0 {
			return nil, &domain.ProviderError{Provider: route.Provider, Class: domain.FailureRetryable, Reason: domain.ReasonBadResponse,
				Message: "answer holds no image"}
		}
		out := make([]domain.Image, 0, len(images))
		for _, img := range images {
			checked, err := domain.CheckImage(route.Provider, img)
			if err != nil {
				return nil, err
			}
			out = append(out, checked)
		}
		return out, nil
	})
}
