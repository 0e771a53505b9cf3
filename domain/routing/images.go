package routing

import (
	"context"
	"errors"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// ImageRequest is what GenerateImages is asked for.
type ImageRequest struct {
	// Image is the request for the provider; GenerateImages fills in Model.
	Image domain.ImageRequest
	// Began is when the request arrived: its deadline counts from it.
	Began time.Time
}

// errImageTimeout cuts an image attempt that would leave no time for the
// next provider.
var errImageTimeout = errors.New("no image in time")

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

// ImageModel describes one model of the image chain to clients.
type ImageModel struct {
	Provider domain.Provider
	Model    string
	// Available is true when the provider can be tried now, as for a
	// tier (TierInfo.Available).
	Available bool
}

// ImageModels describes the image chain's models (ImageChain), in order.
func (r *Router) ImageModels() []ImageModel {
	now := r.clock.Now()
	chain := r.ImageChain()
	out := make([]ImageModel, 0, len(chain))
	for _, route := range chain {
		out = append(out, ImageModel{Provider: route.Provider, Model: route.Model, Available: r.usable(route.Provider, now)})
	}
	return out
}

// GenerateImages walks the image chain with the chat's keys, rotation,
// cooldowns, shared budgets and breakers, until one provider delivers
// images whose bytes are what they claim to be (domain.CheckImage): a
// provider that answers something else fails like a 5xx and the next one
// is asked. The whole request is bounded by RequestTimeout from Began, and
// each attempt leaves time for a fallback as a whole chat answer does. The
// trace names the provider only when one delivered (Trace.Accepted: then,
// only then, the request is charged). Errors: as Open's.
func (r *Router) GenerateImages(ctx context.Context, req ImageRequest) ([]domain.Image, Trace, error) {
	o := &opening{r: r, req: Request{Began: req.Began}, parent: ctx, deadline: r.Deadline(req.Began), onlyRateLimited: true}
	o.ctx, o.cancel = context.WithDeadline(ctx, o.deadline)
	defer o.cancel()
	for _, route := range r.ImageChain() {
		ireq := req.Image
		ireq.Model = route.Model
		gen := r.providers[route.Provider].images
		var images []domain.Image
		done, err := o.tryProvider(route, func(p *provider, key int, ttft time.Duration) (err error) {
			images, err = o.generate(p, gen, route, key, ireq, ttft)
			return err
		})
		if images != nil {
			return images, o.trace, nil
		}
		if done {
			return nil, o.trace, err
		}
	}
	return nil, o.trace, r.failure(o.trace.Attempts, o.onlyRateLimited)
}

// generate asks one provider with one key for images, bounded by ttft (0:
// by o.ctx alone), and checks what it delivered.
func (o *opening) generate(p *provider, gen ports.ImageGenerator, route Route, key int, req domain.ImageRequest, ttft time.Duration) ([]domain.Image, error) {
	actx, cancel := context.WithCancelCause(o.ctx)
	defer cancel(nil)
	if ttft > 0 {
		t := time.AfterFunc(ttft, func() { cancel(errImageTimeout) })
		defer t.Stop()
	}
	images, err := gen.GenerateImages(actx, key, req)
	if err != nil {
		if o.ctx.Err() == nil && errors.Is(context.Cause(actx), errImageTimeout) {
			return nil, &domain.ProviderError{Provider: route.Provider, Class: domain.FailureRetryable, Reason: domain.ReasonTimeout, Err: err}
		}
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
	p.breaker.success()
	k := key
	o.trace.Provider, o.trace.Model, o.trace.KeyIndex = route.Provider, route.Model, &k
	return out, nil
}
