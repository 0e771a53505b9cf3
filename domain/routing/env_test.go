package routing_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/routing"
)

// The test chains, as routing.DefaultChains defines them.
func testChains() map[domain.Tier][]routing.Route {
	return routing.DefaultChains(routing.Models{GroqFast: "groq-fast-model", GroqBalanced: "groq-big-model",
		OpenRouterBalanced: "or-balanced-model", OpenRouterSmart: "or-smart-model", HuggingFace: "hf-model"})
}

// envConfig is what newEnv builds a Router from.
type envConfig struct {
	keys map[domain.Provider]int // keys per provider, default 1; 0 = unconfigured
	cfg  routing.Config          // Providers is filled in by newEnv
}

// env is a Router over scripted fakes and a fake clock.
type env struct {
	router *routing.Router
	clock  *memory.Clock
	groq   *fakeProvider
	or     *fakeProvider
	hf     *fakeProvider
}

func newEnv(t *testing.T, opts ...func(*envConfig)) *env {
	t.Helper()
	ec := envConfig{
		keys: map[domain.Provider]int{domain.ProviderGroq: 1, domain.ProviderOpenRouter: 1, domain.ProviderHuggingFace: 1},
		cfg: routing.Config{
			Chains:            testChains(),
			FirstTokenTimeout: 2 * time.Second,
			RequestTimeout:    5 * time.Second,
			BreakerFailures:   3,
			BreakerCoolOff:    time.Minute,
		},
	}
	for _, o := range opts {
		o(&ec)
	}
	e := &env{clock: memory.NewClock(t0)}
	e.groq = newFake(domain.ProviderGroq, ec.keys[domain.ProviderGroq])
	e.or = newFake(domain.ProviderOpenRouter, ec.keys[domain.ProviderOpenRouter])
	e.hf = newFake(domain.ProviderHuggingFace, ec.keys[domain.ProviderHuggingFace])
	cfg := ec.cfg
	for _, f := range []*fakeProvider{e.groq, e.or, e.hf} {
		cfg.Providers = append(cfg.Providers, routing.ProviderConfig{Client: f})
	}
	e.router = routing.New(cfg, e.clock, slog.New(slog.DiscardHandler))
	return e
}

func withKeys(p domain.Provider, n int) func(*envConfig) {
	return func(ec *envConfig) { ec.keys[p] = n }
}

func withConfig(change func(*routing.Config)) func(*envConfig) {
	return func(ec *envConfig) { change(&ec.cfg) }
}

// withRejectionForGood makes a rejected key sit out longer than any test
// runs, as rejections did before they got a cool-off.
func withRejectionForGood() func(*envConfig) {
	return func(ec *envConfig) { ec.cfg.KeyRejectCoolOff = 100 * 365 * 24 * time.Hour }
}

// chat opens a streamed answer of the tier and reads it to the end; it
// returns the provider that answered.
func (e *env) chat(tier domain.Tier) (domain.Provider, error) {
	return answer(e.router, tier)
}

func answer(r *routing.Router, tier domain.Tier) (domain.Provider, error) {
	a, _, err := r.Open(context.Background(), routing.Request{Tier: tier, Stream: true, Began: time.Now()})
	if err != nil {
		return "", err
	}
	defer a.Close()
	for {
		if _, err := a.Next(); errors.Is(err, io.EOF) {
			return a.Provider, nil
		} else if err != nil {
			return "", err
		}
	}
}
