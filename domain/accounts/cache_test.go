package accounts_test

import (
	"context"
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/accounts"
)

// store is the memory store counting the lookups that reach it; while
// gate is set, a user lookup that has read its answer waits for it.
type store struct {
	*memory.Store
	mu      sync.Mutex
	lookups int
	gate    chan struct{}
	read    chan struct{}
}

func (s *store) UserByID(ctx context.Context, id domain.UserID) (domain.User, error) {
	s.mu.Lock()
	s.lookups++
	gate, read := s.gate, s.read
	s.mu.Unlock()
	u, err := s.Store.UserByID(ctx, id)
	if gate != nil {
		close(read)
		<-gate
	}
	return u, err
}

func (s *store) APIKeyOwner(ctx context.Context, hash []byte) (domain.APIKey, domain.User, error) {
	s.mu.Lock()
	s.lookups++
	s.mu.Unlock()
	return s.Store.APIKeyOwner(ctx, hash)
}

// Lookups returns how many lookups reached the store, and starts again.
func (s *store) Lookups() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.lookups
	s.lookups = 0
	return n
}

type fixture struct {
	store *store
	clock *memory.Clock
	cache *accounts.Cache
	user  domain.User
	key   domain.APIKey
	hash  []byte
}

func newFixture(t *testing.T, cfg accounts.Config) *fixture {
	t.Helper()
	ctx := context.Background()
	s := &store{Store: memory.NewStore()}
	u, err := s.CreateUser(ctx, domain.NewUser{Email: "ada@example.com", PasswordHash: "x"})
	require.NoError(t, err)
	sum := sha256.Sum256([]byte("gz-key"))
	k, err := s.CreateAPIKey(ctx, domain.NewAPIKey{UserID: u.ID, Name: "k", Prefix: "gz", Hash: sum[:], CreatedAt: time.Now()}, 5)
	require.NoError(t, err)
	clk := memory.NewClock(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
	return &fixture{store: s, clock: clk, cache: accounts.New(s, clk, cfg), user: u, key: k, hash: sum[:]}
}

// disable changes the account behind the cache's back, as another
// instance does.
func (f *fixture) disable(t *testing.T) {
	t.Helper()
	require.NoError(t, f.store.UpdateUser(f.user.ID, func(u *domain.User) { u.Disabled = true }))
}

func (f *fixture) disabled(t *testing.T) (byID, byKey bool) {
	t.Helper()
	ctx := context.Background()
	u, err := f.cache.UserByID(ctx, f.user.ID)
	require.NoError(t, err)
	_, owner, err := f.cache.APIKeyOwner(ctx, f.hash)
	require.NoError(t, err)
	return u.Disabled, owner.Disabled
}

func TestCacheServesFromMemoryUntilNotified(t *testing.T) {
	t.Parallel()
	f := newFixture(t, accounts.Config{})
	f.cache.NoticesLive(true)
	f.disabled(t)
	assert.Equal(t, 2, f.store.Lookups(), "first lookups read the store")
	f.disable(t)
	f.clock.Advance(accounts.DefaultTTL - time.Millisecond)
	byID, byKey := f.disabled(t)
	assert.False(t, byID, "served from memory while notices flow")
	assert.False(t, byKey)
	assert.Zero(t, f.store.Lookups())
	assert.Equal(t, accounts.Stats{Hits: 2, Misses: 2}, f.cache.Stats())

	f.cache.AccountChanged(f.user.ID)
	byID, byKey = f.disabled(t)
	assert.True(t, byID, "a notice forgets the account")
	assert.True(t, byKey, "and its keys")
	assert.Equal(t, 2, f.store.Lookups())
}

func TestCacheEntryLife(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		live  []bool
		after time.Duration
		fresh bool
	}{
		{name: "no feed: within a second", after: 999 * time.Millisecond, fresh: true},
		{name: "no feed: a second", after: time.Second, fresh: false},
		{name: "notices flow: within TTL", live: []bool{true}, after: accounts.DefaultTTL - time.Millisecond, fresh: true},
		{name: "notices flow: TTL", live: []bool{true}, after: accounts.DefaultTTL, fresh: false},
		{name: "feed down: a second", live: []bool{true, false}, after: time.Second, fresh: false},
		{name: "clock went back", live: []bool{true}, after: -time.Second, fresh: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, accounts.Config{})
			f.cache.NoticesLive(true)
			f.disabled(t)
			for _, live := range tc.live[min(1, len(tc.live)):] {
				f.cache.NoticesLive(live)
			}
			if len(tc.live) == 0 {
				f.cache.NoticesLive(false)
			}
			f.disable(t)
			f.store.Lookups()
			f.clock.Advance(tc.after)
			byID, byKey := f.disabled(t)
			assert.Equal(t, !tc.fresh, byID)
			assert.Equal(t, !tc.fresh, byKey)
		})
	}
}

