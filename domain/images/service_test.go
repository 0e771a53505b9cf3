package images_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/admission"
	"github.com/genzai/genzai/domain/images"
	"github.com/genzai/genzai/domain/quota"
	"github.com/genzai/genzai/domain/routing"
	"github.com/genzai/genzai/ports"
)

var noon = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// generator answers with err, else one PNG. With entered set, it says
// when a request arrived and waits for hold to close before answering.
type generator struct {
	err     error
	panics  bool
	reqs    []domain.ImageRequest
	entered chan struct{}
	hold    chan struct{}
}

func (g *generator) Name() domain.Provider { return domain.ProviderHuggingFace }

func (g *generator) GenerateImages(_ context.Context, _ int, req domain.ImageRequest) ([]domain.Image, error) {
	g.reqs = append(g.reqs, req)
	if g.entered != nil {
		g.entered <- struct{}{}
		<-g.hold
	}
	if g.panics {
		panic("generator bug")
	}
	if g.err != nil {
		return nil, g.err
	}
	return []domain.Image{{Data: []byte("\x89PNG\r\n\x1a\n..."), MIMEType: "image/png"}}, nil
}

// chatOnly is a provider with one key and no chat.
type chatOnly struct{}

func (chatOnly) Name() domain.Provider { return domain.ProviderHuggingFace }
func (chatOnly) KeyCount() int         { return 1 }
func (chatOnly) StreamChat(context.Context, int, domain.CompletionRequest) (ports.ChatStream, error) {
	return nil, &domain.ProviderError{Class: domain.FailureRetryable, Reason: domain.ReasonServerError}
}

type fixture struct {
	svc   *images.Service
	gen   *generator
	quota *quota.Service
	log   *memory.RequestLog
	user  domain.User
}

func newFixture(t *testing.T, enabled bool) fixture {
	t.Helper()
	return newFixtureConfig(t, images.Config{Enabled: enabled})
}

func newFixtureConfig(t *testing.T, cfg images.Config) fixture {
	t.Helper()
	store, clock := memory.NewStore(), memory.NewClock(noon)
	u, err := store.CreateUser(t.Context(), domain.NewUser{Email: "i@example.com"})
	require.NoError(t, err)
	gen := &generator{}
	r := routing.New(routing.Config{
		Providers:      []routing.ProviderConfig{{Client: chatOnly{}, Images: gen}},
		ImageChain:     []routing.Route{{Provider: domain.ProviderHuggingFace, Model: "flux"}},
		RequestTimeout: 5 * time.Second, FirstTokenTimeout: time.Second,
	}, clock, slog.New(slog.DiscardHandler))
	q := quota.New(store, clock, 12)
	log := memory.NewRequestLog()
	return fixture{svc: images.New(cfg, r, q, log, clock), gen: gen, quota: q, log: log, user: u}
}

func (f fixture) used(t *testing.T) int {
	t.Helper()
	st, err := f.quota.Status(t.Context(), f.user)
	require.NoError(t, err)
	return st.Used
}

func TestGenerateTakesTheCostAndRecordsTheKind(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	assert.True(t, f.svc.Enabled())
	res, err := f.svc.Generate(t.Context(), f.user, images.Request{Prompt: "a cat", Size: "512x768", N: 1, API: domain.APIOpenAI, RequestID: "r1"})
	require.NoError(t, err)
	require.Len(t, res.Images, 1)
	assert.Equal(t, domain.MIMETypePNG, res.Images[0].MIMEType)
	assert.Equal(t, domain.ProviderHuggingFace, res.Provider)
	assert.Equal(t, "flux", res.Model)
	assert.Equal(t, 5, f.used(t))
	assert.Equal(t, domain.ImageRequest{Prompt: "a cat", Model: "flux", Width: 512, Height: 768, N: 1}, f.gen.reqs[0])

	recs := f.log.Records()
	require.Len(t, recs, 1)
	assert.Equal(t, domain.RequestKindImage, recs[0].Kind)
	assert.Equal(t, domain.OutcomeSuccess, recs[0].Outcome)
	assert.Equal(t, domain.APIOpenAI, recs[0].API)
	assert.Equal(t, "r1", recs[0].RequestID)
}

func TestGenerateRefundsWhenNoProviderDelivered(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	f.gen.err = &domain.ProviderError{Provider: domain.ProviderHuggingFace, Class: domain.FailureRetryable, Reason: domain.ReasonServerError, Status: 503}
	_, err := f.svc.Generate(t.Context(), f.user, images.Request{Prompt: "a cat"})
	var pu *domain.ProvidersUnavailableError
	require.ErrorAs(t, err, &pu)
	assert.Equal(t, 0, f.used(t))
	assert.Equal(t, domain.OutcomeError, f.log.Records()[0].Outcome)
}

