package routing_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/routing"
	"github.com/genzai/genzai/ports"
)

var pngBytes = []byte("\x89PNG\r\n\x1a\nrest")

// fakeImages answers each call with the next of its script: an error, or
// images; an empty script answers one PNG.
type fakeImages struct {
	name domain.Provider

	mu     sync.Mutex
	script []any
	calls  []domain.ImageRequest
	keys   []int
}

var _ ports.ImageGenerator = (*fakeImages)(nil)

func (f *fakeImages) Name() domain.Provider { return f.name }

func (f *fakeImages) GenerateImages(_ context.Context, key int, req domain.ImageRequest) ([]domain.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls, f.keys = append(f.calls, req), append(f.keys, key)
	var b any = []domain.Image{{Data: pngBytes, MIMEType: "image/png"}}
	if len(f.script) > 0 {
		b, f.script = f.script[0], f.script[1:]
	}
	if err, ok := b.(*domain.ProviderError); ok {
		pe := *err
		pe.Provider = f.name
		return nil, &pe
	}
	return b.([]domain.Image), nil
}

func imageRouter(clock ports.Clock, gens ...*fakeImages) *routing.Router {
	cfg := routing.Config{
		FirstTokenTimeout: 2 * time.Second, RequestTimeout: 5 * time.Second,
		BreakerFailures: 3, BreakerCoolOff: time.Minute,
	}
	for _, g := range gens {
		cfg.Providers = append(cfg.Providers, routing.ProviderConfig{Client: newFake(g.name, 2), Images: g})
		cfg.ImageChain = append(cfg.ImageChain, routing.Route{Provider: g.name, Model: string(g.name) + "-img"})
	}
	return routing.New(cfg, clock, slog.New(slog.DiscardHandler))
}

func generate(r *routing.Router) ([]domain.Image, routing.Trace, error) {
	return r.GenerateImages(context.Background(), routing.ImageRequest{
		Image: domain.ImageRequest{Prompt: "a cat", Width: 512, Height: 512, N: 1}, Began: time.Now(),
	})
}

func TestGenerateImagesFallsBackOnRateLimitsAndWrongBytes(t *testing.T) {
	t.Parallel()
	hf := &fakeImages{name: domain.ProviderHuggingFace, script: []any{
		rateLimited(30 * time.Second),
		[]domain.Image{{Data: []byte("<!DOCTYPE html>"), MIMEType: "image/png"}},
	}}
	or := &fakeImages{name: domain.ProviderOpenRouter}
	r := imageRouter(memory.NewClock(t0), hf, or)

	images, trace, err := generate(r)
	require.NoError(t, err)
	require.Len(t, images, 1)
	assert.Equal(t, domain.MIMETypePNG, images[0].MIMEType)
	assert.True(t, trace.Accepted())
	assert.Equal(t, domain.ProviderOpenRouter, trace.Provider)
	assert.Equal(t, "openrouter-img", trace.Model)
	require.Len(t, trace.Attempts, 2)
	assert.Equal(t, domain.ReasonRateLimited, trace.Attempts[0].Reason)
	assert.Equal(t, domain.ReasonBadResponse, trace.Attempts[1].Reason)
	assert.Equal(t, []int{0, 1}, hf.keys, "the second key after the first cooled down")
	assert.Equal(t, "huggingface-img", hf.calls[0].Model)
}

func TestGenerateImagesOnlyRateLimitedSaysWhenToRetry(t *testing.T) {
	t.Parallel()
	hf := &fakeImages{name: domain.ProviderHuggingFace, script: []any{rateLimited(20 * time.Second), rateLimited(40 * time.Second)}}
	r := imageRouter(memory.NewClock(t0), hf)

	_, trace, err := generate(r)
	var rl *domain.ProviderRateLimitedError
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, 20*time.Second, rl.RetryAfter)
	assert.False(t, trace.Accepted())
}

func TestGenerateImagesWithoutImageProvidersIsUnavailable(t *testing.T) {
	t.Parallel()
	r := routing.New(routing.Config{
		Providers:  []routing.ProviderConfig{{Client: newFake(domain.ProviderGroq, 1)}},
		ImageChain: []routing.Route{{Provider: domain.ProviderGroq, Model: "x"}},
	}, memory.NewClock(t0), slog.New(slog.DiscardHandler))
	assert.Empty(t, r.ImageChain())
	_, trace, err := generate(r)
	var pu *domain.ProvidersUnavailableError
	require.ErrorAs(t, err, &pu)
	assert.False(t, trace.Accepted())
}

func TestGenerateImagesOpensTheBreakerAfterRepeatedFailures(t *testing.T) {
	t.Parallel()
	hf := &fakeImages{name: domain.ProviderHuggingFace, script: []any{
		serverError(domain.ReasonServerError), serverError(domain.ReasonServerError), serverError(domain.ReasonServerError),
	}}
	r := imageRouter(memory.NewClock(t0), hf)
	for range 3 {
		_, _, err := generate(r)
		require.Error(t, err)
	}
	_, trace, err := generate(r)
	require.Error(t, err)
	require.Len(t, trace.Attempts, 1)
	assert.Equal(t, domain.ReasonCircuitOpen, trace.Attempts[0].Reason)
	assert.Len(t, hf.calls, 3)
}
