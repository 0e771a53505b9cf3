package quotacount

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

	"github.com/genzai/genzai/domain"
)

// scriptedSink fails its first writes with the errors given, then writes.
type scriptedSink struct {
	mu      sync.Mutex
	fails   []error
	written map[domain.UserID]int
}

func (s *scriptedSink) AddQuotaUsage(_ context.Context, deltas []Delta) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fails) > 0 {
		err := s.fails[0]
		s.fails = s.fails[1:]
		return err
	}
	for _, d := range deltas {
		s.written[d.UserID] += d.N
	}
	return nil
}

func (s *scriptedSink) total(id domain.UserID) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.written[id]
}

// sentErr is a driver's error that says whether the statement was sent.
type sentErr struct{ safe bool }

func (e sentErr) Error() string     { return "connection lost" }
func (e sentErr) SafeToRetry() bool { return e.safe }

// A failed write is written again only when it cannot have been applied;
// one that may have been is dropped (in the user's favour), never doubled.
func TestFlushRequeuesOnlyWhatCannotHaveBeenApplied(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		fail error
		want int
	}{
		{"the server refused the statement", errors.New("disk full"), 3},
		{"nothing was sent", sentErr{safe: true}, 3},
		{"sent, then the connection was lost", sentErr{safe: false}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sink := &scriptedSink{fails: []error{tt.fail}, written: map[domain.UserID]int{}}
			w := NewWriteBehind(sink, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Hour)
			for range 3 {
				w.Add("u", day, 1)
			}
			require.Error(t, w.Flush(context.Background()))
			require.NoError(t, w.Close(context.Background()))
			assert.Equal(t, tt.want, sink.total("u"))
		})
	}
}

// Close keeps trying to write the queue until its context ends.
func TestCloseRetriesUntilWritten(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	sink := &scriptedSink{fails: []error{errors.New("busy"), errors.New("busy")}, written: map[domain.UserID]int{}}
	w := NewWriteBehind(sink, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Hour)
	w.Add("u", day, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, w.Close(ctx))
	assert.Equal(t, 1, sink.total("u"))

	// Without the time to succeed, Close gives up when its context ends.
	stuck := &scriptedSink{fails: []error{errors.New("busy"), errors.New("busy"), errors.New("busy"), errors.New("busy"), errors.New("busy")}, written: map[domain.UserID]int{}}
	w = NewWriteBehind(stuck, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Hour)
	w.Add("u", day, 1)
	ctx, cancel = context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	assert.Error(t, w.Close(ctx))
}
