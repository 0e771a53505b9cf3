package admission_test

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
)

func TestAdmit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	lim := memory.NewConcurrencyLimiter(memory.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)))
	g := admission.New(lim, 2, time.Minute, slog.New(slog.DiscardHandler))

	first, err := g.Admit(ctx, "u1")
	require.NoError(t, err)
	second, err := g.Admit(ctx, "u1")
	require.NoError(t, err)
	_, err = g.Admit(ctx, "u1")
	assert.Equal(t, domain.CodeRateLimited, domain.ErrorCode(err), "the third of two slots")
	assert.Equal(t, time.Second, domain.RetryAfter(err))
	other, err := g.Admit(ctx, "u2")
	require.NoError(t, err, "slots are per user")
	other()

	first()
	first() // a second release gives back nothing more
	third, err := g.Admit(ctx, "u1")
	require.NoError(t, err, "a released slot is free again")
	_, err = g.Admit(ctx, "u1")
	assert.Equal(t, domain.CodeRateLimited, domain.ErrorCode(err), "releasing twice freed one slot, not two")
	second()
	third()
}

func TestAdmitWithoutABound(t *testing.T) {
	t.Parallel()
	lim := memory.NewConcurrencyLimiter(memory.NewClock(time.Now()))
	for name, g := range map[string]*admission.Gate{
		"nil gate":     nil,
		"no limiter":   admission.New(nil, 1, 0, slog.New(slog.DiscardHandler)),
		"a limit of 0": admission.New(lim, 0, 0, slog.New(slog.DiscardHandler)),
	} {
		var held []func()
		for range 3 {
			release, err := g.Admit(context.Background(), "u1")
			require.NoError(t, err, name)
			held = append(held, release)
		}
		for _, release := range held {
			release()
		}
	}
}
