package portstest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// Audit is what the audit log and pending change suite needs from one
// implementation: stores that share their data.
type Audit struct {
	Users   ports.UserStore
	Log     ports.AuditLog
	Changes ports.ChangeStore
}

// RunAuditLog checks an AuditLog: entries come back as recorded, newest
// first, paged by id.
func RunAuditLog(t *testing.T, newStores func(t *testing.T) Audit) {
	ctx := context.Background()
	at := time.Date(2026, 3, 10, 9, 30, 0, 123456000, time.UTC)

	t.Run("record and page newest first", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		ada, err := s.Users.CreateUser(ctx, domain.NewUser{Email: "ada@example.com"})
		require.NoError(t, err)
		bob, err := s.Users.CreateUser(ctx, domain.NewUser{Email: "bob@example.com"})
		require.NoError(t, err)

		first, err := s.Log.RecordAudit(ctx, domain.AuditEntry{
			ActorID: ada.ID, Actor: ada.Email, Action: domain.AuditQuotaChanged, TargetID: bob.ID, Target: bob.Email,
			Details: map[string]any{"daily_quota": float64(5)}, RequestID: "req-1", CreatedAt: at,
		})
		require.NoError(t, err)
		assert.Positive(t, first.ID)
		assert.Equal(t, domain.AuditEntry{
			ID: first.ID, ActorID: ada.ID, Actor: ada.Email, Action: domain.AuditQuotaChanged, TargetID: bob.ID, Target: bob.Email,
			Details: map[string]any{"daily_quota": float64(5)}, RequestID: "req-1", CreatedAt: at,
		}, first)
		second, err := s.Log.RecordAudit(ctx, domain.AuditEntry{
			Actor: domain.OperatorActor, Action: domain.AuditAdminGranted, TargetID: bob.ID, Target: bob.Email, CreatedAt: at,
		})
		require.NoError(t, err)
		assert.Greater(t, second.ID, first.ID)
		assert.Empty(t, second.ActorID, "the operator has no account")
		assert.Equal(t, map[string]any{}, second.Details, "no details are an empty object")
		third, err := s.Log.RecordAudit(ctx, domain.AuditEntry{
			ActorID: ada.ID, Actor: ada.Email, Action: domain.AuditAdminKeyCreated, CreatedAt: at.Add(time.Second),
			Details: map[string]any{"scopes": []any{"admin"}, "name": "ops"},
		})
		require.NoError(t, err)
		assert.Empty(t, third.TargetID)

		all, err := s.Log.AuditEntries(ctx, domain.AuditFilter{Limit: 10})
		require.NoError(t, err)
		assert.Equal(t, []domain.AuditEntry{third, second, first}, all)
		page, err := s.Log.AuditEntries(ctx, domain.AuditFilter{Limit: 2})
		require.NoError(t, err)
		assert.Equal(t, []domain.AuditEntry{third, second}, page)
		rest, err := s.Log.AuditEntries(ctx, domain.AuditFilter{BeforeID: second.ID, Limit: 2})
		require.NoError(t, err)
		assert.Equal(t, []domain.AuditEntry{first}, rest)
		none, err := s.Log.AuditEntries(ctx, domain.AuditFilter{Limit: 0})
		require.NoError(t, err)
		assert.Empty(t, none)
	})

	t.Run("pending change: create, read, confirm once", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		ada, err := s.Users.CreateUser(ctx, domain.NewUser{Email: "ada@example.com", IsAdmin: true})
		require.NoError(t, err)
		bob, err := s.Users.CreateUser(ctx, domain.NewUser{Email: "bob@example.com", IsAdmin: true})
		require.NoError(t, err)
		cat, err := s.Users.CreateUser(ctx, domain.NewUser{Email: "cat@example.com", IsAdmin: true})
		require.NoError(t, err)

		demote, disable := false, true
		c, err := s.Changes.CreatePendingChange(ctx, domain.PendingChange{
			TargetID: bob.ID, RequestedBy: ada.ID, Patch: domain.UserPatch{IsAdmin: &demote, Disabled: &disable},
			RequestID: "req-9", CreatedAt: at, ExpiresAt: at.Add(24 * time.Hour),
		})
		require.NoError(t, err)
		assert.NotEmpty(t, c.ID)
		assert.Equal(t, domain.PendingChange{
			ID: c.ID, TargetID: bob.ID, TargetEmail: bob.Email, RequestedBy: ada.ID, RequestedByEmail: ada.Email,
			Patch: domain.UserPatch{IsAdmin: &demote, Disabled: &disable}, RequestID: "req-9",
			CreatedAt: at, ExpiresAt: at.Add(24 * time.Hour),
		}, c)
		got, err := s.Changes.PendingChange(ctx, c.ID)
		require.NoError(t, err)
		assert.Equal(t, c, got)
		_, err = s.Changes.PendingChange(ctx, "00000000-0000-4000-8000-000000000000")
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
		_, err = s.Changes.PendingChange(ctx, "not-a-uuid")
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
		_, err = s.Changes.CreatePendingChange(ctx, domain.PendingChange{
			TargetID: "00000000-0000-4000-8000-000000000000", RequestedBy: ada.ID, Patch: domain.UserPatch{IsAdmin: &demote},
			CreatedAt: at, ExpiresAt: at.Add(time.Hour),
		})
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err), "no such target")

		// The requester cannot confirm their own change; nothing changes.
		_, _, err = s.Changes.ConfirmPendingChange(ctx, c.ID, ada.ID, at.Add(time.Minute))
		assert.Equal(t, domain.CodeConflict, domain.ErrorCode(err))
		still, err := s.Users.UserByID(ctx, bob.ID)
		require.NoError(t, err)
		assert.True(t, still.IsAdmin)
		assert.False(t, still.Disabled)
		// Past its expiry it cannot be confirmed.
		_, _, err = s.Changes.ConfirmPendingChange(ctx, c.ID, cat.ID, at.Add(24*time.Hour))
		assert.Equal(t, domain.CodeConflict, domain.ErrorCode(err))
		_, _, err = s.Changes.ConfirmPendingChange(ctx, "00000000-0000-4000-8000-000000000000", cat.ID, at)
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))

		// Concurrent confirmations: exactly one applies the change.
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() {
				_, _, errs[i] = s.Changes.ConfirmPendingChange(ctx, c.ID, cat.ID, at.Add(time.Hour))
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				assert.Equal(t, domain.CodeConflict, domain.ErrorCode(err), "err: %v", err)
			}
		}
		assert.Equal(t, 1, ok, "one confirmation applies")
		after, err := s.Users.UserByID(ctx, bob.ID)
		require.NoError(t, err)
		assert.False(t, after.IsAdmin)
		assert.True(t, after.Disabled)
		done, err := s.Changes.PendingChange(ctx, c.ID)
		require.NoError(t, err)
		assert.Equal(t, cat.ID, done.ConfirmedBy)
		assert.Equal(t, cat.Email, done.ConfirmedByEmail)
		require.NotNil(t, done.ConfirmedAt)
		assert.Equal(t, at.Add(time.Hour), *done.ConfirmedAt)
	})

	t.Run("pending quota change is kept and applied", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		ada, err := s.Users.CreateUser(ctx, domain.NewUser{Email: "ada@example.com", IsAdmin: true})
		require.NoError(t, err)
		bob, err := s.Users.CreateUser(ctx, domain.NewUser{Email: "bob@example.com", IsAdmin: true})
		require.NoError(t, err)
		quota, demote := 7, false
		c, err := s.Changes.CreatePendingChange(ctx, domain.PendingChange{
			TargetID: bob.ID, RequestedBy: ada.ID, Patch: domain.UserPatch{SetDailyQuota: true, DailyQuota: &quota, IsAdmin: &demote},
			CreatedAt: at, ExpiresAt: at.Add(time.Hour),
		})
		require.NoError(t, err)
		require.NotNil(t, c.Patch.DailyQuota)
		assert.Equal(t, 7, *c.Patch.DailyQuota)
		// Bob confirms a change about himself: he is a different admin.
		_, u, err := s.Changes.ConfirmPendingChange(ctx, c.ID, bob.ID, at)
		require.NoError(t, err)
		require.NotNil(t, u.DailyQuota)
		assert.Equal(t, 7, *u.DailyQuota)
		assert.False(t, u.IsAdmin)
	})

	t.Run("a confirmed change of disabled revokes the target's tokens", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		ada, err := s.Users.CreateUser(ctx, domain.NewUser{Email: "ada@example.com", IsAdmin: true})
		require.NoError(t, err)
		bob, err := s.Users.CreateUser(ctx, domain.NewUser{Email: "bob@example.com", IsAdmin: true})
		require.NoError(t, err)
		cat, err := s.Users.CreateUser(ctx, domain.NewUser{Email: "cat@example.com", IsAdmin: true})
		require.NoError(t, err)
		for i, disabled := range []bool{true, false} {
			c, err := s.Changes.CreatePendingChange(ctx, domain.PendingChange{
				TargetID: bob.ID, RequestedBy: ada.ID, Patch: domain.UserPatch{Disabled: &disabled},
				CreatedAt: at, ExpiresAt: at.Add(time.Hour),
			})
			require.NoError(t, err)
			confirmedAt := at.Add(time.Duration(i+1) * time.Minute)
			_, u, err := s.Changes.ConfirmPendingChange(ctx, c.ID, cat.ID, confirmedAt)
			require.NoError(t, err)
			require.NotNil(t, u.TokensValidAfter, "disabled=%v", disabled)
			assert.True(t, u.TokensValidAfter.Equal(confirmedAt), "disabled=%v: tokens valid after %v", disabled, *u.TokensValidAfter)
			assert.True(t, u.TokenRevoked(confirmedAt.Add(-time.Second)), "a token from before the change is dead")
		}
	})
}
