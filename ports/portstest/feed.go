package portstest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// AccountStores are the stores, sharing their data, whose writes change
// what authentication reads: accounts and their API keys.
type AccountStores struct {
	Users   ports.UserStore
	Keys    ports.APIKeyStore
	Admin   ports.AdminStore
	Changes ports.ChangeStore
}

// Feed is what the account feed suite needs from one implementation: two
// feeds on one database (two instances), the stores whose writes they
// announce, and a way to cut a feed's connection.
type Feed struct {
	// A and B are feeds of two instances sharing the stores' data.
	A, B ports.AccountFeed
	AccountStores
	// Break cuts the feeds' connections to the database as a failure would.
	Break func(t *testing.T)
}

// Notices records what a feed tells its subscriber; it implements
// ports.AccountNotices.
type Notices struct {
	mu      sync.Mutex
	changed []domain.UserID
	live    []bool
}

// AccountChanged implements ports.AccountNotices.
func (n *Notices) AccountChanged(id domain.UserID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.changed = append(n.changed, id)
}

// NoticesLive implements ports.AccountNotices.
func (n *Notices) NoticesLive(live bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.live = append(n.live, live)
}

// Take returns the accounts announced since the last call, and forgets them.
func (n *Notices) Take() []domain.UserID {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.changed
	n.changed = nil
	return out
}

// Live returns every NoticesLive call so far, in order.
func (n *Notices) Live() []bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.live)
}

// AccountWrite is one write to an account u (its row or its keys) through
// a store port.
type AccountWrite struct {
	Name  string
	Write func(t *testing.T, f AccountStores, u domain.User)
}

// AccountDeletion deletes the account, with a key: the last of
// AccountWrites, after which the account is gone.
var AccountDeletion = AccountWrite{"UserStore.DeleteUser", func(t *testing.T, f AccountStores, u domain.User) {
	feedKey(t, f, u)
	require.NoError(t, f.Users.DeleteUser(context.Background(), u.ID))
}}

// AccountWrites are every store method that changes what authentication
// reads (an account's row or its keys), each called once on an account
// with a password: a feed must announce each, and a cache must forget the
// account after each.
var AccountWrites = append([]AccountWrite{
	{"UserStore.RecordLogin", func(t *testing.T, f AccountStores, u domain.User) {
		_, err := f.Users.RecordLogin(context.Background(), u.ID, time.Now())
		require.NoError(t, err)
	}},
	{"UserStore.MarkEmailVerified", func(t *testing.T, f AccountStores, u domain.User) {
		_, err := f.Users.MarkEmailVerified(context.Background(), u.ID, time.Now(), true)
		require.NoError(t, err)
	}},
	{"UserStore.SetPassword", func(t *testing.T, f AccountStores, u domain.User) {
		_, err := f.Users.SetPassword(context.Background(), u.ID, "new hash", time.Now())
		require.NoError(t, err)
	}},
	{"UserStore.RevokeTokens", func(t *testing.T, f AccountStores, u domain.User) {
		require.NoError(t, f.Users.RevokeTokens(context.Background(), u.ID, time.Now()))
	}},
	{"UserStore.RevokeAPIKeys", func(t *testing.T, f AccountStores, u domain.User) {
		feedKey(t, f, u)
		require.NoError(t, f.Users.RevokeAPIKeys(context.Background(), u.ID))
	}},
	{"APIKeyStore.DeleteAPIKey", func(t *testing.T, f AccountStores, u domain.User) {
		k := feedKey(t, f, u)
		require.NoError(t, f.Keys.DeleteAPIKey(context.Background(), u.ID, k.ID))
	}},
	{"AdminStore.UpdateUser disabled", func(t *testing.T, f AccountStores, u domain.User) {
		_, err := f.Admin.UpdateUser(context.Background(), u.ID, domain.UserPatch{Disabled: ptrTo(true), At: time.Now()})
		require.NoError(t, err)
	}},
	{"AdminStore.UpdateUser quota", func(t *testing.T, f AccountStores, u domain.User) {
		_, err := f.Admin.UpdateUser(context.Background(), u.ID, domain.UserPatch{SetDailyQuota: true, DailyQuota: ptrTo(3)})
		require.NoError(t, err)
	}},
	{"AdminStore.UpdateUser admin", func(t *testing.T, f AccountStores, u domain.User) {
		_, err := f.Admin.UpdateUser(context.Background(), u.ID, domain.UserPatch{IsAdmin: ptrTo(true)})
		require.NoError(t, err)
	}},
	{"ChangeStore.ConfirmPendingChange", func(t *testing.T, f AccountStores, u domain.User) {
		ctx := context.Background()
		var admins []domain.UserID
		for _, email := range []string{"ada-feed@example.com", "cat-feed@example.com"} {
			a, err := f.Users.CreateUser(ctx, domain.NewUser{Email: email, IsAdmin: true})
			require.NoError(t, err)
			admins = append(admins, a.ID)
		}
		now := time.Now().UTC()
		c, err := f.Changes.CreatePendingChange(ctx, domain.PendingChange{
			TargetID: u.ID, RequestedBy: admins[0], Patch: domain.UserPatch{Disabled: ptrTo(true)},
			CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		})
		require.NoError(t, err)
		_, _, err = f.Changes.ConfirmPendingChange(ctx, c.ID, admins[1], now.Add(time.Minute))
		require.NoError(t, err)
	}},
}, AccountDeletion)

