package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/conversations"
)

// countingPurger counts purges; its first fails, as a database away would.
type countingPurger struct {
	mu    sync.Mutex
	calls int
	next  purger
}

func (p *countingPurger) Purge(ctx context.Context) (int64, error) {
	p.mu.Lock()
	p.calls++
	first := p.calls == 1
	p.mu.Unlock()
	if first {
		return 0, errors.New("database away")
	}
	return p.next.Purge(ctx)
}

func (p *countingPurger) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// TestConversationPurgeLoop checks that the loop purges at start and on
// every tick, survives a failed purge, deletes what retention says, and
// stops with the app's closers.
func TestConversationPurgeLoop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := memory.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	store := memory.NewConversationStore()
	svc := conversations.New(store, clock, nil, conversations.Config{Retention: 24 * time.Hour})
	user := domain.UserID("00000000-0000-4000-8000-000000000001")
	c, err := svc.Create(ctx, user, nil)
	require.NoError(t, err)
	clock.Advance(25 * time.Hour)

	p := &countingPurger{next: svc}
	var cl closers
	startConversationPurge(ctx, p, time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)), &cl)
	require.Eventually(t, func() bool {
		_, err := store.Conversation(ctx, user, c.ID)
		return domain.ErrorCode(err) == domain.CodeNotFound
	}, 10*time.Second, time.Millisecond, "purged after the failed first try")
	cl.unwind(ctx)
	calls := p.count()
	assert.GreaterOrEqual(t, calls, 2)
	assert.Equal(t, calls, p.count(), "stopped")
}
