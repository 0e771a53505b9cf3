// Package portstest holds the contract suites every implementation of a
// store port must pass, so that the in-memory fakes and the database
// adapters cannot drift apart.
package portstest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// Stores is what the suites need from one implementation.
type Stores struct {
	Users ports.UserStore
	Quota ports.QuotaStore
}

// RunUserStore checks the ports.UserStore contract; newStores returns empty
// stores for each subtest.
func RunUserStore(t *testing.T, newStores func(t *testing.T) Stores) {
	ctx := context.Background()

	t.Run("create and find", func(t *testing.T) {
		t.Parallel()
		s := newStores(t).Users
		created, err := s.CreateUser(ctx, domain.NewUser{Email: "ada@example.com", PasswordHash: "$argon2id$x", IsAdmin: true})
		require.NoError(t, err)
		assert.NotEmpty(t, created.ID)
		assert.Equal(t, "ada@example.com", created.Email)
		assert.True(t, created.IsAdmin)
		assert.True(t, created.HasPassword())
		assert.False(t, created.Disabled)
		assert.Nil(t, created.DailyQuota)
		assert.Nil(t, created.LastLoginAt)
		assert.WithinDuration(t, time.Now(), created.CreatedAt, time.Minute)

		byID, err := s.UserByID(ctx, created.ID)
		require.NoError(t, err)
		assert.Equal(t, created, byID)
		byEmail, err := s.UserByEmail(ctx, "ada@example.com")
		require.NoError(t, err)
		assert.Equal(t, created, byEmail)
	})

	t.Run("account without password", func(t *testing.T) {
		t.Parallel()
		s := newStores(t).Users
		u, err := s.CreateUser(ctx, domain.NewUser{Email: "nopass@example.com"})
		require.NoError(t, err)
		assert.False(t, u.HasPassword())
		got, err := s.UserByEmail(ctx, "nopass@example.com")
		require.NoError(t, err)
		assert.False(t, got.HasPassword())
	})

	t.Run("delete", func(t *testing.T) {
		t.Parallel()
		s := newStores(t).Users
		u, err := s.CreateUser(ctx, domain.NewUser{Email: "gone@example.com"})
		require.NoError(t, err)
		require.NoError(t, s.DeleteUser(ctx, u.ID))
		_, err = s.UserByID(ctx, u.ID)
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
		_, err = s.UserByEmail(ctx, "gone@example.com")
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(s.DeleteUser(ctx, u.ID)), "twice")
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(s.DeleteUser(ctx, "not-a-uuid")))
		again, err := s.CreateUser(ctx, domain.NewUser{Email: "gone@example.com"})
		require.NoError(t, err, "the address is free again")
		assert.NotEqual(t, u.ID, again.ID)
	})

	t.Run("duplicate email conflicts", func(t *testing.T) {
		t.Parallel()
		s := newStores(t).Users
		_, err := s.CreateUser(ctx, domain.NewUser{Email: "dup@example.com"})
		require.NoError(t, err)
		_, err = s.CreateUser(ctx, domain.NewUser{Email: "dup@example.com", PasswordHash: "h"})
		assert.Equal(t, domain.CodeConflict, domain.ErrorCode(err), "err: %v", err)
	})

	t.Run("concurrent creates of one email: exactly one wins", func(t *testing.T) {
		t.Parallel()
		s := newStores(t).Users
		var wins, conflicts atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				_, err := s.CreateUser(ctx, domain.NewUser{Email: "race@example.com"})
				switch domain.ErrorCode(err) {
				case "":
					wins.Add(1)
				case domain.CodeConflict:
					conflicts.Add(1)
				default:
					t.Errorf("unexpected error: %v", err)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), wins.Load())
		assert.Equal(t, int32(19), conflicts.Load())
	})

	t.Run("missing users are not found", func(t *testing.T) {
		t.Parallel()
		s := newStores(t).Users
		for _, id := range []domain.UserID{"5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f", "not-a-uuid", ""} {
			_, err := s.UserByID(ctx, id)
			assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err), "id %q", id)
			_, err = s.RecordLogin(ctx, id, time.Now())
			assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err), "id %q", id)
			_, err = s.MarkEmailVerified(ctx, id, time.Now(), true)
			assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err), "id %q", id)
		}
		_, err := s.UserByEmail(ctx, "nobody@example.com")
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
	})

	t.Run("record login stamps time and never promotes", func(t *testing.T) {
		t.Parallel()
		s := newStores(t).Users
		u, err := s.CreateUser(ctx, domain.NewUser{Email: "login@example.com"})
		require.NoError(t, err)
		at := time.Date(2025, 12, 25, 10, 30, 0, 0, time.UTC)

		got, err := s.RecordLogin(ctx, u.ID, at)
		require.NoError(t, err)
		require.NotNil(t, got.LastLoginAt)
		assert.True(t, at.Equal(*got.LastLoginAt))
		assert.False(t, got.IsAdmin)
		assert.Nil(t, got.EmailVerifiedAt)

		stored, err := s.UserByID(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, got, stored)
	})

	t.Run("plus-tag spellings share one email key", func(t *testing.T) {
		t.Parallel()
		s := newStores(t).Users
		carol, err := s.CreateUser(ctx, domain.NewUser{Email: "carol@example.com"})
		require.NoError(t, err)
		_, err = s.CreateUser(ctx, domain.NewUser{Email: "carol+1@example.com"})
		assert.Equal(t, domain.CodeConflict, domain.ErrorCode(err), "err: %v", err)
		for _, spelling := range []string{"carol@example.com", "carol+1@example.com", "carol+x+y@example.com"} {
			got, err := s.UserByEmail(ctx, spelling)
			require.NoError(t, err, spelling)
			assert.Equal(t, carol.ID, got.ID, spelling)
			assert.Equal(t, "carol@example.com", got.Email, "the address is kept as typed")
		}

		tagged, err := s.CreateUser(ctx, domain.NewUser{Email: "dave+news@example.com"})
		require.NoError(t, err)
		assert.Equal(t, "dave+news@example.com", tagged.Email)
		_, err = s.CreateUser(ctx, domain.NewUser{Email: "dave@example.com"})
		assert.Equal(t, domain.CodeConflict, domain.ErrorCode(err), "the untagged address after a tagged one")
		got, err := s.UserByEmail(ctx, "dave@example.com")
		require.NoError(t, err)
		assert.Equal(t, tagged.ID, got.ID)
	})

	t.Run("mark email verified stamps once and promotes only then", func(t *testing.T) {
		t.Parallel()
		s := newStores(t).Users
		u, err := s.CreateUser(ctx, domain.NewUser{Email: "ops@example.com"})
		require.NoError(t, err)
		at := time.Date(2025, 12, 25, 10, 30, 0, 0, time.UTC)

		got, err := s.MarkEmailVerified(ctx, u.ID, at, false)
		require.NoError(t, err)
		require.NotNil(t, got.EmailVerifiedAt)
		assert.True(t, at.Equal(*got.EmailVerifiedAt))
		assert.False(t, got.IsAdmin)

		got, err = s.MarkEmailVerified(ctx, u.ID, at.Add(time.Hour), true)
		require.NoError(t, err)
		assert.True(t, at.Equal(*got.EmailVerifiedAt), "the first verification time stays")
		assert.False(t, got.IsAdmin, "only the first verification may promote")

		v, err := s.CreateUser(ctx, domain.NewUser{Email: "boss@example.com"})
		require.NoError(t, err)
		got, err = s.MarkEmailVerified(ctx, v.ID, at, true)
		require.NoError(t, err)
		assert.True(t, got.IsAdmin)
		stored, err := s.UserByID(ctx, v.ID)
		require.NoError(t, err)
		assert.Equal(t, got, stored)
	})

	t.Run("concurrent verifications: one first time", func(t *testing.T) {
		t.Parallel()
		s := newStores(t).Users
		u, err := s.CreateUser(ctx, domain.NewUser{Email: "race-verify@example.com"})
		require.NoError(t, err)
		base := time.Date(2025, 12, 25, 10, 30, 0, 0, time.UTC)
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				_, err := s.MarkEmailVerified(ctx, u.ID, base.Add(time.Duration(i)*time.Second), false)
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		got, err := s.UserByID(ctx, u.ID)
		require.NoError(t, err)
		require.NotNil(t, got.EmailVerifiedAt)
		first := *got.EmailVerifiedAt
		again, err := s.MarkEmailVerified(ctx, u.ID, base.Add(time.Hour), false)
		require.NoError(t, err)
		assert.True(t, first.Equal(*again.EmailVerifiedAt))
	})

	t.Run("set password replaces the hash and revokes tokens", func(t *testing.T) {
		t.Parallel()
		s := newStores(t).Users
		u, err := s.CreateUser(ctx, domain.NewUser{Email: "pw@example.com", PasswordHash: "$argon2id$old"})
		require.NoError(t, err)
		assert.Nil(t, u.TokensValidAfter, "a new account has revoked nothing")
		at := time.Date(2025, 12, 25, 10, 30, 0, 123456000, time.UTC)

		got, err := s.SetPassword(ctx, u.ID, "$argon2id$new", at)
		require.NoError(t, err)
		assert.Equal(t, "$argon2id$new", got.PasswordHash)
		require.NotNil(t, got.TokensValidAfter)
		assert.True(t, at.Equal(*got.TokensValidAfter), "microseconds kept: %v", got.TokensValidAfter)
		assert.True(t, got.TokenRevoked(at))
		assert.False(t, got.TokenRevoked(at.Add(time.Microsecond)))

		stored, err := s.UserByEmail(ctx, "pw@example.com")
		require.NoError(t, err)
		assert.Equal(t, got, stored)

		// A password set on an account created without one (email-only login).
		nopass, err := s.CreateUser(ctx, domain.NewUser{Email: "nopw@example.com"})
		require.NoError(t, err)
		got, err = s.SetPassword(ctx, nopass.ID, "$argon2id$first", at)
		require.NoError(t, err)
		assert.True(t, got.HasPassword())
	})

	t.Run("set password never moves tokens_valid_after backwards", func(t *testing.T) {
		t.Parallel()
		s := newStores(t).Users
		u, err := s.CreateUser(ctx, domain.NewUser{Email: "back@example.com", PasswordHash: "h0"})
		require.NoError(t, err)
		later := time.Date(2025, 12, 25, 12, 0, 0, 0, time.UTC)
		require.NoError(t, s.RevokeTokens(ctx, u.ID, later))
		got, err := s.SetPassword(ctx, u.ID, "h1", later.Add(-time.Hour))
		require.NoError(t, err)
		assert.Equal(t, "h1", got.PasswordHash)
		require.NotNil(t, got.TokensValidAfter)
		assert.True(t, later.Equal(*got.TokensValidAfter))
	})

	t.Run("revoke tokens moves forward only", func(t *testing.T) {
		t.Parallel()
		s := newStores(t).Users
		u, err := s.CreateUser(ctx, domain.NewUser{Email: "revoke@example.com"})
		require.NoError(t, err)
		t1 := time.Date(2025, 12, 25, 10, 0, 0, 500, time.UTC) // sub-microsecond part truncated
		t1us := t1.Truncate(time.Microsecond)
		steps := []struct {
			at   time.Time
			want time.Time
		}{
			{at: t1, want: t1us},
			{at: t1.Add(-time.Second), want: t1us},
			{at: t1us.Add(time.Microsecond), want: t1us.Add(time.Microsecond)},
			{at: t1.Add(time.Hour), want: t1us.Add(time.Hour)},
		}
		for _, st := range steps {
			require.NoError(t, s.RevokeTokens(ctx, u.ID, st.at))
			got, err := s.UserByID(ctx, u.ID)
			require.NoError(t, err)
			require.NotNil(t, got.TokensValidAfter)
			assert.True(t, st.want.Equal(*got.TokensValidAfter), "at %v: got %v, want %v", st.at, got.TokensValidAfter, st.want)
			assert.Equal(t, time.UTC, got.TokensValidAfter.Location())
		}
	})

	t.Run("concurrent revocations keep the latest", func(t *testing.T) {
		t.Parallel()
		s := newStores(t).Users
		u, err := s.CreateUser(ctx, domain.NewUser{Email: "many@example.com"})
		require.NoError(t, err)
		base := time.Date(2025, 12, 25, 10, 0, 0, 0, time.UTC)
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				assert.NoError(t, s.RevokeTokens(ctx, u.ID, base.Add(time.Duration(i)*time.Millisecond)))
			})
		}
		wg.Wait()
		got, err := s.UserByID(ctx, u.ID)
		require.NoError(t, err)
		require.NotNil(t, got.TokensValidAfter)
		assert.True(t, base.Add(19*time.Millisecond).Equal(*got.TokensValidAfter), "got %v", got.TokensValidAfter)
	})

	t.Run("set password and revoke on missing users are not found", func(t *testing.T) {
		t.Parallel()
		s := newStores(t).Users
		for _, id := range []domain.UserID{"5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f", "not-a-uuid", ""} {
			_, err := s.SetPassword(ctx, id, "h", time.Now())
			assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err), "id %q", id)
			err = s.RevokeTokens(ctx, id, time.Now())
			assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err), "id %q", id)
		}
	})
}

