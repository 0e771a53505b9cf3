package quota_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/quota"
)

var noon = time.Date(2025, 12, 25, 12, 0, 0, 0, time.UTC)

type fixture struct {
	store *memory.Store
	clock *memory.Clock
	svc   *quota.Service
	user  domain.User
}

func newFixture(t *testing.T, defaultLimit int, own *int) fixture {
	t.Helper()
	store := memory.NewStore()
	clock := memory.NewClock(noon)
	u, err := store.CreateUser(context.Background(), domain.NewUser{Email: "q@example.com"})
	require.NoError(t, err)
	if own != nil {
		require.NoError(t, store.UpdateUser(u.ID, func(u *domain.User) { u.DailyQuota = own }))
		u, err = store.UserByID(context.Background(), u.ID)
		require.NoError(t, err)
	}
	return fixture{store: store, clock: clock, svc: quota.New(store, clock, defaultLimit), user: u}
}

func TestConsumeUpToTheLimit(t *testing.T) {
	t.Parallel()
	three, zero := 3, 0
	tests := []struct {
		name         string
		defaultLimit int
		own          *int
		wantGranted  int
	}{
		{"default limit", 5, nil, 5},
		{"the user's own limit wins", 5, &three, 3},
		{"a zero default blocks everything", 0, nil, 0},
		{"a zero own limit blocks everything", 5, &zero, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t, tt.defaultLimit, tt.own)
			for i := 1; i <= tt.wantGranted; i++ {
				g, err := f.svc.Consume(ctx, f.user)
				require.NoError(t, err)
				assert.Equal(t, i, g.Used)
				assert.Equal(t, tt.wantGranted, g.Limit)
				assert.Equal(t, domain.QuotaDay(noon), g.Day)
			}
			_, err := f.svc.Consume(ctx, f.user)
			var qe *domain.QuotaExceededError
			require.ErrorAs(t, err, &qe)
			assert.Equal(t, domain.QuotaExceededError{Used: tt.wantGranted, Limit: tt.wantGranted}, *qe)
			assert.Equal(t, domain.CodeQuotaExceeded, domain.ErrorCode(err))

			st, err := f.svc.Status(ctx, f.user)
			require.NoError(t, err)
			assert.Equal(t, tt.wantGranted, st.Used, "a refused request counts nothing")
			assert.Equal(t, 0, st.Remaining())
		})
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, 50, nil)
	for range 15 {
		_, err := f.svc.Consume(ctx, f.user)
		require.NoError(t, err)
	}
	st, err := f.svc.Status(ctx, f.user)
	require.NoError(t, err)
	assert.Equal(t, domain.QuotaStatus{Used: 15, Limit: 50, ResetsAt: time.Date(2025, 12, 26, 0, 0, 0, 0, time.UTC)}, st)
	assert.Equal(t, 35, st.Remaining())
}

func TestDayRollover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, 2, nil)
	f.clock.Set(time.Date(2025, 12, 25, 23, 59, 59, 0, time.UTC))
	for range 2 {
		_, err := f.svc.Consume(ctx, f.user)
		require.NoError(t, err)
	}
	_, err := f.svc.Consume(ctx, f.user)
	require.Error(t, err, "exhausted before midnight")

	f.clock.Advance(time.Second) // 00:00:00 UTC
	st, err := f.svc.Status(ctx, f.user)
	require.NoError(t, err)
	assert.Equal(t, 0, st.Used)
	assert.Equal(t, time.Date(2025, 12, 27, 0, 0, 0, 0, time.UTC), st.ResetsAt)
	g, err := f.svc.Consume(ctx, f.user)
	require.NoError(t, err)
	assert.Equal(t, 1, g.Used)
}

func TestRefundReturnsToTheDayOfTheGrant(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, 5, nil)
	f.clock.Set(time.Date(2025, 12, 25, 23, 59, 59, 0, time.UTC))
	g, err := f.svc.Consume(ctx, f.user)
	require.NoError(t, err)

	f.clock.Advance(2 * time.Second) // the request ends after midnight
	today, err := f.svc.Consume(ctx, f.user)
	require.NoError(t, err)
	require.NoError(t, f.svc.Refund(ctx, g))

	used, err := f.store.QuotaUsed(ctx, f.user.ID, g.Day)
	require.NoError(t, err)
	assert.Equal(t, 0, used, "the refund went to the grant's day")
	used, err = f.store.QuotaUsed(ctx, f.user.ID, today.Day)
	require.NoError(t, err)
	assert.Equal(t, 1, used, "today's count is untouched")
}

func TestRefundOfAZeroGrantIsANoop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, 5, nil)
	_, err := f.svc.Consume(ctx, f.user)
	require.NoError(t, err)
	require.NoError(t, f.svc.Refund(ctx, domain.QuotaGrant{}))
	st, err := f.svc.Status(ctx, f.user)
	require.NoError(t, err)
	assert.Equal(t, 1, st.Used)
}

func TestConsumeConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, 50, nil)
	var granted, refused atomic.Int32
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			_, err := f.svc.Consume(ctx, f.user)
			var qe *domain.QuotaExceededError
			switch {
			case err == nil:
				granted.Add(1)
			case errors.As(err, &qe):
				refused.Add(1)
			default:
				t.Errorf("consume: %v", err)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(50), granted.Load())
	assert.Equal(t, int32(150), refused.Load())
}

// failingStore is a QuotaStore whose every call fails.
type failingStore struct{ err error }

