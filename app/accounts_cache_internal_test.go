package app

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/adapters/postgres"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/accounts"
	"github.com/genzai/genzai/internal/faultproxy"
	"github.com/genzai/genzai/ports"
	"github.com/genzai/genzai/ports/portstest"
)

// heard passes a feed's notices on to a cache and keeps what the feed said
// of their flow, so that a test can wait until it says notices may be lost.
type heard struct {
	*accounts.Cache
	mu   sync.Mutex
	live []bool
}

// NoticesLive implements ports.AccountNotices.
func (h *heard) NoticesLive(live bool) {
	h.Cache.NoticesLive(live)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.live = append(h.live, live)
}

// notLive reports whether the feed's last word was that notices may be lost.
func (h *heard) notLive() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.live) > 0 && !h.live[len(h.live)-1]
}

// cachedInstance is one gateway's account cache on PostgreSQL as
// cacheAccounts builds it (its own pool, its own listener), but on the
// test's clock: entries never age unless the test says so, so that only
// forgetting (a write of its own, a notice) can make them fresh.
type cachedInstance struct {
	cachedStore
	db    *postgres.DB // the database itself, past the cache
	feed  *postgres.Listener
	heard *heard
}

// newCachedInstance opens an instance on dbURL whose listener connects
// to listenURL (dbURL, or a proxy in front of it).
func newCachedInstance(t *testing.T, dbURL, listenURL string, clk ports.Clock) cachedInstance {
	t.Helper()
	ctx := context.Background()
	open := func(u string) *postgres.DB {
		db, err := postgres.Open(ctx, u, postgres.PoolConfig{MaxConns: 2})
		require.NoError(t, err)
		t.Cleanup(db.Close)
		return db
	}
	db := open(dbURL)
	listenVia := db
	if listenURL != dbURL {
		listenVia = open(listenURL)
	}
	h := &heard{Cache: accounts.New(db, clk, accounts.Config{})}
	feed := listenVia.NewListener(postgres.ListenerConfig{}, slog.New(slog.DiscardHandler))
	feed.Subscribe(h)
	t.Cleanup(feed.Close)
	return cachedInstance{cachedStore: cachedStore{store: db, cache: h.Cache}, db: db, feed: feed, heard: h}
}

// sync waits until the instance has heard of every change committed so far.
func (i cachedInstance) sync(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, i.feed.Sync(ctx))
}

// authView is what authentication reads of an account: the account by id
// and the owner of one of its keys, or the codes of the errors instead.
type authView struct {
	user             domain.User
	userErr          domain.Code
	key              domain.APIKey
	owner            domain.User
	keyErr           domain.Code
	disabled, hasKey bool
}

// lookups is what s answers for the account id and the key hash.
func lookups(t *testing.T, s interface {
	UserByID(context.Context, domain.UserID) (domain.User, error)
	APIKeyOwner(context.Context, []byte) (domain.APIKey, domain.User, error)
}, id domain.UserID, hash []byte) authView {
	t.Helper()
	ctx := context.Background()
	var v authView
	var err error
	if v.user, err = s.UserByID(ctx, id); err != nil {
		v.userErr = domain.ErrorCode(err)
	}
	if v.key, v.owner, err = s.APIKeyOwner(ctx, hash); err != nil {
		v.keyErr = domain.ErrorCode(err)
	}
	v.disabled, v.hasKey = v.user.Disabled, err == nil
	return v
}

// mine gives u an API key of the test's own, and returns its hash.
func mine(t *testing.T, s ports.APIKeyStore, u domain.UserID) []byte {
	t.Helper()
	sum := sha256.Sum256([]byte("gz-cache-" + string(u)))
	_, err := s.CreateAPIKey(context.Background(), domain.NewAPIKey{
		UserID: u, Name: "mine", Prefix: "gz-cache", Hash: sum[:], CreatedAt: time.Now(),
	}, 10)
	require.NoError(t, err)
	return sum[:]
}