// RunQuotaStore checks the ports.QuotaStore contract; the quota store and
// the user store of one Stores share their data.
func RunQuotaStore(t *testing.T, newStores func(t *testing.T) Stores) {
	ctx := context.Background()
	day := time.Date(2025, 12, 25, 0, 0, 0, 0, time.UTC)
	newUser := func(t *testing.T, s Stores, email string) domain.UserID {
		t.Helper()
		u, err := s.Users.CreateUser(ctx, domain.NewUser{Email: email})
		require.NoError(t, err)
		return u.ID
	}

	t.Run("counts up to the limit then refuses", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		id := newUser(t, s, "q@example.com")
		used, err := s.Quota.QuotaUsed(ctx, id, day)
		require.NoError(t, err)
		assert.Equal(t, 0, used)
		for want := 1; want <= 3; want++ {
			used, ok, err := s.Quota.ConsumeQuota(ctx, id, day, 3, 1)
			require.NoError(t, err)
			assert.True(t, ok)
			assert.Equal(t, want, used)
		}
		used, ok, err := s.Quota.ConsumeQuota(ctx, id, day, 3, 1)
		require.NoError(t, err)
		assert.False(t, ok)
		assert.Equal(t, 3, used)
		used, err = s.Quota.QuotaUsed(ctx, id, day)
		require.NoError(t, err)
		assert.Equal(t, 3, used)
	})

	t.Run("a lowered limit refuses without counting", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		id := newUser(t, s, "low@example.com")
		for range 5 {
			_, ok, err := s.Quota.ConsumeQuota(ctx, id, day, 10, 1)
			require.NoError(t, err)
			require.True(t, ok)
		}
		used, ok, err := s.Quota.ConsumeQuota(ctx, id, day, 2, 1)
		require.NoError(t, err)
		assert.False(t, ok)
		assert.Equal(t, 5, used)
	})

	t.Run("days and users count separately", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		a, b := newUser(t, s, "a@example.com"), newUser(t, s, "b@example.com")
		next := day.AddDate(0, 0, 1)
		for _, c := range []struct {
			id  domain.UserID
			day time.Time
		}{{a, day}, {a, day}, {a, next}, {b, day}} {
			_, ok, err := s.Quota.ConsumeQuota(ctx, c.id, c.day, 10, 1)
			require.NoError(t, err)
			require.True(t, ok)
		}
		for _, c := range []struct {
			id   domain.UserID
			day  time.Time
			want int
		}{{a, day, 2}, {a, next, 1}, {b, day, 1}, {b, next, 0}} {
			used, err := s.Quota.QuotaUsed(ctx, c.id, c.day)
			require.NoError(t, err)
			assert.Equal(t, c.want, used)
		}
	})

	t.Run("refund gives one back, never below zero", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		id := newUser(t, s, "r@example.com")
		require.NoError(t, s.Quota.RefundQuota(ctx, id, day, 1), "refund with nothing counted")
		for range 2 {
			_, _, err := s.Quota.ConsumeQuota(ctx, id, day, 10, 1)
			require.NoError(t, err)
		}
		for _, want := range []int{1, 0, 0} {
			require.NoError(t, s.Quota.RefundQuota(ctx, id, day, 1))
			used, err := s.Quota.QuotaUsed(ctx, id, day)
			require.NoError(t, err)
			assert.Equal(t, want, used)
		}
	})

	t.Run("units are taken all or nothing", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		id := newUser(t, s, "units@example.com")
		for _, step := range []struct {
			units, wantUsed int
			wantOK          bool
		}{
			{11, 0, false}, // more than the whole limit, on a day not counted yet
			{4, 4, true},
			{7, 4, false}, // one more than is left: nothing counted
			{6, 10, true}, // exactly what is left
			{1, 10, false},
		} {
			used, ok, err := s.Quota.ConsumeQuota(ctx, id, day, 10, step.units)
			require.NoError(t, err)
			assert.Equal(t, step.wantOK, ok, "%d units", step.units)
			assert.Equal(t, step.wantUsed, used, "%d units", step.units)
		}
		used, err := s.Quota.QuotaUsed(ctx, id, day)
		require.NoError(t, err)
		assert.Equal(t, 10, used)
	})

	t.Run("refund gives units back, never below zero", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		id := newUser(t, s, "runits@example.com")
		_, ok, err := s.Quota.ConsumeQuota(ctx, id, day, 10, 5)
		require.NoError(t, err)
		require.True(t, ok)
		for _, step := range []struct{ units, want int }{{3, 2}, {5, 0}} {
			require.NoError(t, s.Quota.RefundQuota(ctx, id, day, step.units))
			used, err := s.Quota.QuotaUsed(ctx, id, day)
			require.NoError(t, err)
			assert.Equal(t, step.want, used, "after a refund of %d", step.units)
		}
	})

	t.Run("concurrent consumers of several units are exact", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		id := newUser(t, s, "cunits@example.com")
		// 20 callers of 3 units under a limit of 10: three fit (9 units),
		// whatever the interleaving; the tenth unit stays free.
		const limit, callers, units = 10, 20, 3
		var granted atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range callers {
			wg.Go(func() {
				<-start
				_, ok, err := s.Quota.ConsumeQuota(ctx, id, day, limit, units)
				if err != nil {
					t.Errorf("consume: %v", err)
				} else if ok {
					granted.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		assert.Equal(t, int32(limit/units), granted.Load())
		used, err := s.Quota.QuotaUsed(ctx, id, day)
		require.NoError(t, err)
		assert.Equal(t, limit/units*units, used)
	})

	t.Run("of two requests near the limit the one that fits is granted", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		// Seven counted, limit ten: of two concurrent requests of three
		// units exactly one fits. Counting unit by unit, each could hold
		// part of the units the other needed and both be refused.
		for i := range 10 {
			id := newUser(t, s, fmt.Sprintf("near%d@example.com", i))
			_, ok, err := s.Quota.ConsumeQuota(ctx, id, day, 10, 7)
			require.NoError(t, err)
			require.True(t, ok)
			var granted atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range 2 {
				wg.Go(func() {
					<-start
					_, ok, err := s.Quota.ConsumeQuota(ctx, id, day, 10, 3)
					if err != nil {
						t.Errorf("consume: %v", err)
					} else if ok {
						granted.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			assert.Equal(t, int32(1), granted.Load(), "round %d", i)
		}
	})

	t.Run("concurrent consumers never pass the limit", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		id := newUser(t, s, "c@example.com")
		const limit, callers = 50, 200
		var granted, refused atomic.Int32
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				_, ok, err := s.Quota.ConsumeQuota(ctx, id, day, limit, 1)
				switch {
				case err != nil:
					t.Errorf("consume: %v", err)
				case ok:
					granted.Add(1)
				default:
					refused.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(limit), granted.Load())
		assert.Equal(t, int32(callers-limit), refused.Load())
		used, err := s.Quota.QuotaUsed(ctx, id, day)
		require.NoError(t, err)
		assert.Equal(t, limit, used)
	})
}