func TestCacheStartsEmptyWhenNoticesFlowAgain(t *testing.T) {
	t.Parallel()
	f := newFixture(t, accounts.Config{})
	f.cache.NoticesLive(true)
	f.disabled(t)
	f.cache.NoticesLive(false)
	f.disable(t) // its notice is lost
	f.cache.NoticesLive(true)
	byID, byKey := f.disabled(t)
	assert.True(t, byID)
	assert.True(t, byKey)
}

func TestCacheKeepsNoMisses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, accounts.Config{})
	f.cache.NoticesLive(true)
	ctx := context.Background()
	sum := sha256.Sum256([]byte("gz-new"))
	_, _, err := f.cache.APIKeyOwner(ctx, sum[:])
	require.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
	_, err = f.store.CreateAPIKey(ctx, domain.NewAPIKey{UserID: f.user.ID, Name: "new", Prefix: "gz", Hash: sum[:], CreatedAt: time.Now()}, 5)
	require.NoError(t, err)
	k, _, err := f.cache.APIKeyOwner(ctx, sum[:])
	require.NoError(t, err, "a key made elsewhere works at once")
	assert.Equal(t, "new", k.Name)
	_, err = f.cache.UserByID(ctx, "nobody")
	assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
	_, err = f.cache.UserByID(ctx, "nobody")
	assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
	assert.Equal(t, 4, f.store.Lookups())
}

// A lookup that read the account before a notice arrived must not keep
// what it read: it may predate the change.
func TestCacheLookupRacingANotice(t *testing.T) {
	t.Parallel()
	f := newFixture(t, accounts.Config{})
	f.cache.NoticesLive(true)
	f.store.gate, f.store.read = make(chan struct{}), make(chan struct{})
	done := make(chan domain.User)
	go func() {
		u, err := f.cache.UserByID(context.Background(), f.user.ID)
		assert.NoError(t, err)
		done <- u
	}()
	<-f.store.read // the lookup has its (soon stale) answer
	f.disable(t)
	f.cache.AccountChanged(f.user.ID)
	f.store.mu.Lock()
	close(f.store.gate)
	f.store.gate = nil
	f.store.mu.Unlock()
	assert.False(t, (<-done).Disabled)
	u, err := f.cache.UserByID(context.Background(), f.user.ID)
	require.NoError(t, err)
	assert.True(t, u.Disabled, "the stale answer was not kept")
}

func TestCacheForgetAndTouch(t *testing.T) {
	t.Parallel()
	f := newFixture(t, accounts.Config{})
	f.cache.NoticesLive(true)
	ctx := context.Background()
	f.disabled(t)
	used := f.clock.Now().Add(time.Minute)
	require.NoError(t, f.cache.TouchAPIKey(ctx, f.key.ID, used))
	k, _, err := f.cache.APIKeyOwner(ctx, f.hash)
	require.NoError(t, err)
	require.NotNil(t, k.LastUsedAt, "the cached key is stamped too")
	assert.True(t, used.Equal(*k.LastUsedAt))
	require.NoError(t, f.cache.TouchAPIKey(ctx, f.key.ID, used.Add(-time.Hour)))
	k, _, err = f.cache.APIKeyOwner(ctx, f.hash)
	require.NoError(t, err)
	assert.True(t, used.Equal(*k.LastUsedAt), "never backwards")
	assert.Equal(t, 2, f.store.Lookups(), "all from memory after the first")

	f.disable(t)
	f.cache.Forget(f.user.ID)
	byID, byKey := f.disabled(t)
	assert.True(t, byID)
	assert.True(t, byKey)
}

func TestCacheBound(t *testing.T) {
	t.Parallel()
	f := newFixture(t, accounts.Config{MaxEntries: 2})
	f.cache.NoticesLive(true)
	ctx := context.Background()
	var ids []domain.UserID
	for _, email := range []string{"b@example.com", "c@example.com", "d@example.com"} {
		u, err := f.store.CreateUser(ctx, domain.NewUser{Email: email})
		require.NoError(t, err)
		ids = append(ids, u.ID)
	}
	f.store.Lookups()
	for _, id := range ids {
		_, err := f.cache.UserByID(ctx, id)
		require.NoError(t, err)
	}
	for _, id := range ids {
		_, err := f.cache.UserByID(ctx, id)
		require.NoError(t, err)
	}
	assert.Greater(t, f.store.Lookups(), len(ids), "no more than two entries kept")
}
