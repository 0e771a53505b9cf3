package feedback_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/feedback"
)

var noon = time.Date(2025, 12, 25, 12, 0, 0, 0, time.UTC)

// fakeStore answers not-found until the request is "logged", as a store
// reading a request log written in batches would.
type fakeStore struct {
	mu     sync.Mutex
	logged map[string]domain.UserID // request id -> owner
	saved  map[string]domain.Feedback
	calls  int
}

func newFakeStore() *fakeStore {
	return &fakeStore{logged: map[string]domain.UserID{}, saved: map[string]domain.Feedback{}}
}

func (s *fakeStore) log(requestID string, owner domain.UserID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logged[requestID] = owner
}

func (s *fakeStore) UserFeedback(context.Context, domain.UserID) ([]domain.Feedback, error) {
	return nil, nil
}

func (s *fakeStore) SaveFeedback(_ context.Context, f domain.Feedback) (domain.Feedback, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.logged[f.RequestID] != f.UserID {
		return domain.Feedback{}, domain.Errorf(domain.CodeNotFound, "not found")
	}
	key := string(f.UserID) + "/" + f.RequestID
	if old, ok := s.saved[key]; ok {
		f.CreatedAt = old.CreatedAt
	}
	s.saved[key] = f
	return f, nil
}

// flusher "writes" pending rows into the store when flushed.
type flusher struct {
	store   *fakeStore
	pending map[string]domain.UserID
	flushes int
}

func (f *flusher) Queued(id string) bool {
	_, ok := f.pending[id]
	return ok
}

func (f *flusher) Flush(context.Context) error {
	f.flushes++
	for id, owner := range f.pending {
		f.store.log(id, owner)
	}
	return nil
}

var ada = domain.User{ID: "ada", Email: "ada@example.com"}

func TestSubmitValidates(t *testing.T) {
	t.Parallel()
	store := newFakeStore()
	svc := feedback.New(store, nil, memory.NewClock(noon))
	tests := []struct {
		name      string
		requestID string
		rating    domain.Rating
		comment   string
		want      string
	}{
		{"no request id", "  ", domain.RatingUp, "", "request_id: is required"},
		{"request id too long", strings.Repeat("r", 129), domain.RatingUp, "", "request_id: must be 1 to 128 characters"},
		{"NUL in the request id", "r1\x00", domain.RatingUp, "", "request_id: must be 1 to 128 characters"},
		{"space in the request id", "r 1", domain.RatingUp, "", "request_id: must be 1 to 128 characters"},
		{"quote in the request id", "r1'--", domain.RatingUp, "", "request_id: must be 1 to 128 characters"},
		{"unknown rating", "r1", "meh", "", "rating: must be up or down"},
		{"empty rating", "r1", "", "", "rating: must be up or down"},
		{"comment too long", "r1", domain.RatingDown, strings.Repeat("é", domain.MaxFeedbackComment+1), "comment: must be at most 2000"},
		{"comment not UTF-8", "r1", domain.RatingDown, "bad \xff byte", "comment: must be valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.Submit(context.Background(), ada, tt.requestID, tt.rating, tt.comment)
			require.Error(t, err)
			assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	assert.Zero(t, store.calls, "invalid feedback never reaches the store")
}

func TestSubmitStoresAndReplaces(t *testing.T) {
	t.Parallel()
	store := newFakeStore()
	store.log("r1", ada.ID)
	clock := memory.NewClock(noon)
	svc := feedback.New(store, nil, clock)
	ctx := context.Background()

	// A comment of exactly the maximum, in multi-byte characters, is fine.
	first, err := svc.Submit(ctx, ada, " r1 ", domain.RatingUp, " "+strings.Repeat("é", domain.MaxFeedbackComment)+" ")
	require.NoError(t, err)
	assert.Equal(t, "r1", first.RequestID)
	assert.Equal(t, domain.MaxFeedbackComment, len([]rune(first.Comment)), "the comment is trimmed")
	assert.Equal(t, noon, first.CreatedAt)

	clock.Advance(time.Minute)
	second, err := svc.Submit(ctx, ada, "r1", domain.RatingDown, "")
	require.NoError(t, err)
	assert.Equal(t, domain.RatingDown, second.Rating)
	assert.Equal(t, noon, second.CreatedAt, "rating again keeps when it was first rated")
	assert.Equal(t, noon.Add(time.Minute), second.UpdatedAt)
	assert.Empty(t, second.Comment)
}

func TestSubmitLooksOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a row queued on this instance is flushed, then found", func(t *testing.T) {
		t.Parallel()
		store := newFakeStore()
		fl := &flusher{store: store, pending: map[string]domain.UserID{"r1": ada.ID}}
		svc := feedback.New(store, fl, memory.NewClock(noon))
		_, err := svc.Submit(ctx, ada, "r1", domain.RatingUp, "")
		require.NoError(t, err)
		assert.Equal(t, 1, fl.flushes)
		assert.Equal(t, 2, store.calls, "one look, the flush, one more look")
	})

	t.Run("an unknown id is answered after one query, without a flush", func(t *testing.T) {
		t.Parallel()
		store := newFakeStore()
		fl := &flusher{store: store, pending: map[string]domain.UserID{"r1": ada.ID}}
		svc := feedback.New(store, fl, memory.NewClock(noon))
		_, err := svc.Submit(ctx, ada, "made-up", domain.RatingUp, "")
		require.Error(t, err)
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
		assert.Equal(t, 1, store.calls, "no polling")
		assert.Zero(t, fl.flushes, "nothing of this id is queued: no flush")
	})

	t.Run("someone else's logged request is not found, at once", func(t *testing.T) {
		t.Parallel()
		store := newFakeStore()
		store.log("r3", "grace")
		svc := feedback.New(store, nil, memory.NewClock(noon))
		_, err := svc.Submit(ctx, ada, "r3", domain.RatingUp, "")
		require.Error(t, err)
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
		assert.Contains(t, err.Error(), "No answered request of yours")
		assert.Equal(t, 1, store.calls)
	})

	t.Run("someone else's queued request is flushed but stays not found", func(t *testing.T) {
		t.Parallel()
		store := newFakeStore()
		fl := &flusher{store: store, pending: map[string]domain.UserID{"r4": "grace"}}
		svc := feedback.New(store, fl, memory.NewClock(noon))
		_, err := svc.Submit(ctx, ada, "r4", domain.RatingUp, "")
		require.Error(t, err)
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
		assert.Equal(t, 2, store.calls)
	})
}