// TestCachedStoreContract: the cached store that serves authentication on
// PostgreSQL passes the store contracts it stands in for, with entries
// that never age, so that only its forgetting keeps its answers right.
func TestCachedStoreContract(t *testing.T) {
	clk := memory.NewClock(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
	newStore := func(t *testing.T) cachedStore {
		u := pgtest.NewURL(t)
		return newCachedInstance(t, u, u, clk).cachedStore
	}
	t.Run("UserStore", func(t *testing.T) {
		portstest.RunUserStore(t, func(t *testing.T) portstest.Stores {
			s := newStore(t)
			return portstest.Stores{Users: s, Quota: s}
		})
	})
	t.Run("APIKeyStore", func(t *testing.T) {
		portstest.RunAPIKeyStore(t, func(t *testing.T) portstest.APIKeys {
			s := newStore(t)
			return portstest.APIKeys{Users: s, Keys: s}
		})
	})
}

// TestAccountCacheAcrossInstances: two instances on one PostgreSQL
// database, each keeping accounts and keys in memory for good (the clock
// stands still). Every write that changes what authentication reads, made
// on one, is what the other answers once its listener has delivered the
// notice; and while notices may be lost (the listener cut off) a change
// takes effect on the other within one second, as README promises.
func TestAccountCacheAcrossInstances(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewURL(t)
	clk := memory.NewClock(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "5432")
	}
	proxy, err := faultproxy.Listen(target)
	require.NoError(t, err)
	t.Cleanup(proxy.Close)
	u.Host = proxy.Addr()
	a := newCachedInstance(t, dbURL, dbURL, clk)
	b := newCachedInstance(t, dbURL, u.String(), clk) // B hears notices through the proxy
	b.sync(t)
	writes := portstest.AccountStores{Users: a, Keys: a, Admin: a, Changes: a}
	ctx := context.Background()

	for i, w := range portstest.AccountWrites {
		t.Run(w.Name, func(t *testing.T) {
			user, err := a.CreateUser(ctx, domain.NewUser{Email: fmt.Sprintf("across%d@example.com", i), PasswordHash: "x"})
			require.NoError(t, err)
			hash := mine(t, a, user.ID)
			lookups(t, b, user.ID, hash) // B reads them, and keeps them
			w.Write(t, writes, user)
			b.sync(t)
			truth := lookups(t, b.db, user.ID, hash)
			assert.Equal(t, truth, lookups(t, b, user.ID, hash), "B answers as the database does")
		})
	}

	t.Run("notices lost: within one second", func(t *testing.T) {
		user, err := a.CreateUser(ctx, domain.NewUser{Email: "lost@example.com", PasswordHash: "x"})
		require.NoError(t, err)
		hash := mine(t, a, user.ID)
		b.sync(t)
		before := lookups(t, b, user.ID, hash)
		require.False(t, before.disabled)

		proxy.Down()
		require.Eventually(t, b.heard.notLive, 10*time.Second, 10*time.Millisecond, "B's listener says notices may be lost")
		_, err = a.UpdateUser(ctx, user.ID, domain.UserPatch{Disabled: new(true), At: time.Now()})
		require.NoError(t, err)
		truth := lookups(t, b.db, user.ID, hash)
		require.True(t, truth.disabled)

		clk.Advance(time.Second - time.Millisecond)
		assert.Equal(t, before, lookups(t, b, user.ID, hash), "no notice came: B may serve what it read for a second")
		clk.Advance(time.Millisecond)
		assert.Equal(t, truth, lookups(t, b, user.ID, hash), "after a second B reads the database again")

		require.NoError(t, proxy.Up())
		// Listening again, B has dropped what it kept. The first Sync may
		// meet a pooled connection the proxy reset: the pool drops it.
		require.Eventually(t, func() bool {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			return b.feed.Sync(ctx) == nil
		}, 10*time.Second, 10*time.Millisecond, "B listens again")
		_, err = a.UpdateUser(ctx, user.ID, domain.UserPatch{Disabled: new(false), At: time.Now()})
		require.NoError(t, err)
		b.sync(t)
		assert.False(t, lookups(t, b, user.ID, hash).disabled, "notices flow again")
	})
}