func TestGenerateRefusals(t *testing.T) {
	t.Parallel()
	long := make([]byte, images.DefaultMaxPromptChars+1)
	for i := range long {
		long[i] = 'a'
	}
	tests := []struct {
		name  string
		req   images.Request
		field string
	}{
		{"empty prompt", images.Request{Prompt: "  "}, "prompt"},
		{"prompt too long", images.Request{Prompt: string(long)}, "prompt"},
		{"control characters", images.Request{Prompt: "a\x1b[2Jb"}, "prompt"},
		{"too many", images.Request{Prompt: "a", N: 5}, "n"},
		{"negative", images.Request{Prompt: "a", N: -1}, "n"},
		{"size words", images.Request{Prompt: "a", Size: "large"}, "size"},
		{"size too big", images.Request{Prompt: "a", Size: "4096x4096"}, "size"},
		{"size odd", images.Request{Prompt: "a", Size: "1000x1001"}, "size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, true)
			_, err := f.svc.Generate(t.Context(), f.user, tt.req)
			assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
			assert.Equal(t, tt.field, domain.ErrorField(err))
			assert.Equal(t, 0, f.used(t))
		})
	}
}

func TestGenerateOverTheQuota(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	for range 2 {
		_, err := f.svc.Generate(t.Context(), f.user, images.Request{Prompt: "a"})
		require.NoError(t, err)
	}
	_, err := f.svc.Generate(t.Context(), f.user, images.Request{Prompt: "a"})
	var qe *domain.QuotaExceededError
	require.ErrorAs(t, err, &qe)
	assert.Positive(t, domain.RetryAfter(err))
	assert.Equal(t, 10, f.used(t))
	assert.Len(t, f.gen.reqs, 2)
}

func TestGenerateDisabled(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	assert.False(t, f.svc.Enabled())
	_, err := f.svc.Generate(t.Context(), f.user, images.Request{Prompt: "a"})
	assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
	assert.Contains(t, domain.ErrorMessage(err), "ENABLE_IMAGE_GENERATION=true")
	assert.Empty(t, f.log.Records(), "a route that is off logs nothing")
}

func TestGenerateTakesARequestSlot(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	lim := memory.NewConcurrencyLimiter(memory.NewClock(noon))
	f := newFixtureConfig(t, images.Config{Enabled: true,
		Admission: admission.New(lim, 1, time.Minute, slog.New(slog.DiscardHandler))})
	key := "user:" + string(f.user.ID)
	free := func(t *testing.T) bool {
		t.Helper()
		lease, ok, err := lim.Acquire(ctx, key, 1, time.Minute)
		require.NoError(t, err)
		if ok {
			require.NoError(t, lim.Release(ctx, key, lease))
		}
		return ok
	}

	// While one request generates, the user's only slot is taken.
	f.gen.entered, f.gen.hold = make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := f.svc.Generate(ctx, f.user, images.Request{Prompt: "first"})
		done <- err
	}()
	<-f.gen.entered
	assert.False(t, free(t), "the slot is held while the provider works")
	_, err := f.svc.Generate(ctx, f.user, images.Request{Prompt: "second"})
	assert.Equal(t, domain.CodeRateLimited, domain.ErrorCode(err))
	assert.Positive(t, domain.RetryAfter(err))
	close(f.gen.hold)
	require.NoError(t, <-done)
	assert.Len(t, f.gen.reqs, 1, "the refused request never reached a provider")
	assert.Equal(t, 5, f.used(t), "the refused request took no quota")
	assert.True(t, free(t), "given back at the end")

	// A request that fails gives its slot back too.
	f.gen.entered, f.gen.hold = nil, nil
	f.gen.err = &domain.ProviderError{Provider: domain.ProviderHuggingFace, Class: domain.FailureRetryable, Reason: domain.ReasonServerError, Status: 503}
	_, err = f.svc.Generate(ctx, f.user, images.Request{Prompt: "third"})
	require.Error(t, err)
	assert.True(t, free(t), "given back after a failure")
}

// TestGeneratePanicRefundsAndReleases: a panic under Generate (a bug in a
// provider's adapter) delivered nothing: the units go back and the slot
// comes back before the panic goes on up (to the server's recovery).
func TestGeneratePanicRefundsAndReleases(t *testing.T) {
	t.Parallel()
	lim := memory.NewConcurrencyLimiter(memory.NewClock(noon))
	f := newFixtureConfig(t, images.Config{Enabled: true,
		Admission: admission.New(lim, 1, time.Minute, slog.New(slog.DiscardHandler))})
	f.gen.panics = true
	assert.PanicsWithValue(t, "generator bug", func() {
		_, _ = f.svc.Generate(t.Context(), f.user, images.Request{Prompt: "a cat"})
	})
	assert.Equal(t, 0, f.used(t), "the units went back")
	f.gen.panics = false
	_, err := f.svc.Generate(t.Context(), f.user, images.Request{Prompt: "a cat"})
	require.NoError(t, err, "the slot came back")
	assert.Equal(t, 5, f.used(t))
}
