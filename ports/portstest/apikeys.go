package portstest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// APIKeys is what the API key suite needs from one implementation: stores
// that share their data.
type APIKeys struct {
	Users ports.UserStore
	Keys  ports.APIKeyStore
}

func keyHash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// RunAPIKeyStore checks an APIKeyStore: creation within the per-user bound
// (also under concurrent creations), listing, lookup by hash with the
// owner, last use, and revocation.
func RunAPIKeyStore(t *testing.T, newStores func(t *testing.T) APIKeys) {
	ctx := context.Background()
	at := time.Date(2026, 3, 10, 9, 30, 0, 123456000, time.UTC)
	user := func(t *testing.T, s APIKeys, email string) domain.User {
		t.Helper()
		u, err := s.Users.CreateUser(ctx, domain.NewUser{Email: email, PasswordHash: "x"})
		require.NoError(t, err)
		return u
	}
	newKey := func(u domain.UserID, name, secret string, created time.Time) domain.NewAPIKey {
		return domain.NewAPIKey{UserID: u, Name: name, Prefix: secret[:min(len(secret), 11)], Hash: keyHash(secret), CreatedAt: created}
	}

	t.Run("scopes and expiry are kept", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		ada := user(t, s, "ada@example.com")
		expires := at.Add(30 * 24 * time.Hour)
		nk := newKey(ada.ID, "admin", "gz-dddddddd-adm", at)
		nk.Scopes, nk.ExpiresAt = []domain.Scope{domain.ScopeChat, domain.ScopeAdmin}, &expires
		k, err := s.Keys.CreateAPIKey(ctx, nk, 10)
		require.NoError(t, err)
		assert.Equal(t, []domain.Scope{domain.ScopeChat, domain.ScopeAdmin}, k.Scopes)
		require.NotNil(t, k.ExpiresAt)
		assert.Equal(t, expires, *k.ExpiresAt)
		only := newKey(ada.ID, "admin only", "gz-eeeeeeee-adm", at.Add(time.Second))
		only.Scopes = []domain.Scope{domain.ScopeAdmin}
		k2, err := s.Keys.CreateAPIKey(ctx, only, 10)
		require.NoError(t, err)
		assert.Equal(t, []domain.Scope{domain.ScopeAdmin}, k2.Scopes)
		assert.Nil(t, k2.ExpiresAt)

		list, err := s.Keys.APIKeys(ctx, ada.ID)
		require.NoError(t, err)
		assert.Equal(t, []domain.APIKey{k, k2}, list)
		got, _, err := s.Keys.APIKeyOwner(ctx, keyHash("gz-dddddddd-adm"))
		require.NoError(t, err)
		assert.Equal(t, k, got, "the lookup sees the scopes and expiry")
	})

	t.Run("create, list, look up, touch, revoke", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		ada, bob := user(t, s, "ada@example.com"), user(t, s, "bob@example.com")

		k1, err := s.Keys.CreateAPIKey(ctx, newKey(ada.ID, "laptop", "gz-aaaaaaaa-one", at), 10)
		require.NoError(t, err)
		assert.NotEmpty(t, k1.ID)
		assert.Equal(t, domain.APIKey{ID: k1.ID, UserID: ada.ID, Name: "laptop", Prefix: "gz-aaaaaaaa", CreatedAt: at, Scopes: domain.DefaultScopes()}, k1,
			"a key made without scopes gets the default ones")
		k2, err := s.Keys.CreateAPIKey(ctx, newKey(ada.ID, "ci", "gz-bbbbbbbb-two", at.Add(time.Second)), 10)
		require.NoError(t, err)
		kb, err := s.Keys.CreateAPIKey(ctx, newKey(bob.ID, "bob's", "gz-cccccccc-bob", at), 10)
		require.NoError(t, err)

		list, err := s.Keys.APIKeys(ctx, ada.ID)
		require.NoError(t, err)
		assert.Equal(t, []domain.APIKey{k1, k2}, list, "the user's keys, oldest first")
		none, err := s.Keys.APIKeys(ctx, domain.UserID("00000000-0000-4000-8000-000000000000"))
		require.NoError(t, err)
		assert.Empty(t, none)

		k, owner, err := s.Keys.APIKeyOwner(ctx, keyHash("gz-bbbbbbbb-two"))
		require.NoError(t, err)
		assert.Equal(t, k2, k)
		assert.Equal(t, ada.ID, owner.ID)
		assert.Equal(t, "ada@example.com", owner.Email)
		_, _, err = s.Keys.APIKeyOwner(ctx, keyHash("gz-bbbbbbbb-tw0"))
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err), "another key's hash finds nothing")

		used := at.Add(time.Hour)
		require.NoError(t, s.Keys.TouchAPIKey(ctx, k2.ID, used))
		require.NoError(t, s.Keys.TouchAPIKey(ctx, k2.ID, used.Add(-time.Minute)), "an older use is ignored")
		k, _, err = s.Keys.APIKeyOwner(ctx, keyHash("gz-bbbbbbbb-two"))
		require.NoError(t, err)
		require.NotNil(t, k.LastUsedAt)
		assert.Equal(t, used, k.LastUsedAt.UTC())

		// Revoking: only the owner's own key, and at once.
		err = s.Keys.DeleteAPIKey(ctx, bob.ID, k2.ID)
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err), "bob cannot revoke ada's key")
		require.NoError(t, s.Keys.DeleteAPIKey(ctx, ada.ID, k2.ID))
		err = s.Keys.DeleteAPIKey(ctx, ada.ID, k2.ID)
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err), "revoked already")
		_, _, err = s.Keys.APIKeyOwner(ctx, keyHash("gz-bbbbbbbb-two"))
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err), "a revoked key finds nothing")
		list, err = s.Keys.APIKeys(ctx, ada.ID)
		require.NoError(t, err)
		assert.Equal(t, []domain.APIKey{k1}, list)
		err = s.Keys.DeleteAPIKey(ctx, ada.ID, domain.APIKeyID("not-a-uuid"))
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err), "a malformed id is simply not found")

		_, owner, err = s.Keys.APIKeyOwner(ctx, keyHash("gz-cccccccc-bob"))
		require.NoError(t, err)
		assert.Equal(t, bob.ID, owner.ID)
		assert.Equal(t, kb.UserID, owner.ID)
	})

	t.Run("the owner's account state comes with the key", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		ada := user(t, s, "ada@example.com")
		_, err := s.Keys.CreateAPIKey(ctx, newKey(ada.ID, "k", "gz-dddddddd-k", at), 10)
		require.NoError(t, err)
		_, err = s.Users.MarkEmailVerified(ctx, ada.ID, at, true)
		require.NoError(t, err)
		_, owner, err := s.Keys.APIKeyOwner(ctx, keyHash("gz-dddddddd-k"))
		require.NoError(t, err)
		assert.True(t, owner.IsAdmin, "the owner as stored now, not as when the key was made")
	})

	t.Run("at most max keys per user, also when created at once", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		ada, bob := user(t, s, "ada@example.com"), user(t, s, "bob@example.com")
		const limit, tries = 3, 12
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			ok   int
			errs = map[domain.Code]int{}
		)
		for i := range tries {
			wg.Go(func() {
				_, err := s.Keys.CreateAPIKey(ctx, newKey(ada.ID, fmt.Sprint("k", i), fmt.Sprintf("gz-%08d-race", i), at), limit)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					ok++
				} else {
					errs[domain.ErrorCode(err)]++
				}
			})
		}
		wg.Wait()
		assert.Equal(t, limit, ok)
		assert.Equal(t, map[domain.Code]int{domain.CodeConflict: tries - limit}, errs)
		list, err := s.Keys.APIKeys(ctx, ada.ID)
		require.NoError(t, err)
		assert.Len(t, list, limit)

		// Another user's bound is their own; a revoked key frees a place.
		_, err = s.Keys.CreateAPIKey(ctx, newKey(bob.ID, "b", "gz-bbbbbbbb-own", at), limit)
		require.NoError(t, err)
		require.NoError(t, s.Keys.DeleteAPIKey(ctx, ada.ID, list[0].ID))
		_, err = s.Keys.CreateAPIKey(ctx, newKey(ada.ID, "again", "gz-aaaaaaaa-again", at), limit)
		require.NoError(t, err)
	})

	t.Run("unknown owner", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		_, err := s.Keys.CreateAPIKey(ctx, newKey("00000000-0000-4000-8000-000000000000", "k", "gz-eeeeeeee-k", at), 10)
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
	})
}