func (f failingStore) ConsumeQuota(context.Context, domain.UserID, time.Time, int, int) (int, bool, error) {
	return 0, false, f.err
}
func (f failingStore) RefundQuota(context.Context, domain.UserID, time.Time, int) error { return f.err }
func (f failingStore) QuotaUsed(context.Context, domain.UserID, time.Time) (int, error) {
	return 0, f.err
}

func TestStoreFailuresKeepTheirCode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	down := &domain.Error{Code: domain.CodeUnavailable, Message: "Service temporarily unavailable"}
	svc := quota.New(failingStore{down}, memory.NewClock(noon), 50)
	u := domain.User{ID: "u1"}
	_, err := svc.Consume(ctx, u)
	assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err))
	_, err = svc.Status(ctx, u)
	assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err))
	err = svc.Refund(ctx, domain.QuotaGrant{UserID: "u1", Day: noon})
	assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err))
}

// TestExceededSaysWhenToRetry: the refusal says how long until the quota
// resets (midnight UTC), for the 429's Retry-After.
func TestExceededSaysWhenToRetry(t *testing.T) {
	t.Parallel()
	zero := 0
	tests := []struct {
		name string
		now  time.Time
		own  *int
		want time.Duration
	}{
		{"at noon: twelve hours", noon, nil, 12 * time.Hour},
		{"a second before midnight", time.Date(2025, 12, 25, 23, 59, 59, 0, time.UTC), nil, time.Second},
		{"a zero limit too", noon.Add(90 * time.Minute), &zero, 10*time.Hour + 30*time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t, 1, tt.own)
			f.clock.Set(tt.now)
			if tt.own == nil {
				_, err := f.svc.Consume(ctx, f.user)
				require.NoError(t, err)
			}
			_, err := f.svc.Consume(ctx, f.user)
			require.Error(t, err)
			assert.Equal(t, domain.CodeQuotaExceeded, domain.ErrorCode(err))
			assert.Equal(t, "Daily quota exceeded", domain.ErrorMessage(err))
			assert.Equal(t, tt.want, domain.RetryAfter(err))
			var qe *domain.QuotaExceededError
			require.ErrorAs(t, err, &qe, "used and limit stay with the error")
		})
	}
}

func TestConsumeUnitsIsAllOrNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, 12, nil)

	g, err := f.svc.ConsumeUnits(ctx, f.user, 5)
	require.NoError(t, err)
	assert.Equal(t, 5, g.Used)
	assert.Equal(t, 5, g.Units)
	_, err = f.svc.ConsumeUnits(ctx, f.user, 5)
	require.NoError(t, err)
	_, err = f.svc.ConsumeUnits(ctx, f.user, 5)
	var qe *domain.QuotaExceededError
	require.ErrorAs(t, err, &qe, "2 units left, 5 asked")
	st, err := f.svc.Status(ctx, f.user)
	require.NoError(t, err)
	assert.Equal(t, 10, st.Used, "the refused request counted nothing")

	require.NoError(t, f.svc.Refund(ctx, g))
	st, err = f.svc.Status(ctx, f.user)
	require.NoError(t, err)
	assert.Equal(t, 5, st.Used, "the refund gave back all 5")

	_, err = newFixture(t, 3, nil).svc.ConsumeUnits(ctx, f.user, 5)
	require.ErrorAs(t, err, &qe, "more than the whole limit")
}

func TestConsumeUnitsConcurrentlyNeverPassesTheLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, 23, nil)
	var wg sync.WaitGroup
	var granted atomic.Int64
	for range 20 {
		wg.Go(func() {
			if _, err := f.svc.ConsumeUnits(ctx, f.user, 5); err == nil {
				granted.Add(1)
			}
		})
	}
	wg.Wait()
	st, err := f.svc.Status(ctx, f.user)
	require.NoError(t, err)
	assert.Equal(t, int(granted.Load())*5, st.Used, "exact: only whole requests are counted")
	assert.LessOrEqual(t, st.Used, 23)
}

// TestCharge: the units stay taken when the call delivered, and go back
// when it did not, failed or panicked; a refusal runs no call.
func TestCharge(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name      string
		delivered bool
		err       error
		panics    bool
		wantUsed  int
	}{
		{name: "delivered", delivered: true, wantUsed: 3},
		{name: "nothing delivered", err: boom, wantUsed: 0},
		{name: "delivered, then failed", delivered: true, err: boom, wantUsed: 3},
		{name: "panicked", panics: true, wantUsed: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, 5, nil)
			call := func() (bool, error) {
				if tt.panics {
					panic("bug")
				}
				return tt.delivered, tt.err
			}
			if tt.panics {
				assert.Panics(t, func() { _ = f.svc.Charge(t.Context(), f.user, 3, call) })
			} else {
				assert.ErrorIs(t, f.svc.Charge(t.Context(), f.user, 3, call), tt.err)
			}
			st, err := f.svc.Status(t.Context(), f.user)
			require.NoError(t, err)
			assert.Equal(t, tt.wantUsed, st.Used)
		})
	}

	f := newFixture(t, 2, nil)
	ran := false
	err := f.svc.Charge(t.Context(), f.user, 3, func() (bool, error) { ran = true; return true, nil })
	var qe *domain.QuotaExceededError
	assert.ErrorAs(t, err, &qe)
	assert.False(t, ran, "refused: the call does not run")
}