// feedKey gives u an API key.
func feedKey(t *testing.T, f AccountStores, u domain.User) domain.APIKey {
	t.Helper()
	k, err := f.Keys.CreateAPIKey(context.Background(), domain.NewAPIKey{
		UserID: u.ID, Name: "k", Prefix: "gz-feed", Hash: keyHash("gz-feed-" + string(u.ID)), CreatedAt: time.Now(),
	}, 10)
	require.NoError(t, err)
	return k
}

// Sync waits until both feeds have delivered every change made so far.
func (f Feed) Sync(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, f.A.Sync(ctx))
	require.NoError(t, f.B.Sync(ctx))
}

// RunAccountFeed checks an AccountFeed: every write that changes an
// account or its keys is announced to every instance, with the account's
// id, a key's last use is not, and a feed whose connection is cut says so,
// comes back, says that too, and announces changes again.
func RunAccountFeed(t *testing.T, newFeed func(t *testing.T) Feed) {
	ctx := context.Background()
	f := newFeed(t)
	var a, b Notices
	f.A.Subscribe(&a)
	f.B.Subscribe(&b)
	f.Sync(t)
	require.Equal(t, []bool{true}, a.Live(), "listening")
	require.Equal(t, []bool{true}, b.Live())

	for i, w := range AccountWrites {
		t.Run(w.Name, func(t *testing.T) {
			u, err := f.Users.CreateUser(ctx, domain.NewUser{Email: "feed" + string(rune('a'+i)) + "@example.com", PasswordHash: "x"})
			require.NoError(t, err)
			f.Sync(t)
			a.Take()
			b.Take()
			w.Write(t, f.AccountStores, u)
			f.Sync(t)
			assert.Contains(t, a.Take(), u.ID, "instance A heard of it")
			assert.Contains(t, b.Take(), u.ID, "instance B heard of it")
		})
	}

	t.Run("a key's last use is not announced", func(t *testing.T) {
		u, err := f.Users.CreateUser(ctx, domain.NewUser{Email: "touch@example.com", PasswordHash: "x"})
		require.NoError(t, err)
		k := feedKey(t, f.AccountStores, u)
		f.Sync(t)
		a.Take()
		require.NoError(t, f.Keys.TouchAPIKey(ctx, k.ID, time.Now()))
		f.Sync(t)
		assert.Empty(t, a.Take())
	})

	t.Run("a cut connection comes back", func(t *testing.T) {
		f.Break(t)
		u, err := f.Users.CreateUser(ctx, domain.NewUser{Email: "cut@example.com", PasswordHash: "x"})
		require.NoError(t, err)
		f.Sync(t)
		assert.Equal(t, []bool{true, false, true}, a.Live(), "down, then listening again")
		a.Take()
		require.NoError(t, f.Users.RevokeTokens(ctx, u.ID, time.Now()))
		f.Sync(t)
		assert.Equal(t, []domain.UserID{u.ID}, a.Take())
	})
}
